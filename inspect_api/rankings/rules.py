"""Pure rules of the rankings (排名与末位, 002 §8): the period a request names, a unit's or a member of
staff's score from its confirmed findings and citizen ratings, the order with deterministic ties, who
is named at the bottom (末位), and who becomes a candidate for special supervision (专项督查).

Scoring, in the words of the policy file (`checklists/policy/rankings.yaml`):
- 明查暗访 (inspection) = 100 − deductions, never below 0; a confirmed finding costs its checklist
  item's points, or the policy's deduction for its severity when the item gives none. It counts when
  the subject was inspected or has a confirmed finding in the period.
- 群众评价 (ratings) = mean rating × 20 (5 分 = 100 分); counts with at least `min_ratings` ratings.
- The score is the weighted mean of the components that count; with none, the subject has no data
  and is listed apart, never ranked (so an unvisited unit never comes out best).
Scores are rounded to one decimal before anything compares them: what a reader sees is what ranks.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from inspect_api.core.categories import SEVERITIES
from inspect_api.errors import Unprocessable
from inspect_api.ratings.rules import BAD_SCORE_MAX, SATISFIED_MIN
from inspect_api.stats.rules import Period, make_period

FULL_SCORE = 100.0
RATING_SCALE = 20  # mean rating (1–5) × 20 = points out of 100
COMPONENTS = {"inspection": "明查暗访", "ratings": "群众评价", "matters": "督办落实"}
# Components every policy weighs; the others count only where the policy gives them a weight above 0.
CORE_COMPONENTS = ("inspection", "ratings")
# Tie-break keys: their label and whether a higher value ranks first.
TIE_BREAKS: dict[str, tuple[str, bool]] = {
    "deduction": ("扣分少者在前", False),
    "severe": ("严重问题少者在前", False),
    "serious": ("较重问题少者在前", False),
    "findings": ("问题少者在前", False),
    "complaints": ("投诉少者在前", False),
    "dissatisfaction_rate": ("差评率低者在前", False),
    "rating_mean": ("评价平均分高者在前", True),
}
PERIOD_KEY = re.compile(r"^(?P<year>\d{4})(?:-(?:(?P<month>0[1-9]|1[0-2])|Q(?P<quarter>[1-4])))?$")
QUARTER_LABELS = "一二三四"


# --- periods ----------------------------------------------------------------------------------------

def period_of_key(key: str) -> Period:
    """`2026-11` a month, `2026-Q4` a quarter, `2026` a year (the keys of the statistics' trend buckets)."""
    m = PERIOD_KEY.match(key.strip())
    if not m or not 2000 <= int(m["year"]) <= 2099:
        raise Unprocessable("期间格式为 2026-11（月）、2026-Q4（季度）或 2026（年） (period: YYYY-MM, YYYY-Qn or YYYY)",
                            {"fields": {"period": ["expected YYYY-MM, YYYY-Qn or YYYY"]}})
    year = int(m["year"])
    if m["month"]:
        first = last = int(m["month"])
    elif m["quarter"]:
        last = int(m["quarter"]) * 3
        first = last - 2
    else:
        first, last = 1, 12
    return Period(date(year, first, 1), date(year, last, calendar.monthrange(year, last)[1]))


def resolve_period(key: str | None, start: date | None, end: date | None, today: date) -> Period:
    """The period a request names: a `period` key, or `from`/`to` as the statistics take them (without
    either, the current month up to today)."""
    if key is not None and (start is not None or end is not None):
        raise Unprocessable("period 与 from/to 只能选一种 (give period or from/to, not both)",
                            {"fields": {"period": ["not together with from/to"]}})
    if key is not None:
        return period_of_key(key)
    return make_period(start, end, today)


def period_key(period: Period) -> str | None:
    """The key of a whole month, quarter or year; None for other spans."""
    s, e = period.start, period.end
    if s.day != 1 or e.day != calendar.monthrange(e.year, e.month)[1] or s.year != e.year:
        return None
    if s.month == e.month:
        return f"{s.year}-{s.month:02d}"
    if s.month % 3 == 1 and e.month == s.month + 2:
        return f"{s.year}-Q{(s.month - 1) // 3 + 1}"
    if (s.month, e.month) == (1, 12):
        return f"{s.year}"
    return None


def period_label(period: Period) -> str:
    """2026年11月, 2026年第四季度, 2026年, else 2026年1月5日至2026年2月3日."""
    key = period_key(period)
    s, e = period.start, period.end
    if key is None:
        return f"{s.year}年{s.month}月{s.day}日至{e.year}年{e.month}月{e.day}日"
    if "-Q" in key:
        return f"{s.year}年第{QUARTER_LABELS[(s.month - 1) // 3]}季度"
    return f"{s.year}年{s.month}月" if "-" in key else f"{s.year}年"


# --- policy values ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class BottomRule:
    """Who may be named 末位: the last `count` (or `share` of the ranked, rounded down, at least
    `min_count`) among the eligible; nobody when fewer than `min_ranked` are ranked."""

    count: int | None = 2
    share: float | None = None
    min_count: int = 0
    min_ranked: int = 5
    below_score: float | None = FULL_SCORE  # only scores below this may be named (None: any)
    require_problem: bool = True  # only with a confirmed finding, or a 差评 among ratings that counted

    def size(self, ranked: int) -> int:
        if self.count is not None:
            return self.count
        return max(self.min_count, math.floor((self.share or 0) * ranked + 1e-9))


@dataclass(frozen=True)
class SubjectPolicy:
    """How units (or staff) are scored and ranked."""

    weights: Mapping[str, float] = field(default_factory=lambda: {"inspection": 0.7, "ratings": 0.3})
    min_ratings: int = 20
    tie_break: tuple[str, ...] = ("deduction", "severe", "findings", "dissatisfaction_rate")
    min_matters: int = 1  # supervised matters (督办事项) closed in the period before their on-time rate counts
    bottom: BottomRule = field(default_factory=BottomRule)


@dataclass(frozen=True)
class SpecialSupervisionRule:
    """When a unit becomes a candidate for special supervision (专项督查): a 差评 rate above the
    threshold over at least `min_ratings` ratings, or at least `complaints_at_least` complaints."""

    min_ratings: int = 20
    dissatisfaction_rate_above: float | None = 0.05
    complaints_at_least: int | None = 3


@dataclass(frozen=True)
class RankingPolicy:
    deduction_by_severity: Mapping[str, float] = field(
        default_factory=lambda: {"minor": 2, "serious": 5, "severe": 10})
    units: SubjectPolicy = field(default_factory=SubjectPolicy)
    staff: SubjectPolicy = field(default_factory=SubjectPolicy)
    special_supervision: SpecialSupervisionRule = field(default_factory=SpecialSupervisionRule)


# --- figures and scores -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Figures:
    """What one unit or member of staff had in the period (counts from the database)."""

    visits: int = 0
    findings_by_severity: Mapping[str, int] = field(default_factory=dict)  # confirmed findings
    points: int = 0  # checklist points of those findings
    unpointed_by_severity: Mapping[str, int] = field(default_factory=dict)  # those whose item gives none
    complaints: int = 0  # confirmed findings that came from complaints
    ratings: int = 0
    rating_sum: int = 0
    satisfied: int = 0  # scores ≥ SATISFIED_MIN (基本满意 and above, as the 好差评 system counts)
    dissatisfied: int = 0  # 差评: scores ≤ BAD_SCORE_MAX
    matters_closed: int = 0  # supervised matters the unit led, closed in the period
    matters_on_time: int = 0  # of them, closed 办结 (on time)

    @property
    def findings(self) -> int:
        return sum(self.findings_by_severity.values())

    @property
    def rating_mean(self) -> float | None:
        return round(self.rating_sum / self.ratings, 2) if self.ratings else None

    @property
    def satisfaction_rate(self) -> float | None:
        return round(self.satisfied / self.ratings, 4) if self.ratings else None

    @property
    def dissatisfaction_rate(self) -> float | None:
        return round(self.dissatisfied / self.ratings, 4) if self.ratings else None

    def deduction(self, by_severity: Mapping[str, float]) -> float:
        return float(self.points) + sum(n * float(by_severity.get(s, 0)) for s, n in self.unpointed_by_severity.items())

    def severity_points(self, by_severity: Mapping[str, float]) -> float:
        return self.deduction(by_severity) - self.points


def tally(scores: Iterable[int]) -> dict:
    """The rating fields of `Figures` from single scores (for tests and small inputs)."""
    scores = list(scores)
    return {"ratings": len(scores), "rating_sum": sum(scores),
            "satisfied": sum(1 for s in scores if s >= SATISFIED_MIN),
            "dissatisfied": sum(1 for s in scores if s <= BAD_SCORE_MAX)}


def round1(value: float) -> float:
    """Half-up to one decimal (not Python's binary round: 92.25 → 92.3 on every machine)."""
    return float(Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _num(value: float) -> str:
    return f"{value:g}" if float(value).is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")


def _eq(exact: Fraction, shown: str) -> str:
    """`=` when the figures printed before it give exactly the figure printed after it, else `≈` (the
    result was rounded): an explanation's arithmetic must hold as printed."""
    return "=" if Fraction(shown) == exact else "≈"


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


@dataclass(frozen=True)
class Component:
    code: str
    counted: bool
    score: float | None
    weight: float  # as the policy gives it
    share: float  # of the final score (weights of the counted components renormalised); 0 when not counted
    note: str  # how the points came about, or why the component does not count

    def as_dict(self) -> dict:
        return {"code": self.code, "label": COMPONENTS[self.code], "counted": self.counted, "score": self.score,
                "weight": self.weight, "share": round(self.share, 4), "note": self.note}


@dataclass(frozen=True)
class Score:
    value: float | None  # None: no data, not ranked
    deduction: float
    components: tuple[Component, ...]
    text: str  # the whole explanation in one sentence

    @property
    def ranked(self) -> bool:
        return self.value is not None


def _matters_component(fig: Figures, policy: SubjectPolicy) -> tuple[float | None, bool, str]:
    """督办落实 = matters closed on time ÷ matters closed × 100, over matters the unit led."""
    if fig.matters_closed and fig.matters_closed >= max(1, policy.min_matters):
        value = round1(fig.matters_on_time * FULL_SCORE / fig.matters_closed)
        exact = Fraction(fig.matters_on_time * int(FULL_SCORE), fig.matters_closed)
        return value, True, (f"牵头督办事项办结{fig.matters_closed}件，按期办结{fig.matters_on_time}件，"
                             f"{fig.matters_on_time} ÷ {fig.matters_closed} × 100 {_eq(exact, f'{value:.1f}')} {value:.1f}")
    if fig.matters_closed:
        return None, False, f"牵头督办事项办结{fig.matters_closed}件，不足{policy.min_matters}件，不计入"
    return None, False, "本期无牵头办结的督办事项，不计入"


def score(fig: Figures, policy: SubjectPolicy, by_severity: Mapping[str, float]) -> Score:
    """The score of one subject and how it came about."""
    deduction = fig.deduction(by_severity)
    w_insp, w_rate = float(policy.weights.get("inspection", 0)), float(policy.weights.get("ratings", 0))

    if fig.visits or fig.findings:
        insp = round1(max(0.0, FULL_SCORE - deduction))
        if fig.findings:
            counts = "、".join(f"{SEVERITIES[s]}{fig.findings_by_severity[s]}" for s in SEVERITIES
                              if fig.findings_by_severity.get(s))
            parts = [f"检查表分值{fig.points}"] if fig.points else []
            if fig.severity_points(by_severity):
                parts.append(f"无分值问题按严重程度{_num(fig.severity_points(by_severity))}")
            shown = _num(deduction)
            exact = Fraction(int(FULL_SCORE)) - Fraction(shown)
            if exact < 0:  # the score stops at zero: say so, with the negative difference shown
                tail = f"= {_num(float(exact))}，不低于0，得{insp:.1f}"
            else:
                tail = f"{_eq(exact, f'{insp:.1f}')} {insp:.1f}"
            note = (f"100 − 扣分{shown}（已确认问题{fig.findings}个：{counts}；"
                    f"{' + '.join(parts) or '均无扣分'}）{tail}")
        else:
            note = f"本期无已确认问题，得{insp:.1f}"
        inspection = (insp, w_insp > 0, note if w_insp > 0 else note + "；权重为0，不计入")
    else:
        inspection = (None, False, "本期未受检查，也无已确认问题，不计入")

    if fig.ratings and fig.ratings >= max(1, policy.min_ratings):
        rate = round1(fig.rating_sum * RATING_SCALE / fig.ratings)
        # the sum and the count, not a rounded mean: 37 ÷ 8 × 20 = 92.5 holds as printed
        exact = Fraction(fig.rating_sum * RATING_SCALE, fig.ratings)
        note = (f"评价{fig.ratings}条共{fig.rating_sum}分，{fig.rating_sum} ÷ {fig.ratings} × {RATING_SCALE} "
                f"{_eq(exact, f'{rate:.1f}')} {rate:.1f}"
                f"（满意率{_pct(fig.satisfaction_rate)}，差评率{_pct(fig.dissatisfaction_rate)}）")
        ratings = (rate, w_rate > 0, note if w_rate > 0 else note + "；权重为0，不计入")
    elif fig.ratings:
        ratings = (None, False, f"评价{fig.ratings}条，不足{policy.min_ratings}条，不计入")
    else:
        ratings = (None, False, "本期无群众评价，不计入")

    raw = {"inspection": (w_insp, *inspection), "ratings": (w_rate, *ratings)}
    w_matt = float(policy.weights.get("matters", 0))
    if w_matt > 0:  # the policy decides whether the on-time rate of supervised matters counts
        raw["matters"] = (w_matt, *_matters_component(fig, policy))
    total = sum(w for w, _, counted, _ in raw.values() if counted)
    components = tuple(Component(code, counted, value, w, w / total if counted else 0.0, note)
                       for code, (w, value, counted, note) in raw.items())
    counted = [c for c in components if c.counted]
    notes = "；".join(f"{COMPONENTS[c.code]}：{c.note}" for c in components)
    if not counted:
        return Score(None, deduction, components, f"无数据，不参与排名。{notes}")
    if len(counted) == 1:
        value = counted[0].score
        formula = f"综合得分 = {COMPONENTS[counted[0].code]}得分 {value:.1f}"
    else:
        value = round1(sum(c.weight * c.score for c in counted) / total)
        terms = " + ".join(f"{c.score:.1f} × {_num(c.weight)}" for c in counted)
        exact = sum((Fraction(f"{c.score:.1f}") * Fraction(_num(c.weight)) for c in counted), Fraction(0)) \
            / Fraction(_num(total))
        formula = f"综合得分 = ({terms}) ÷ {_num(total)} {_eq(exact, f'{value:.1f}')} {value:.1f}"
    return Score(value, deduction, components, f"{formula}。{notes}")


def has_problem(fig: Figures, result: Score) -> bool:
    """A confirmed finding, or a 差评 among ratings that counted: what may put a subject at the bottom."""
    rated = any(c.code == "ratings" and c.counted for c in result.components)
    return fig.findings > 0 or (rated and fig.dissatisfied > 0)


# --- the ranking ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    key: Hashable  # unit id or staff id
    code: str  # unit code or badge number: the last, deterministic, order
    figures: Figures


@dataclass(frozen=True)
class Row:
    key: Hashable
    code: str
    figures: Figures
    score: Score
    rank: int | None  # None: no data
    tie_values: tuple  # what equal scores were compared by, in the policy's order
    problem: bool


def _tie_value(key: str, fig: Figures, result: Score):
    rated = any(c.code == "ratings" and c.counted for c in result.components)
    value = {
        "deduction": result.deduction,
        "severe": fig.findings_by_severity.get("severe", 0),
        "serious": fig.findings_by_severity.get("serious", 0),
        "findings": fig.findings,
        "complaints": fig.complaints,
        "dissatisfaction_rate": (fig.dissatisfaction_rate or 0.0) if rated else 0.0,
        "rating_mean": (fig.rating_mean or 0.0) if rated else 0.0,
    }[key]
    return value


def rank(entries: Iterable[Entry], policy: SubjectPolicy, by_severity: Mapping[str, float]) -> list[Row]:
    """Every entry scored; the ranked first, best first, with standard competition ranks (1, 2, 2, 4):
    equal scores are compared by the policy's tie-break keys in turn, and those still equal share a
    rank and are listed by code (then key). Entries without data follow, by code, without a rank."""
    scored = []
    for e in entries:
        result = score(e.figures, policy, by_severity)
        ties = tuple(_tie_value(k, e.figures, result) for k in policy.tie_break)
        scored.append((e, result, ties))

    def order(item):
        e, result, ties = item
        keyed = tuple(-v if TIE_BREAKS[k][1] else v for k, v in zip(policy.tie_break, ties, strict=True))
        return (-result.value, keyed, e.code, str(e.key))

    ranked = sorted((s for s in scored if s[1].ranked), key=order)
    rows: list[Row] = []
    for i, (e, result, ties) in enumerate(ranked):
        same = rows and rows[-1].score.value == result.value and rows[-1].tie_values == ties
        rows.append(Row(e.key, e.code, e.figures, result, rows[-1].rank if same else i + 1, ties,
                        has_problem(e.figures, result)))
    for e, result, ties in sorted((s for s in scored if not s[1].ranked), key=lambda s: (s[0].code, str(s[0].key))):
        rows.append(Row(e.key, e.code, e.figures, result, None, ties, has_problem(e.figures, result)))
    return rows


@dataclass(frozen=True)
class Bottom:
    named: tuple  # keys, worst first
    size: int  # how many the rule asks for
    note: str  # the rule as applied, or why nobody is named


def bottom(rows: Sequence[Row], rule: BottomRule, noun: str = "单位") -> Bottom:
    """The 末位: from the last ranked upwards, the eligible ones until the rule's number is reached;
    those tied (same rank) with the last one named are named too — a tie is never broken by the
    alphabet against someone. Nobody when fewer than `min_ranked` are ranked."""
    ranked = [r for r in rows if r.rank is not None]
    size = rule.size(len(ranked))
    if len(ranked) < rule.min_ranked:
        return Bottom((), size, f"参与排名的{noun}{len(ranked)}个，少于{rule.min_ranked}个，不点名末位")
    if size <= 0:
        return Bottom((), 0, "末位点名人数为0")
    named: list[Row] = []
    for r in reversed(ranked):
        eligible = (rule.below_score is None or r.score.value < rule.below_score) and (
            not rule.require_problem or r.problem)
        if not eligible:
            continue
        if len(named) >= size and r.rank != named[-1].rank:
            break
        named.append(r)
    conditions = []
    if rule.below_score is not None:
        conditions.append(f"得分低于{_num(rule.below_score)}")
    if rule.require_problem:
        conditions.append("有已确认问题或计入的差评")
    how = f"末{rule.count}名" if rule.count is not None else f"排名{noun}的{_num(rule.share * 100)}%（至少{rule.min_count}个）"
    note = f"点名{how}，限{'且'.join(conditions)}的{noun}，并列者一并点名" if conditions else \
        f"点名{how}，并列者一并点名"
    if not named:
        note += f"；本期没有符合条件的{noun}"
    return Bottom(tuple(r.key for r in named), size, note)


def best(rows: Sequence[Row], count: int, exclude: Iterable[Hashable] = ()) -> list[Row]:
    """The first `count` ranked, never one named at the bottom or otherwise excluded."""
    excluded = set(exclude)
    return [r for r in rows if r.rank is not None and r.key not in excluded][:count]


def special_supervision(fig: Figures, rule: SpecialSupervisionRule) -> list[dict]:
    """Why a unit is a candidate for special supervision (专项督查), or [] when it is not."""
    reasons = []
    rate = fig.dissatisfaction_rate
    if rule.dissatisfaction_rate_above is not None and fig.ratings >= max(1, rule.min_ratings) \
            and rate is not None and rate > rule.dissatisfaction_rate_above:
        reasons.append({"code": "dissatisfaction",
                        "label": f"差评率{_pct(rate)}（{fig.dissatisfied}/{fig.ratings}），高于"
                                 f"{_pct(rule.dissatisfaction_rate_above)}"})
    if rule.complaints_at_least is not None and fig.complaints >= rule.complaints_at_least:
        reasons.append({"code": "complaints",
                        "label": f"经核实的投诉{fig.complaints}件，达到{rule.complaints_at_least}件"})
    return reasons


def bulletin_method_text(policy: RankingPolicy) -> str:
    """The unit scoring in one sentence, as a bulletin prints it above the ranking."""
    w = policy.units.weights
    w_insp, w_rate = float(w.get("inspection", 0)), float(w.get("ratings", 0))
    inspection = "明查暗访得分（100分减去已确认问题扣分）"
    ratings = f"群众评价得分（好差评平均分折算百分制，评价满{policy.units.min_ratings}条的单位计入）"
    if not w_rate:
        return f"综合得分为{inspection}。"
    if not w_insp:
        return f"综合得分为{ratings}。"
    return (f"综合得分由{inspection}和{ratings}按{_num(w_insp)}∶{_num(w_rate)}的权重加权计算，"
            "评价条数不足的单位按明查暗访得分计。")


def method_text(policy: RankingPolicy, subject: str = "units") -> str:
    """The scoring rules in one paragraph, for the response's `method` and the bulletin."""
    sp: SubjectPolicy = getattr(policy, subject)
    noun = "单位" if subject == "units" else "工作人员"
    sev = "、".join(f"{SEVERITIES[s]}{_num(policy.deduction_by_severity[s])}分" for s in SEVERITIES)
    weights = "、".join(f"{COMPONENTS[c]}{_num(sp.weights.get(c, 0))}" for c in COMPONENTS
                        if c in CORE_COMPONENTS or sp.weights.get(c, 0) > 0)
    matters = (f"督办落实得分 = 牵头督办事项按期办结数 ÷ 办结数 × 100，办结不少于{sp.min_matters}件时计入；"
               if sp.weights.get("matters", 0) > 0 else "")
    ties = "、".join(TIE_BREAKS[k][0] for k in sp.tie_break) or "无"
    return (f"明查暗访得分 = 100 − 已确认问题扣分（按检查表分值，无分值的按严重程度：{sev}），不低于0，"
            f"本期受检查或有已确认问题的{noun}计入；群众评价得分 = 评价平均分 × {RATING_SCALE}，"
            f"评价不少于{sp.min_ratings}条时计入；{matters}综合得分为计入项的加权平均（权重：{weights}），保留一位小数。"
            f"同分依次比较：{ties}；仍相同者名次并列，按编码排列。两项均不计入的{noun}列为“无数据”，不参与排名。")
