"""Policy files and rule inputs are checked by marshmallow schemas (core/policy_schema.py): for each kind,
several problems in one input are all reported at once, each at its path, in Chinese (no English
marshmallow default leaks), and junk never raises anything but the policy's own error."""

from __future__ import annotations

import copy
import random
from datetime import datetime

import pytest
import yaml
from marshmallow import fields

from inspect_api.accountability.policy import EscalationPolicyError
from inspect_api.accountability.policy import parse as parse_escalation
from inspect_api.assessment.policy import AssessmentPolicyError
from inspect_api.assessment.policy import from_data as assessment_from_data
from inspect_api.checklists.rules import validate_template
from inspect_api.core import policy_schema as ps
from inspect_api.sampling.rules import InspectorInfo, PlanError, UnitInfo, WeightPolicy, draw
from inspect_api.shopper.rules import ScoringPolicy, policy_from_template
from tests.unit.test_assessment_rules import policy_data
from tests.unit.test_checklist_rules import FILE, item, valid
from tests.unit.test_sampling_rules import SEED, WEEK, make_inspectors, make_plan, make_units
from tests.unit.test_shopper_rules import SCORING

ENGLISH = ("Field may not be null", "Not a valid", "Unknown field", "Missing data", "Invalid input type")


def no_english(problems) -> None:
    for problem in problems:
        assert not any(text in problem for text in ENGLISH), problem


# --- the helpers -------------------------------------------------------------------------------------

class _Item(ps.PolicySchema):
    weight = ps.Number(0, None, "须为正数 (must be positive)", above=True, required=True)
    name = ps.Text(ps.CJK, "须为中文名称 (a Chinese label)")


class _File(ps.PolicySchema):
    items = fields.List(fields.Nested(_Item), required=True)


def test_problems_name_the_entry_then_the_keys_or_the_full_path():
    data = {"items": [{"weight": 1}, {"weight": 0, "name": "x", "extra": 1}, {"id": "third"}, 5], "owner": 1}
    _loaded, problems = ps.check(_File(), data)
    assert problems == [
        "items[1]: weight 须为正数 (must be positive)",
        "items[1]: name 须为中文名称 (a Chinese label)",
        "items[1]: 未知字段 ['extra'] (unknown keys)",
        "items[2] (third): 未知字段 ['id'] (unknown keys)",
        "items[2] (third): 缺少字段 ['weight'] (missing keys)",
        "items[3]: 须为映射 (must be a mapping)",
        "未知字段 ['owner'] (unknown keys)",
    ]
    _loaded, full = ps.check(_File(), data, root="policy")
    assert "policy.items[1].weight: 须为正数 (must be positive)" in full
    assert ps.check(_File(), {"items": [{"weight": 2.5}]})[1] == []


# --- each kind: several problems at once -------------------------------------------------------------

def test_assessment_policy_collects_every_problem_with_its_path():
    bad = policy_data(min_raters=True, vetoes=[
        {"id": "v", "name": "否决", "when": {"satisfaction_below": {"rate": 2}}, "effect": "fail"},
        {"id": "v", "name": "否决", "when": {"confirmed_findings": {"count": 0, "sources": ["gossip"]}},
         "effect": "fail"},
        "not a veto"])
    bad["survey"]["score_points"] = {5: 100, 4: 80, 3: "sixty", 2: 30, 1: 0}
    bad["inspection"]["deduction_by_severity"]["minor"] = -1
    bad["inspection"]["floor"] = None
    bad["weights"] = None
    with pytest.raises(AssessmentPolicyError) as exc:
        assessment_from_data(bad, "assessment.yaml")
    problems = exc.value.problems
    no_english(problems)
    for expected in ("min_raters 须为 1–10000 的整数", "survey.score_points.3 须为 0–1000 的数",
                     "inspection.deduction_by_severity.minor 须为非负数", "inspection.floor 须为不大于 base 的非负数",
                     "weights 须为映射", "vetoes[0] (v): when.satisfaction_below.rate 须为 (0, 1] 之间的比例",
                     "vetoes[1] (v): when.confirmed_findings.count 须为不小于 1 的整数",
                     "vetoes[1] (v): when.confirmed_findings.sources 含未知的问题来源 ['gossip']",
                     "vetoes[1] (v): id 重复", "vetoes[2]: 须为映射"):
        assert any(p.startswith(expected) for p in problems), (expected, problems)
    assert len(problems) == 10, problems


def test_escalation_policy_collects_every_problem_of_every_rule():
    text = yaml.safe_dump({"version": 2, "rules": [
        {"id": "a", "name": "甲", "subject": "staff",
         "when": {"confirmed_findings": {"count": "two", "months": 3}}, "propose": "referral", "supersedes": [{}]},
        {"id": "b", "subject": "unit", "when": {"bottom_rank": None}, "propose": "head_talk"},
        ["not", "a", "rule"],
        {"id": ["x"], "name": "丙", "subject": "staff", "when": {"finding_severity": {"severity": "severe"}},
         "propose": "referral", "supersedes": ["a"]},
    ]}, allow_unicode=True)
    with pytest.raises(EscalationPolicyError) as exc:
        parse_escalation(text, "escalation.yaml")
    problems = exc.value.problems
    no_english(problems)
    assert problems == [
        "rules[0] (a): when.confirmed_findings.count 须为不小于 1 的整数 (count must be an integer ≥ 1)",
        "rules[0] (a): when.confirmed_findings: 未知参数 ['months'] "
        "(unknown keys; allowed: ['count', 'window_days', 'categories', 'counts'])",
        "rules[0] (a): when.confirmed_findings: 缺少参数 ['window_days'] (missing keys)",
        "rules[0] (a): supersedes 须为规则 id 列表 (supersedes must be a list of rule ids)",
        "rules[1] (b): when.bottom_rank: 缺少参数 ['consecutive_months'] (missing keys)",
        "rules[1] (b): 缺少字段 ['name'] (missing keys)",
        "rules[2]: 须为映射 (must be a mapping)",
        "rules[3]: id 须为小写字母开头的英文标识, 如 staff_two_findings_warning (id must be a lowercase slug: a-z, 0-9, _)",
    ]


def test_shopper_scoring_collects_every_problem_at_its_full_path():
    data = copy.deepcopy(SCORING)
    data["incomplete_notice"]["severity_by_untold_share"][0] = {"above": 1.5, "severity": "huge"}
    data["poor_attitude"]["rude"] = None
    data["shirking"] = {"severity": "serious", "points": -1, "bonus": 1}
    del data["overdue"]
    with pytest.raises(ValueError) as exc:
        policy_from_template(data)
    text = str(exc.value)
    assert text.startswith("评分规则无效 (invalid scoring section): ")
    for path in ("scoring.incomplete_notice.severity_by_untold_share[0].above: 须为 0（含）到 1（不含）之间的数",
                 "scoring.incomplete_notice.severity_by_untold_share[0].severity: 须为以下之一",
                 "scoring.poor_attitude.rude: 须为以下之一", "scoring.shirking.points: 须为非负整数",
                 "scoring.shirking.bonus: 未知字段", "scoring.overdue: 缺少必填字段"):
        assert path in text, (path, text)
    no_english([text])


def test_a_scoring_policy_built_in_code_reports_every_problem_too():
    with pytest.raises(ValueError) as exc:
        ScoringPolicy(untold_severity=((0.5, "grave"), (0.7, "minor"), (0.1, "minor")),
                      attitude={"warm": "minor", "rude": "huge"}, overdue_severity="late", points={"shirking": -1})
    text = str(exc.value)
    for expected in ("untold_severity[0]: 须为以下之一", "untold_severity[1]: 比例须从大到小排列",
                     "untold_severity: 最后一档须为 0", "attitude.warm: 须为以下之一 (must be one of): ordinary",
                     "attitude.rude: 须为以下之一 (must be one of): minor", "overdue_severity: 须为以下之一",
                     "points.shirking: 须为非负整数"):
        assert expected in text, (expected, text)


def test_a_checklist_template_reports_every_problem_located_by_system_item_and_field():
    data = valid()
    data["version"] = "1"
    data["systems"][0]["label"] = None
    item(data, "A1")["severity"] = "grave"
    item(data, "A1")["points"] = -2
    item(data, "A2")["choices"] = [{"code": "warm", "label": "热情"}, {"code": "warm"}, "cold"]
    item(data, "B1")["fail_below"] = 40  # above fail_above 30: every answer fails
    data["systems"][1]["items"].append({"question": "No code", "answer_type": "text", "colour": "red"})
    errors = validate_template(data, FILE)
    located = {(e.system, e.item, e.field): e.message for e in errors}
    assert set(located) == {
        (None, None, "version"), ("first_inquiry", None, "label"), (None, "A1", "severity"), (None, "A1", "points"),
        (None, "A2", "choices[1].label"), (None, "A2", "choices[2]"), (None, "A2", "choices[1].code"),
        (None, "A2", "fail_choices"),  # cold: not among the choices any more
        (None, "B1", "fail_below"), ("time_limit", "#3", "code"), ("time_limit", "#3", "question"),
        ("time_limit", "#3", "colour")}, [str(e) for e in errors]
    assert "duplicate choice code warm" in located[(None, "A2", "choices[1].code")]
    assert "must not exceed fail_above" in located[(None, "B1", "fail_below")]
    assert str(next(e for e in errors if e.item == "#3" and e.field == "question")) == \
        f"{FILE}: system time_limit: item #3: field question: 须用中文填写 (must be written in Chinese)"
    no_english([str(e) for e in errors])


def test_sampling_inputs_report_every_problem_in_one_plan_error():
    units = make_units(3)
    units[1] = UnitInfo(units[0].id, opening_hours=((600, 540),))
    units.append(UnitInfo(99, weight_factors={"complaints": -1}))
    inspectors = make_inspectors(2, 3) + [InspectorInfo(7, recent_unit_ids=[1])]
    plan = make_plan(team_size=1, visit_minutes=0, weights=WeightPolicy({"complaints": 0}))
    days = [*WEEK, datetime(2026, 3, 9, 9)]
    with pytest.raises(PlanError) as exc:
        draw(plan, units, inspectors, days, SEED)
    details = exc.value.details
    assert details["field"] == "team_size"
    assert [p["path"] for p in details["problems"]] == [
        "team_size", "visit_minutes", "weights.multipliers", "units[1].id", "units[1].opening_hours",
        "units[3].weight_factors", "inspectors[2].recent_unit_ids", "working_days[5]"]
    assert [p["field"] for p in details["problems"]][3:5] == ["units.id", "units.opening_hours"]
    assert "units[1].opening_hours: 单位 1 的办公时间须按先后排列" in exc.value.message
    no_english([exc.value.message])


# --- junk ---------------------------------------------------------------------------------------------

JUNK = [None, True, 0, -1, 1.5, float("nan"), "", "文本", [], {}, [1, "a"], {"a": 1}, {1: 2}, [[]], [{}]]


def _mutated(data, rng: random.Random):
    data = copy.deepcopy(data)

    def walk(node):
        keys = list(node) if isinstance(node, dict) else range(len(node)) if isinstance(node, list) else []
        for key in keys:
            roll = rng.random()
            if roll < 0.1:
                node[key] = rng.choice(JUNK)
            elif roll < 0.13 and isinstance(node, dict):
                del node[key]
            else:
                walk(node[key])
        if isinstance(node, dict) and rng.random() < 0.05:
            node[rng.choice(["zz", 1, "id", "code"])] = rng.choice(JUNK)

    walk(data)
    return data


@pytest.mark.parametrize("seed", range(3))
def test_junk_in_any_policy_is_its_own_error_never_a_crash(seed):
    rng = random.Random(seed)
    escalation = {"version": 1, "rules": [
        {"id": "r", "name": "规则", "subject": "staff", "when": {"confirmed_findings": {"count": 2, "window_days": 9}},
         "propose": "referral", "supersedes": ["q"]},
        {"id": "q", "name": "规则", "subject": "unit", "when": {"overdue_rectification": {}}, "propose": "escalation"}]}
    for _ in range(150):
        with _maybe(AssessmentPolicyError):
            assessment_from_data(_mutated(policy_data(vetoes=[
                {"id": "v", "name": "否决", "when": {"confirmed_findings": {"severities": ["severe"]}},
                 "effect": "fail"}]), rng), "a")
        with _maybe(EscalationPolicyError):
            parse_escalation(yaml.safe_dump(_mutated(escalation, rng)), "e")
        with _maybe(ValueError):
            policy_from_template(_mutated(SCORING, rng))
        validate_template(_mutated(valid(), rng), FILE)


class _maybe:
    """The block may raise `error` (and nothing else)."""

    def __init__(self, error):
        self.error = error

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is not None and issubclass(kind, self.error):
            no_english([str(value)])
            return True
        return False
