"""The pure core of the random-sampling draw (双随机): which units are inspected, by which team, when.

`draw(plan, units, inspectors, working_days, seed)` is a pure function of its arguments: no clock,
no database, no global random state, and the order in which rows arrive does not matter (units and
inspectors are sorted by id first). Anyone holding the same inputs and the revealed seed gets the
same `DrawResult`, byte for byte (`canonical_json`), which is what `verify` checks.

The draw, in order:
1. eligibility: a unit is drawable when it is not excluded, has an opening period long enough for
   one visit, and has at least `team_size` inspectors without a conflict of interest. The others
   are reported (they could never be inspected as things stand), never silently skipped;
2. units: weighted sampling without replacement (Efraimidis–Spirakis, key `ln(u) / w`, largest
   first). Units flagged `due` (behind on their yearly minimum coverage) come first, then each
   stratum's minimum, then the rest of the sample, all by the same keys;
3. teams: least-loaded conflict-free inspectors with random tie-breaks, most constrained units
   first; when load caps block a team, swap chains (augmenting paths) make room where any exists;
   then swap chains even the load until no inspector has 2 visits more than another one that
   could take one of them over (so the spread is at most 1 whenever conflicts and caps allow);
4. times: visits in random order, days round-robin over the shuffled working days, a uniformly
   random start minute among those that fit the unit's opening hours and keep every team member
   `visit_minutes + travel_minutes` away from their other visits that day.

Whatever cannot be met is a `Problem` (code, Chinese message, unit, details); nothing is relaxed:
a unit that cannot be staffed or scheduled is reported and left out, never given a smaller team.

Randomness (see docs/sampling.md for the exact byte layout, so the draw can be re-implemented):
a counter-mode SHA-256 stream keyed by the seed, not Python's `random`, whose algorithms are an
implementation detail. The key is `SHA-256("inspect-api/sampling/v1" 0x00 seed)`, never the
published commitment `SHA-256(seed)`, so the commitment reveals nothing about the draw.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from heapq import heapify, heappop, heappush

from marshmallow import ValidationError, fields, validates_schema

from inspect_api.core import policy_schema as ps
from inspect_api.core.draw import (  # noqa: F401
    Problem,
    SeedStream,
    canonical,
    capped,
    check_commitment,
    digest,
    record_problems,
    seed_commitment,
    sha256_text,
)
from inspect_api.core.draw import stream_root as draw_stream_root
from inspect_api.errors import Unprocessable

ALGORITHM = "inspect-api/sampling/v1"
MIN_SEED_CHARS = 32
MINUTES_PER_DAY = 24 * 60
# Factors the services fill in; the multipliers themselves are policy data (WeightPolicy).
WEIGHT_FACTORS = ("recent_confirmed_findings", "complaints", "poor_grade")

UnitId = int | str
InspectorId = int | str


class PlanError(Unprocessable):
    code = "invalid_sampling_input"


# --- inputs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeightPolicy:
    """How much more likely a unit is to be drawn, as data: weight = Π multiplier[f] ** min(count_f,
    max_count), capped at max_weight. Factors a unit carries that the policy does not name weigh 1."""

    multipliers: Mapping[str, float] = field(default_factory=dict)
    max_count: int = 3
    max_weight: float | None = None


@dataclass(frozen=True)
class UnitInfo:
    id: UnitId
    stratum: str | None = None
    # Non-negative counts (a flag such as poor_grade is 0 or 1).
    weight_factors: Mapping[str, int] = field(default_factory=dict)
    # Minutes after midnight, [start, end), in day order, not overlapping.
    opening_hours: tuple[tuple[int, int], ...] = ()
    excluded: bool = False
    # Behind on its yearly minimum coverage (computed by the service from past visits): drawn first.
    due: bool = False


@dataclass(frozen=True)
class InspectorInfo:
    id: InspectorId
    home_unit_id: UnitId | None = None
    relative_unit_ids: frozenset = frozenset()
    # Units this inspector visited within the policy window.
    recent_unit_ids: frozenset = frozenset()
    # Any other declared conflict, e.g. the rest of the home unit's subtree (the service expands it).
    other_conflict_unit_ids: frozenset = frozenset()


@dataclass(frozen=True)
class Plan:
    period_start: date
    period_end: date
    sample_size: int | None = None
    sample_rate: float | None = None
    min_per_stratum: int = 0
    team_size: int = 2
    max_visits_per_inspector: int | None = None
    visit_minutes: int = 60
    # Kept free between two visits of the same inspector on the same day.
    travel_minutes: int = 0
    weights: WeightPolicy = field(default_factory=WeightPolicy)


# --- outputs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Assignment:
    unit_id: UnitId
    inspector_ids: tuple[InspectorId, ...]
    day: date
    start_minute: int
    end_minute: int


@dataclass(frozen=True)
class DrawResult:
    assignments: tuple[Assignment, ...]
    problems: tuple[Problem, ...]
    inputs_digest: str
    algorithm: str = ALGORITHM


PROBLEM_CODES = (
    "no_working_day",          # no working day in the period
    "team_larger_than_pool",   # fewer inspectors in the pool than one team needs
    "no_opening_hours",        # unit: no opening period long enough for one visit
    "not_enough_inspectors",   # unit: fewer conflict-free inspectors than one team needs
    "not_enough_units",        # fewer drawable units than the sample size
    "stratum_short",           # a stratum has fewer drawable units than its minimum
    "sample_enlarged",         # due units and strata minimums need more than the sample size
    "load_cap_too_low",        # the visits needed exceed inspectors × max_visits_per_inspector
    "load_cap_reached",        # unit: every conflict-free inspector is at the cap, no swap helps
    "no_time_slot",            # unit: the team has no common free time on any working day
)


# --- seed and randomness ----------------------------------------------------------------------


def check_seed(seed: str) -> None:
    # A guessable seed would let anyone find it from the published commitment before the draw.
    if not isinstance(seed, str) or len(seed) < MIN_SEED_CHARS:
        raise PlanError(f"随机种子至少 {MIN_SEED_CHARS} 个字符，应由 secrets.token_hex(32) 生成 (seed too short)",
                        {"field": "seed"})


def stream_root(seed: str) -> bytes:
    return draw_stream_root(ALGORITHM, seed)


def _uniform53(value: int) -> float:
    # Strictly inside (0, 1), so ln(u) is finite.
    return ((value >> 11) + 0.5) / 9007199254740992.0


def unit_lottery_number(root: bytes, unit_id: UnitId) -> float:
    """A unit's own uniform number: it depends on the seed and the unit's id only, not on the rest
    of the pool, so each unit's draw can be explained on its own."""
    digest = hashlib.sha256(root + b"unit\x00" + _id_token(unit_id)).digest()
    return _uniform53(int.from_bytes(digest[:8], "big"))


def unit_weight(unit: UnitInfo, policy: WeightPolicy) -> float:
    weight = 1.0
    for factor in sorted(policy.multipliers):
        count = min(int(unit.weight_factors.get(factor, 0)), policy.max_count)
        for _ in range(count):  # repeated products, not pow(): plain IEEE multiplication everywhere
            weight *= policy.multipliers[factor]
    if policy.max_weight is not None:
        weight = min(weight, policy.max_weight)
    return weight


def sample_target(plan: Plan, pool_size: int) -> int:
    """The sample size asked for: `sample_size`, or `ceil(rate × pool)` in exact arithmetic (so a
    rate of 0.05 over 100 units is 5, not 6 from 5.000000000000001)."""
    if plan.sample_size is not None:
        return plan.sample_size
    return math.ceil(Fraction(str(plan.sample_rate)) * pool_size)


# --- canonical encoding -----------------------------------------------------------------------


def _id_key(value):
    return (1, value) if isinstance(value, str) else (0, value)


def _id_token(value) -> bytes:
    """The id as JSON text in UTF-8: 17 -> b"17", "A-1" -> b'"A-1"' (the int shortcut is the same text)."""
    if type(value) is int:
        return str(value).encode("ascii")
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _ids(values) -> list:
    return sorted(values, key=_id_key)


def _plan_dict(plan: Plan) -> dict:
    return {
        "period_start": plan.period_start.isoformat(),
        "period_end": plan.period_end.isoformat(),
        "sample_size": plan.sample_size,
        "sample_rate": None if plan.sample_rate is None else float(plan.sample_rate),
        "min_per_stratum": plan.min_per_stratum,
        "team_size": plan.team_size,
        "max_visits_per_inspector": plan.max_visits_per_inspector,
        "visit_minutes": plan.visit_minutes,
        "travel_minutes": plan.travel_minutes,
        "weights": {
            "multipliers": {k: float(v) for k, v in plan.weights.multipliers.items()},
            "max_count": plan.weights.max_count,
            "max_weight": None if plan.weights.max_weight is None else float(plan.weights.max_weight),
        },
    }


def _unit_dict(unit: UnitInfo) -> dict:
    return {
        "id": unit.id,
        "stratum": unit.stratum,
        "weight_factors": {k: int(v) for k, v in unit.weight_factors.items()},
        "opening_hours": [[s, e] for s, e in unit.opening_hours],
        "excluded": bool(unit.excluded),
        "due": bool(unit.due),
    }


def _inspector_dict(inspector: InspectorInfo) -> dict:
    return {
        "id": inspector.id,
        "home_unit_id": inspector.home_unit_id,
        "relative_unit_ids": _ids(inspector.relative_unit_ids),
        "recent_unit_ids": _ids(inspector.recent_unit_ids),
        "other_conflict_unit_ids": _ids(inspector.other_conflict_unit_ids),
    }


def _period_days(plan: Plan, working_days: Iterable[date]) -> list[date]:
    return sorted({d for d in working_days if plan.period_start <= d <= plan.period_end})


def _digest(plan: Plan, units: Sequence[UnitInfo], inspectors: Sequence[InspectorInfo], days) -> str:
    body = {
        "algorithm": ALGORITHM,
        "plan": _plan_dict(plan),
        "units": [_unit_dict(u) for u in units],
        "inspectors": [_inspector_dict(i) for i in inspectors],
        "working_days": [d.isoformat() for d in days],
    }
    return digest(body)


def inputs_digest(plan: Plan, units: Iterable[UnitInfo], inspectors: Iterable[InspectorInfo],
                  working_days: Iterable[date]) -> str:
    """SHA-256 of the canonical JSON of every input (units and inspectors sorted by id, sets sorted,
    only the working days inside the period). Published with the seed commitment before the draw,
    it lets `verify` tell "the inputs changed" from "the draw changed"."""
    units, inspectors, working_days = list(units), list(inspectors), list(working_days)
    _validate(plan, units, inspectors, working_days)
    return _digest(plan, _sorted(units), _sorted(inspectors), _period_days(plan, working_days))


def _sorted(rows):
    return sorted(rows, key=lambda r: _id_key(r.id))


# --- validation -------------------------------------------------------------------------------


def _is_id(value) -> bool:
    return (type(value) is int) or (type(value) is str and value != "")


def _is_count(value) -> bool:
    return type(value) is int or type(value) is bool


def _validate(plan: Plan, units: Sequence[UnitInfo], inspectors: Sequence[InspectorInfo],
              working_days: Sequence[date]) -> None:
    """Every problem of the inputs at once, each at its path (`units[3].opening_hours`); the first one's
    field without indexes (`units.opening_hours`) is `details.field`."""
    data = {**vars(plan), "weights": vars(plan.weights), "units": units, "inspectors": inspectors,
            "working_days": working_days}
    try:
        _Inputs().load(data)
    except ValidationError as exc:
        problems = [{"field": re.sub(r"\[\d+\]", "", path), "path": path, "message": message}
                    for path, message in ps.flat(exc.messages)]
        raise PlanError("抽查输入无效 (invalid sampling input): " + "; ".join(
            f"{p['path']}: {p['message']}" for p in problems), {"field": problems[0]["field"], "problems": problems}) \
            from None


# --- the schema of the inputs ------------------------------------------------------------------

class _Day(ps._Checked):
    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, date) or isinstance(value, datetime):
            raise self.fail()
        return value


class _Positive(ps._Checked):
    """A finite number above 0 (not a bool)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int | float) or not (math.isfinite(value) and value > 0):
            raise self.fail()
        return value


class _Multipliers(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        problems = [f"权重系数“{factor}”须为正数" for factor, m in value.items()
                    if not isinstance(factor, str) or isinstance(m, bool) or not isinstance(m, int | float)
                    or not (math.isfinite(m) and m > 0)]
        if problems:
            raise ValidationError(problems)
        return value


class _Weights(ps.PolicySchema):
    multipliers = _Multipliers()
    max_count = ps.Whole(0, None, "权重计数上限须为非负整数")
    max_weight = _Positive("权重上限须为正数", allow_none=True)


def _unit_problems(u: UnitInfo, seen: set) -> dict:
    out: dict = {}
    if not _is_id(u.id):
        return {"id": ["单位编号须为整数或非空字符串"]}
    if u.id in seen:
        out["id"] = [f"单位 {u.id} 重复"]
    seen.add(u.id)
    if u.stratum is not None and not isinstance(u.stratum, str):
        out["stratum"] = [f"单位 {u.id} 的分组须为字符串"]
    bad = [f for f, count in u.weight_factors.items() if not isinstance(f, str) or not _is_count(count) or count < 0]
    if bad:
        out["weight_factors"] = [f"单位 {u.id} 的权重因素“{f}”须为非负整数" for f in bad]
    previous_end = 0
    for period in u.opening_hours:
        ok = len(period) == 2 and all(type(x) is int for x in period)
        if not ok or not (previous_end <= period[0] < period[1] <= MINUTES_PER_DAY):
            out["opening_hours"] = [f"单位 {u.id} 的办公时间须按先后排列、不重叠、开始早于结束"]
            break
        previous_end = period[1]
    return out


def _inspector_problems(i: InspectorInfo, seen: set) -> dict:
    if not _is_id(i.id):
        return {"id": ["督查员编号须为整数或非空字符串"]}
    out: dict = {}
    if i.id in seen:
        out["id"] = [f"督查员 {i.id} 重复"]
    seen.add(i.id)
    if i.home_unit_id is not None and not _is_id(i.home_unit_id):
        out["home_unit_id"] = [f"督查员 {i.id} 的所在单位编号无效"]
    for name in ("relative_unit_ids", "recent_unit_ids", "other_conflict_unit_ids"):
        values = getattr(i, name)
        if not isinstance(values, frozenset | set) or not all(_is_id(v) for v in values):
            out[name] = [f"督查员 {i.id} 的 {name} 须为单位编号的集合"]
    return out


class _Rows(fields.Field):
    """A list of UnitInfo or InspectorInfo rows, each checked by `check(row, ids seen so far)` (a plain
    loop: a draw has thousands of rows, and this runs before every draw)."""

    def __init__(self, check, **kwargs):
        super().__init__(**kwargs)
        self.check = check

    def _deserialize(self, value, attr, data, **kwargs):
        seen: set = set()
        errors = {index: problems for index, row in enumerate(value) if (problems := self.check(row, seen))}
        if errors:
            raise ValidationError(errors)
        return value


class _Days(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        errors = {i: ["工作日须为日期"] for i, d in enumerate(value) if not isinstance(d, date) or isinstance(d, datetime)}
        if errors:
            raise ValidationError(errors)
        return value


class _Inputs(ps.PolicySchema):
    period_start = _Day("期间须为日期")
    period_end = _Day("期间须为日期")
    sample_size = ps.Whole(0, None, "抽取数量须为非负整数", allow_none=True)
    sample_rate = ps.Number(0, 1, "抽取比例须大于 0、不超过 1", above=True, allow_none=True)
    min_per_stratum = ps.Whole(0, None, "每组最低抽取数须为非负整数")
    team_size = ps.Whole(2, None, "每个检查组至少 2 人")
    max_visits_per_inspector = ps.Whole(1, None, "每名督查员的检查次数上限须为正整数", allow_none=True)
    visit_minutes = ps.Whole(1, MINUTES_PER_DAY, "每次检查时长须为 1 至 1440 分钟")
    travel_minutes = ps.Whole(0, MINUTES_PER_DAY, "两次检查间隔须为 0 至 1440 分钟")
    weights = fields.Nested(_Weights)
    units = _Rows(_unit_problems)
    inspectors = _Rows(_inspector_problems)
    working_days = _Days()

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _across(self, data, original, **_kwargs):
        if "period_start" in data and "period_end" in data and data["period_end"] < data["period_start"]:
            raise ValidationError("期间结束早于开始", "period_end")
        if (original["sample_size"] is None) == (original["sample_rate"] is None):
            raise ValidationError("抽取数量与抽取比例须二选一", "sample_size")


# --- the draw ---------------------------------------------------------------------------------


_EMPTY: frozenset = frozenset()


def _fits(hours: tuple[tuple[int, int], ...], minutes: int) -> bool:
    return any(end - start >= minutes for start, end in hours)


def _conflict_index(units: Sequence[UnitInfo], inspectors: Sequence[InspectorInfo]) -> dict:
    """unit id -> set of inspector positions that must not visit it (only units in the pool)."""
    pool = {u.id for u in units}
    index: dict = {}
    for pos, ins in enumerate(inspectors):
        ids = set(ins.relative_unit_ids) | set(ins.recent_unit_ids) | set(ins.other_conflict_unit_ids)
        if ins.home_unit_id is not None:
            ids.add(ins.home_unit_id)
        for uid in ids:
            if uid in pool:
                index.setdefault(uid, set()).add(pos)
    return index


def _conflict_reasons(unit_id, inspectors: Sequence[InspectorInfo]) -> dict:
    reasons = {"home_unit": 0, "relative": 0, "recent_visit": 0, "other": 0}
    for ins in inspectors:
        if ins.home_unit_id == unit_id:
            reasons["home_unit"] += 1
        elif unit_id in ins.relative_unit_ids:
            reasons["relative"] += 1
        elif unit_id in ins.recent_unit_ids:
            reasons["recent_visit"] += 1
        elif unit_id in ins.other_conflict_unit_ids:
            reasons["other"] += 1
    return reasons


def draw(plan: Plan, units: Iterable[UnitInfo], inspectors: Iterable[InspectorInfo],
         working_days: Iterable[date], seed: str) -> DrawResult:
    check_seed(seed)
    units, inspectors, working_days = list(units), list(inspectors), list(working_days)
    _validate(plan, units, inspectors, working_days)
    units, inspectors = _sorted(units), _sorted(inspectors)
    days = _period_days(plan, working_days)
    digest = _digest(plan, units, inspectors, days)
    root = stream_root(seed)
    problems: list[Problem] = []
    team_size, minutes = plan.team_size, plan.visit_minutes

    fatal = []
    if not days:
        fatal.append(Problem("no_working_day",
                             f"{plan.period_start.isoformat()} 至 {plan.period_end.isoformat()} 之间没有工作日，无法安排检查",
                             None, {"period_start": plan.period_start.isoformat(),
                                    "period_end": plan.period_end.isoformat()}))
    if len(inspectors) < team_size:
        fatal.append(Problem("team_larger_than_pool",
                             f"督查员只有 {len(inspectors)} 人，少于每个检查组的 {team_size} 人，无法组队",
                             None, {"inspectors": len(inspectors), "team_size": team_size}))
    if fatal:
        return DrawResult((), tuple(fatal), digest)

    # 1. Eligibility.
    conflicts = _conflict_index(units, inspectors)
    pool = [u for u in units if not u.excluded]
    drawable = []
    for u in pool:
        if not _fits(u.opening_hours, minutes):
            problems.append(Problem(
                "no_opening_hours",
                f"单位 {u.id} 未登记办公时间，或没有一个时段够一次检查所需的 {minutes} 分钟，无法安排检查",
                u.id, {"visit_minutes": minutes}))
            continue
        available = len(inspectors) - len(conflicts.get(u.id, _EMPTY))
        if available < team_size:
            reasons = _conflict_reasons(u.id, inspectors)
            problems.append(Problem(
                "not_enough_inspectors",
                f"单位 {u.id} 无利害关系的督查员只有 {available} 人，少于每组 {team_size} 人，无法组队"
                f"（回避：在本单位工作 {reasons['home_unit']} 人、亲属在本单位 {reasons['relative']} 人、"
                f"近期检查过 {reasons['recent_visit']} 人、其他申报 {reasons['other']} 人）",
                u.id, {"available": available, "team_size": team_size, "conflicts": reasons}))
            continue
        drawable.append(u)

    # 2. Units.
    keys = {u.id: math.log(unit_lottery_number(root, u.id)) / unit_weight(u, plan.weights) for u in drawable}
    order = sorted(drawable, key=lambda u: (-keys[u.id], _id_key(u.id)))
    chosen: list[UnitInfo] = []
    taken: set = set()

    def take(u: UnitInfo) -> None:
        chosen.append(u)
        taken.add(u.id)

    for u in order:
        if u.due:
            take(u)
    strata = sorted({u.stratum for u in pool if u.stratum is not None})
    if plan.min_per_stratum and strata:
        available_in: dict = {}
        for u in drawable:
            if u.stratum is not None:
                available_in[u.stratum] = available_in.get(u.stratum, 0) + 1
        counts: dict = {}
        for u in chosen:
            if u.stratum is not None:
                counts[u.stratum] = counts.get(u.stratum, 0) + 1
        for s in strata:
            have = available_in.get(s, 0)
            if have < plan.min_per_stratum:
                problems.append(Problem(
                    "stratum_short",
                    f"分组“{s}”可抽取的单位只有 {have} 个，少于每组至少 {plan.min_per_stratum} 个的要求",
                    None, {"stratum": s, "available": have, "required": plan.min_per_stratum}))
        need = {s: min(plan.min_per_stratum, available_in.get(s, 0)) for s in strata}
        for u in order:
            s = u.stratum
            if s is not None and u.id not in taken and counts.get(s, 0) < need[s]:
                take(u)
                counts[s] = counts.get(s, 0) + 1
    required = len(chosen)
    target = sample_target(plan, len(pool))
    if target > len(drawable):
        problems.append(Problem(
            "not_enough_units",
            f"可抽取的单位只有 {len(drawable)} 个，少于计划抽取的 {target} 个",
            None, {"requested": target, "available": len(drawable), "pool": len(pool)}))
    if required > target:
        problems.append(Problem(
            "sample_enlarged",
            f"必查单位与各分组最低数合计 {required} 个，多于计划抽取的 {target} 个，抽取数按 {required} 个",
            None, {"requested": target, "drawn": required}))
    size = min(max(target, required), len(drawable))
    for u in order:
        if len(chosen) >= size:
            break
        if u.id not in taken:
            take(u)

    # 3. Teams.
    cap = plan.max_visits_per_inspector
    slots = len(chosen) * team_size
    if cap is not None and slots > cap * len(inspectors):
        problems.append(Problem(
            "load_cap_too_low",
            f"需要 {slots} 人次，督查员 {len(inspectors)} 人、每人最多 {cap} 次，合计只有 {cap * len(inspectors)} 人次",
            None, {"needed": slots, "inspectors": len(inspectors), "cap": cap}))
    teams = _Teams(len(inspectors), cap, team_size, conflicts, SeedStream(root, "teams"))
    rank = {u.id: n for n, u in enumerate(chosen)}
    for u in sorted(chosen, key=lambda u: (-len(conflicts.get(u.id, _EMPTY)), rank[u.id])):
        if not teams.staff(u.id):
            problems.append(Problem(
                "load_cap_reached",
                f"单位 {u.id} 可派的督查员都已达到每人最多 {cap} 次的上限，调整其他组也腾不出人，未能组队",
                u.id, {"cap": cap, "team_size": team_size}))
    teams.balance()

    # 4. Times.
    staffed = [(u, teams.team_of[u.id]) for u in units if u.id in teams.team_of]
    assignments = _schedule(staffed, days, plan, SeedStream(root, "schedule"), inspectors, problems)
    assignments.sort(key=lambda a: (a.day, a.start_minute, _id_key(a.unit_id)))
    return DrawResult(tuple(assignments), tuple(problems), digest)


class _Teams:
    """Team formation over inspector positions 0..n-1.

    A heap of (load, random tie-break, position, version) gives the least-loaded inspector; an entry
    is live only while its version is the inspector's current one, so a changed load just pushes a
    new entry. Searches walk the residual graph: inspector x -> a unit v in x's teams -> an
    inspector y who could replace x in v (not in v's team, no conflict with v)."""

    def __init__(self, n: int, cap: int | None, team_size: int, conflicts: dict, stream: SeedStream):
        self.n, self.team_size, self.conflicts, self.stream = n, team_size, conflicts, stream
        self.cap = cap if cap is not None else 1 << 62
        self.load = [0] * n
        self.version = [0] * n
        self.units_of: list[dict] = [{} for _ in range(n)]  # dicts: ordered, unlike sets of str ids
        self.team_of: dict = {}
        self.heap = [(0, stream.u64(), i, 0) for i in range(n)]
        heapify(self.heap)
        self.scan = list(range(n))
        stream.shuffle(self.scan)
        self.room = n  # inspectors below the cap
        self.dead: set = set()  # cannot reach an inspector with room; valid until some load drops

    def _bump(self, i: int, delta: int) -> None:
        before = self.load[i]
        after = self.load[i] = before + delta
        if before < self.cap <= after:
            self.room -= 1
        elif after < self.cap <= before:
            self.room += 1
        if delta < 0:
            self.dead.clear()
        self.version[i] += 1
        if after < self.cap:
            heappush(self.heap, (after, self.stream.u64(), i, self.version[i]))

    def _join(self, i: int, unit_id) -> None:
        self.team_of[unit_id].append(i)
        self.units_of[i][unit_id] = None

    def _leave(self, i: int, unit_id) -> None:
        self.team_of[unit_id].remove(i)
        del self.units_of[i][unit_id]

    def staff(self, unit_id) -> bool:
        conf = self.conflicts.get(unit_id, _EMPTY)
        team: list[int] = []
        self.team_of[unit_id] = team
        aside = []
        while len(team) < self.team_size and self.heap:
            entry = heappop(self.heap)
            i = entry[2]
            if entry[3] != self.version[i]:
                continue
            if i in conf or i in team:
                aside.append(entry)
                continue
            self._join(i, unit_id)
            self._bump(i, +1)
        for entry in aside:
            heappush(self.heap, entry)
        while len(team) < self.team_size:
            if not self._make_room(unit_id):
                for i in list(team):
                    self._leave(i, unit_id)
                    self._bump(i, -1)
                del self.team_of[unit_id]
                return False
        return True

    def _make_room(self, unit_id) -> bool:
        """One more member for unit_id when everyone free is at the cap: a chain unit_id <- k1,
        k1 leaves v1 <- k2, …, ending at an inspector with room (the only load that changes)."""
        # A member already in the team may still be the chain's end (it takes over another visit).
        if self.room == 0:
            return False
        parent: dict = {}
        found = self._search(unit_id, [], lambda y: self.load[y] < self.cap, parent, skip=self.dead)
        if found is None:
            self.dead.update(parent)
            return False
        self._apply(parent, found)
        self._bump(found, +1)
        return True

    def balance(self) -> None:
        """Move visits along swap chains from an inspector with load a to one with at most a - 2
        (below the cap) until none is left: then no convex cost of the loads can be lowered, and in
        particular max - min <= 1 whenever any assignment achieves it."""
        if not self.team_of:
            return
        # Inspectors in conflict with every drawn unit can take none: leave them out of the spread.
        stuck = {y for y in range(self.n) if all(y in self.conflicts.get(v, _EMPTY) for v in self.team_of)}
        active = [i for i in range(self.n) if i not in stuck]
        while True:
            high, low = max(self.load[i] for i in active), min(self.load[i] for i in active)
            if high - low <= 1:
                return
            for level in range(high, low + 1, -1):
                sources = [i for i in self.scan if self.load[i] == level]
                if not sources:
                    continue
                parent: dict = {}
                found = self._search(None, sources, lambda y, lv=level: self.load[y] <= lv - 2
                                     and self.load[y] < self.cap, parent, skip=stuck)
                if found is not None:
                    source = self._apply(parent, found)
                    self._bump(found, +1)
                    self._bump(source, -1)
                    break
            else:
                return

    def _search(self, start_unit, sources: list[int], is_target, parent: dict, skip=_EMPTY):
        """Breadth-first; returns a target position (parent filled) or None (parent = all reached)."""
        source_set = set(sources)
        remaining = [i for i in self.scan if i not in skip and i not in source_set]
        if not any(is_target(y) for y in remaining):
            return None
        queue: deque = deque()

        def expand(unit_id, via: int):
            nonlocal remaining
            conf = self.conflicts.get(unit_id, _EMPTY)
            team = self.team_of[unit_id]
            keep = []
            for y in remaining:
                if y in conf or y in team:
                    keep.append(y)
                    continue
                parent[y] = (via, unit_id)
                if is_target(y):
                    return y
                queue.append(y)
            remaining = keep
            return None

        if start_unit is not None:
            found = expand(start_unit, -1)
            if found is not None:
                return found
        for s in sources:
            parent[s] = None
            queue.append(s)
        while queue and remaining:
            x = queue.popleft()
            for unit_id in list(self.units_of[x]):
                found = expand(unit_id, x)
                if found is not None:
                    return found
                if not remaining:
                    break
        return None

    def _apply(self, parent: dict, target: int) -> int | None:
        """Carry out the chain ending at target; returns its source (None when it began at a unit)."""
        y = target
        while True:
            x, unit_id = parent[y]
            self._join(y, unit_id)
            if x == -1:
                return None
            self._leave(x, unit_id)
            if parent[x] is None:
                return x
            y = x


def _free_starts(valid: list[tuple[int, int]], busy_starts: list[int], span: int) -> list[tuple[int, int]]:
    """The start minutes in `valid` (inclusive ranges) at least `span` minutes away from every start
    in busy_starts."""
    if not busy_starts:
        return valid
    blocks = sorted((s - span + 1, s + span - 1) for s in busy_starts)
    out = []
    for lo, hi in valid:
        cur = lo
        for b_lo, b_hi in blocks:
            if b_hi < cur:
                continue
            if b_lo > hi:
                break
            if b_lo > cur:
                out.append((cur, b_lo - 1))
            cur = b_hi + 1
            if cur > hi:
                break
        if cur <= hi:
            out.append((cur, hi))
    return out


def _schedule(staffed, days: list[date], plan: Plan, stream: SeedStream,
              inspectors: Sequence[InspectorInfo], problems: list[Problem]) -> list[Assignment]:
    minutes, span = plan.visit_minutes, plan.visit_minutes + plan.travel_minutes
    order = list(staffed)
    stream.shuffle(order)
    day_order = list(range(len(days)))
    stream.shuffle(day_order)
    busy: dict = {}
    out = []
    n_days = len(days)
    for k, (unit, team) in enumerate(order):
        placed = False
        # Start minutes that keep the whole visit inside one opening period.
        valid = [(start, end - minutes) for start, end in unit.opening_hours if end - start >= minutes]
        team_ids = tuple(inspectors[i].id for i in sorted(team))  # positions follow id order
        for step in range(n_days):
            d = day_order[(k + step) % n_days]
            taken = [s for i in team for s in busy.get((i, d), ())]
            ranges = _free_starts(valid, taken, span)
            total = sum(hi - lo + 1 for lo, hi in ranges)
            if not total:
                continue
            pick = stream.below(total)
            for lo, hi in ranges:
                if pick <= hi - lo:
                    start = lo + pick
                    break
                pick -= hi - lo + 1
            for i in team:
                busy.setdefault((i, d), []).append(start)
            out.append(Assignment(unit.id, team_ids, days[d], start, start + minutes))
            placed = True
            break
        if not placed:
            problems.append(Problem(
                "no_time_slot",
                f"单位 {unit.id} 的检查组在期间内每个工作日都排不出与组员其他检查不冲突的时间",
                unit.id, {"inspector_ids": list(team_ids), "working_days": n_days}))
    return out


# --- serialisation and verification -----------------------------------------------------------


def result_to_dict(result: DrawResult) -> dict:
    return {
        "algorithm": result.algorithm,
        "inputs_digest": result.inputs_digest,
        "assignments": [{"unit_id": a.unit_id, "inspector_ids": list(a.inspector_ids), "day": a.day.isoformat(),
                         "start_minute": a.start_minute, "end_minute": a.end_minute} for a in result.assignments],
        "problems": [_problem_dict(p) for p in result.problems],
    }


def _problem_dict(p: Problem) -> dict:
    return {"code": p.code, "message_zh": p.message_zh, "unit_id": p.unit_id, "details": dict(p.details)}


def result_from_dict(data: Mapping) -> DrawResult:
    return DrawResult(
        assignments=tuple(Assignment(a["unit_id"], tuple(a["inspector_ids"]), date.fromisoformat(a["day"]),
                                     a["start_minute"], a["end_minute"]) for a in data["assignments"]),
        problems=tuple(Problem(p["code"], p["message_zh"], p.get("unit_id"), p.get("details") or {})
                       for p in data["problems"]),
        inputs_digest=data["inputs_digest"],
        algorithm=data.get("algorithm", ALGORITHM),
    )


def canonical_json(result: DrawResult) -> str:
    """The draw as one JSON text (sorted keys, no spaces, UTF-8 Chinese kept): equal draws are
    byte-identical."""
    return canonical(result_to_dict(result))


def result_digest(result: DrawResult) -> str:
    return sha256_text(canonical_json(result))


def _minute(m: int) -> str:
    return f"{m // 60:02d}:{m % 60:02d}"


def _describe(a: Assignment) -> str:
    return f"{a.day.isoformat()} {_minute(a.start_minute)}-{_minute(a.end_minute)} 督查员 {list(a.inspector_ids)}"


def verify(plan: Plan, units: Iterable[UnitInfo], inspectors: Iterable[InspectorInfo],
           working_days: Iterable[date], seed: str, expected: DrawResult, *,
           commitment: str | None = None, limit: int = 100) -> list[str]:
    """Re-run the draw and list every difference from `expected` (empty: verified). Says first
    whether the seed matches the commitment and whether the inputs are the ones the draw used."""
    units, inspectors, working_days = list(units), list(inspectors), list(working_days)
    diffs = record_problems(seed=seed, commitment=commitment, algorithm=ALGORITHM,
                            recorded_algorithm=expected.algorithm,
                            inputs_digest=inputs_digest(plan, units, inspectors, working_days),
                            recorded_inputs_digest=expected.inputs_digest)
    actual = draw(plan, units, inspectors, working_days, seed)
    got = {a.unit_id: a for a in actual.assignments}
    want = {a.unit_id: a for a in expected.assignments}
    lines = []
    for uid in _ids(set(got) | set(want)):
        a, b = got.get(uid), want.get(uid)
        if b is None:
            lines.append(f"单位 {uid}: 重新抽取有而记录中没有 (extra): {_describe(a)}")
        elif a is None:
            lines.append(f"单位 {uid}: 记录中有而重新抽取没有 (missing): {_describe(b)}")
        elif a != b:
            lines.append(f"单位 {uid}: 记录为 {_describe(b)}，重新抽取为 {_describe(a)}")
    got_p = {canonical(_problem_dict(p)) for p in actual.problems}
    want_p = {canonical(_problem_dict(p)) for p in expected.problems}
    lines += [f"重新抽取多出的问题 (extra problem): {p}" for p in sorted(got_p - want_p)]
    lines += [f"记录中的问题未重现 (missing problem): {p}" for p in sorted(want_p - got_p)]
    return diffs + capped(lines, limit)


def parse_opening_hours(text: str | None) -> tuple[tuple[int, int], ...]:
    """"09:00-12:00,13:30-17:30" (the org registry's format) -> ((540, 720), (810, 1050))."""
    if not text:
        return ()
    periods = []
    for part in text.split(","):
        start, _, end = part.strip().partition("-")
        periods.append(tuple(int(h) * 60 + int(m) for h, m in (t.split(":") for t in (start, end))))
    return tuple(periods)


# --- storing the inputs ---------------------------------------------------------------------------

def inputs_to_dict(plan: Plan, units: Iterable[UnitInfo], inspectors: Iterable[InspectorInfo],
                   working_days: Iterable[date]) -> dict:
    """Every input of a draw as plain data, in the form the digest covers (stored with the plan and
    published, so anyone can re-run the draw from it)."""
    units, inspectors = _sorted(list(units)), _sorted(list(inspectors))
    return {
        "algorithm": ALGORITHM,
        "plan": _plan_dict(plan),
        "units": [_unit_dict(u) for u in units],
        "inspectors": [_inspector_dict(i) for i in inspectors],
        "working_days": [d.isoformat() for d in _period_days(plan, working_days)],
    }


def inputs_from_dict(data: Mapping) -> tuple[Plan, list[UnitInfo], list[InspectorInfo], list[date]]:
    p = data["plan"]
    w = p["weights"]
    plan = Plan(
        period_start=date.fromisoformat(p["period_start"]), period_end=date.fromisoformat(p["period_end"]),
        sample_size=p["sample_size"], sample_rate=p["sample_rate"], min_per_stratum=p["min_per_stratum"],
        team_size=p["team_size"], max_visits_per_inspector=p["max_visits_per_inspector"],
        visit_minutes=p["visit_minutes"], travel_minutes=p["travel_minutes"],
        weights=WeightPolicy(multipliers=dict(w["multipliers"]), max_count=w["max_count"],
                             max_weight=w["max_weight"]))
    units = [UnitInfo(id=u["id"], stratum=u["stratum"], weight_factors=dict(u["weight_factors"]),
                      opening_hours=tuple((s, e) for s, e in u["opening_hours"]), excluded=u["excluded"],
                      due=u["due"]) for u in data["units"]]
    inspectors = [InspectorInfo(id=i["id"], home_unit_id=i["home_unit_id"],
                                relative_unit_ids=frozenset(i["relative_unit_ids"]),
                                recent_unit_ids=frozenset(i["recent_unit_ids"]),
                                other_conflict_unit_ids=frozenset(i["other_conflict_unit_ids"]))
                  for i in data["inspectors"]]
    return plan, units, inspectors, [date.fromisoformat(d) for d in data["working_days"]]
