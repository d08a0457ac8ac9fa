"""The sampling draw's pure rules on chosen cases: the seed commitment and the random stream, a
reproducible draw, weights, strata, due units, each named problem, validation, verify."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import struct
import subprocess
import sys
from collections import Counter
from datetime import date, datetime, timedelta

import pytest

from inspect_api.sampling.rules import (
    ALGORITHM,
    DrawResult,
    InspectorInfo,
    Plan,
    PlanError,
    SeedStream,
    UnitInfo,
    WeightPolicy,
    canonical_json,
    check_commitment,
    draw,
    inputs_digest,
    parse_opening_hours,
    result_digest,
    result_from_dict,
    result_to_dict,
    sample_target,
    seed_commitment,
    stream_root,
    unit_lottery_number,
    unit_weight,
    verify,
)

SEED = "0123456789abcdef" * 4
OTHER_SEED = "fedcba9876543210" * 4
HOURS = ((9 * 60, 12 * 60), (13 * 60 + 30, 17 * 60 + 30))
MONDAY = date(2026, 3, 2)
WEEK = tuple(MONDAY + timedelta(days=k) for k in range(5))


def make_plan(**changes) -> Plan:
    base = Plan(period_start=MONDAY, period_end=MONDAY + timedelta(days=4), sample_size=8, team_size=2,
                visit_minutes=60)
    return dataclasses.replace(base, **changes)


def make_units(n: int = 20, strata: int = 4, **changes) -> list[UnitInfo]:
    return [UnitInfo(id=u, stratum=f"部门{u % strata}", opening_hours=HOURS, **changes) for u in range(1, n + 1)]


def make_inspectors(n: int = 6, units: int = 20) -> list[InspectorInfo]:
    return [InspectorInfo(id=100 + j, home_unit_id=j % units + 1,
                          relative_unit_ids=frozenset({(j * 7) % units + 1}),
                          recent_unit_ids=frozenset({(j * 3) % units + 1}))
            for j in range(n)]


def codes(result: DrawResult) -> list[str]:
    return [p.code for p in result.problems]


def drawn_ids(result: DrawResult) -> set:
    return {a.unit_id for a in result.assignments}


# --- seed, commitment, stream -----------------------------------------------------------------


def test_the_commitment_is_the_sha256_hex_of_the_seed_utf8_bytes():
    assert seed_commitment("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert seed_commitment("种子" * 20) == hashlib.sha256(("种子" * 20).encode("utf-8")).hexdigest()
    assert check_commitment(SEED, seed_commitment(SEED))
    assert check_commitment(SEED, seed_commitment(SEED).upper())


def test_a_changed_seed_fails_the_commitment():
    commitment = seed_commitment(SEED)
    assert not check_commitment(SEED[:-1] + "0", commitment)
    assert not check_commitment(SEED + "\n", commitment)
    assert not check_commitment(SEED.upper(), commitment)


def test_the_published_commitment_does_not_reveal_the_stream_key():
    assert stream_root(SEED) != bytes.fromhex(seed_commitment(SEED))
    assert stream_root(SEED) == hashlib.sha256(b"inspect-api/sampling/v1\x00" + SEED.encode()).digest()


def test_the_stream_is_counter_mode_sha256_as_documented():
    root = stream_root(SEED)
    stream = SeedStream(root, "teams")
    expected = []
    for counter in range(2):
        block = hashlib.sha256(root + b"teams\x00" + counter.to_bytes(8, "big")).digest()
        expected += struct.unpack(">4Q", block)
    assert [stream.u64() for _ in range(8)] == expected
    # Pinned, so a change to the layout cannot pass unnoticed (it would need a new ALGORITHM).
    assert expected[:3] == [9474314007269699965, 16223336229340948836, 18104453295898682893]


def test_a_units_lottery_number_depends_on_the_seed_and_its_id_only():
    root = stream_root(SEED)
    digest = hashlib.sha256(root + b"unit\x00" + b"17").digest()
    assert unit_lottery_number(root, 17) == ((int.from_bytes(digest[:8], "big") >> 11) + 0.5) / 2**53
    digest = hashlib.sha256(root + b"unit\x00" + '"窗口-1"'.encode()).digest()
    assert unit_lottery_number(root, "窗口-1") == ((int.from_bytes(digest[:8], "big") >> 11) + 0.5) / 2**53
    assert 0 < unit_lottery_number(root, 17) < 1


def test_below_stays_in_range_and_shuffle_is_a_permutation():
    stream = SeedStream(stream_root(SEED), "test")
    values = [stream.below(7) for _ in range(7000)]
    assert set(values) == set(range(7))
    assert all(800 < c < 1200 for c in Counter(values).values())
    items = list(range(50))
    stream.shuffle(items)
    assert sorted(items) == list(range(50)) and items != list(range(50))


@pytest.mark.parametrize("seed", ["", "short", "x" * 31, None])
def test_a_guessable_seed_is_refused(seed):
    with pytest.raises(PlanError):
        draw(make_plan(), make_units(), make_inspectors(), WEEK, seed)


# --- reproducibility --------------------------------------------------------------------------


def test_the_same_seed_gives_a_byte_identical_draw_and_another_seed_a_different_one():
    args = (make_plan(), make_units(), make_inspectors(), WEEK)
    first, again = draw(*args, SEED), draw(*args, SEED)
    assert canonical_json(first) == canonical_json(again)
    assert first.assignments and not first.problems
    assert canonical_json(draw(*args, OTHER_SEED)) != canonical_json(first)


def test_the_order_of_the_input_rows_does_not_matter():
    units, inspectors, days = make_units(), make_inspectors(), list(WEEK)
    expected = canonical_json(draw(make_plan(), units, inspectors, days, SEED))
    rng = random.Random(5)
    for _ in range(3):
        rng.shuffle(units)
        rng.shuffle(inspectors)
        rng.shuffle(days)
        assert canonical_json(draw(make_plan(), units, inspectors, days + days[:2], SEED)) == expected


def test_a_pinned_draw_never_changes():
    """Published draws must stay verifiable: if this fails, the algorithm changed and needs a new
    ALGORITHM version (and the old one kept for verifying old draws)."""
    plan = make_plan(min_per_stratum=1, max_visits_per_inspector=4, travel_minutes=15,
                     weights=WeightPolicy({"complaints": 1.5, "poor_grade": 2.0}))
    units = [dataclasses.replace(u, weight_factors={"complaints": u.id % 3, "poor_grade": int(u.id % 7 == 0)})
             for u in make_units()]
    result = draw(plan, units, make_inspectors(), WEEK, SEED)
    assert ALGORITHM == "inspect-api/sampling/v1"
    assert drawn_ids(result) == {5, 7, 11, 13, 14, 18, 19, 20}
    assert result.inputs_digest == "2865f522b7751a1736229e59b0e28033c5afa4352d676dcfda93f3dbd62d07c0"
    assert result_digest(result) == "4529f7bb51f7f99e8684525b4b1a682904718af44e0fe81999adfa0c7106095a"


def test_the_draw_does_not_depend_on_the_interpreters_hash_seed():
    # Text ids hash differently in every process: no set iteration order may leak into the draw.
    script = (
        "from datetime import date, timedelta\n"
        "from inspect_api.sampling.rules import *\n"
        "units = [UnitInfo(f'窗口{u}', f'部门{u % 3}', {}, ((540, 720),)) for u in range(30)]\n"
        "ins = [InspectorInfo(f'i{j}', f'窗口{j}', frozenset({f'窗口{j + 1}', f'窗口{j + 2}'}),"
        " frozenset({f'窗口{j + 5}'})) for j in range(7)]\n"
        "plan = Plan(date(2026, 3, 2), date(2026, 3, 6), sample_size=12, min_per_stratum=2,"
        " max_visits_per_inspector=5)\n"
        "days = [date(2026, 3, 2) + timedelta(k) for k in range(5)]\n"
        "print(result_digest(draw(plan, units, ins, days, 'q' * 40)))\n"
    )
    digests = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": str(h)}).stdout for h in (1, 2)}
    assert len(digests) == 1 and len(digests.pop().strip()) == 64


def test_results_round_trip_through_json():
    result = draw(make_plan(sample_size=30), make_units(), make_inspectors(), WEEK, SEED)
    assert result.problems  # not_enough_units, so problems round-trip too
    text = canonical_json(result)
    assert result_from_dict(json.loads(text)) == result
    assert canonical_json(result_from_dict(result_to_dict(result))) == text


# --- unit selection ---------------------------------------------------------------------------


def test_excluded_units_are_never_drawn():
    units = make_units()
    units = [dataclasses.replace(u, excluded=u.id % 2 == 0) for u in units]
    for seed in (SEED, OTHER_SEED):
        result = draw(make_plan(sample_size=10), units, make_inspectors(), WEEK, seed)
        assert drawn_ids(result) == {u.id for u in units if not u.excluded}
        assert not result.problems


@pytest.mark.parametrize(("rate", "pool", "expected"),
                         [(0.05, 100, 5), (0.05, 101, 6), (0.1, 30, 3), (0.3, 10, 3), (1, 7, 7), (0.5, 0, 0)])
def test_a_sample_rate_rounds_up_in_exact_arithmetic(rate, pool, expected):
    assert sample_target(make_plan(sample_size=None, sample_rate=rate), pool) == expected


def test_the_rate_counts_the_pool_after_exclusions():
    units = [dataclasses.replace(u, excluded=u.id > 10) for u in make_units()]
    result = draw(make_plan(sample_size=None, sample_rate=0.25), units, make_inspectors(), WEEK, SEED)
    assert len(result.assignments) == 3  # ceil(0.25 × 10)


def test_the_weight_policy_is_data():
    policy = WeightPolicy({"complaints": 1.5, "poor_grade": 2.0, "recent_confirmed_findings": 3.0}, max_count=2)
    unit = UnitInfo(1, weight_factors={"complaints": 5, "poor_grade": 1, "unknown": 9})
    assert unit_weight(unit, policy) == 1.5 * 1.5 * 2.0
    assert unit_weight(unit, dataclasses.replace(policy, max_weight=3.0)) == 3.0
    assert unit_weight(UnitInfo(2), policy) == 1.0
    assert unit_weight(unit, WeightPolicy()) == 1.0


def test_heavier_units_are_drawn_more_often():
    # Two units, one drawn: with weights 4 and 1 the heavy one wins 4 times in 5.
    plan = make_plan(sample_size=1, weights=WeightPolicy({"complaints": 4.0}))
    units = [UnitInfo(1, opening_hours=HOURS, weight_factors={"complaints": 1}), UnitInfo(2, opening_hours=HOURS)]
    wins = sum(drawn_ids(draw(plan, units, make_inspectors(4, 2), WEEK, f"{s:064x}")) == {1} for s in range(400))
    assert 290 < wins < 350


def test_due_units_are_drawn_before_any_other():
    units = [dataclasses.replace(u, due=u.id in {3, 11, 19}) for u in make_units()]
    for seed in (SEED, OTHER_SEED):
        result = draw(make_plan(sample_size=4), units, make_inspectors(), WEEK, seed)
        assert {3, 11, 19} <= drawn_ids(result) and len(result.assignments) == 4


def test_every_stratum_gets_its_minimum():
    units = make_units(40, strata=8)
    for seed in (SEED, OTHER_SEED):
        result = draw(make_plan(sample_size=8, min_per_stratum=1), units, make_inspectors(10, 40), WEEK, seed)
        by_id = {u.id: u for u in units}
        assert Counter(by_id[uid].stratum for uid in drawn_ids(result)) == {f"部门{k}": 1 for k in range(8)}


# --- problems, never silent relaxation --------------------------------------------------------


def test_a_sample_larger_than_the_pool_draws_everything_and_says_so():
    result = draw(make_plan(sample_size=25), make_units(), make_inspectors(), WEEK, SEED)
    assert codes(result) == ["not_enough_units"]
    assert result.problems[0].details == {"requested": 25, "available": 20, "pool": 20}
    assert len(result.assignments) == 20


def test_a_stratum_below_its_minimum_is_reported():
    units = make_units(9, strata=3) + [UnitInfo(99, stratum="小组", opening_hours=HOURS)]
    result = draw(make_plan(sample_size=7, min_per_stratum=2), units, make_inspectors(6, 9), WEEK, SEED)
    assert codes(result) == ["stratum_short"]
    assert result.problems[0].details == {"stratum": "小组", "available": 1, "required": 2}
    assert 99 in drawn_ids(result)


def test_strata_minimums_above_the_sample_size_enlarge_the_sample_and_say_so():
    result = draw(make_plan(sample_size=2, min_per_stratum=1), make_units(strata=5), make_inspectors(), WEEK, SEED)
    assert codes(result) == ["sample_enlarged"]
    assert result.problems[0].details == {"requested": 2, "drawn": 5}
    assert len(result.assignments) == 5


def test_a_unit_with_too_few_conflict_free_inspectors_is_reported_never_given_a_smaller_team():
    inspectors = [InspectorInfo(101, home_unit_id=1), InspectorInfo(102, relative_unit_ids=frozenset({1})),
                  InspectorInfo(103, recent_unit_ids=frozenset({1})), InspectorInfo(104)]
    units = make_units(3)
    result = draw(make_plan(sample_size=3), units, inspectors, WEEK, SEED)
    assert codes(result) == ["not_enough_inspectors", "not_enough_units"]
    problem = result.problems[0]
    assert problem.unit_id == 1 and "无利害关系的督查员只有 1 人" in problem.message_zh
    assert problem.details["conflicts"] == {"home_unit": 1, "relative": 1, "recent_visit": 1, "other": 0}
    assert drawn_ids(result) == {2, 3}
    assert all(len(a.inspector_ids) == 2 for a in result.assignments)


def test_fewer_inspectors_than_a_team_stops_the_draw():
    result = draw(make_plan(), make_units(), make_inspectors(1), WEEK, SEED)
    assert codes(result) == ["team_larger_than_pool"] and result.assignments == ()


def test_a_period_without_working_days_stops_the_draw():
    holiday_week = make_plan(period_start=date(2026, 10, 1), period_end=date(2026, 10, 7))
    result = draw(holiday_week, make_units(), make_inspectors(), WEEK, SEED)
    assert codes(result) == ["no_working_day"] and result.assignments == ()
    assert "2026-10-01 至 2026-10-07" in result.problems[0].message_zh


def test_units_without_usable_opening_hours_are_reported():
    units = make_units(6)
    units[0] = dataclasses.replace(units[0], opening_hours=())
    units[1] = dataclasses.replace(units[1], opening_hours=((540, 570), (600, 630)))  # 30-minute periods
    result = draw(make_plan(sample_size=4), units, make_inspectors(6, 6), WEEK, SEED)
    assert [(p.code, p.unit_id) for p in result.problems] == [("no_opening_hours", 1), ("no_opening_hours", 2)]
    assert drawn_ids(result) <= {3, 4, 5, 6} and len(result.assignments) == 4


def test_a_load_cap_too_low_is_reported_and_the_unit_left_unstaffed():
    inspectors = [InspectorInfo(100 + j) for j in range(4)]
    result = draw(make_plan(sample_size=3, max_visits_per_inspector=1), make_units(3), inspectors, WEEK, SEED)
    assert codes(result) == ["load_cap_too_low", "load_cap_reached"]
    assert result.problems[0].details == {"needed": 6, "inspectors": 4, "cap": 1}
    assert len(result.assignments) == 2
    assert Counter(i for a in result.assignments for i in a.inspector_ids) == {100: 1, 101: 1, 102: 1, 103: 1}


def test_a_team_without_a_common_free_time_is_reported():
    # One working day, one free hour a day, the same two inspectors: only one visit fits.
    units = [UnitInfo(u, opening_hours=((540, 600),)) for u in (1, 2, 3)]
    inspectors = [InspectorInfo(101), InspectorInfo(102)]
    result = draw(make_plan(sample_size=3, period_end=MONDAY), units, inspectors, WEEK, SEED)
    assert codes(result) == ["no_time_slot", "no_time_slot"]
    assert len(result.assignments) == 1 and result.assignments[0].start_minute == 540


@pytest.mark.parametrize("seed", [f"{s:064x}" for s in range(12)])
def test_swap_chains_staff_every_unit_when_tight_caps_allow_it(seed):
    # 8 visits, 4 inspectors capped at 2: only a few assignments work; greedy alone can miss them.
    conflicts = [{2, 3}, set(), {4}, {1, 2}]
    inspectors = [InspectorInfo(100 + j, recent_unit_ids=frozenset(c)) for j, c in enumerate(conflicts)]
    units = [UnitInfo(u, opening_hours=HOURS) for u in (1, 2, 3, 4)]
    result = draw(make_plan(sample_size=4, max_visits_per_inspector=2), units, inspectors, WEEK, seed)
    assert not result.problems and len(result.assignments) == 4
    assert set(Counter(i for a in result.assignments for i in a.inspector_ids).values()) == {2}


@pytest.mark.parametrize("seed", [f"{s:064x}" for s in range(12)])
def test_swap_chains_even_the_load(seed):
    inspectors = [InspectorInfo(100, recent_unit_ids=frozenset({2})), InspectorInfo(101),
                  InspectorInfo(102, recent_unit_ids=frozenset({1})), InspectorInfo(103)]
    units = [UnitInfo(1, opening_hours=HOURS), UnitInfo(2, opening_hours=HOURS)]
    result = draw(make_plan(sample_size=2), units, inspectors, WEEK, seed)
    assert Counter(i for a in result.assignments for i in a.inspector_ids) == {100: 1, 101: 1, 102: 1, 103: 1}


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "field"), [
    ({"team_size": 1}, "team_size"),
    ({"sample_size": 3, "sample_rate": 0.1}, "sample_size"),
    ({"sample_size": None}, "sample_size"),
    ({"sample_size": None, "sample_rate": 1.5}, "sample_rate"),
    ({"period_end": MONDAY - timedelta(days=1)}, "period_end"),
    ({"max_visits_per_inspector": 0}, "max_visits_per_inspector"),
    ({"visit_minutes": 0}, "visit_minutes"),
    ({"weights": WeightPolicy({"complaints": 0})}, "weights.multipliers"),
])
def test_an_invalid_plan_is_refused(change, field):
    with pytest.raises(PlanError) as err:
        draw(make_plan(**change), make_units(), make_inspectors(), WEEK, SEED)
    assert err.value.details["field"] == field and err.value.status == 422


@pytest.mark.parametrize(("units", "inspectors", "days", "field"), [
    ([UnitInfo(1), UnitInfo(1)], [], WEEK, "units.id"),
    ([UnitInfo(True)], [], WEEK, "units.id"),
    ([UnitInfo(1, opening_hours=((600, 540),))], [], WEEK, "units.opening_hours"),
    ([UnitInfo(1, opening_hours=((540, 720), (700, 800)))], [], WEEK, "units.opening_hours"),
    ([UnitInfo(1, weight_factors={"complaints": -1})], [], WEEK, "units.weight_factors"),
    ([], [InspectorInfo(1), InspectorInfo(1)], WEEK, "inspectors.id"),
    ([], [InspectorInfo(1, recent_unit_ids=[2])], WEEK, "inspectors.recent_unit_ids"),
    ([], [], [datetime(2026, 3, 2, 9)], "working_days"),
])
def test_invalid_inputs_are_refused(units, inspectors, days, field):
    with pytest.raises(PlanError) as err:
        draw(make_plan(), units, inspectors, days, SEED)
    assert err.value.details["field"] == field


# --- verification -----------------------------------------------------------------------------


def test_verify_finds_nothing_to_say_about_an_honest_draw():
    args = (make_plan(), make_units(), make_inspectors(), WEEK)
    published = result_from_dict(json.loads(canonical_json(draw(*args, SEED))))
    assert verify(*args, SEED, published, commitment=seed_commitment(SEED)) == []


def test_verify_tells_a_wrong_seed_from_changed_inputs_from_a_changed_draw():
    plan, units, inspectors = make_plan(), make_units(), make_inspectors()
    published = draw(plan, units, inspectors, WEEK, SEED)
    wrong_seed = verify(plan, units, inspectors, WEEK, OTHER_SEED, published, commitment=seed_commitment(SEED))
    assert wrong_seed[0].startswith("种子与公布的承诺值不符")

    changed = verify(plan, units[:-1], inspectors, WEEK, SEED, published)
    assert changed[0].startswith("输入已变化 (inputs changed)")

    first = published.assignments[0]
    other = next(i for i in (100, 101, 102, 103, 104, 105) if i not in first.inspector_ids)
    forged = dataclasses.replace(published, assignments=(dataclasses.replace(
        first, inspector_ids=(first.inspector_ids[0], other)),) + published.assignments[1:])
    lines = verify(plan, units, inspectors, WEEK, SEED, forged)
    assert len(lines) == 1 and lines[0].startswith(f"单位 {first.unit_id}: 记录为")


def test_inputs_digest_ignores_row_order_and_days_outside_the_period():
    plan, units, inspectors = make_plan(), make_units(), make_inspectors()
    digest = inputs_digest(plan, units, inspectors, WEEK)
    assert digest == inputs_digest(plan, units[::-1], inspectors[::-1], WEEK + (date(2026, 5, 6),))
    assert digest != inputs_digest(plan, units, inspectors, WEEK[:-1])
    assert digest != inputs_digest(dataclasses.replace(plan, visit_minutes=61), units, inspectors, WEEK)


def test_opening_hours_in_the_registrys_format_parse_to_minutes():
    assert parse_opening_hours("09:00-12:00,13:30-17:30") == ((540, 720), (810, 1050))
    assert parse_opening_hours(None) == () and parse_opening_hours("") == ()


# --- scale ------------------------------------------------------------------------------------


def test_a_draw_over_10000_units_and_500_inspectors_completes_with_every_constraint():
    rng = random.Random(7)
    n_units, n_inspectors = 10_000, 500
    units = [UnitInfo(u, stratum=f"部门{u % 400}", opening_hours=HOURS,
                      weight_factors={"complaints": rng.randint(0, 3)}) for u in range(n_units)]
    inspectors = [InspectorInfo(100_000 + j, home_unit_id=rng.randrange(n_units),
                                relative_unit_ids=frozenset(rng.sample(range(n_units), 2)),
                                recent_unit_ids=frozenset(rng.sample(range(n_units), 10)))
                  for j in range(n_inspectors)]
    days = tuple(d for d in (date(2026, 1, 1) + timedelta(k) for k in range(90)) if d.weekday() < 5)
    plan = Plan(date(2026, 1, 1), date(2026, 3, 31), sample_size=n_units, min_per_stratum=1,
                max_visits_per_inspector=45, visit_minutes=90, travel_minutes=30,
                weights=WeightPolicy({"complaints": 1.5}))
    result = draw(plan, units, inspectors, days, SEED)
    assert not result.problems and len(result.assignments) == n_units
    loads = Counter(i for a in result.assignments for i in a.inspector_ids)
    assert max(loads.values()) - min(loads.values()) <= 1
