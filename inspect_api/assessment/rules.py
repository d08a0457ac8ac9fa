"""Pure rules of the annual assessment (年度考评, seed 000 六): the survey draw and the grades.

Values in, values out: no Flask, no database, no clock, no file access (the policy file is read by
`policy`, the inputs gathered by `services`).

The survey draw (评议对象抽取)
---------------------------
At least `per_unit` service recipients of each unit are drawn at random, from a pool of candidate ids
per unit (the unit's citizen ratings of the year, or the recipients the office imported). It is the
inspection draw's machinery (`sampling.rules`): a secret seed whose SHA-256 is published at commit, an
optional public value joined to it after the commit, the counter-mode SHA-256 stream, canonical JSON and
digests of inputs and result, and a verification that re-runs the draw from the stored inputs.

- The stream's root is `SHA-256("inspect-api/survey/v1" 0x00 seed)`; each unit has its own stream,
  labelled `unit:<id>`, so a unit's draw depends on the seed, its id and its own candidates only.
- Candidates are sorted by id (duplicates dropped); then a partial Fisher–Yates from the front: for
  i = 0 … k−1 swap position i with i + below(n − i); the first k are drawn, in that order
  (k = min(per_unit, n)).
- A unit with fewer candidates than `per_unit` gets every one of them, and is reported as a problem
  `unit_short` with the numbers: it is never silently given a smaller sample.

The grade (年度考评等次)
--------------------
1. Raters: fewer than `min_raters` survey scores → `not_assessable` (不予评定), nothing else applies.
2. Inspection score: `base` minus, for each confirmed finding of the year, its checklist points, or the
   policy's deduction for its severity when the item gives none; never below `floor`.
3. Survey score: the mean of the points each 1–5 score is worth (`score_points`).
4. Total: `inspection × w_inspection + survey × w_survey`, computed exactly and rounded half up to two
   decimals; the grade compares that rounded total with the thresholds (≥ excellent: 优秀, ≥ pass: 合格,
   else 不合格), so a total shown as 90.00 is 优秀 when the line is 90.
5. Vetoes (一票否决), in the policy's order: `fail` makes the grade 不合格, `cap_pass` lowers 优秀 to 合格.
6. A unit already graded 不合格 in an approved assessment of the same year cannot be 优秀 (000 六:
   "单位年度内不得评先评优"): 优秀 becomes 合格.
Every step is kept, with its numbers, whether it changed the grade or not, and the reason says in Chinese
how the final grade came about.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction

from inspect_api.core.categories import CATEGORIES, SEVERITIES
from inspect_api.core.draw import Problem as SurveyProblem
from inspect_api.core.draw import (
    SeedStream,
    canonical,
    capped,
    digest,
    record_problems,
    sha256_text,
    stream_root,
)
from inspect_api.errors import Unprocessable

GRADE_LABELS = {"excellent": "优秀", "pass": "合格", "fail": "不合格", "not_assessable": "不予评定"}
GRADED = ("excellent", "pass", "fail")
SURVEY_SOURCES = {"ratings": "好差评记录", "recipients": "导入的服务对象名单"}
# Where a finding came from (visits.models.FINDING_SOURCE, and `complaint` for substantiated complaints).
FINDING_SOURCES = {"item": "检查表", "manual": "督查员补充", "badge": "未亮牌", "shopper": "模拟办事",
                   "complaint": "投诉查实"}
VETO_EFFECTS = {"fail": "评为不合格", "cap_pass": "最高评为合格"}
SCORES = (1, 2, 3, 4, 5)
SATISFIED_FROM = 3  # 满意率 counts 基本满意 and above, as the 好差评 system does


class AssessmentError(Unprocessable):
    code = "invalid_assessment_input"


# --- the policy as values ---------------------------------------------------------------------------

@dataclass(frozen=True)
class FindingsVeto:
    """At least `count` confirmed findings of the year (optionally only of some severities, sources or
    categories)."""

    kind = "confirmed_findings"
    count: int
    severities: tuple[str, ...] | None = None
    sources: tuple[str, ...] | None = None
    categories: tuple[str, ...] | None = None


@dataclass(frozen=True)
class SatisfactionVeto:
    """The survey's 满意率 (share of scores ≥ 3) strictly below `rate`."""

    kind = "satisfaction_below"
    rate: Decimal


@dataclass(frozen=True)
class Veto:
    id: str
    name: str
    condition: FindingsVeto | SatisfactionVeto
    effect: str  # fail | cap_pass


@dataclass(frozen=True)
class AssessmentPolicy:
    version: int
    min_raters: int
    per_unit: int
    unit_kinds: tuple[str, ...]
    score_points: Mapping[int, Decimal]
    inspection_base: Decimal
    deduction_by_severity: Mapping[str, Decimal]
    inspection_floor: Decimal
    weight_inspection: Decimal
    weight_survey: Decimal
    threshold_excellent: Decimal
    threshold_pass: Decimal
    vetoes: tuple[Veto, ...] = ()
    # The file's data as read (stored with each grade run, so a run can always be explained).
    data: Mapping = field(default_factory=dict, compare=False, repr=False)


# --- inputs --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FindingInput:
    """One confirmed finding of the unit in the period."""

    id: str
    severity: str
    points: int
    source: str
    category: str


@dataclass(frozen=True)
class ScoreInputs:
    """What a unit's score for a period rests on: its confirmed findings and the survey sample's 1–5 scores."""

    unit_id: int
    period_start: date
    period_end: date
    findings: tuple[FindingInput, ...] = ()
    survey_scores: tuple[int, ...] = ()

    @property
    def raters(self) -> int:
        return len(self.survey_scores)


@dataclass(frozen=True)
class EarlierFail:
    """An approved assessment of the same year that graded the unit 不合格."""

    run_id: int
    approved_on: date


# --- outputs -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    rule: str  # raters | inspection | survey | total | threshold | veto:<id> | earlier_fail
    label: str  # Chinese
    detail: str  # Chinese, with the numbers
    data: Mapping
    matched: bool  # the rule's condition held (for score steps: always True)
    grade_before: str | None
    grade_after: str | None

    def as_dict(self) -> dict:
        return {"rule": self.rule, "label": self.label, "detail": self.detail, "data": dict(self.data),
                "matched": self.matched, "grade_before": self.grade_before, "grade_after": self.grade_after,
                "changed": self.grade_before is not None and self.grade_before != self.grade_after}


@dataclass(frozen=True)
class GradeResult:
    unit_id: int
    grade: str
    score: Decimal | None
    inspection_score: Decimal | None
    survey_score: Decimal | None
    summary: Mapping  # the inputs as counts: findings by severity and source, points, raters, mean…
    steps: tuple[Step, ...]
    reason: str

    @property
    def label(self) -> str:
        return GRADE_LABELS[self.grade]


# --- numbers -------------------------------------------------------------------------------------------

def round2(value: Fraction | Decimal | int) -> Decimal:
    """Half up to two decimals (scores are never negative): 89.995 -> 90.00."""
    scaled = Fraction(value) * 100
    return Decimal(math.floor(scaled + Fraction(1, 2))).scaleb(-2)


def _num(value: Decimal | Fraction | int) -> float | int:
    """A number for JSON: ints stay ints, the rest two decimals."""
    if isinstance(value, int):
        return value
    d = round2(value)
    return int(d) if d == d.to_integral_value() else float(d)


def _txt(value) -> str:
    """A number for Chinese text: 90, 87.5, 87.25."""
    d = round2(value).normalize()
    return format(d, "f")


def _printed(value) -> Fraction:
    """The value as the text shows it (two decimals at most)."""
    return Fraction(_txt(value))


def _eq(exact: Fraction, shown) -> str:
    """`=` when the printed figures give exactly the printed result, else `≈` (it was rounded)."""
    return "=" if Fraction(format(shown, "f")) == exact else "≈"


def summarize(inputs: ScoreInputs, policy: AssessmentPolicy | None = None) -> dict:
    """The inputs as counts (what the explanation shows and the grade run stores)."""
    by_severity = {s: 0 for s in SEVERITIES}
    by_source: Counter = Counter()
    by_category: Counter = Counter()
    points = 0
    for f in inputs.findings:
        by_severity[f.severity] = by_severity.get(f.severity, 0) + 1
        by_source[f.source] += 1
        by_category[f.category] += 1
        points += f.points
    scores = inputs.survey_scores
    n = len(scores)
    by_score = {str(s): sum(1 for x in scores if x == s) for s in reversed(SCORES)}
    out = {
        "period_start": inputs.period_start.isoformat(),
        "period_end": inputs.period_end.isoformat(),
        "findings": {"confirmed": len(inputs.findings), "by_severity": by_severity,
                     "by_source": dict(sorted(by_source.items())), "by_category": dict(sorted(by_category.items())),
                     "checklist_points": points},
        "survey": {"raters": n, "mean": _num(Fraction(sum(scores), n)) if n else None,
                   "satisfaction_rate": _num(Fraction(sum(1 for s in scores if s >= SATISFIED_FROM), n)) if n else None,
                   "by_score": by_score},
        "finding_ids": sorted(f.id for f in inputs.findings),
    }
    if policy is not None:
        out["findings"]["deduction"] = _num(_deduction(policy, inputs.findings))
    return out


def _deduction_of(policy: AssessmentPolicy, f: FindingInput) -> Fraction:
    if f.points > 0:
        return Fraction(f.points)
    return Fraction(policy.deduction_by_severity.get(f.severity, Decimal(0)))


def _deduction(policy: AssessmentPolicy, findings: Iterable[FindingInput]) -> Fraction:
    return sum((_deduction_of(policy, f) for f in findings), Fraction(0))


def inspection_score(policy: AssessmentPolicy, findings: Iterable[FindingInput]) -> Fraction:
    return max(Fraction(policy.inspection_floor), Fraction(policy.inspection_base) - _deduction(policy, findings))


def survey_score(policy: AssessmentPolicy, scores: Sequence[int]) -> Fraction | None:
    if not scores:
        return None
    return sum((Fraction(policy.score_points[s]) for s in scores), Fraction(0)) / len(scores)


def threshold_grade(policy: AssessmentPolicy, total: Decimal) -> str:
    if total >= policy.threshold_excellent:
        return "excellent"
    if total >= policy.threshold_pass:
        return "pass"
    return "fail"


# --- vetoes --------------------------------------------------------------------------------------------

def _veto_findings(cond: FindingsVeto, findings: Iterable[FindingInput]) -> list[FindingInput]:
    return [f for f in findings
            if (cond.severities is None or f.severity in cond.severities)
            and (cond.sources is None or f.source in cond.sources)
            and (cond.categories is None or f.category in cond.categories)]


def _describe_filter(cond: FindingsVeto) -> str:
    parts = []
    if cond.severities:
        parts.append("、".join(SEVERITIES.get(s, s) for s in cond.severities))
    if cond.sources:
        parts.append("、".join(FINDING_SOURCES.get(s, s) for s in cond.sources))
    if cond.categories:
        parts.append("、".join(CATEGORIES.get(c, c) for c in cond.categories))
    return ("（" + "；".join(parts) + "）") if parts else ""


def check_veto(veto: Veto, inputs: ScoreInputs) -> tuple[bool, str, dict]:
    """(matched, Chinese detail with the numbers, data)."""
    cond = veto.condition
    if isinstance(cond, FindingsVeto):
        hits = _veto_findings(cond, inputs.findings)
        matched = len(hits) >= cond.count
        sign = "≥" if matched else "<"
        detail = f"被确认问题{_describe_filter(cond)} {len(hits)} 项 {sign} {cond.count} 项"
        return matched, detail, {"condition": cond.kind, "count": len(hits), "required": cond.count,
                                 "finding_ids": sorted(f.id for f in hits)}
    scores = inputs.survey_scores
    rate = Fraction(sum(1 for s in scores if s >= SATISFIED_FROM), len(scores)) if scores else None
    if rate is None:
        return False, "无评议分数，不适用", {"condition": cond.kind, "rate": None, "below": _num(cond.rate)}
    matched = rate < Fraction(cond.rate)
    sign = "<" if matched else "≥"
    detail = f"服务对象满意率 {_txt(rate * 100)}% {sign} {_txt(Fraction(cond.rate) * 100)}%"
    return matched, detail, {"condition": cond.kind, "rate": _num(rate), "below": _num(cond.rate)}


# --- the grade -----------------------------------------------------------------------------------------

def grade(policy: AssessmentPolicy, inputs: ScoreInputs, *, earlier_fail: EarlierFail | None = None) -> GradeResult:
    """The unit's grade for the period, with every step and the reason (see the module's notes)."""
    summary = summarize(inputs, policy)
    steps: list[Step] = []
    raters = inputs.raters
    bad = [s for s in inputs.survey_scores if s not in SCORES]
    if bad:
        raise AssessmentError(f"评议分数须为 1–5 (survey scores must be 1–5): {bad[:5]}",
                              {"unit_id": inputs.unit_id})
    if raters < policy.min_raters:
        detail = f"有效评议人数 {raters} 人，少于 {policy.min_raters} 人"
        steps.append(Step("raters", "评议人数", detail, {"raters": raters, "min_raters": policy.min_raters},
                          True, None, "not_assessable"))
        reason = f"{detail}（须随机抽取不少于 {policy.min_raters} 名服务对象评议），不予评定。"
        return GradeResult(inputs.unit_id, "not_assessable", None, None, None, summary, tuple(steps), reason)
    steps.append(Step("raters", "评议人数", f"有效评议人数 {raters} 人，不少于 {policy.min_raters} 人",
                      {"raters": raters, "min_raters": policy.min_raters}, False, None, None))

    deduction = _deduction(policy, inputs.findings)
    insp = inspection_score(policy, inputs.findings)
    by_points = sum(f.points for f in inputs.findings if f.points > 0)
    by_severity = {s: sum(1 for f in inputs.findings if f.points <= 0 and f.severity == s) for s in SEVERITIES}
    parts = [f"检查表分值合计 {by_points} 分"] if by_points or not any(by_severity.values()) else []
    parts += [
        f"{SEVERITIES[s]}问题 {n} 项 × {_txt(policy.deduction_by_severity[s])} 分"
        for s, n in by_severity.items() if n]
    floor_note = f"，不低于 {_txt(policy.inspection_floor)} 分" if insp == Fraction(policy.inspection_floor) and \
        Fraction(policy.inspection_base) - deduction < insp else ""
    steps.append(Step(
        "inspection", "检查得分",
        f"基础分 {_txt(policy.inspection_base)} 分，被确认问题 {len(inputs.findings)} 项，扣 {_txt(deduction)} 分"
        f"（{'；'.join(parts)}）{floor_note}，检查得分 {_txt(insp)} 分",
        {"base": _num(policy.inspection_base), "confirmed_findings": len(inputs.findings),
         "checklist_points": by_points, "counted_by_severity": by_severity, "deduction": _num(deduction),
         "floor": _num(policy.inspection_floor), "score": _num(insp)}, True, None, None))

    surv = survey_score(policy, inputs.survey_scores)
    mean = Fraction(sum(inputs.survey_scores), raters)
    steps.append(Step(
        "survey", "评议得分",
        f"{raters} 名服务对象评分平均 {_txt(mean)} 分（1–5 分），折合评议得分 {_txt(surv)} 分",
        {"raters": raters, "mean": _num(mean), "score": _num(surv),
         "score_points": {str(k): _num(v) for k, v in sorted(policy.score_points.items(), reverse=True)}},
        True, None, None))

    exact = insp * Fraction(policy.weight_inspection) + surv * Fraction(policy.weight_survey)
    total = round2(exact)
    steps.append(Step(
        "total", "综合得分",
        f"{_txt(insp)} × {_txt(policy.weight_inspection)} + {_txt(surv)} × {_txt(policy.weight_survey)} "
        f"{_eq(_printed(insp) * _printed(policy.weight_inspection) + _printed(surv) * _printed(policy.weight_survey), total)} "
        f"{format(total, 'f')} 分",
        {"inspection": _num(insp), "weight_inspection": _num(policy.weight_inspection), "survey": _num(surv),
         "weight_survey": _num(policy.weight_survey), "score": _num(total)}, True, None, None))

    current = threshold_grade(policy, total)
    if current == "excellent":
        line = f"{format(total, 'f')} ≥ {_txt(policy.threshold_excellent)}（优秀线）"
    elif current == "pass":
        line = (f"{_txt(policy.threshold_pass)}（合格线）≤ {format(total, 'f')} < "
                f"{_txt(policy.threshold_excellent)}（优秀线）")
    else:
        line = f"{format(total, 'f')} < {_txt(policy.threshold_pass)}（合格线）"
    steps.append(Step("threshold", "等次线", f"{line}，评为{GRADE_LABELS[current]}",
                      {"score": _num(total), "excellent": _num(policy.threshold_excellent),
                       "pass": _num(policy.threshold_pass)}, True, None, current))
    changes = []
    for veto in policy.vetoes:
        matched, detail, data = check_veto(veto, inputs)
        before = current
        if matched and veto.effect == "fail":
            current = "fail"
        elif matched and veto.effect == "cap_pass" and current == "excellent":
            current = "pass"
        data = {**data, "effect": veto.effect}
        outcome = (f"一票否决，{VETO_EFFECTS[veto.effect]}" if matched else "不适用")
        steps.append(Step(f"veto:{veto.id}", veto.name, f"{detail}，{outcome}", data, matched, before, current))
        if current != before:
            changes.append(f"{veto.name}（{detail}），{VETO_EFFECTS[veto.effect]}")

    before = current
    if earlier_fail is not None:
        if current == "excellent":
            current = "pass"
        detail = (f"本年度已被评为不合格（考评批次 #{earlier_fail.run_id}，{earlier_fail.approved_on.isoformat()} "
                  f"审批），年度内不得评为优秀")
        steps.append(Step("earlier_fail", "年度内不得评先评优", detail,
                          {"run_id": earlier_fail.run_id, "approved_on": earlier_fail.approved_on.isoformat()},
                          True, before, current))
        if current != before:
            changes.append(detail)
    else:
        steps.append(Step("earlier_fail", "年度内不得评先评优", "本年度此前未被评为不合格", {}, False, before, current))

    reason = f"综合得分 {format(total, 'f')} 分，按等次线评为{GRADE_LABELS[threshold_grade(policy, total)]}"
    for change in changes:
        reason += f"；{change}"
    reason += f"。最终等次：{GRADE_LABELS[current]}。"
    return GradeResult(inputs.unit_id, current, total, round2(insp), round2(surv), summary, tuple(steps), reason)


def result_to_dict(result: GradeResult) -> dict:
    return {"unit_id": result.unit_id, "grade": result.grade, "grade_label": result.label,
            "score": None if result.score is None else float(result.score),
            "inspection_score": None if result.inspection_score is None else float(result.inspection_score),
            "survey_score": None if result.survey_score is None else float(result.survey_score),
            "summary": dict(result.summary), "steps": [s.as_dict() for s in result.steps], "reason": result.reason}


# --- the survey draw -----------------------------------------------------------------------------------

SURVEY_ALGORITHM = "inspect-api/survey/v1"


@dataclass(frozen=True)
class SurveyPlan:
    year: int
    source: str  # ratings | recipients
    per_unit: int


@dataclass(frozen=True)
class SurveyUnit:
    id: int
    candidates: tuple[int, ...]  # eligible rating ids or recipient ids (never contact data)


@dataclass(frozen=True)
class UnitSample:
    unit_id: int
    drawn: tuple[int, ...]  # in draw order
    eligible: int
    short: bool


@dataclass(frozen=True)
class SurveyResult:
    units: tuple[UnitSample, ...]
    problems: tuple[SurveyProblem, ...]
    inputs_digest: str
    algorithm: str = SURVEY_ALGORITHM


def survey_root(seed: str) -> bytes:
    return stream_root(SURVEY_ALGORITHM, seed)


def _check_survey(plan: SurveyPlan, units: Sequence[SurveyUnit]) -> None:
    if plan.source not in SURVEY_SOURCES:
        raise AssessmentError(f"来源须为 {list(SURVEY_SOURCES)} 之一", {"field": "source"})
    if type(plan.per_unit) is not int or plan.per_unit < 1:
        raise AssessmentError("每单位抽取人数须为正整数", {"field": "per_unit"})
    ids = [u.id for u in units]
    if len(set(ids)) != len(ids):
        raise AssessmentError("单位重复 (a unit is listed twice)", {"field": "units"})
    for u in units:
        if type(u.id) is not int or any(type(c) is not int for c in u.candidates):
            raise AssessmentError("单位与评议对象的编号须为整数", {"field": "units", "unit_id": u.id})


def _normal_units(units: Iterable[SurveyUnit]) -> list[SurveyUnit]:
    return sorted((SurveyUnit(u.id, tuple(sorted(set(u.candidates)))) for u in units), key=lambda u: u.id)


def survey_inputs(plan: SurveyPlan, units: Iterable[SurveyUnit]) -> dict:
    """Every input of the draw as plain data, in the form the digest covers (stored with the draw)."""
    units = list(units)
    _check_survey(plan, units)
    return {"algorithm": SURVEY_ALGORITHM, "year": plan.year, "source": plan.source, "per_unit": plan.per_unit,
            "units": [{"id": u.id, "candidates": list(u.candidates)} for u in _normal_units(units)]}


def survey_inputs_from_dict(data: Mapping) -> tuple[SurveyPlan, list[SurveyUnit]]:
    plan = SurveyPlan(year=data["year"], source=data["source"], per_unit=data["per_unit"])
    return plan, [SurveyUnit(u["id"], tuple(u["candidates"])) for u in data["units"]]


def survey_inputs_digest(plan: SurveyPlan, units: Iterable[SurveyUnit]) -> str:
    return digest(survey_inputs(plan, units))


def draw_survey(plan: SurveyPlan, units: Iterable[SurveyUnit], seed: str) -> SurveyResult:
    """The drawn sample of every unit; a pure function of (plan, units, seed), whatever the input order."""
    units = list(units)
    digest = survey_inputs_digest(plan, units)
    root = survey_root(seed)
    samples, problems = [], []
    for unit in _normal_units(units):
        pool = list(unit.candidates)
        n, k = len(pool), min(plan.per_unit, len(pool))
        stream = SeedStream(root, f"unit:{unit.id}")
        for i in range(k):
            j = i + stream.below(n - i)
            pool[i], pool[j] = pool[j], pool[i]
        short = n < plan.per_unit
        samples.append(UnitSample(unit.id, tuple(pool[:k]), n, short))
        if short:
            problems.append(SurveyProblem(
                "unit_short", f"单位 {unit.id} 只有 {n} 名符合条件的评议对象，少于 {plan.per_unit} 名，已全部抽取",
                unit.id, {"eligible": n, "required": plan.per_unit}))
    return SurveyResult(tuple(samples), tuple(problems), digest)


def survey_result_to_dict(result: SurveyResult) -> dict:
    return {"algorithm": result.algorithm, "inputs_digest": result.inputs_digest,
            "units": [{"unit_id": s.unit_id, "drawn": list(s.drawn), "eligible": s.eligible, "short": s.short}
                      for s in result.units],
            "problems": [{"code": p.code, "message_zh": p.message_zh, "unit_id": p.unit_id,
                          "details": dict(p.details)} for p in result.problems]}


def survey_result_from_dict(data: Mapping) -> SurveyResult:
    return SurveyResult(
        units=tuple(UnitSample(u["unit_id"], tuple(u["drawn"]), u["eligible"], u["short"]) for u in data["units"]),
        problems=tuple(SurveyProblem(p["code"], p["message_zh"], p.get("unit_id"), p.get("details") or {})
                       for p in data["problems"]),
        inputs_digest=data["inputs_digest"], algorithm=data.get("algorithm", SURVEY_ALGORITHM))


def survey_result_json(result: SurveyResult) -> str:
    return canonical(survey_result_to_dict(result))


def survey_result_digest(result: SurveyResult) -> str:
    return sha256_text(survey_result_json(result))


def verify_survey(plan: SurveyPlan, units: Iterable[SurveyUnit], seed: str, expected: SurveyResult, *,
                  commitment: str | None = None, limit: int = 100) -> list[str]:
    """Re-run the draw and list every difference from `expected` (empty: verified)."""
    units = list(units)
    diffs = record_problems(seed=seed, commitment=commitment, algorithm=SURVEY_ALGORITHM,
                            recorded_algorithm=expected.algorithm, inputs_digest=survey_inputs_digest(plan, units),
                            recorded_inputs_digest=expected.inputs_digest)
    actual = draw_survey(plan, units, seed)
    got = {s.unit_id: s for s in actual.units}
    want = {s.unit_id: s for s in expected.units}
    lines = []
    for uid in sorted(set(got) | set(want)):
        a, b = got.get(uid), want.get(uid)
        if b is None:
            lines.append(f"单位 {uid}: 重新抽取有而记录中没有 (extra)")
        elif a is None:
            lines.append(f"单位 {uid}: 记录中有而重新抽取没有 (missing)")
        elif a != b:
            lines.append(f"单位 {uid}: 记录为 {list(b.drawn)}，重新抽取为 {list(a.drawn)}")
    if [canonical(vars(p) | {"details": dict(p.details)}) for p in actual.problems] != \
            [canonical(vars(p) | {"details": dict(p.details)}) for p in expected.problems]:
        lines.append("问题清单与记录不符 (problems differ)")
    return diffs + capped(lines, limit)
