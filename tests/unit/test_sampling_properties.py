"""Property-based tests of the sampling draw over random pools: whatever the pool, no conflict of
interest, full distinct teams, visits on working days inside opening hours, nobody double-booked,
caps kept, strata and due units covered, the sample size honoured or a named problem, the load as
even as conflicts allow, and the same draw for the same inputs in any order.

The checks are written independently of the implementation (own eligibility, own max-flow, own
swap-chain search), so they test the rules rather than restate them."""

from __future__ import annotations

import random
from collections import Counter, deque
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspect_api.sampling.rules import (
    PROBLEM_CODES,
    InspectorInfo,
    Plan,
    UnitInfo,
    WeightPolicy,
    canonical_json,
    draw,
    sample_target,
    verify,
)

MONDAY = date(2026, 3, 2)
PERIOD_END = MONDAY + timedelta(days=11)
CALENDAR = [MONDAY + timedelta(days=k) for k in range(-2, 14)]  # a few days fall outside the period
HOURS = [(), ((540, 720),), ((540, 720), (810, 1050)), ((480, 525),), ((600, 660), (700, 760))]
UNIT_PROBLEMS = {"no_opening_hours", "not_enough_inspectors", "load_cap_reached", "no_time_slot"}
PROPERTY_SETTINGS = settings(max_examples=120, deadline=None, derandomize=True,
                             suppress_health_check=[HealthCheck.too_slow])


@st.composite
def scenarios(draw_):
    n_units = draw_(st.integers(0, 12))
    n_inspectors = draw_(st.integers(1, 9))
    unit_ids = list(range(1, n_units + 1))
    some_units = st.frozensets(st.sampled_from(unit_ids), max_size=2) if unit_ids else st.just(frozenset())
    units = [UnitInfo(
        id=u,
        stratum=draw_(st.sampled_from([None, "甲", "乙", "丙"])),
        weight_factors={"complaints": draw_(st.integers(0, 4)), "poor_grade": draw_(st.integers(0, 1))},
        opening_hours=draw_(st.sampled_from(HOURS)),
        excluded=draw_(st.integers(0, 4)) == 0,
        due=draw_(st.integers(0, 5)) == 0,
    ) for u in unit_ids]
    inspectors = [InspectorInfo(
        id=f"督查员{j}",
        home_unit_id=draw_(st.sampled_from([None, *unit_ids])),
        relative_unit_ids=draw_(some_units),
        recent_unit_ids=draw_(some_units),
        other_conflict_unit_ids=draw_(some_units),
    ) for j in range(n_inspectors)]
    by_size = draw_(st.booleans())
    plan = Plan(
        period_start=MONDAY,
        period_end=PERIOD_END,
        sample_size=draw_(st.integers(0, n_units + 2)) if by_size else None,
        sample_rate=None if by_size else draw_(st.sampled_from([0.05, 0.25, 0.5, 1.0])),
        min_per_stratum=draw_(st.integers(0, 2)),
        team_size=draw_(st.integers(2, 3)),
        max_visits_per_inspector=draw_(st.one_of(st.none(), st.integers(1, 6))),
        visit_minutes=draw_(st.sampled_from([30, 45, 60, 120])),
        travel_minutes=draw_(st.sampled_from([0, 15, 30])),
        weights=WeightPolicy({"complaints": 1.5, "poor_grade": 2.0}, max_count=2),
    )
    days = draw_(st.lists(st.sampled_from(CALENDAR), min_size=1, max_size=8))
    seed = f"{draw_(st.integers(0, 2**64)):064x}"
    return plan, units, inspectors, days, seed


def conflicts_of(inspector: InspectorInfo) -> set:
    out = set(inspector.relative_unit_ids) | inspector.recent_unit_ids | inspector.other_conflict_unit_ids
    return out | {inspector.home_unit_id}


def fits(unit: UnitInfo, minutes: int) -> bool:
    return any(end - start >= minutes for start, end in unit.opening_hours)


def drawable_units(plan, units, inspectors) -> list[UnitInfo]:
    return [u for u in units if not u.excluded and fits(u, plan.visit_minutes)
            and sum(u.id not in conflicts_of(i) for i in inspectors) >= plan.team_size]


def max_flow_staffs_all(unit_ids, inspectors, plan) -> bool:
    """Independent check: can every unit get team_size distinct conflict-free inspectors at once
    within the cap? (Edmonds–Karp on source -> unit -> inspector -> sink.)"""
    cap = plan.max_visits_per_inspector or len(unit_ids)
    nodes = ["s", *[("u", u) for u in unit_ids], *[("i", i.id) for i in inspectors], "t"]
    capacity: dict = {}
    for u in unit_ids:
        capacity[("s", ("u", u))] = plan.team_size
        for i in inspectors:
            if u not in conflicts_of(i):
                capacity[(("u", u), ("i", i.id))] = 1
    for i in inspectors:
        capacity[(("i", i.id), "t")] = cap
    flow = Counter()
    total = 0
    while True:
        parent = {"s": None}
        queue = deque(["s"])
        while queue and "t" not in parent:
            x = queue.popleft()
            for y in nodes:
                if y not in parent and capacity.get((x, y), 0) - flow[(x, y)] + flow[(y, x)] > 0:
                    parent[y] = x
                    queue.append(y)
        if "t" not in parent:
            return total == plan.team_size * len(unit_ids)
        y = "t"
        while parent[y] is not None:
            x = parent[y]
            if flow[(y, x)]:
                flow[(y, x)] -= 1
            else:
                flow[(x, y)] += 1
            y = x
        total += 1


def improving_chain(assignments, inspectors, plan):
    """An inspector with load a that could, by a chain of hand-overs, pass one visit to an inspector
    with load at most a - 2 below the cap; None when the load is as even as conflicts allow."""
    cap = plan.max_visits_per_inspector or 10**9
    conflicts = {i.id: conflicts_of(i) for i in inspectors}
    load = Counter({i.id: 0 for i in inspectors})
    for a in assignments:
        load.update(a.inspector_ids)
    edges = {i.id: set() for i in inspectors}
    for a in assignments:
        for x in a.inspector_ids:
            edges[x] |= {y for y in conflicts if y not in a.inspector_ids and a.unit_id not in conflicts[y]}
    for x in edges:
        seen, stack = {x}, [x]
        while stack:
            for y in edges[stack.pop()] - seen:
                if load[y] <= load[x] - 2 and load[y] < cap:
                    return x, y
                seen.add(y)
                stack.append(y)
    return None


@PROPERTY_SETTINGS
@given(scenarios())
def test_every_draw_keeps_every_rule(scenario):
    plan, units, inspectors, days, seed = scenario
    result = draw(plan, units, inspectors, days, seed)
    by_id = {u.id: u for u in units}
    conflicts = {i.id: conflicts_of(i) for i in inspectors}
    period_days = {d for d in days if plan.period_start <= d <= plan.period_end}
    problem_codes = Counter(p.code for p in result.problems)
    assert set(problem_codes) <= set(PROBLEM_CODES)
    assert all((p.unit_id is not None) == (p.code in UNIT_PROBLEMS) for p in result.problems)
    assert all(p.message_zh for p in result.problems)

    if not period_days or len(inspectors) < plan.team_size:
        assert result.assignments == ()
        assert set(problem_codes) <= {"no_working_day", "team_larger_than_pool"} and problem_codes
        return

    # Each visit: a drawable unit, once; a full team of distinct inspectors, none in conflict.
    assigned = [a.unit_id for a in result.assignments]
    assert len(assigned) == len(set(assigned))
    for a in result.assignments:
        unit = by_id[a.unit_id]
        assert not unit.excluded
        assert len(a.inspector_ids) == plan.team_size == len(set(a.inspector_ids))
        assert all(a.unit_id not in conflicts[i] for i in a.inspector_ids)
        assert a.day in period_days
        assert a.end_minute - a.start_minute == plan.visit_minutes
        assert any(start <= a.start_minute and a.end_minute <= end for start, end in unit.opening_hours)

    # Nobody is in two places at once (travel time included), nobody above the cap.
    visits = {}
    for a in result.assignments:
        for i in a.inspector_ids:
            visits.setdefault((i, a.day), []).append(a.start_minute)
    for starts in visits.values():
        starts.sort()
        assert all(b - a >= plan.visit_minutes + plan.travel_minutes for a, b in zip(starts, starts[1:], strict=False))
    load = Counter(i for a in result.assignments for i in a.inspector_ids)
    if plan.max_visits_per_inspector is not None:
        assert max(load.values(), default=0) <= plan.max_visits_per_inspector

    # Eligibility: exactly the units that can never be inspected are reported as such.
    drawable = drawable_units(plan, units, inspectors)
    drawable_ids = {u.id for u in drawable}
    unfit = {(p.code, p.unit_id) for p in result.problems if p.code in {"no_opening_hours", "not_enough_inspectors"}}
    assert {uid for _, uid in unfit} == {u.id for u in units if not u.excluded} - drawable_ids

    # The sample: every due unit, each stratum's minimum, the size asked for, or a named problem.
    drawn = set(assigned) | {p.unit_id for p in result.problems if p.code in {"load_cap_reached", "no_time_slot"}}
    assert drawn <= drawable_ids
    assert {u.id for u in drawable if u.due} <= drawn
    available = Counter(u.stratum for u in drawable if u.stratum is not None)
    strata = {u.stratum for u in units if u.stratum is not None and not u.excluded}
    needed = {s: min(plan.min_per_stratum, available[s]) for s in strata}
    got = Counter(by_id[uid].stratum for uid in drawn)
    assert all(got[s] >= needed[s] for s in strata)
    assert ("stratum_short" in problem_codes) == any(available[s] < plan.min_per_stratum for s in strata)
    due_in = Counter(u.stratum for u in drawable if u.due)
    required = sum(u.due for u in drawable) + sum(max(0, needed[s] - due_in[s]) for s in strata)
    target = sample_target(plan, sum(not u.excluded for u in units))
    assert len(drawn) == min(max(target, required), len(drawable))
    assert ("not_enough_units" in problem_codes) == (target > len(drawable))
    assert ("sample_enlarged" in problem_codes) == (required > target)

    # Staffing fails only when it must: if all drawn units can be staffed at once, they are.
    if max_flow_staffs_all(sorted(drawn), inspectors, plan):
        assert "load_cap_reached" not in problem_codes
    if plan.max_visits_per_inspector is None:
        assert "load_cap_reached" not in problem_codes and "load_cap_too_low" not in problem_codes

    # The load is as even as conflicts and caps allow (spread <= 1 when nothing stands in the way).
    if not problem_codes.keys() & {"load_cap_reached", "no_time_slot"}:
        assert improving_chain(result.assignments, inspectors, plan) is None
        if result.assignments and not any(conflicts_of(i) - {None} for i in inspectors) \
                and plan.max_visits_per_inspector is None:
            loads = [load[i.id] for i in inspectors]
            assert max(loads) - min(loads) <= 1


@PROPERTY_SETTINGS
@given(scenarios(), st.randoms(use_true_random=False))
def test_the_draw_is_a_pure_function_of_its_inputs_and_verifies(scenario, rng: random.Random):
    plan, units, inspectors, days, seed = scenario
    expected = canonical_json(draw(plan, units, inspectors, days, seed))
    units, inspectors, days = list(units), list(inspectors), list(days)
    rng.shuffle(units)
    rng.shuffle(inspectors)
    rng.shuffle(days)
    again = draw(plan, units, inspectors, days, seed)
    assert canonical_json(again) == expected
    assert verify(plan, units, inspectors, days, seed, again) == []


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.integers(0, 2**64), st.integers(0, 2**64))
def test_another_seed_gives_another_draw(a, b):
    units = [UnitInfo(u, opening_hours=((540, 1050),)) for u in range(40)]
    inspectors = [InspectorInfo(100 + j) for j in range(8)]
    plan = Plan(MONDAY, PERIOD_END, sample_size=10)
    first = canonical_json(draw(plan, units, inspectors, CALENDAR, f"{a:064x}"))
    second = canonical_json(draw(plan, units, inspectors, CALENDAR, f"{b:064x}"))
    assert (first == second) == (a == b)
