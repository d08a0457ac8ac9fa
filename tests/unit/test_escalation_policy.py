"""The escalation policy file: the shipped one parses and encodes the local ladders, every kind of mistake
is named (all of them at once), the text round-trips, and a new version must increase and keep its ids'
meaning."""

from pathlib import Path

import pytest
import yaml

from inspect_api.accountability.policy import (
    EscalationPolicyError,
    check_successor,
    dump,
    from_data,
    load,
    parse,
    parse_successor,
    to_data,
)
from inspect_api.accountability.rules import ConfirmedFindings, Outcomes, OverdueRectification
from inspect_api.review.policy import PolicyError

CHECKLISTS = str(Path(__file__).resolve().parents[2] / "checklists")

GOOD = """\
version: 3
rules:
  - id: two_findings
    name: 两次问题告诫
    subject: staff
    when: {confirmed_findings: {count: 2, window_days: 365}}
    propose: efficiency_warning
  - id: three_findings
    name: 三次问题移送
    subject: staff
    when: {confirmed_findings: {count: 3, window_days: 365, categories: [off_post, badge_missing]}}
    propose: referral
    supersedes: [two_findings]
"""


def with_rule(**fields) -> str:
    rule = {"id": "r", "name": "规则", "subject": "staff",
            "when": {"confirmed_findings": {"count": 2, "window_days": 365}}, "propose": "efficiency_warning"}
    rule.update(fields)
    rule = {k: v for k, v in rule.items() if v is not None}
    return yaml.safe_dump({"version": 1, "rules": [rule]}, allow_unicode=True)


def problems_of(text: str) -> list[str]:
    with pytest.raises(EscalationPolicyError) as exc:
        parse(text, "escalation.yaml")
    assert str(exc.value).startswith("escalation.yaml: ")
    return exc.value.problems


def test_shipped_policy_parses_and_encodes_the_local_ladders():
    policy = load(CHECKLISTS)
    assert policy.version >= 1
    by_id = {r.id: r for r in policy.rules}
    assert by_id["severe_finding_referral"].action == "referral"
    assert by_id["staff_two_findings_warning"].trigger == ConfirmedFindings(count=2, window_days=365,
                                                                           counts="occasions")
    assert by_id["staff_three_findings_referral"].action == "referral"
    ladder = [r for r in policy.rules if isinstance(r.trigger, Outcomes)]
    assert [(r.trigger.outcome, r.trigger.count, r.action) for r in ladder] == [
        ("admonishment_talk", 1, "written_self_criticism"),
        ("admonishment_talk", 2, "circulated_criticism"),
        ("admonishment_talk", 3, "efficiency_warning")]
    kinds = {(r.subject, r.trigger.kind, r.action) for r in policy.rules}
    assert {("unit", "findings_in_quarter", "head_talk"), ("unit", "overdue_rectification", "escalation"),
            ("unit", "bottom_rank", "head_talk")} <= kinds
    assert policy.text.startswith("# 问责升级规则")  # the file's own text, comments and all


def test_dump_round_trips_and_keeps_the_submitted_text():
    for policy in (load(CHECKLISTS), parse(GOOD, "good.yaml")):
        again = parse(dump(policy), "dumped.yaml")
        assert again == policy
        assert from_data(to_data(policy), "json") == policy
    policy = parse(GOOD, "good.yaml")
    assert policy.text == GOOD
    assert policy.rules[1].trigger.categories == ("badge_missing", "off_post")
    assert to_data(policy)["rules"][1]["supersedes"] == ["two_findings"]
    assert from_data(to_data(policy), "json").text == dump(policy)


def test_triggers_without_parameters_accept_an_empty_mapping_or_null():
    for when in ({"overdue_rectification": {}}, {"overdue_rectification": None}):
        policy = parse(with_rule(subject="unit", when=when, propose="escalation"), "x")
        assert policy.rules[0].trigger == OverdueRectification()


@pytest.mark.parametrize("days", [1, 3650])
def test_window_bounds_are_accepted(days):
    parse(with_rule(when={"outcomes": {"outcome": "admonishment_talk", "count": 1, "window_days": days}}), "x")


@pytest.mark.parametrize("text,needle", [
    ("- just a list\n", "映射"),
    ("version: [1\n", "YAML"),
    (GOOD + "owner: admin\n", "未知字段 ['owner']"),
    (GOOD.replace("version: 3", "version: 0"), "version 须为不小于 1"),
    (GOOD.replace("version: 3", "version: '3'"), "version 须为不小于 1"),
    ("version: 1\nrules: {}\n", "rules 须为规则列表"),
    ("version: 1\nrules: [just_text]\n", "rules[0]: 须为映射"),
    (with_rule(severity="severe"), "未知字段 ['severity']"),
    (with_rule(propose=None), "缺少字段 ['propose']"),
    (with_rule(id="Two-Findings"), "id 须为小写字母开头"),
    (with_rule(name="two findings"), "name 须为中文名称"),
    (with_rule(subject="department"), "subject 须为"),
    (with_rule(propose="dismissal"), "unknown action 'dismissal'"),
    (with_rule(when={"complaints": {"count": 2}}), "未知的触发条件 'complaints'"),
    (with_rule(when={"confirmed_findings": {"count": 2, "window_days": 365},
                     "finding_severity": {"severity": "severe"}}), "只含一种触发条件"),
    (with_rule(when="confirmed_findings"), "只含一种触发条件"),
    (with_rule(when={"confirmed_findings": [2, 365]}), "须为映射"),
    (with_rule(when={"confirmed_findings": {"count": 0, "window_days": 365}}), "count 须为不小于 1"),
    (with_rule(when={"confirmed_findings": {"count": True, "window_days": 365}}), "count 须为不小于 1"),
    (with_rule(when={"confirmed_findings": {"count": 2.5, "window_days": 365}}), "count 须为不小于 1"),
    (with_rule(when={"confirmed_findings": {"count": 2, "window_days": 0}}), "window_days 须为 1–3650"),
    (with_rule(when={"confirmed_findings": {"count": 2, "window_days": 3651}}), "window_days 须为 1–3650"),
    (with_rule(when={"confirmed_findings": {"count": 2}}), "缺少参数 ['window_days']"),
    (with_rule(when={"confirmed_findings": {"count": 2, "window_days": 30, "months": 1}}), "未知参数 ['months']"),
    (with_rule(when={"confirmed_findings": {"count": 2, "window_days": 30, "categories": ["rudeness"]}}),
     "未知类别 ['rudeness']"),
    (with_rule(when={"confirmed_findings": {"count": 2, "window_days": 30, "categories": []}}), "非空的问题类别列表"),
    (with_rule(when={"finding_severity": {"severity": "fatal"}}), "unknown severity 'fatal'"),
    (with_rule(when={"outcomes": {"outcome": "dismissal", "count": 1, "window_days": 365}}),
     "unknown outcome 'dismissal'"),
    (with_rule(when={"bottom_rank": {"consecutive_months": 0}}, subject="unit"), "consecutive_months 须为不小于 1"),
    (with_rule(subject="unit", when={"outcomes": {"outcome": "admonishment_talk", "count": 1, "window_days": 365}}),
     "outcomes cannot be about unit"),
    (with_rule(when={"findings_in_quarter": {"count": 3}}), "findings_in_quarter cannot be about staff"),
    (with_rule(when={"bottom_rank": {"consecutive_months": 2}}), "bottom_rank cannot be about staff"),
    (with_rule(when={"overdue_rectification": {}}), "overdue_rectification cannot be about staff"),
    (with_rule(supersedes="two"), "supersedes 须为规则 id 列表"),
    (with_rule(supersedes=["r"]), "不能包含自身"),
    (with_rule(supersedes=["nobody"]), "'nobody' 不是本策略的规则"),
    (GOOD.replace("id: three_findings", "id: two_findings").replace("[two_findings]", "[]"), "重复 (duplicate id)"),
])
def test_mistakes_are_named(text, needle):
    problems = problems_of(text)
    assert any(needle in p for p in problems), problems


def test_every_problem_is_listed_at_once_with_its_rule():
    text = yaml.safe_dump({"version": 0, "extra": 1, "rules": [
        {"id": "a", "name": "甲", "subject": "unit", "when": {"outcomes": {"outcome": "x", "count": 0, "window_days": 9999}},
         "propose": "fire"},
        {"id": "a", "name": "乙", "subject": "staff", "when": {"finding_severity": {"severity": "severe"}},
         "propose": "referral"},
    ]}, allow_unicode=True)
    problems = problems_of(text)
    assert len(problems) == 8, problems
    joined = "\n".join(problems)
    for needle in ("未知字段 ['extra']", "version", "rules[0] (a): propose", "when.outcomes.count", "window_days",
                   "unknown outcome 'x'", "outcomes cannot be about unit", "rules[1]: id 'a' 与 rules[0] 重复"):
        assert needle in joined


def test_supersedes_must_name_a_rule_about_the_same_facts_and_not_form_a_cycle():
    rules = [
        {"id": "a", "name": "甲", "subject": "staff", "when": {"confirmed_findings": {"count": 2, "window_days": 9}},
         "propose": "efficiency_warning", "supersedes": ["b"]},
        {"id": "b", "name": "乙", "subject": "staff", "when": {"confirmed_findings": {"count": 3, "window_days": 9}},
         "propose": "referral", "supersedes": ["a"]},
        {"id": "c", "name": "丙", "subject": "staff",
         "when": {"outcomes": {"outcome": "admonishment_talk", "count": 1, "window_days": 9}},
         "propose": "written_self_criticism", "supersedes": ["a"]},
        {"id": "d", "name": "丁", "subject": "unit", "when": {"confirmed_findings": {"count": 2, "window_days": 9}},
         "propose": "head_talk", "supersedes": ["a"]},
    ]
    problems = problems_of(yaml.safe_dump({"version": 1, "rules": rules}, allow_unicode=True))
    joined = "\n".join(problems)
    assert "rules[2] (c): 只能取代对象与事实相同的规则, 'a'" in joined
    assert "rules[3] (d): 只能取代对象与事实相同的规则, 'a'" in joined
    assert "supersedes 构成循环 a → b → a" in joined


def test_a_new_version_must_have_a_higher_number():
    current = parse(GOOD, "v3")
    assert parse_successor(GOOD.replace("version: 3", "version: 4"), current).version == 4
    for version in (3, 2):
        with pytest.raises(EscalationPolicyError, match="version 须大于当前版本 3"):
            parse_successor(GOOD.replace("version: 3", f"version: {version}"), current)
    assert parse_successor(GOOD, None).version == 3  # nothing stored yet: any valid version


def test_a_new_version_lists_its_parse_problems_and_the_version_problem_together():
    current = parse(GOOD, "v3")
    with pytest.raises(EscalationPolicyError) as exc:
        parse_successor(GOOD.replace("count: 2", "count: 0"), current, "PUT /policy")
    assert len(exc.value.problems) == 2
    assert "count 须为不小于 1" in exc.value.problems[0]
    assert "version 须大于当前版本 3" in exc.value.problems[1]


def test_a_kept_rule_id_may_change_its_thresholds_but_not_its_action_or_subject():
    current = parse(GOOD, "v3")
    looser = GOOD.replace("version: 3", "version: 4").replace("count: 2, window_days: 365",
                                                              "count: 2, window_days: 180")
    check_successor(parse(looser, "v4"), current)
    renamed = GOOD.replace("version: 3", "version: 4").replace("propose: efficiency_warning",
                                                               "propose: circulated_criticism")
    with pytest.raises(EscalationPolicyError, match="two_findings 的对象或建议措施已改变"):
        check_successor(parse(renamed, "v4"), current)
    moved = renamed.replace("id: two_findings", "id: two_findings_criticism").replace("[two_findings]", "[]")
    check_successor(parse(moved, "v4"), current)  # a new id for the new meaning is fine


def test_an_unreadable_file_is_a_policy_error(tmp_path):
    with pytest.raises(PolicyError, match="无法读取"):
        load(str(tmp_path))


def test_a_policy_text_is_read_once_and_its_errors_every_time():
    """Every confirmed finding runs the rules: the same text gives the same (immutable) policy without
    reading the YAML again; a changed text is read anew; a bad one is refused each time it is given."""
    from inspect_api.accountability import policy as policy_io

    first = policy_io.parse(GOOD, "a")
    assert policy_io.parse(GOOD, "a") is first
    changed = policy_io.parse(GOOD.replace("version: 3", "version: 4"), "a")
    assert changed is not first and changed.version == 4 and first.version == 3
    for _ in range(2):
        with pytest.raises(policy_io.EscalationPolicyError):
            policy_io.parse("rules: [", "bad")
