"""Pure rules of escalation (问责): the policy as frozen values, the facts it looks at, and `evaluate`,
which says which rule fires for whom on which facts and what it proposes.

Values in, values out: no Flask, no database, no clock (`as_of` is given), no file access (see `policy`).

How a rule fires, and why a proposal is never made twice for the same facts
-------------------------------------------------------------------------
- Only `confirmed` findings count: pending, returned, dismissed and withdrawn ones never do, and a finding
  or outcome dated after `as_of` is not known yet. Dates are local (Asia/Shanghai) dates; the caller
  converts observed times before building facts.
- A firing is anchored on a date: the date of the newest fact it uses (`Proposal.fired_on`). Its facts are
  everything the rule looks at up to and including that date, never later facts, so a firing already
  made is reproduced exactly by any later evaluation, whatever else arrives after it.
- `confirmed_findings` / `outcomes` (count in a rolling window): at each date on which the subject has a
  qualifying fact, the window is [date − window_days, date], both ends inclusive: a finding exactly
  `window_days` before the newest one counts, one a day earlier does not. The firing's facts are all
  qualifying facts in that window (not only the newest `count`), so a third finding inside the window of
  a "2 in 12 months" rule is a new firing with a new fact set, hence a new proposal; a finding after the
  window, or of another subject, changes nothing that was proposed before.
- `findings_in_quarter`: calendar quarters of the local date (31 Mar is Q1, 1 Apr is Q2); once per unit
  and quarter, on the first date the unit's findings in the quarter reach `count`, with every finding of
  the quarter up to that date (more than `count` when several fall on that day). Further findings in the
  same quarter add no proposal: the 约谈 is about the quarter, and the next quarter counts afresh.
- `counts: occasions` (on `confirmed_findings` and `findings_in_quarter`): the rung counts occasions,
  the distinct visits or complaints its findings came from, not findings: one visit with two findings is
  one occasion ("被确认问题2次" speaks of repeated problems). `counts: findings` (the default) counts each
  finding. The firing's facts are still every qualifying finding.
- `finding_severity`: each qualifying finding on its own. `overdue_rectification`: each rectification
  whose due day has passed (`due_on < as_of`), fired on the day after it was due.
- `bottom_rank`: at each month the unit was named 末位, if it was also named in each of the
  `consecutive_months − 1` calendar months before (Dec → Jan runs across the year; a gap month breaks
  it); fired on the first day of the ranked month.
- `annual_grade`: a unit's grade in the year's approved annual assessment (one fact per unit and year,
  `grade:<unit>:<year>`, from the run in force), fired on the day it was approved; approving the same
  grade again for the year proposes nothing new.
- `Proposal.dedupe_key` is a SHA-256 of (rule id, subject type, subject id, the sorted fact ids) and of
  nothing else: neither the policy version, nor the rule's thresholds, nor the wording. The caller stores
  proposals and inserts only unknown keys, so evaluating again, later, or under a new policy version
  never duplicates or rewrites what was proposed; a new version only adds firings whose facts are new
  for that rule. Changing what a rule proposes, or to whom, needs a new rule id (`policy` enforces it).

Ladders ("2 → efficiency warning, 3 → referral") are separate rules. When both rungs fire for the same
subject on the same date and the higher rung's facts include the lower one's, both are proposed unless
the higher rule lists the lower in `supersedes`; then only the higher is. The shipped policy uses
`supersedes` on its ladders: a third finding proposes a referral, not also a second warning on the same
findings. Supersession is transitive and only compares firings of the same date, so a warning already
proposed at the second finding stays proposed when the third one arrives.
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import ClassVar

from inspect_api.core.categories import CATEGORIES, SEVERITIES

SUBJECTS = {"staff": "工作人员", "unit": "单位"}

ACTIONS = {
    "referral": "移送/问责建议",
    "efficiency_warning": "效能告诫",
    "written_self_criticism": "书面检查",
    "circulated_criticism": "通报批评",
    "head_talk": "约谈",
    "escalation": "督办升级",
    "head_accountability": "追究单位主要负责人责任",
}

# Decisions already recorded against a member of staff, which the outcomes ladder counts.
OUTCOME_KINDS = {
    "admonishment_talk": "诫勉谈话",
    "written_self_criticism": "书面检查",
    "circulated_criticism": "通报批评",
    "efficiency_warning": "效能告诫",
    "referral": "移送问责",
}

COUNTED_STATUS = "confirmed"


# --- the policy as values ---------------------------------------------------------------------------

@dataclass(frozen=True)
class FindingSeverity:
    """Any one confirmed finding of this severity."""

    kind: ClassVar[str] = "finding_severity"
    facts: ClassVar[str] = "findings"
    severity: str


@dataclass(frozen=True)
class ConfirmedFindings:
    """At least `count` confirmed findings of the subject within `window_days` (optionally of some categories)."""

    kind: ClassVar[str] = "confirmed_findings"
    facts: ClassVar[str] = "findings"
    count: int
    window_days: int
    categories: tuple[str, ...] | None = None
    counts: str = "findings"  # "findings" | "occasions" (distinct visits or complaints)


@dataclass(frozen=True)
class FindingsInQuarter:
    """At least `count` confirmed findings of the unit in one calendar quarter."""

    kind: ClassVar[str] = "findings_in_quarter"
    facts: ClassVar[str] = "findings"
    count: int
    categories: tuple[str, ...] | None = None
    counts: str = "findings"  # "findings" | "occasions" (distinct visits or complaints)


COUNTS = {"findings": "每条问题计一次", "occasions": "同一次检查或同一件投诉计一次"}


@dataclass(frozen=True)
class Outcomes:
    """At least `count` recorded outcomes of a kind against the member of staff within `window_days`."""

    kind: ClassVar[str] = "outcomes"
    facts: ClassVar[str] = "outcomes"
    outcome: str
    count: int
    window_days: int


@dataclass(frozen=True)
class OverdueRectification:
    """A rectification past its due day."""

    kind: ClassVar[str] = "overdue_rectification"
    facts: ClassVar[str] = "overdue"


@dataclass(frozen=True)
class OverdueMatter:
    """A supervised matter (督办事项) of the unit's lead: overdue, or closed 逾期办结 / 未办结."""

    kind: ClassVar[str] = "overdue_matter"
    facts: ClassVar[str] = "matters"


@dataclass(frozen=True)
class BottomRank:
    """Named at the bottom (末位) of the monthly bulletin `consecutive_months` months running."""

    kind: ClassVar[str] = "bottom_rank"
    facts: ClassVar[str] = "bottom_ranks"
    consecutive_months: int


@dataclass(frozen=True)
class AnnualGrade:
    """Graded `grade` (excellent | pass | fail) in an approved annual assessment (年度考评)."""

    kind: ClassVar[str] = "annual_grade"
    facts: ClassVar[str] = "grades"
    grade: str


Trigger = FindingSeverity | ConfirmedFindings | FindingsInQuarter | Outcomes | OverdueRectification | BottomRank | \
    AnnualGrade | OverdueMatter

TRIGGERS: dict[str, type] = {t.kind: t for t in (FindingSeverity, ConfirmedFindings, FindingsInQuarter, Outcomes,
                                                 OverdueRectification, BottomRank, AnnualGrade,
                                                 OverdueMatter)}
# Grades of the annual assessment an approved run can give (assessment.rules; 不予评定 is no grade).
GRADES = {"excellent": "优秀", "pass": "合格", "fail": "不合格"}
TRIGGER_LABELS = {
    "finding_severity": "单个问题达到严重程度",
    "confirmed_findings": "一定期限内被确认问题次数",
    "findings_in_quarter": "单位一个季度内被确认问题次数",
    "outcomes": "一定期限内受到处理的次数",
    "overdue_rectification": "整改逾期",
    "bottom_rank": "连续排名末位",
    "annual_grade": "年度考评等次",
    "overdue_matter": "督办事项逾期或未办结",
}
# Whom a trigger can be about: the facts name a unit only (overdue, bottom rank), or staff only (outcomes).
TRIGGER_SUBJECTS = {
    "finding_severity": ("staff", "unit"),
    "confirmed_findings": ("staff", "unit"),
    "findings_in_quarter": ("unit",),
    "outcomes": ("staff",),
    "overdue_rectification": ("unit",),
    "bottom_rank": ("unit",),
    "annual_grade": ("unit",),
    "overdue_matter": ("unit",),
}


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    subject: str
    trigger: Trigger
    action: str
    supersedes: tuple[str, ...] = ()


@dataclass(frozen=True)
class EscalationPolicy:
    """One version of the policy. `text` is the YAML it was read from (comments and all), kept so an admin
    API can store and show exactly what was submitted; it takes no part in equality."""

    version: int
    rules: tuple[Rule, ...]
    text: str = field(default="", compare=False, repr=False)

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


# --- facts ----------------------------------------------------------------------------------------------

Id = int | str


@dataclass(frozen=True)
class FindingFact:
    id: Id
    staff_id: Id | None  # None when the member of staff was not identified
    unit_id: Id
    severity: str
    category: str
    status: str
    observed_on: date  # local date
    occasion: Id | None = None  # the visit or complaint it came from ("visit:<id>"); None: its own

    @property
    def fact_id(self) -> str:
        return f"finding:{self.id}"

    @property
    def occasion_key(self) -> Id:
        return self.occasion if self.occasion is not None else self.fact_id


@dataclass(frozen=True)
class OutcomeFact:
    id: Id
    staff_id: Id
    kind: str
    decided_on: date

    @property
    def fact_id(self) -> str:
        return f"outcome:{self.id}"


@dataclass(frozen=True)
class OverdueFact:
    """A rectification that is (or was) overdue. Its due day is part of its identity: a finding reopened,
    confirmed again and overdue again on a new day is a new fact."""

    finding_id: Id
    unit_id: Id
    due_on: date

    @property
    def fact_id(self) -> str:
        return f"overdue:{self.finding_id}:{self.due_on.isoformat()}"


@dataclass(frozen=True)
class MatterFact:
    """A supervised matter its lead unit let run past its deadline (`state` overdue) or that was closed 未办结
    (`state` unfinished). `due_on` is the day it became a fact's anchor: the deadline (fired the day
    after), or the day an unfinished matter was closed before its deadline. One fact per matter and day,
    so an overdue matter closed 未办结 later is not proposed twice. `title` only shapes the wording."""

    matter_id: Id
    unit_id: Id
    due_on: date
    state: str = "overdue"
    title: str | None = field(default=None, compare=False)

    @property
    def fact_id(self) -> str:
        return f"matter:{self.matter_id}:{self.due_on.isoformat()}"


@dataclass(frozen=True)
class BottomRankFact:
    unit_id: Id
    year: int
    month: int

    def __post_init__(self):
        if not 1 <= self.month <= 12:
            raise ValueError(f"month must be 1–12, not {self.month}")

    @property
    def fact_id(self) -> str:
        return f"bottom_rank:{self.unit_id}:{self.year:04d}-{self.month:02d}"

    @property
    def index(self) -> int:  # months since year 0, so that Dec and the next Jan are neighbours
        return self.year * 12 + self.month - 1


@dataclass(frozen=True)
class GradeFact:
    """A unit's grade in the approved annual assessment of a year (one per unit and year: the run in force).
    `head` (the unit's head, for the wording) takes no part in the fact's identity."""

    unit_id: Id
    year: int
    grade: str
    approved_on: date  # local date
    head: str | None = field(default=None, compare=False)

    @property
    def fact_id(self) -> str:
        return f"grade:{self.unit_id}:{self.year:04d}"


@dataclass(frozen=True)
class Proposal:
    rule_id: str
    policy_version: int
    subject_type: str
    subject_id: Id
    action: str
    fact_ids: tuple[str, ...]  # sorted
    reason: str  # Chinese: the subject, the facts, the rule
    dedupe_key: str
    fired_on: date  # the date of the newest fact the firing uses


def dedupe_key(rule_id: str, subject_type: str, subject_id: Id, fact_ids: Iterable[str]) -> str:
    """Deterministic in (rule, subject, set of facts) only; see the module's notes."""
    canonical = json.dumps([rule_id, subject_type, str(subject_id), sorted(set(fact_ids))],
                           ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- evaluation -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Firing:
    rule: Rule
    subject_id: Id
    fired_on: date
    facts: tuple  # fact objects, oldest first
    detail: str  # the facts sentence of the reason, without the subject's name

    @property
    def fact_ids(self) -> frozenset[str]:
        return frozenset(f.fact_id for f in self.facts)


def evaluate(policy: EscalationPolicy, *, as_of: date,
             findings: Iterable[FindingFact] = (), outcomes: Iterable[OutcomeFact] = (),
             overdue: Iterable[OverdueFact] = (), bottom_ranks: Iterable[BottomRankFact] = (),
             grades: Iterable[GradeFact] = (), matters: Iterable[MatterFact] = (),
             since: date | None = None,
             staff_names: Mapping[Id, str] | None = None,
             unit_names: Mapping[Id, str] | None = None) -> list[Proposal]:
    """Every proposal the facts justify as of `as_of`, oldest firing first; the same for any order of the
    inputs. `since` keeps only firings on or after that date (e.g. the day a policy version was adopted),
    while windows still look back before it. Names only shape the wording of `reason`."""
    known = {
        "findings": _unique(f for f in findings if f.status == COUNTED_STATUS and f.observed_on <= as_of),
        "outcomes": _unique(o for o in outcomes if o.decided_on <= as_of),
        "overdue": _unique(o for o in overdue if o.due_on < as_of),
        "bottom_ranks": _unique(b for b in bottom_ranks if date(b.year, b.month, 1) <= as_of),
        "grades": _unique(g for g in grades if g.approved_on <= as_of),
        "matters": _unique(m for m in matters if (m.due_on < as_of if m.state == "overdue" else m.due_on <= as_of)),
    }
    firings = [firing for rule in policy.rules
               for firing in _FIRE[rule.trigger.kind](rule, known[rule.trigger.facts])]
    firings = _drop_superseded(policy, firings)
    names = {"staff": staff_names or {}, "unit": unit_names or {}}
    order = {rule.id: i for i, rule in enumerate(policy.rules)}
    proposals: dict[str, Proposal] = {}
    for firing in firings:
        if since is not None and firing.fired_on < since:
            continue
        rule = firing.rule
        fact_ids = tuple(sorted(firing.fact_ids))
        key = dedupe_key(rule.id, rule.subject, firing.subject_id, fact_ids)
        who = names[rule.subject].get(firing.subject_id) or f"{SUBJECTS[rule.subject]}#{firing.subject_id}"
        reason = f"{who}{firing.detail}。依规则“{rule.name}”（{rule.id}），建议：{ACTIONS[rule.action]}。"
        proposals.setdefault(key, Proposal(
            rule_id=rule.id, policy_version=policy.version, subject_type=rule.subject,
            subject_id=firing.subject_id, action=rule.action, fact_ids=fact_ids, reason=reason,
            dedupe_key=key, fired_on=firing.fired_on))
    return sorted(proposals.values(), key=lambda p: (p.fired_on, order[p.rule_id], p.subject_type,
                                                     _natural(p.subject_id), p.fact_ids))


def _natural(value: Id) -> tuple:
    return (0, value, "") if isinstance(value, int) else (1, 0, str(value))


def _unique(facts: Iterable) -> list:
    """The facts once each, in a canonical order; the same id with different content is a caller's bug."""
    by_id: dict[str, object] = {}
    for fact in facts:
        seen = by_id.setdefault(fact.fact_id, fact)
        if seen != fact:
            raise ValueError(f"two different facts with the id {fact.fact_id}: {seen!r} and {fact!r}")
    return [by_id[k] for k in sorted(by_id)]


def _fact_date(fact) -> date:
    if isinstance(fact, FindingFact):
        return fact.observed_on
    if isinstance(fact, OutcomeFact):
        return fact.decided_on
    raise TypeError(fact)


def _by_date(facts: Iterable) -> list:
    return sorted(facts, key=lambda f: (_fact_date(f), _natural(getattr(f, "id", ""))))


def _subject_of(rule: Rule, finding: FindingFact) -> Id | None:
    return finding.staff_id if rule.subject == "staff" else finding.unit_id


def _in_categories(trigger, finding: FindingFact) -> bool:
    return trigger.categories is None or finding.category in trigger.categories


def _finding_text(f: FindingFact) -> str:
    return f"{f.observed_on.isoformat()} {CATEGORIES.get(f.category, f.category)} #{f.id}"


def _window_text(days: int) -> str:
    return f"{days * 12 // 365}个月内" if days % 365 == 0 else f"{days}天内"


def _measure(counts: str) -> Callable[[Sequence], int]:
    """How a rung counts its facts: each one, or each distinct occasion (visit or complaint)."""
    if counts == "occasions":
        return lambda facts: len({f.occasion_key for f in facts})
    return len


def _times(counted: int, facts: Sequence, listed: str) -> str:
    """"2 次（…）", saying how many findings made up the occasions when they differ."""
    if counted == len(facts):
        return f"{counted} 次（{listed}）"
    return f"{counted} 次（{len(facts)} 条问题：{listed}）"


def _rolling(facts: list, count: int, window_days: int, measure: Callable[[Sequence], int] = len
             ) -> Iterator[tuple[date, list]]:
    """(anchor date, facts in [anchor − window_days, anchor]) for each date with a fact, when the
    window's measure (its number of facts, by default) is ≥ count."""
    facts = _by_date(facts)
    dates = [_fact_date(f) for f in facts]
    for anchor in sorted(set(dates)):
        lo = bisect_left(dates, anchor - timedelta(days=window_days))
        hi = bisect_right(dates, anchor)
        if hi - lo >= count and measure(facts[lo:hi]) >= count:
            yield anchor, facts[lo:hi]


def _fire_severity(rule: Rule, findings: list[FindingFact]) -> Iterator[_Firing]:
    for f in findings:
        subject = _subject_of(rule, f)
        if subject is not None and f.severity == rule.trigger.severity:
            yield _Firing(rule, subject, f.observed_on, (f,),
                          f" 被确认{SEVERITIES.get(f.severity, f.severity)}问题（{_finding_text(f)}）")


def _group(rule: Rule, findings: list[FindingFact]) -> dict[Id, list[FindingFact]]:
    groups: dict[Id, list[FindingFact]] = defaultdict(list)
    for f in findings:
        subject = _subject_of(rule, f)
        if subject is not None and _in_categories(rule.trigger, f):
            groups[subject].append(f)
    return groups


def _fire_confirmed(rule: Rule, findings: list[FindingFact]) -> Iterator[_Firing]:
    trigger: ConfirmedFindings = rule.trigger
    for subject, mine in _group(rule, findings).items():
        measure = _measure(trigger.counts)
        for anchor, window in _rolling(mine, trigger.count, trigger.window_days, measure):
            listed = "；".join(_finding_text(f) for f in window)
            times = _times(measure(window), window, listed)
            yield _Firing(rule, subject, anchor, tuple(window),
                          f" {_window_text(trigger.window_days)}被确认问题 {times}，达到 {trigger.count} 次")


def _fire_quarter(rule: Rule, findings: list[FindingFact]) -> Iterator[_Firing]:
    trigger: FindingsInQuarter = rule.trigger
    for subject, mine in _group(rule, findings).items():
        quarters: dict[tuple[int, int], list[FindingFact]] = defaultdict(list)
        for f in mine:
            quarters[(f.observed_on.year, (f.observed_on.month - 1) // 3 + 1)].append(f)
        for (year, quarter), in_quarter in quarters.items():
            in_quarter = _by_date(in_quarter)
            measure = _measure(trigger.counts)
            reached = next((i for i in range(len(in_quarter)) if measure(in_quarter[:i + 1]) >= trigger.count), None)
            if reached is None:
                continue
            # once per quarter: on the day the count is reached, with every finding up to that day
            anchor = in_quarter[reached].observed_on
            so_far = tuple(f for f in in_quarter if f.observed_on <= anchor)
            listed = "；".join(_finding_text(f) for f in so_far)
            times = _times(measure(so_far), so_far, listed)
            yield _Firing(rule, subject, anchor, so_far,
                          f" {year}年第{quarter}季度被确认问题 {times}，达到 {trigger.count} 次")


def _fire_outcomes(rule: Rule, outcomes: list[OutcomeFact]) -> Iterator[_Firing]:
    trigger: Outcomes = rule.trigger
    label = OUTCOME_KINDS.get(trigger.outcome, trigger.outcome)
    groups: dict[Id, list[OutcomeFact]] = defaultdict(list)
    for o in outcomes:
        if o.kind == trigger.outcome:
            groups[o.staff_id].append(o)
    for subject, mine in groups.items():
        for anchor, window in _rolling(mine, trigger.count, trigger.window_days):
            listed = "；".join(f"{o.decided_on.isoformat()} #{o.id}" for o in window)
            yield _Firing(rule, subject, anchor, tuple(window),
                          f" {_window_text(trigger.window_days)}受到{label} {len(window)} 次（{listed}），"
                          f"达到 {trigger.count} 次")


def _fire_overdue(rule: Rule, overdue: list[OverdueFact]) -> Iterator[_Firing]:
    for o in overdue:
        yield _Firing(rule, o.unit_id, o.due_on + timedelta(days=1), (o,),
                      f" 问题 #{o.finding_id} 的整改应于 {o.due_on.isoformat()} 前完成，已逾期")


def _fire_bottom_rank(rule: Rule, ranks: list[BottomRankFact]) -> Iterator[_Firing]:
    n = rule.trigger.consecutive_months
    by_unit: dict[Id, dict[int, BottomRankFact]] = defaultdict(dict)
    for b in ranks:
        by_unit[b.unit_id][b.index] = b
    for unit, months in by_unit.items():
        for last in sorted(months):
            run = [months.get(i) for i in range(last - n + 1, last + 1)]
            if all(run):
                listed = "、".join(f"{b.year}年{b.month}月" for b in run)
                yield _Firing(rule, unit, date(run[-1].year, run[-1].month, 1), tuple(run),
                              f" 连续 {n} 个月在督查通报中排名末位（{listed}）")


def _fire_grade(rule: Rule, grades: list[GradeFact]) -> Iterator[_Firing]:
    for g in grades:
        if g.grade == rule.trigger.grade:
            head = f"（主要负责人：{g.head}）" if g.head else ""
            yield _Firing(rule, g.unit_id, g.approved_on, (g,),
                          f" {g.year}年度考评等次为{GRADES.get(g.grade, g.grade)}{head}")


def _fire_matter(rule: Rule, matters: list[MatterFact]) -> Iterator[_Firing]:
    for m in matters:
        title = f"“{m.title}”" if m.title else f"#{m.matter_id}"
        if m.state == "overdue":
            yield _Firing(rule, m.unit_id, m.due_on + timedelta(days=1), (m,),
                          f" 主办的督办事项{title}应于 {m.due_on.isoformat()} 前办结，已逾期")
        else:
            yield _Firing(rule, m.unit_id, m.due_on, (m,), f" 主办的督办事项{title}未办结")


_FIRE: dict[str, Callable[[Rule, list], Iterator[_Firing]]] = {
    "finding_severity": _fire_severity,
    "confirmed_findings": _fire_confirmed,
    "findings_in_quarter": _fire_quarter,
    "outcomes": _fire_outcomes,
    "overdue_rectification": _fire_overdue,
    "bottom_rank": _fire_bottom_rank,
    "annual_grade": _fire_grade,
    "overdue_matter": _fire_matter,
}


def superseded_by(policy: EscalationPolicy) -> dict[str, frozenset[str]]:
    """For each rule, every rule it supersedes, directly or through others."""
    direct = {r.id: set(r.supersedes) for r in policy.rules}
    closure: dict[str, frozenset[str]] = {}
    for rule_id in direct:
        seen: set[str] = set()
        todo = list(direct[rule_id])
        while todo:
            other = todo.pop()
            if other not in seen and other != rule_id:
                seen.add(other)
                todo.extend(direct.get(other, ()))
        closure[rule_id] = frozenset(seen)
    return closure


def _drop_superseded(policy: EscalationPolicy, firings: list[_Firing]) -> list[_Firing]:
    closure = superseded_by(policy)
    if not any(closure.values()):
        return firings
    by_moment: dict[tuple, list[_Firing]] = defaultdict(list)
    for firing in firings:
        by_moment[(firing.rule.subject, str(firing.subject_id), firing.fired_on)].append(firing)
    kept = []
    for firing in firings:
        rivals = by_moment[(firing.rule.subject, str(firing.subject_id), firing.fired_on)]
        if not any(firing.rule.id in closure[other.rule.id] and firing.fact_ids <= other.fact_ids
                   for other in rivals):
            kept.append(firing)
    return kept
