"""The survey draw (评议对象抽取, pure): reproducible from the seed, independent of input order, at least
`per_unit` per unit or all of them (reported as short), close to uniform, and verification that names
tampered inputs, results and seeds."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

from inspect_api.assessment.rules import (
    AssessmentError,
    SurveyPlan,
    SurveyUnit,
    draw_survey,
    survey_inputs,
    survey_result_digest,
    survey_result_json,
    verify_survey,
)
from inspect_api.sampling.rules import seed_commitment

SEED = "a" * 64
PLAN = SurveyPlan(year=2026, source="ratings", per_unit=20)
UNITS = [SurveyUnit(1, tuple(range(100, 160))), SurveyUnit(2, tuple(range(200, 219))), SurveyUnit(3, ()),
         SurveyUnit(4, tuple(range(400, 420)))]


def test_the_same_seed_draws_the_same_recipients_byte_for_byte():
    a, b = draw_survey(PLAN, UNITS, SEED), draw_survey(PLAN, UNITS, SEED)
    assert survey_result_json(a) == survey_result_json(b)
    assert survey_result_digest(a) == survey_result_digest(b)
    other = draw_survey(PLAN, UNITS, "b" * 64)
    assert [s.drawn for s in other.units] != [s.drawn for s in a.units]


def test_input_order_and_duplicates_do_not_matter():
    shuffled = [SurveyUnit(u.id, tuple(reversed(u.candidates)) + u.candidates[:3]) for u in reversed(UNITS)]
    assert survey_result_json(draw_survey(PLAN, shuffled, SEED)) == survey_result_json(draw_survey(PLAN, UNITS, SEED))


def test_a_units_draw_depends_only_on_its_own_candidates():
    alone = draw_survey(PLAN, [UNITS[0]], SEED).units[0]
    assert draw_survey(PLAN, UNITS, SEED).units[0] == alone


def test_at_least_per_unit_are_drawn_or_all_of_them_and_the_unit_is_reported_short():
    result = draw_survey(PLAN, UNITS, SEED)
    by_unit = {s.unit_id: s for s in result.units}
    assert len(by_unit[1].drawn) == 20 and not by_unit[1].short
    assert len(set(by_unit[1].drawn)) == 20 and set(by_unit[1].drawn) <= set(UNITS[0].candidates)
    assert sorted(by_unit[2].drawn) == list(range(200, 219)) and by_unit[2].short and by_unit[2].eligible == 19
    assert by_unit[3].drawn == () and by_unit[3].short
    assert len(by_unit[4].drawn) == 20 and not by_unit[4].short  # exactly per_unit: all, not short
    assert [(p.code, p.unit_id, dict(p.details)) for p in result.problems] == [
        ("unit_short", 2, {"eligible": 19, "required": 20}), ("unit_short", 3, {"eligible": 0, "required": 20})]
    assert "只有 19 名符合条件的评议对象，少于 20 名，已全部抽取" in result.problems[0].message_zh


def test_each_candidate_is_about_equally_likely():
    unit = SurveyUnit(1, tuple(range(30)))
    plan = dataclasses.replace(PLAN, per_unit=10)
    counts = Counter(c for i in range(900) for c in draw_survey(plan, [unit], f"seed-{i:04d}-" + "x" * 32).units[0].drawn)
    assert len(counts) == 30
    assert all(220 <= n <= 380 for n in counts.values()), counts  # expected 300 each


def test_bad_inputs_are_refused():
    with pytest.raises(AssessmentError):
        draw_survey(dataclasses.replace(PLAN, source="phonebook"), UNITS, SEED)
    with pytest.raises(AssessmentError):
        draw_survey(PLAN, [SurveyUnit(1, (1,)), SurveyUnit(1, (2,))], SEED)
    with pytest.raises(AssessmentError):
        draw_survey(dataclasses.replace(PLAN, per_unit=0), UNITS, SEED)


def test_verify_accepts_the_draw_and_names_tampered_inputs_results_and_seeds():
    result = draw_survey(PLAN, UNITS, SEED)
    commitment = seed_commitment(SEED)
    assert verify_survey(PLAN, UNITS, SEED, result, commitment=commitment) == []

    tampered = [SurveyUnit(1, UNITS[0].candidates[:-1] + (999,)), *UNITS[1:]]
    problems = verify_survey(PLAN, tampered, SEED, result, commitment=commitment)
    assert any(p.startswith("输入已变化") for p in problems)

    other = dataclasses.replace(result, units=(dataclasses.replace(result.units[0], drawn=tuple(range(100, 120))),
                                               *result.units[1:]))
    problems = verify_survey(PLAN, UNITS, SEED, other, commitment=commitment)
    assert any(p.startswith("单位 1: 记录为") for p in problems)

    problems = verify_survey(PLAN, UNITS, "c" * 64, result, commitment=commitment)
    assert problems[0].startswith("种子与公布的承诺值不符")


def test_the_stored_inputs_hold_ids_only():
    data = survey_inputs(PLAN, UNITS)
    assert data["algorithm"] == "inspect-api/survey/v1"
    assert data["units"][0] == {"id": 1, "candidates": list(range(100, 160))}
    assert set(data) == {"algorithm", "year", "source", "per_unit", "units"}
