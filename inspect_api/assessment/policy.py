"""The assessment policy file (`checklists/policy/assessment.yaml`): read and checked at start-up.

`parse` names every problem at once (Chinese, English in brackets), like the other policy files; the
result is a `rules.AssessmentPolicy` whose `data` is the checked mapping, stored with each grade run.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

from inspect_api.assessment.rules import (
    FINDING_SOURCES,
    VETO_EFFECTS,
    AssessmentPolicy,
    FindingsVeto,
    SatisfactionVeto,
    Veto,
)
from inspect_api.checklists.rules import CJK
from inspect_api.core.categories import CATEGORIES, SEVERITIES
from inspect_api.core.policy_file import PolicyError

FILE = Path("policy") / "assessment.yaml"
TOP_KEYS = ("version", "min_raters", "survey", "inspection", "weights", "thresholds", "vetoes")
SURVEY_KEYS = ("per_unit", "unit_kinds", "score_points")
INSPECTION_KEYS = ("base", "deduction_by_severity", "floor")
UNIT_KINDS = ("county", "department", "hall", "window", "other")
VETO_KEYS = ("id", "name", "when", "effect")
VETO_CONDITIONS = {"confirmed_findings": ("count", "severities", "sources", "categories"),
                   "satisfaction_below": ("rate",)}
VETO_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_SCORE = Decimal(1000)


class AssessmentPolicyError(PolicyError):
    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = list(problems)
        super().__init__(f"{source}: " + "; ".join(self.problems))


def _int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _dec(value) -> Decimal | None:
    """A YAML number as an exact decimal (0.6 is 0.6, not 0.59999…), None when it is not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def _unknown(where: str, mapping: dict, allowed) -> list[str]:
    extra = sorted(set(map(str, mapping)) - set(allowed))
    return [f"{where}: 未知字段 {extra} (unknown keys; allowed: {list(allowed)})"] if extra else []


def _mapping(data: dict, key: str, problems: list[str]) -> dict:
    value = data.get(key)
    if not isinstance(value, dict):
        problems.append(f"{key} 须为映射 ({key} must be a mapping)")
        return {}
    return value


def parse(text: str, source: str) -> AssessmentPolicy:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AssessmentPolicyError(source, [f"YAML 格式错误 (invalid YAML): {exc}"]) from exc
    return from_data(data, source)


def from_data(data, source: str) -> AssessmentPolicy:
    if not isinstance(data, dict):
        raise AssessmentPolicyError(source, ["须为映射 (must be a mapping)"])
    problems: list[str] = _unknown("顶层", data, TOP_KEYS)
    missing = [k for k in TOP_KEYS if k not in data and k != "vetoes"]
    if missing:
        problems.append(f"缺少字段 {missing} (missing keys)")
    version, min_raters = data.get("version"), data.get("min_raters")
    if not _int(version) or version < 1:
        problems.append("version 须为不小于 1 的整数 (version must be an integer ≥ 1)")
    if not _int(min_raters) or not 1 <= min_raters <= 10_000:
        problems.append("min_raters 须为 1–10000 的整数 (min_raters: the fewest raters a grade needs; 000 六: 20)")

    survey = _mapping(data, "survey", problems) if "survey" in data else {}
    problems += _unknown("survey", survey, SURVEY_KEYS)
    per_unit = survey.get("per_unit")
    if not _int(per_unit) or not 1 <= per_unit <= 10_000:
        problems.append("survey.per_unit 须为 1–10000 的整数 (recipients drawn per unit)")
    elif _int(min_raters) and per_unit < min_raters:
        problems.append(f"survey.per_unit ({per_unit}) 不能少于 min_raters ({min_raters}) "
                        "(draw at least as many as a grade needs)")
    kinds = survey.get("unit_kinds")
    if not isinstance(kinds, list) or not kinds or not all(k in UNIT_KINDS for k in kinds) or \
            len(set(kinds)) != len(kinds):
        problems.append(f"survey.unit_kinds 须为 {list(UNIT_KINDS)} 中不重复的非空列表 (unit kinds assessed)")
        kinds = []
    points_raw = survey.get("score_points")
    if isinstance(points_raw, dict):  # keys "5" as well as 5: a run stores the policy as JSON
        points_raw = {int(k) if isinstance(k, str) and k.isdigit() else k: v for k, v in points_raw.items()}
    score_points: dict[int, Decimal] = {}
    if not isinstance(points_raw, dict) or set(points_raw) != {1, 2, 3, 4, 5}:
        problems.append("survey.score_points 须为 1–5 每个评分给出折合分数, 如 {5: 100, 4: 80, 3: 60, 2: 30, 1: 0} "
                        "(points for each score 1–5)")
    else:
        for k, v in points_raw.items():
            d = _dec(v)
            if d is None or not 0 <= d <= MAX_SCORE:
                problems.append(f"survey.score_points.{k} 须为 0–{MAX_SCORE} 的数 (points must be 0–{MAX_SCORE})")
            else:
                score_points[k] = d
        if len(score_points) == 5 and any(score_points[s] < score_points[s - 1] for s in range(2, 6)):
            problems.append("survey.score_points 须随评分不减 (a higher score may not be worth fewer points)")

    insp = _mapping(data, "inspection", problems) if "inspection" in data else {}
    problems += _unknown("inspection", insp, INSPECTION_KEYS)
    base, floor = _dec(insp.get("base")), _dec(insp.get("floor", 0))
    if base is None or not 0 < base <= MAX_SCORE:
        problems.append(f"inspection.base 须为 0–{MAX_SCORE} 的正数 (the score before deductions)")
    if floor is None or floor < 0 or (base is not None and floor > base):
        problems.append("inspection.floor 须为不大于 base 的非负数 (the lowest inspection score)")
    by_sev_raw = insp.get("deduction_by_severity")
    by_sev: dict[str, Decimal] = {}
    if not isinstance(by_sev_raw, dict) or set(by_sev_raw) != set(SEVERITIES):
        problems.append(f"inspection.deduction_by_severity 须为 {list(SEVERITIES)} 各给出扣分 "
                        "(deduction per finding whose checklist item gives no points)")
    else:
        for k, v in by_sev_raw.items():
            d = _dec(v)
            if d is None or not 0 <= d <= MAX_SCORE:
                problems.append(f"inspection.deduction_by_severity.{k} 须为非负数 (a non-negative number)")
            else:
                by_sev[k] = d

    weights = _mapping(data, "weights", problems) if "weights" in data else {}
    problems += _unknown("weights", weights, ("inspection", "survey"))
    w_i, w_s = _dec(weights.get("inspection")), _dec(weights.get("survey"))
    if w_i is None or w_s is None or w_i < 0 or w_s < 0:
        problems.append("weights.inspection 与 weights.survey 须为非负数 (both weights are required)")
    elif w_i + w_s != 1:
        problems.append(f"weights 之和须为 1, 现为 {w_i + w_s} (weights must add up to 1)")

    thresholds = _mapping(data, "thresholds", problems) if "thresholds" in data else {}
    problems += _unknown("thresholds", thresholds, ("excellent", "pass"))
    t_ex, t_pass = _dec(thresholds.get("excellent")), _dec(thresholds.get("pass"))
    if t_ex is None or t_pass is None:
        problems.append("thresholds.excellent 与 thresholds.pass 须为数 (the 优秀 and 合格 lines)")
    elif not 0 <= t_pass <= t_ex:
        problems.append(f"thresholds 须满足 0 ≤ pass ≤ excellent, 现为 pass {t_pass}, excellent {t_ex}")

    vetoes = _vetoes(data.get("vetoes", []), problems)
    if problems:
        raise AssessmentPolicyError(source, problems)
    return AssessmentPolicy(
        version=version, min_raters=min_raters, per_unit=per_unit, unit_kinds=tuple(kinds),
        score_points=score_points, inspection_base=base, deduction_by_severity=by_sev, inspection_floor=floor,
        weight_inspection=w_i, weight_survey=w_s, threshold_excellent=t_ex, threshold_pass=t_pass,
        vetoes=tuple(vetoes), data=data)


def _names(where: str, value, known: dict, what: str, problems: list[str]) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        problems.append(f"{where} 须为非空的{what}列表 (a non-empty list)")
        return None
    bad = sorted(set(value) - set(known))
    if bad:
        problems.append(f"{where} 含未知的{what} {bad} (unknown; known: {list(known)})")
    if len(set(value)) != len(value):
        problems.append(f"{where} 有重复 (listed twice)")
    return tuple(sorted(set(value)))


def _vetoes(raw, problems: list[str]) -> list[Veto]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.append("vetoes 须为列表 (vetoes must be a list)")
        return []
    out: list[Veto] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        where = f"vetoes[{index}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: 须为映射 (a veto must be a mapping)")
            continue
        if isinstance(item.get("id"), str):
            where += f" ({item['id']})"
        before = len(problems)
        problems += _unknown(where, item, VETO_KEYS)
        missing = [k for k in VETO_KEYS if k not in item]
        if missing:
            problems.append(f"{where}: 缺少字段 {missing} (missing keys)")
        vid, name, effect = item.get("id"), item.get("name"), item.get("effect")
        if "id" in item and not (isinstance(vid, str) and VETO_ID.match(vid)):
            problems.append(f"{where}: id 须为小写字母开头的英文标识 (a lowercase slug)")
        elif isinstance(vid, str):
            if vid in seen:
                problems.append(f"{where}: id 重复 (duplicate id)")
            seen.add(vid)
        if "name" in item and not (isinstance(name, str) and CJK.search(name)):
            problems.append(f"{where}: name 须为中文名称 (a Chinese label)")
        if "effect" in item and effect not in VETO_EFFECTS:
            problems.append(f"{where}: effect 须为 {list(VETO_EFFECTS)} 之一 (fail: 不合格, cap_pass: 最高合格)")
        condition = _condition(where, item["when"], problems) if "when" in item else None
        if len(problems) == before and condition is not None:
            out.append(Veto(id=vid, name=name.strip(), condition=condition, effect=effect))
    return out


def _condition(where: str, when, problems: list[str]):
    if not isinstance(when, dict) or len(when) != 1:
        problems.append(f"{where}: when 须为只含一种条件的映射 (one of {list(VETO_CONDITIONS)})")
        return None
    (kind, params), = when.items()
    if kind not in VETO_CONDITIONS:
        problems.append(f"{where}: 未知的条件 {kind!r} (unknown condition; known: {list(VETO_CONDITIONS)})")
        return None
    at = f"{where}: when.{kind}"
    if not isinstance(params, dict):
        problems.append(f"{at} 须为映射 (parameters must be a mapping)")
        return None
    before = len(problems)
    problems += _unknown(at, params, VETO_CONDITIONS[kind])
    if kind == "confirmed_findings":
        count = params.get("count", 1)
        if not _int(count) or count < 1:
            problems.append(f"{at}.count 须为不小于 1 的整数 (count must be an integer ≥ 1)")
        severities = _names(f"{at}.severities", params.get("severities"), SEVERITIES, "严重程度", problems)
        sources = _names(f"{at}.sources", params.get("sources"), FINDING_SOURCES, "问题来源", problems)
        categories = _names(f"{at}.categories", params.get("categories"), CATEGORIES, "问题类别", problems)
        if len(problems) > before:
            return None
        return FindingsVeto(count=count, severities=severities, sources=sources, categories=categories)
    rate = _dec(params.get("rate"))
    if rate is None or not 0 < rate <= 1:
        problems.append(f"{at}.rate 须为 (0, 1] 之间的比例 (a share, e.g. 0.6)")
        return None
    return SatisfactionVeto(rate=rate)


def load(checklist_dir: str) -> AssessmentPolicy:
    path = Path(checklist_dir) / FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AssessmentPolicyError(str(path), [f"无法读取 (cannot read: {exc.strerror})"]) from exc
    return parse(text, str(path))
