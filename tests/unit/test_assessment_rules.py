"""Annual assessment grades (pure rules): the policy file, grade lines exactly at the threshold and one
hundredth below, rounding, 19 vs 20 raters, vetoes, 不合格 barring 优秀 in the same year, the explanation,
and the escalation trigger that turns an approved 不合格 into proposals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from inspect_api.accountability.policy import EscalationPolicyError
from inspect_api.accountability.policy import from_data as escalation_from_data
from inspect_api.accountability.policy import load as load_escalation
from inspect_api.accountability.rules import GradeFact, evaluate
from inspect_api.assessment.policy import AssessmentPolicyError, from_data, load, parse
from inspect_api.assessment.rules import EarlierFail, FindingInput, ScoreInputs, grade, round2, summarize

CHECKLISTS = str(Path(__file__).resolve().parents[2] / "checklists")
Y0, Y1 = date(2026, 1, 1), date(2026, 12, 31)


def policy_data(**changes) -> dict:
    data = {
        "version": 1, "min_raters": 20,
        "survey": {"per_unit": 20, "unit_kinds": ["department"], "score_points": {5: 100, 4: 80, 3: 60, 2: 30, 1: 0}},
        "inspection": {"base": 100, "deduction_by_severity": {"minor": 2, "serious": 5, "severe": 10}, "floor": 0},
        "weights": {"inspection": 1, "survey": 0},
        "thresholds": {"excellent": 90, "pass": 60},
        "vetoes": [],
    }
    for key, value in changes.items():
        data[key] = value
    return data


INSPECTION_ONLY = from_data(policy_data(), "test")


def finding(n: int, severity="minor", points=0, source="item", category="off_post") -> FindingInput:
    return FindingInput(f"f{n:03d}", severity, points, source, category)


def inputs(findings=(), scores=(5,) * 20, unit_id=7) -> ScoreInputs:
    return ScoreInputs(unit_id, Y0, Y1, tuple(findings), tuple(scores))


def rules_of(result) -> list[str]:
    return [s.rule for s in result.steps]


# --- the policy file -----------------------------------------------------------------------------------

def test_shipped_policy_encodes_the_seed():
    policy = load(CHECKLISTS)
    assert policy.min_raters == 20 and policy.per_unit >= 20
    assert policy.weight_inspection + policy.weight_survey == 1
    assert policy.threshold_excellent > policy.threshold_pass
    effects = {v.id: v.effect for v in policy.vetoes}
    assert effects["severe_finding_caps_pass"] == "cap_pass"
    assert effects["substantiated_complaint_caps_pass"] == "cap_pass"
    assert "fail" in effects.values()


def test_every_problem_of_a_policy_is_listed_at_once():
    bad = policy_data(min_raters=0, weights={"inspection": 0.7, "survey": 0.4},
                      thresholds={"excellent": 50, "pass": 60}, extra=1,
                      vetoes=[{"id": "Bad Id", "name": "x", "when": {"confirmed_findings": {"severities": ["awful"]}},
                               "effect": "sack"},
                              {"id": "v", "name": "否决", "when": {"nobody_knows": {}}, "effect": "fail"}])
    bad["survey"]["score_points"] = {5: 100, 4: 80}
    with pytest.raises(AssessmentPolicyError) as exc:
        from_data(bad, "assessment.yaml")
    text = " ".join(exc.value.problems)
    for expected in ("未知字段 ['extra']", "min_raters", "weights 之和须为 1", "thresholds 须满足", "score_points",
                     "id 须为小写字母", "name 须为中文", "effect 须为", "未知的严重程度", "未知的条件"):
        assert expected in text, expected
    assert len(exc.value.problems) >= 10
    assert str(exc.value).startswith("assessment.yaml: ")


def test_per_unit_may_not_be_smaller_than_min_raters_and_yaml_errors_are_named():
    data = policy_data()
    data["survey"]["per_unit"] = 19
    with pytest.raises(AssessmentPolicyError, match="不能少于 min_raters"):
        from_data(data, "p")
    with pytest.raises(AssessmentPolicyError, match="YAML"):
        parse("version: [1", "p.yaml")


def test_weights_are_exact_decimals():
    policy = from_data(policy_data(weights={"inspection": 0.6, "survey": 0.4}), "p")
    assert (policy.weight_inspection, policy.weight_survey) == (Decimal("0.6"), Decimal("0.4"))


# --- grade lines -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("deduction", "expected"), [
    ("10", "excellent"),      # 90.00: exactly the 优秀 line
    ("10.01", "pass"),        # 89.99: a hundredth below
    ("40", "pass"),           # 60.00: exactly the 合格 line
    ("40.01", "fail"),        # 59.99
])
def test_grade_exactly_at_a_threshold_and_one_hundredth_below(deduction, expected):
    data = policy_data()
    data["inspection"]["deduction_by_severity"]["minor"] = float(deduction)
    result = grade(from_data(data, "p"), inputs([finding(1)]))
    assert result.grade == expected
    assert result.score == Decimal(100) - Decimal(deduction)


def test_checklist_points_are_deducted_before_the_severity_default():
    result = grade(INSPECTION_ONLY, inputs([finding(1, points=7), finding(2, "serious"), finding(3, "severe", 0)]))
    assert result.inspection_score == Decimal("78.00")  # 7 points + 5 (serious) + 10 (severe)
    step = next(s for s in result.steps if s.rule == "inspection")
    assert step.data["checklist_points"] == 7
    assert step.data["counted_by_severity"] == {"minor": 0, "serious": 1, "severe": 1}
    assert "检查表分值合计 7 分" in step.detail and "较重问题 1 项 × 5 分" in step.detail


def test_the_inspection_score_never_goes_below_the_floor():
    result = grade(INSPECTION_ONLY, inputs([finding(i, "severe") for i in range(12)]))
    assert result.inspection_score == Decimal("0.00") and result.grade == "fail"
    assert "不低于 0 分" in next(s for s in result.steps if s.rule == "inspection").detail


def test_the_total_is_rounded_half_up_before_the_threshold():
    # 100 × 0.5 + 79.99 × 0.5 = 89.995, shown and graded as 90.00
    data = policy_data(weights={"inspection": 0.5, "survey": 0.5})
    data["survey"]["score_points"] = {5: 100, 4: 79.99, 3: 60, 2: 30, 1: 0}
    result = grade(from_data(data, "p"), inputs(scores=(4,) * 20))
    assert result.score == Decimal("90.00") and result.grade == "excellent"
    assert round2(Decimal("89.994")) == Decimal("89.99")


def test_weighted_total_with_the_shipped_policy():
    # 15 × 满意 (80) and 5 × 基本满意 (60): survey 75; no findings: inspection 100; 100 × 0.6 + 75 × 0.4 = 90
    policy = load(CHECKLISTS)
    result = grade(policy, inputs(scores=(4,) * 15 + (3,) * 5))
    assert (result.inspection_score, result.survey_score, result.score) == (Decimal("100.00"), Decimal("75.00"),
                                                                            Decimal("90.00"))
    assert result.grade == "excellent"
    total = next(s for s in result.steps if s.rule == "total")
    assert total.detail == "100 × 0.6 + 75 × 0.4 = 90.00 分"


# --- raters -----------------------------------------------------------------------------------------------

def test_nineteen_raters_are_not_assessable_and_twenty_are():
    short = grade(INSPECTION_ONLY, inputs(scores=(5,) * 19))
    assert short.grade == "not_assessable" and short.score is None
    assert rules_of(short) == ["raters"]
    assert short.steps[0].data == {"raters": 19, "min_raters": 20}
    assert short.reason.startswith("有效评议人数 19 人，少于 20 人") and "不予评定" in short.reason
    enough = grade(INSPECTION_ONLY, inputs(scores=(5,) * 20))
    assert enough.grade == "excellent"
    assert enough.steps[0].detail == "有效评议人数 20 人，不少于 20 人"


def test_not_assessable_even_with_a_veto_that_would_fail():
    policy = from_data(policy_data(vetoes=[{"id": "sev", "name": "严重问题不合格",
                                            "when": {"confirmed_findings": {"severities": ["severe"]}},
                                            "effect": "fail"}]), "p")
    assert grade(policy, inputs([finding(1, "severe")], scores=())).grade == "not_assessable"


# --- vetoes -------------------------------------------------------------------------------------------------

VETOES = from_data(policy_data(vetoes=[
    {"id": "severe_caps", "name": "有严重问题不得评为优秀", "when": {"confirmed_findings": {"count": 1,
                                                                                "severities": ["severe"]}},
     "effect": "cap_pass"},
    {"id": "complaint_caps", "name": "有经查实的投诉不得评为优秀",
     "when": {"confirmed_findings": {"sources": ["complaint"]}}, "effect": "cap_pass"},
    {"id": "three_severe_fail", "name": "严重问题3项评为不合格",
     "when": {"confirmed_findings": {"count": 3, "severities": ["severe"]}}, "effect": "fail"},
    {"id": "low_satisfaction", "name": "满意率低于60%不合格", "when": {"satisfaction_below": {"rate": 0.6}},
     "effect": "fail"},
]), "p")


def test_a_severe_finding_caps_an_excellent_score_at_pass():
    result = grade(VETOES, inputs([finding(1, "severe", points=1)]))  # 99.00 by the lines
    assert result.score == Decimal("99.00") and result.grade == "pass"
    step = next(s for s in result.steps if s.rule == "veto:severe_caps")
    assert step.as_dict()["changed"] and (step.grade_before, step.grade_after) == ("excellent", "pass")
    assert step.data["finding_ids"] == ["f001"] and step.data["count"] == 1
    assert "一票否决，最高评为合格" in step.detail
    assert "有严重问题不得评为优秀" in result.reason and result.reason.endswith("最终等次：合格。")


def test_a_cap_leaves_a_pass_or_a_fail_alone():
    result = grade(VETOES, inputs([finding(1, "severe", points=30)]))  # 70: pass anyway
    step = next(s for s in result.steps if s.rule == "veto:severe_caps")
    assert step.matched and not step.as_dict()["changed"] and result.grade == "pass"


def test_a_substantiated_complaint_caps_at_pass():
    result = grade(VETOES, inputs([finding(1, "minor", points=1, source="complaint")]))
    assert result.grade == "pass"
    assert next(s for s in result.steps if s.rule == "veto:complaint_caps").matched


def test_three_severe_findings_fail_and_two_do_not():
    two = grade(VETOES, inputs([finding(i, "severe", points=1) for i in range(2)]))
    three = grade(VETOES, inputs([finding(i, "severe", points=1) for i in range(3)]))
    assert two.grade == "pass" and three.grade == "fail"
    assert "被确认问题（严重） 3 项 ≥ 3 项" in next(s for s in three.steps if s.rule == "veto:three_severe_fail").detail


def test_satisfaction_exactly_at_the_rate_is_not_below_it():
    at = grade(VETOES, inputs(scores=(3,) * 12 + (2,) * 8))   # 60% satisfied
    below = grade(VETOES, inputs(scores=(3,) * 11 + (2,) * 9))  # 55%
    assert at.grade == "excellent"  # the survey weighs 0 here; only the veto could change it
    assert below.grade == "fail"
    assert "服务对象满意率 55% < 60%" in next(s for s in below.steps if s.rule == "veto:low_satisfaction").detail


# --- 不合格 bars 优秀 in the same year -------------------------------------------------------------------------

def test_an_earlier_fail_in_the_year_bars_excellent_and_says_so():
    earlier = EarlierFail(run_id=3, approved_on=date(2026, 12, 20))
    result = grade(INSPECTION_ONLY, inputs(), earlier_fail=earlier)
    assert result.score == Decimal("100.00") and result.grade == "pass"
    step = result.steps[-1]
    assert step.rule == "earlier_fail" and step.matched and (step.grade_before, step.grade_after) == ("excellent",
                                                                                                    "pass")
    assert "本年度已被评为不合格（考评批次 #3，2026-12-20 审批），年度内不得评为优秀" in result.reason
    assert grade(INSPECTION_ONLY, inputs([finding(1, points=45)]), earlier_fail=earlier).grade == "fail"
    assert grade(INSPECTION_ONLY, inputs()).steps[-1].detail == "本年度此前未被评为不合格"


# --- the explanation ------------------------------------------------------------------------------------------

def test_every_grade_explains_itself_in_order_with_its_numbers():
    result = grade(VETOES, inputs([finding(1, "severe", points=3, category="shirking"), finding(2, "minor")],
                                  scores=(5,) * 18 + (4,) * 2))
    assert rules_of(result) == ["raters", "inspection", "survey", "total", "threshold", "veto:severe_caps",
                                "veto:complaint_caps", "veto:three_severe_fail", "veto:low_satisfaction",
                                "earlier_fail"]
    s = summarize(inputs([finding(1, "severe", points=3, category="shirking"), finding(2, "minor")],
                         scores=(5,) * 18 + (4,) * 2), VETOES)
    assert result.summary == s
    assert s["findings"] == {"confirmed": 2, "by_severity": {"minor": 1, "serious": 0, "severe": 1},
                             "by_source": {"item": 2}, "by_category": {"off_post": 1, "shirking": 1},
                             "checklist_points": 3, "deduction": 5}
    assert s["survey"] == {"raters": 20, "mean": 4.9, "satisfaction_rate": 1,
                           "by_score": {"5": 18, "4": 2, "3": 0, "2": 0, "1": 0}}
    assert s["finding_ids"] == ["f001", "f002"]
    for step in result.steps:
        d = step.as_dict()
        assert d["label"] and d["detail"] and isinstance(d["data"], dict)
    assert result.reason.startswith("综合得分 95.00 分，按等次线评为优秀；")
    assert result.label == "合格"


# --- the escalation trigger ------------------------------------------------------------------------------------

def test_an_approved_fail_proposes_a_criticism_notice_and_the_heads_accountability():
    policy = load_escalation(CHECKLISTS)
    fail = GradeFact(unit_id=5, year=2026, grade="fail", approved_on=date(2026, 12, 20), head="王五 局长")
    props = evaluate(policy, grades=[fail, GradeFact(6, 2026, "pass", date(2026, 12, 20))], as_of=date(2026, 12, 21),
                     unit_names={5: "县市场监管局"})
    assert [(p.rule_id, p.subject_type, p.subject_id, p.action, p.fact_ids) for p in props] == [
        ("annual_grade_fail_criticism", "unit", 5, "circulated_criticism", ("grade:5:2026",)),
        ("annual_grade_fail_head_accountability", "unit", 5, "head_accountability", ("grade:5:2026",))]
    assert props[1].reason.startswith("县市场监管局 2026年度考评等次为不合格（主要负责人：王五 局长）")
    assert evaluate(policy, grades=[fail], as_of=date(2026, 12, 19)) == []  # not approved yet on that day
    # the same unit and year again (a re-approved run) is the same fact: the same keys, nothing new
    again = evaluate(policy, grades=[GradeFact(5, 2026, "fail", date(2026, 12, 28))], as_of=date(2026, 12, 31))
    assert {p.dedupe_key for p in again} == {p.dedupe_key for p in props}


def test_the_annual_grade_trigger_is_checked():
    rule = {"id": "r", "name": "考评规则", "subject": "staff", "when": {"annual_grade": {"grade": "bad"}},
            "propose": "head_accountability"}
    with pytest.raises(EscalationPolicyError) as exc:
        escalation_from_data({"version": 1, "rules": [rule]}, "e")
    text = " ".join(exc.value.problems)
    assert "grade 须为" in text and "只适用于 ['unit']" in text
    data = yaml.safe_load(load_escalation(CHECKLISTS).text)
    assert {"annual_grade_fail_criticism", "annual_grade_fail_head_accountability"} <= {r["id"] for r in data["rules"]}


def test_the_total_adds_up_from_its_printed_figures_or_says_it_was_rounded():
    import re
    from fractions import Fraction

    data = policy_data(weights={"inspection": 0.5, "survey": 0.5}, min_raters=20)
    data["survey"]["score_points"] = {5: 100, 4: 79.99, 3: 60, 2: 30, 1: 0}
    total = next(s for s in grade(from_data(data, "p"), inputs(scores=(4,) * 20)).steps if s.rule == "total")
    assert total.detail == "100 × 0.5 + 79.99 × 0.5 ≈ 90.00 分"  # 89.995, rounded half up
    shipped = load(CHECKLISTS)
    checked = 0
    for n in (20, 21, 23):
        for low in range(0, 8):
            for minors in range(0, 3):
                result = grade(shipped, inputs([finding(i) for i in range(minors)], (4,) * (n - low) + (3,) * low))
                step = next(s for s in result.steps if s.rule == "total")
                a, wa, b, wb, sign, right = re.match(
                    r"([\d.]+) × ([\d.]+) \+ ([\d.]+) × ([\d.]+) ([=≈]) ([\d.]+) 分", step.detail).groups()
                exact = Fraction(a) * Fraction(wa) + Fraction(b) * Fraction(wb)
                assert (exact == Fraction(right)) is (sign == "="), step.detail
                checked += 1
    assert checked == 72
