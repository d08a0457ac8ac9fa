"""The pure scoring rules of mystery-shopper audits (模拟办事): what the window told the shopper
about missing materials (一次性告知), the findings a visit raises, its score, and the comparison of
units, windows and service items. Values in, values out: no Flask, no database, no clock.

The weights are data: they come from the checklist template's `scoring` section
(`policy_from_template`), so changing a severity or a deduction is a new template version, not a
code change. Seeds: 002 §3 §4 §5 §9 (一次性告知, 首问负责, 热情主动, 模拟办事), 004 (二)7 (回执), 004 (三).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from inspect_api.core import policy_schema as ps
from inspect_api.core.categories import SEVERITIES

if TYPE_CHECKING:
    from inspect_api.core.deadlines import PromiseCheck

ATTITUDES = {"warm": "热情", "ordinary": "一般", "cold": "生冷", "rude": "粗暴"}
# Attitudes a policy may make a finding: a warm reception never is one.
POOR_ATTITUDES = {code: label for code, label in ATTITUDES.items() if code != "warm"}

RULES_CODE = "shopper_v1"  # the value of `scoring.rules` this module interprets

# The finding categories these rules raise (DOMAIN.md codes), in the order findings are listed.
RULE_CATEGORIES = ("incomplete_notice", "shirking", "no_receipt", "poor_attitude", "overdue", "extra_requirement")
# Sections a template may leave out: an older template that predates the rule raises no such finding.
OPTIONAL_SECTIONS = frozenset({"extra_requirement"})

FULL_SCORE = 100
COMPARE_BY = ("unit", "window", "service_item")


# --- the policy (the template's `scoring` section) ---------------------------------------------

@dataclass(frozen=True)
class ScoringPolicy:
    """Severities and deductions, read from the checklist template's `scoring` section.

    `untold_severity` is ((share_above, severity), ...) checked in order: the severity is that of
    the first threshold the untold share is strictly above. The thresholds must fall strictly and
    end at 0, so every share > 0 gets a severity. `attitude` maps the attitude codes that are a
    finding to its severity; attitudes it does not name are not a finding. `points` maps a category
    to the points it deducts (0 when absent).
    """

    untold_severity: tuple[tuple[float, str], ...]
    attitude: dict[str, str]
    shirking_severity: str = "serious"
    no_receipt_severity: str = "serious"
    overdue_severity: str = "serious"
    points: dict[str, int] = field(default_factory=dict)
    # 清单之外索要材料: None when the template has no `extra_requirement` section (not a finding then).
    extra_requirement_severity: str | None = None

    def __post_init__(self):
        thresholds = tuple((above, severity) for above, severity in self.untold_severity)
        object.__setattr__(self, "untold_severity", thresholds)
        object.__setattr__(self, "attitude", dict(self.attitude))
        object.__setattr__(self, "points", dict(self.points))
        _loaded, problems = ps.check(_Values(), {
            "untold_severity": thresholds, "attitude": self.attitude, "points": self.points,
            **{name: getattr(self, name) for name in _SEVERITY_NAMES}}, root="")
        if problems:
            raise ValueError("评分规则无效 (invalid scoring policy): " + "; ".join(problems))

    def untold_share_severity(self, share: float) -> str | None:
        """The severity for an untold share (None for 0: nothing went untold)."""
        if share <= 0:
            return None
        for above, severity in self.untold_severity:
            if share > above:
                return severity
        return None  # unreachable: the last threshold is 0


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_points(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _one_of(allowed: Iterable[str]) -> str:
    return f"须为以下之一 (must be one of): {', '.join(allowed)}"


def policy_from_template(scoring: Mapping) -> ScoringPolicy:
    """Parse and validate a template's `scoring` mapping (format below); every problem is reported at
    once in one ValueError, each naming its key (e.g. `scoring.shirking.points`).

        scoring:
          rules: shopper_v1
          incomplete_notice: {severity_by_untold_share: [{above: 0.5, severity: severe},
                              {above: 0.2, severity: serious}, {above: 0, severity: minor}], points: 5}
          poor_attitude: {cold: minor, rude: serious, points: 5}
          shirking: {severity: serious, points: 5}
          no_receipt: {severity: serious, points: 3}
          overdue: {severity: serious, points: 3}

    Every section and every key shown is required except the attitude codes (`ordinary`, `cold`,
    `rude`: those named are findings). Unknown keys are errors, so a misspelt key never silently
    drops a rule. `above` shares fall strictly, lie in [0, 1) and the last one is 0.
    """
    if not isinstance(scoring, Mapping):
        raise ValueError("scoring: 须为映射 (must be a mapping)")
    policy, problems = ps.check(_Scoring(), dict(scoring), root="scoring")
    if problems:
        raise ValueError("评分规则无效 (invalid scoring section): " + "; ".join(problems))
    return policy


# --- the schema of the `scoring` section ------------------------------------------------------------

def _severity(**kwargs) -> ps.OneOf:
    return ps.OneOf(SEVERITIES, _one_of(SEVERITIES), **kwargs)


class _Section(ps.PolicySchema):
    keys_each = True
    points = ps.Whole(0, None, "须为非负整数 (must be a whole number >= 0)", required=True)


class _SeveritySection(_Section):
    severity = _severity(required=True)


class _Attitude(_Section):
    ordinary = _severity()
    cold = _severity()
    rude = _severity()


class _Share(ps._Checked):
    def _deserialize(self, value, attr, data, **kwargs):
        if not _is_number(value) or not 0 <= value < 1:
            raise self.fail()
        return value


class _Step(ps.PolicySchema):
    keys_each = True
    error_messages = {"type": "须为映射 {above, severity} (must be a mapping)"}
    above = _Share("须为 0（含）到 1（不含）之间的数 (must be a number in [0, 1))", required=True)
    severity = _severity(required=True)


_STEPS_ERROR = "须为非空列表 (must be a non-empty list of {{above, severity}})"  # formatted by marshmallow


class _Notice(_Section):
    severity_by_untold_share = fields.List(
        fields.Nested(_Step), required=True, validate=validate.Length(min=1, error=_STEPS_ERROR),
        error_messages={"invalid": _STEPS_ERROR})

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _falling(self, _data, original, **_kwargs):
        steps = original.get("severity_by_untold_share") if isinstance(original, Mapping) else None
        shares = [s.get("above") if isinstance(s, Mapping) else None for s in steps or ()] \
            if isinstance(steps, list) else []
        shares = [a if _is_number(a) and 0 <= a < 1 else None for a in shares]
        problems = {i: {"above": ["须小于上一档，各档从大到小排列 (must be below the previous one)"]}
                    for i in range(1, len(shares)) if None not in shares[i - 1:i + 1] and shares[i] >= shares[i - 1]}
        if shares and shares[-1] is not None and shares[-1] != 0:
            problems.setdefault(len(shares) - 1, {"above": []})["above"].append(
                "最后一档须为 0，使任何未告知比例都有严重程度 (the last threshold must be 0)")
        if problems:
            raise ValidationError({"severity_by_untold_share": problems})


class _RulesCode(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        if value != RULES_CODE:
            raise ValidationError(f"本程序只能按 {RULES_CODE} 计分 (these rules score {RULES_CODE} only), 收到 {value!r}")
        return value


class _Scoring(ps.PolicySchema):
    keys_each = True
    rules = _RulesCode(required=True)
    incomplete_notice = fields.Nested(_Notice, required=True)
    poor_attitude = fields.Nested(_Attitude, required=True)
    shirking = fields.Nested(_SeveritySection, required=True)
    no_receipt = fields.Nested(_SeveritySection, required=True)
    overdue = fields.Nested(_SeveritySection, required=True)
    extra_requirement = fields.Nested(_SeveritySection)  # optional: older templates predate it

    @post_load
    def _make(self, data, **_kwargs):
        return ScoringPolicy(
            untold_severity=tuple((s["above"], s["severity"]) for s in data["incomplete_notice"]["severity_by_untold_share"]),
            attitude={code: data["poor_attitude"][code] for code in POOR_ATTITUDES if code in data["poor_attitude"]},
            shirking_severity=data["shirking"]["severity"],
            no_receipt_severity=data["no_receipt"]["severity"],
            overdue_severity=data["overdue"]["severity"],
            points={name: data[name]["points"] for name in RULE_CATEGORIES if name in data},
            extra_requirement_severity=data["extra_requirement"]["severity"] if "extra_requirement" in data else None,
        )


class _Thresholds(fields.Field):
    """((share_above, severity), ...): shares in [0, 1), falling strictly, the last one 0."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not value:
            raise ValidationError("至少需要一个档次 (at least one threshold)")
        errors: dict = {}
        for i, (above, severity) in enumerate(value):
            if not _is_number(above) or not 0 <= above < 1:
                errors[i] = ["比例须在 0（含）到 1（不含）之间 (share must be in [0, 1))"]
            elif i and _is_number(value[i - 1][0]) and above >= value[i - 1][0]:
                errors[i] = ["比例须从大到小排列 (shares must fall strictly)"]
            if not isinstance(severity, str) or severity not in SEVERITIES:
                errors.setdefault(i, []).append(_one_of(SEVERITIES))
        if value[-1][0] != 0:
            errors["_schema"] = ["最后一档须为 0，使任何未告知比例都有严重程度 (the last threshold must be 0)"]
        if errors:
            raise ValidationError(errors)
        return value


class _CodeTable(fields.Field):
    """{code: value}: codes among `codes`, values passing `ok`."""

    def __init__(self, codes, ok, problem: str, **kwargs):
        super().__init__(**kwargs)
        self.codes, self.ok, self.problem = tuple(codes), ok, problem

    def _deserialize(self, value, attr, data, **kwargs):
        errors = {str(code): [m for m, bad in ((_one_of(self.codes), code not in self.codes),
                                               (self.problem, not self.ok(v))) if bad]
                  for code, v in value.items()}
        errors = {code: messages for code, messages in errors.items() if messages}
        if errors:
            raise ValidationError(errors)
        return value


_SEVERITY_NAMES = ("shirking_severity", "no_receipt_severity", "overdue_severity", "extra_requirement_severity")


class _Values(ps.PolicySchema):
    """A ScoringPolicy's values, however it was built (in code, or from a template by `_Scoring`)."""

    untold_severity = _Thresholds()
    attitude = _CodeTable(POOR_ATTITUDES, lambda s: isinstance(s, str) and s in SEVERITIES, _one_of(SEVERITIES))
    points = _CodeTable(RULE_CATEGORIES, _is_points, "须为非负整数 (must be a whole number >= 0)")
    shirking_severity = _severity()
    no_receipt_severity = _severity()
    overdue_severity = _severity()
    extra_requirement_severity = _severity(allow_none=True)


# --- the one-time notice (一次性告知) -------------------------------------------------------------

@dataclass(frozen=True)
class Notice:
    """What the window told the shopper about materials, against the service item's official list.
    Every code tuple keeps the official list's order."""

    required: tuple[str, ...]  # codes of the service item's official materials list
    missing: tuple[str, ...]  # required - brought
    told_missing: tuple[str, ...]  # missing ∩ told
    untold: tuple[str, ...]  # missing - told
    told_needless: tuple[str, ...]  # told codes the shopper had already brought
    invented: tuple[str, ...]  # free-text requirements not on the official list (乱要材料)
    completeness: float  # len(told_missing) / len(missing); 1.0 when nothing was missing

    @property
    def untold_share(self) -> float:
        """len(untold) / len(missing); 0.0 when nothing was missing."""
        return len(self.untold) / len(self.missing) if self.missing else 0.0


def _codes(values, what: str) -> list[str]:
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise TypeError(f"{what}: expected a list of material codes, got {type(values).__name__}")
    values = list(values)
    for value in values:
        if not isinstance(value, str):
            raise ValueError(f"{what}: 材料编码须为字符串 (material codes must be strings), 收到 {value!r}")
    return values


def assess_notice(required: Sequence[str], brought: Iterable[str], told_codes: Iterable[str],
                  told_other: Iterable[str]) -> Notice:
    """Compare what the window told the shopper to bring with the official list.

    `required`: the official material codes, in the official order (no duplicates). `brought`: the
    codes the shopper brought (the scenario's materials). `told_codes`: the official materials the
    window asked for. `told_other`: free-text requirements the window added; the caller maps any
    that name an official material to its code first, so what is left here is off the list (乱要材料).
    Raises ValueError for a code of `brought` or `told_codes` not in `required`.
    """
    required = _codes(required, "required")
    seen: set[str] = set()
    for code in required:
        if code in seen:
            raise ValueError(f"required: 材料编码重复 (duplicate material code) {code!r}")
        seen.add(code)
    brought_set = set(_codes(brought, "brought"))
    told_set = set(_codes(told_codes, "told_codes"))
    for what, codes in (("brought", brought_set), ("told_codes", told_set)):
        unknown = sorted(codes - seen)
        if unknown:
            raise ValueError(f"{what}: 不在该事项的材料清单中 (not on the service item's materials list): "
                             f"{', '.join(unknown)}")

    if isinstance(told_other, str | bytes) or not isinstance(told_other, Iterable):
        raise TypeError(f"told_other: expected a list of texts, got {type(told_other).__name__}")
    invented: list[str] = []
    for text in told_other:
        if not isinstance(text, str):
            raise ValueError(f"told_other: 须为文字 (must be text), 收到 {text!r}")
        text = text.strip()
        if text and text not in invented:
            invented.append(text)

    missing = tuple(c for c in required if c not in brought_set)
    told_missing = tuple(c for c in missing if c in told_set)
    return Notice(
        required=tuple(required),
        missing=missing,
        told_missing=told_missing,
        untold=tuple(c for c in missing if c not in told_set),
        told_needless=tuple(c for c in required if c in told_set and c in brought_set),
        invented=tuple(invented),
        completeness=len(told_missing) / len(missing) if missing else 1.0,
    )


# --- findings -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ShopperFacts:
    notice: Notice
    unit_handles_matter: bool  # the visited unit is responsible for the scenario's service item
    sent_elsewhere: bool
    done_on_spot: bool
    receipt_given: bool | None  # None when not recorded
    promise: PromiseCheck | None  # from core.deadlines.check_promised_date; None: no date promised
    attitude: str  # one of ATTITUDES
    # Sent to a window that accepts the item (True), to one that does not (False), or unknown (None).
    referred_correctly: bool | None = None

    def __post_init__(self):
        if self.attitude not in ATTITUDES:
            raise ValueError(f"attitude: {_one_of(ATTITUDES)}")


@dataclass(frozen=True)
class ShopperFinding:
    rule: str  # one of RULE_CATEGORIES
    category: str  # the DOMAIN.md category code (the same as `rule` here)
    severity: str
    points: int
    description: str  # Chinese, concrete, with material names


def _names(codes: Iterable[str], names: Mapping[str, str]) -> str:
    return "、".join(names.get(code) or code for code in codes)


def _cn_date(day) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def shopper_findings(facts: ShopperFacts, policy: ScoringPolicy, names: Mapping[str, str]) -> list[ShopperFinding]:
    """The findings of one mystery-shopper visit, in the order of RULE_CATEGORIES. `names` maps
    material codes to their names for the descriptions (a code without a name is shown as is).

    - incomplete_notice: some missing material went untold; severity by the untold share.
    - shirking: sent elsewhere for a matter the visited unit handles (sending the shopper to the
      responsible unit when the visited one does not handle the matter is correct, not a finding),
      or sent on to a window that does not accept the item either (a wrong referral).
    - no_receipt: not done on the spot and no receipt (unrecorded, None, is not a finding), unless
      the shopper was referred away from a unit that does not handle the matter.
    - poor_attitude: an attitude the policy names.
    - overdue: the promised date lies beyond the committed limit (`promise.exceeds`).
    - extra_requirement: the shopper was asked for something off the official materials list
      (清单之外索要材料), when the template's scoring has an `extra_requirement` section.
    """
    out: list[ShopperFinding] = []

    def add(rule: str, severity: str, description: str) -> None:
        out.append(ShopperFinding(rule, rule, severity, policy.points.get(rule, 0), description))

    notice = facts.notice
    severity = policy.untold_share_severity(notice.untold_share)
    if notice.untold and severity is not None:
        add("incomplete_notice", severity,
            f"应补正材料 {len(notice.missing)} 项，一次性告知 {len(notice.told_missing)} 项，"
            f"未告知：{_names(notice.untold, names)}")
    if facts.sent_elsewhere and facts.unit_handles_matter:
        add("shirking", policy.shirking_severity, "本单位负责办理的事项，被推往其他窗口或部门（推诿扯皮、首问不负责）")
    elif facts.sent_elsewhere and facts.referred_correctly is False:
        add("shirking", policy.shirking_severity, "不属本窗口受理的事项，指引到的窗口也不受理该事项（首问不负责）")
    referred_away = facts.sent_elsewhere and not facts.unit_handles_matter
    # A correct referral owes no receipt: the receipt is for a matter the unit itself takes in.
    if not facts.done_on_spot and facts.receipt_given is False and not referred_away:
        add("no_receipt", policy.no_receipt_severity, "事项不能当场办结，未出具回执")
    if facts.attitude in policy.attitude:
        add("poor_attitude", policy.attitude[facts.attitude], f"接待人员态度{ATTITUDES[facts.attitude]}")
    promise = facts.promise
    if promise is not None and promise.exceeds:
        add("overdue", policy.overdue_severity,
            f"承诺于{_cn_date(promise.promised_on)}办结，超出承诺时限，最迟应于{promise.allowed.describe()}办结")
    if notice.invented and policy.extra_requirement_severity is not None:
        add("extra_requirement", policy.extra_requirement_severity,
            f"要求提供申请材料清单之外的材料：{'、'.join(notice.invented)}")
    return out


# --- score --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ShopperScore:
    completeness: float  # notice completeness 0..1
    invented_count: int  # requirements off the official list (乱要材料)
    findings: int
    points_deducted: int
    score: float  # FULL_SCORE - points_deducted, never below 0


def score(notice: Notice, findings: list[ShopperFinding]) -> ShopperScore:
    """One visit's score: 100 less the points of its findings, floored at 0 (a visit with more
    deductions than 100 scores 0; `points_deducted` keeps the full sum)."""
    deducted = sum(f.points for f in findings)
    return ShopperScore(
        completeness=notice.completeness,
        invented_count=len(notice.invented),
        findings=len(findings),
        points_deducted=deducted,
        score=float(max(0, FULL_SCORE - deducted)),
    )


# --- comparison ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunRow:
    """One submitted mystery-shopper visit, for comparison."""

    unit_id: int
    window_no: str | None
    service_item_id: int
    completeness: float
    invented_count: int
    categories: tuple[str, ...]  # categories of the visit's findings, one entry per finding
    wait_minutes: int | None
    score: float


def _natural(text: str | None) -> tuple:
    """Sort key for window numbers: "2" before "10", None last."""
    if text is None:
        return (1, ())
    return (0, tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                     for part in re.split(r"(\d+)", text) if part))


def _group_key(row: RunRow, by: str):
    if by == "unit":
        return row.unit_id
    if by == "window":
        return (row.unit_id, row.window_no)
    return row.service_item_id


def _key_order(key, by: str) -> tuple:
    if by == "window":
        return (key[0], _natural(key[1]))
    return (key,)


def compare(rows: list[RunRow], by: str) -> list[dict]:
    """Group visits by unit (`unit_id`), window (`(unit_id, window_no)`) or service item
    (`service_item_id`) and rank the groups by average score, best first.

    Each group: `key` and its fields (`unit_id`, `window_no`, `service_item_id` as they apply),
    `rank`, `runs`, `avg_completeness`, `complete_notice_rate` (share of runs with completeness
    1.0), `invented_total`, `findings_by_category` (category -> count, keys sorted),
    `shirking_runs` (runs with a shirking finding), `avg_wait_minutes` (over the runs that recorded
    one; None if none did) and `avg_score`. Averages are not rounded. Sorted by avg_score descending,
    then by key; equal averages share a rank and the next rank skips (1, 2, 2, 4).
    """
    if by not in COMPARE_BY:
        raise ValueError(f"by: {_one_of(COMPARE_BY)}")
    groups: dict[object, list[RunRow]] = {}
    for row in rows:
        groups.setdefault(_group_key(row, by), []).append(row)

    out = []
    for key, runs in groups.items():
        n = len(runs)
        by_category: dict[str, int] = {}
        for run in runs:
            for category in run.categories:
                by_category[category] = by_category.get(category, 0) + 1
        waits = [run.wait_minutes for run in runs if run.wait_minutes is not None]
        entry: dict = {"key": key}
        if by == "unit":
            entry["unit_id"] = key
        elif by == "window":
            entry["unit_id"], entry["window_no"] = key
        else:
            entry["service_item_id"] = key
        entry.update(
            runs=n,
            avg_completeness=math.fsum(run.completeness for run in runs) / n,
            complete_notice_rate=sum(1 for run in runs if run.completeness == 1.0) / n,
            invented_total=sum(run.invented_count for run in runs),
            findings_by_category=dict(sorted(by_category.items())),
            shirking_runs=sum(1 for run in runs if "shirking" in run.categories),
            avg_wait_minutes=math.fsum(waits) / len(waits) if waits else None,
            avg_score=math.fsum(run.score for run in runs) / n,
        )
        out.append(entry)

    out.sort(key=lambda e: (-e["avg_score"], _key_order(e["key"], by)))
    for i, entry in enumerate(out):
        if i and entry["avg_score"] == out[i - 1]["avg_score"]:
            entry["rank"] = out[i - 1]["rank"]
        else:
            entry["rank"] = i + 1
    return out
