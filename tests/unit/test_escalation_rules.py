"""Escalation rules at their boundaries: exactly N in the window, N−1, a finding on and just past the window's
edge, findings that are not confirmed, quarter and year edges, consecutive bottom ranks and gaps, the
outcomes ladder, overdue rectifications and severe findings; then proposals: their reasons, determinism,
no duplicate for the same facts, and a policy change that adds but never rewrites."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspect_api.accountability.policy import from_data, load, parse
from inspect_api.accountability.rules import (
    BottomRankFact,
    FindingFact,
    OutcomeFact,
    OverdueFact,
    dedupe_key,
    evaluate,
)

POLICY = load(str(Path(__file__).resolve().parents[2] / "checklists"))
AS_OF = date(2027, 6, 30)
D0 = date(2026, 3, 10)


def finding(id, on, *, staff=1, unit=10, severity="minor", category="off_post", status="confirmed"):
    return FindingFact(id=id, staff_id=staff, unit_id=unit, severity=severity, category=category, status=status,
                       observed_on=on)


def one_rule(subject, when, propose="efficiency_warning", version=1, rule_id="r"):
    return from_data({"version": version, "rules": [
        {"id": rule_id, "name": "测试规则", "subject": subject, "when": when, "propose": propose}]}, "test")


def fired(proposals, rule_id=None):
    return [p for p in proposals if rule_id is None or p.rule_id == rule_id]


def facts_of(proposals, rule_id=None):
    return [p.fact_ids for p in fired(proposals, rule_id)]


TWO_IN_YEAR = one_rule("staff", {"confirmed_findings": {"count": 2, "window_days": 365}})
THREE_IN_YEAR = one_rule("staff", {"confirmed_findings": {"count": 3, "window_days": 365}}, "referral")


# --- counting in a rolling window -----------------------------------------------------------------------

def test_exactly_n_in_the_window_fires_and_n_minus_1_does_not():
    two = [finding(1, D0), finding(2, D0 + timedelta(days=100))]
    assert facts_of(evaluate(THREE_IN_YEAR, findings=two, as_of=AS_OF)) == []
    three = [*two, finding(3, D0 + timedelta(days=200))]
    assert facts_of(evaluate(THREE_IN_YEAR, findings=three, as_of=AS_OF)) == [
        ("finding:1", "finding:2", "finding:3")]


def test_a_finding_exactly_window_days_before_counts_one_day_more_does_not():
    on_edge = [finding(1, D0), finding(2, D0 + timedelta(days=365))]
    [p] = evaluate(TWO_IN_YEAR, findings=on_edge, as_of=AS_OF)
    assert p.fact_ids == ("finding:1", "finding:2") and p.fired_on == D0 + timedelta(days=365)
    just_outside = [finding(1, D0), finding(2, D0 + timedelta(days=366))]
    assert evaluate(TWO_IN_YEAR, findings=just_outside, as_of=AS_OF) == []


def test_two_findings_on_the_same_day_fire_once():
    [p] = evaluate(TWO_IN_YEAR, findings=[finding(1, D0), finding(2, D0)], as_of=AS_OF)
    assert p.fact_ids == ("finding:1", "finding:2")


@pytest.mark.parametrize("status", ["dismissed", "withdrawn", "pending_review", "returned", "draft"])
def test_findings_that_are_not_confirmed_are_never_counted(status):
    findings = [finding(1, D0), finding(2, D0 + timedelta(days=10), status=status)]
    assert evaluate(TWO_IN_YEAR, findings=findings, as_of=AS_OF) == []
    severe = [finding(3, D0, severity="severe", status=status)]
    assert fired(evaluate(POLICY, findings=severe, as_of=AS_OF)) == []


def test_other_staff_unidentified_staff_and_other_categories_are_not_counted():
    findings = [finding(1, D0), finding(2, D0 + timedelta(days=1), staff=2),
                finding(3, D0 + timedelta(days=2), staff=None)]
    assert evaluate(TWO_IN_YEAR, findings=findings, as_of=AS_OF) == []
    by_unit = one_rule("unit", {"confirmed_findings": {"count": 3, "window_days": 30}}, "head_talk")
    [p] = evaluate(by_unit, findings=findings, as_of=AS_OF)  # the unit is accountable for all three
    assert (p.subject_type, p.subject_id, len(p.fact_ids)) == ("unit", 10, 3)
    only_badges = one_rule("staff", {"confirmed_findings": {"count": 2, "window_days": 365,
                                                            "categories": ["badge_missing"]}})
    mixed = [finding(1, D0, category="badge_missing"), finding(2, D0 + timedelta(days=5))]
    assert evaluate(only_badges, findings=mixed, as_of=AS_OF) == []
    mixed.append(finding(3, D0 + timedelta(days=9), category="badge_missing"))
    assert facts_of(evaluate(only_badges, findings=mixed, as_of=AS_OF)) == [("finding:1", "finding:3")]


def test_facts_after_as_of_are_not_known_yet():
    findings = [finding(1, D0), finding(2, D0 + timedelta(days=30))]
    assert evaluate(TWO_IN_YEAR, findings=findings, as_of=D0 + timedelta(days=29)) == []
    assert len(evaluate(TWO_IN_YEAR, findings=findings, as_of=D0 + timedelta(days=30))) == 1


def test_the_window_rolls_a_later_pair_fires_again_on_its_own_facts():
    findings = [finding(1, date(2025, 1, 10)), finding(2, date(2025, 6, 1)), finding(3, date(2026, 3, 1))]
    assert facts_of(evaluate(TWO_IN_YEAR, findings=findings, as_of=AS_OF)) == [
        ("finding:1", "finding:2"), ("finding:2", "finding:3")]


# --- the staff ladder: 2 → warning, 3 → referral --------------------------------------------------------

def test_the_third_finding_proposes_a_referral_and_not_a_second_warning():
    a, b, c = finding(1, D0), finding(2, D0 + timedelta(days=40)), finding(3, D0 + timedelta(days=80))
    after_two = evaluate(POLICY, findings=[a, b], as_of=AS_OF)
    assert [(p.rule_id, p.action) for p in after_two] == [("staff_two_findings_warning", "efficiency_warning")]
    after_three = evaluate(POLICY, findings=[a, b, c], as_of=AS_OF)
    assert [(p.rule_id, p.fact_ids) for p in after_three] == [
        ("staff_two_findings_warning", ("finding:1", "finding:2")),  # still what was proposed at the 2nd
        ("staff_three_findings_referral", ("finding:1", "finding:2", "finding:3"))]


def test_without_supersedes_both_rungs_are_proposed():
    data = yaml.safe_load(POLICY.text)
    for rule in data["rules"]:
        rule.pop("supersedes", None)
    plain = from_data(data, "no supersedes")
    findings = [finding(1, D0), finding(2, D0 + timedelta(days=40)), finding(3, D0 + timedelta(days=80))]
    on_third = [p for p in evaluate(plain, findings=findings, as_of=AS_OF) if p.fired_on == findings[2].observed_on]
    assert sorted(p.action for p in on_third) == ["efficiency_warning", "referral"]


def test_supersedes_is_transitive():
    data = yaml.safe_load(POLICY.text)
    thrice = next(r for r in data["rules"] if r["id"] == "admonishment_thrice_warning")
    thrice["when"]["outcomes"]["window_days"] = 3650  # the middle rung no longer fires when this one does
    policy = from_data(data, "wide third rung")
    outcomes = [OutcomeFact(i, 1, "admonishment_talk", date(2020 + 2 * i, 1, 1)) for i in range(3)]
    last = [p.action for p in evaluate(policy, outcomes=outcomes, as_of=AS_OF) if p.fired_on == date(2024, 1, 1)]
    assert last == ["efficiency_warning"]


def test_a_severe_finding_proposes_a_referral_for_the_identified_staff():
    props = evaluate(POLICY, findings=[finding(1, D0, severity="severe", staff=7)], as_of=AS_OF,
                     staff_names={7: "周某"})
    assert [(p.rule_id, p.subject_type, p.subject_id, p.fact_ids) for p in props] == [
        ("severe_finding_referral", "staff", 7, ("finding:1",))]
    assert props[0].reason.startswith("周某 被确认严重问题（2026-03-10 擅自离岗、串岗 #1）")
    assert evaluate(POLICY, findings=[finding(2, D0, severity="serious")], as_of=AS_OF) == []
    assert evaluate(POLICY, findings=[finding(3, D0, severity="severe", staff=None)], as_of=AS_OF) == []


# --- units: quarters, overdue rectifications, bottom ranks ----------------------------------------------

QUARTER = POLICY  # unit_quarter_findings_head_talk: 3 in a quarter; staff rules need staff, so use staff=None


def unit_finding(id, on, unit=10):
    return finding(id, on, staff=None, unit=unit)


def test_a_quarter_ends_on_31_march_and_the_next_begins_on_1_april():
    q1 = [unit_finding(1, date(2026, 1, 1)), unit_finding(2, date(2026, 3, 30)), unit_finding(3, date(2026, 3, 31))]
    [p] = evaluate(QUARTER, findings=q1, as_of=AS_OF)
    assert (p.rule_id, p.action, p.subject_id) == ("unit_quarter_findings_head_talk", "head_talk", 10)
    assert "2026年第1季度被确认问题 3 次" in p.reason
    split = [*q1[:2], unit_finding(3, date(2026, 4, 1))]
    assert evaluate(QUARTER, findings=split, as_of=AS_OF) == []


def test_quarters_do_not_run_across_the_new_year():
    across = [unit_finding(1, date(2025, 12, 30)), unit_finding(2, date(2025, 12, 31)),
              unit_finding(3, date(2026, 1, 1))]
    assert evaluate(QUARTER, findings=across, as_of=AS_OF) == []
    q4 = [unit_finding(0, date(2025, 10, 1)), *across[:2]]
    assert facts_of(evaluate(QUARTER, findings=q4, as_of=AS_OF)) == [("finding:0", "finding:1", "finding:2")]


def test_a_quarter_proposes_once_on_the_day_the_count_is_reached():
    findings = [unit_finding(i, date(2026, 4, i)) for i in range(1, 6)]
    [p] = evaluate(QUARTER, findings=findings, as_of=AS_OF)
    assert (p.fired_on, p.fact_ids) == (date(2026, 4, 3), ("finding:1", "finding:2", "finding:3"))
    same_day = [unit_finding(1, date(2026, 4, 1)), *(unit_finding(i, date(2026, 4, 2)) for i in (2, 3, 4))]
    assert facts_of(evaluate(QUARTER, findings=same_day, as_of=AS_OF)) == [
        ("finding:1", "finding:2", "finding:3", "finding:4")]
    next_quarter = [*findings, *(unit_finding(i, date(2026, 7, i)) for i in (6, 7, 8))]
    assert [p.fired_on for p in evaluate(QUARTER, findings=next_quarter, as_of=AS_OF)] == [
        date(2026, 4, 3), date(2026, 7, 8)]


def test_an_overdue_rectification_escalates_from_the_day_after_it_was_due():
    due = date(2026, 5, 8)
    overdue = [OverdueFact(finding_id=5, unit_id=10, due_on=due)]
    assert evaluate(POLICY, overdue=overdue, as_of=due) == []
    [p] = evaluate(POLICY, overdue=overdue, as_of=due + timedelta(days=1), unit_names={10: "县市场监管局"})
    assert (p.action, p.subject_id, p.fact_ids, p.fired_on) == ("escalation", 10, ("overdue:5:2026-05-08",),
                                                                due + timedelta(days=1))
    assert p.reason.startswith("县市场监管局 问题 #5 的整改应于 2026-05-08 前完成，已逾期")
    again = [*overdue, OverdueFact(finding_id=5, unit_id=10, due_on=date(2026, 7, 1))]  # reopened, overdue again
    assert len(evaluate(POLICY, overdue=again, as_of=AS_OF)) == 2


def test_bottom_two_months_running_across_the_year_fires_and_a_gap_breaks_the_run():
    run = [BottomRankFact(10, 2025, 12), BottomRankFact(10, 2026, 1)]
    [p] = evaluate(POLICY, bottom_ranks=run, as_of=AS_OF)
    assert (p.rule_id, p.action, p.fired_on) == ("bottom_rank_two_months_head_talk", "head_talk", date(2026, 1, 1))
    assert p.fact_ids == ("bottom_rank:10:2025-12", "bottom_rank:10:2026-01")
    assert "连续 2 个月在督查通报中排名末位（2025年12月、2026年1月）" in p.reason
    gap = [BottomRankFact(10, 2025, 11), BottomRankFact(10, 2026, 1)]
    assert evaluate(POLICY, bottom_ranks=gap, as_of=AS_OF) == []
    other_unit = [BottomRankFact(10, 2025, 12), BottomRankFact(11, 2026, 1)]
    assert evaluate(POLICY, bottom_ranks=other_unit, as_of=AS_OF) == []
    three = [*run, BottomRankFact(10, 2026, 2)]
    assert facts_of(evaluate(POLICY, bottom_ranks=three, as_of=AS_OF)) == [
        ("bottom_rank:10:2025-12", "bottom_rank:10:2026-01"), ("bottom_rank:10:2026-01", "bottom_rank:10:2026-02")]
    with pytest.raises(ValueError):
        BottomRankFact(10, 2026, 13)


# --- the outcomes ladder: 1 诫勉 → 书面检查, 2 → 通报批评, 3 → 效能告诫 ------------------------------

def admonish(id, on, staff=1, kind="admonishment_talk"):
    return OutcomeFact(id=id, staff_id=staff, kind=kind, decided_on=on)


def test_the_outcomes_ladder_proposes_one_rung_per_admonishment():
    talks = [admonish(1, D0), admonish(2, D0 + timedelta(days=60)), admonish(3, D0 + timedelta(days=120))]
    props = evaluate(POLICY, outcomes=talks, as_of=AS_OF)
    assert [(p.fired_on, p.action, p.fact_ids) for p in props] == [
        (D0, "written_self_criticism", ("outcome:1",)),
        (D0 + timedelta(days=60), "circulated_criticism", ("outcome:1", "outcome:2")),
        (D0 + timedelta(days=120), "efficiency_warning", ("outcome:1", "outcome:2", "outcome:3"))]
    assert "12个月内受到诫勉谈话 2 次" in props[1].reason


def test_the_outcomes_ladder_counts_only_its_kind_within_the_window():
    others = [admonish(1, D0, kind="written_self_criticism"), admonish(2, D0, kind="efficiency_warning")]
    assert evaluate(POLICY, outcomes=others, as_of=AS_OF) == []
    far_apart = [admonish(1, D0), admonish(2, D0 + timedelta(days=366))]
    assert [p.action for p in evaluate(POLICY, outcomes=far_apart, as_of=AS_OF)] == [
        "written_self_criticism", "written_self_criticism"]  # the second 诫勉 starts the ladder again
    on_edge = [admonish(1, D0), admonish(2, D0 + timedelta(days=365))]
    assert [p.action for p in evaluate(POLICY, outcomes=on_edge, as_of=AS_OF)] == [
        "written_self_criticism", "circulated_criticism"]


# --- proposals: reasons, determinism, dedupe, policy versions -------------------------------------------

def test_a_proposal_names_the_subject_the_facts_and_the_rule():
    findings = [finding(12, date(2026, 1, 5), category="badge_missing", staff=3),
                finding(15, date(2026, 3, 1), staff=3)]
    [p] = evaluate(POLICY, findings=findings, as_of=AS_OF, staff_names={3: "周某"})
    assert p.reason == ("周某 12个月内被确认问题 2 次（2026-01-05 未佩戴工牌 / 未亮牌上岗 #12；2026-03-01 擅自离岗、串岗 #15），"
                        "达到 2 次。依规则“同一工作人员12个月内被确认问题2次予以效能告诫”（staff_two_findings_warning），"
                        "建议：效能告诫。")
    assert (p.policy_version, p.subject_type, p.subject_id) == (1, "staff", 3)
    assert p.dedupe_key == dedupe_key("staff_two_findings_warning", "staff", 3, ["finding:15", "finding:12"])
    [unnamed] = evaluate(POLICY, findings=findings, as_of=AS_OF)
    assert unnamed.reason.startswith("工作人员#3 12个月内") and unnamed.dedupe_key == p.dedupe_key


def test_running_again_or_after_unrelated_facts_proposes_nothing_new():
    base = [finding(1, D0), finding(2, D0 + timedelta(days=10))]
    first = evaluate(POLICY, findings=base, as_of=D0 + timedelta(days=10))
    assert evaluate(POLICY, findings=base, as_of=D0 + timedelta(days=10)) == first
    unrelated = [*base, finding(3, D0 + timedelta(days=400)),  # after the window
                 finding(4, D0 + timedelta(days=5), staff=2, unit=11),  # someone else
                 finding(5, D0 + timedelta(days=6), status="dismissed")]
    later = evaluate(POLICY, findings=unrelated, as_of=AS_OF)
    assert {p.dedupe_key for p in first} == {p.dedupe_key for p in later}


def test_dedupe_key_depends_only_on_rule_subject_and_the_set_of_facts():
    key = dedupe_key("r", "staff", 1, ["finding:2", "finding:1"])
    assert key == dedupe_key("r", "staff", 1, ("finding:1", "finding:2", "finding:1"))
    assert len({key, dedupe_key("r2", "staff", 1, ["finding:1", "finding:2"]),
                dedupe_key("r", "unit", 1, ["finding:1", "finding:2"]),
                dedupe_key("r", "staff", 2, ["finding:1", "finding:2"]),
                dedupe_key("r", "staff", 1, ["finding:1"])}) == 5


def test_a_policy_change_adds_new_firings_and_never_rewrites_past_proposals():
    v1 = one_rule("staff", {"confirmed_findings": {"count": 2, "window_days": 365}}, version=1, rule_id="warn")
    findings = [finding(1, D0), finding(2, D0 + timedelta(days=10))]
    stored = {p.dedupe_key: p for p in evaluate(v1, findings=findings, as_of=AS_OF)}  # the caller's table
    assert [p.policy_version for p in stored.values()] == [1]

    v2 = parse(yaml.safe_dump({"version": 2, "rules": [
        {"id": "warn", "name": "告诫", "subject": "staff", "when": {"confirmed_findings": {"count": 2, "window_days": 90}},
         "propose": "efficiency_warning"},
        {"id": "refer", "name": "移送", "subject": "staff",
         "when": {"confirmed_findings": {"count": 3, "window_days": 365}}, "propose": "referral"}]},
        allow_unicode=True), "v2")
    findings.append(finding(3, D0 + timedelta(days=20)))
    again = evaluate(v2, findings=findings, as_of=AS_OF)
    # the same rule on the same facts has the same key, whatever the version: the stored one stands
    assert {p.dedupe_key for p in again} >= set(stored)
    new = [p for p in again if p.dedupe_key not in stored]
    assert {(p.rule_id, p.fact_ids, p.policy_version) for p in new} == {
        ("warn", ("finding:1", "finding:2", "finding:3"), 2),
        ("refer", ("finding:1", "finding:2", "finding:3"), 2)}
    for p in new:
        stored.setdefault(p.dedupe_key, p)
    assert [p.policy_version for p in stored.values()].count(1) == 1


def test_since_keeps_later_firings_but_windows_still_look_back():
    findings = [finding(1, D0), finding(2, D0 + timedelta(days=10)), finding(3, D0 + timedelta(days=300))]
    props = evaluate(TWO_IN_YEAR, findings=findings, as_of=AS_OF, since=D0 + timedelta(days=100))
    assert facts_of(props) == [("finding:1", "finding:2", "finding:3")]


def test_conflicting_facts_with_one_id_are_refused_identical_ones_collapse():
    a = finding(1, D0)
    assert evaluate(POLICY, findings=[a, a, finding(2, D0)], as_of=AS_OF) == \
        evaluate(POLICY, findings=[a, finding(2, D0)], as_of=AS_OF)
    with pytest.raises(ValueError, match="finding:1"):
        evaluate(POLICY, findings=[a, finding(1, D0, severity="severe")], as_of=AS_OF)


# --- properties -----------------------------------------------------------------------------------------

START = date(2025, 10, 1)
STATUSES = ["confirmed", "confirmed", "confirmed", "dismissed", "withdrawn", "pending_review", "returned"]
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                             suppress_health_check=[HealthCheck.too_slow])


@st.composite
def worlds(draw):
    n = draw(st.integers(0, 14))
    findings = [FindingFact(
        id=i, staff_id=draw(st.sampled_from([1, 2, None])), unit_id=draw(st.sampled_from([10, 11])),
        severity=draw(st.sampled_from(["minor", "serious", "severe"])),
        category=draw(st.sampled_from(["off_post", "badge_missing"])), status=draw(st.sampled_from(STATUSES)),
        observed_on=START + timedelta(days=draw(st.integers(0, 500)))) for i in range(n)]
    outcomes = [OutcomeFact(id=i, staff_id=draw(st.sampled_from([1, 2])),
                            kind=draw(st.sampled_from(["admonishment_talk", "written_self_criticism"])),
                            decided_on=START + timedelta(days=draw(st.integers(0, 500))))
                for i in range(draw(st.integers(0, 6)))]
    overdue = [OverdueFact(finding_id=i, unit_id=draw(st.sampled_from([10, 11])),
                           due_on=START + timedelta(days=draw(st.integers(0, 500))))
               for i in range(draw(st.integers(0, 3)))]
    months = draw(st.sets(st.tuples(st.sampled_from([10, 11]), st.integers(0, 15)), max_size=8))
    bottom = [BottomRankFact(u, 2025 + (9 + m) // 12, (9 + m) % 12 + 1) for u, m in months]
    as_of = START + timedelta(days=draw(st.integers(0, 520)))
    return {"findings": findings, "outcomes": outcomes, "overdue": overdue, "bottom_ranks": bottom, "as_of": as_of}


def shuffled(world, seed):
    rng = random.Random(seed)
    out = dict(world)
    for key in ("findings", "outcomes", "overdue", "bottom_ranks"):
        out[key] = rng.sample(world[key], len(world[key]))
    return out


@PROPERTY_SETTINGS
@given(worlds(), st.integers(0, 2**32))
def test_evaluate_is_the_same_for_any_order_of_its_inputs(world, seed):
    assert evaluate(POLICY, **world) == evaluate(POLICY, **shuffled(world, seed))


@PROPERTY_SETTINGS
@given(worlds())
def test_no_proposal_rests_on_a_finding_that_is_not_confirmed(world):
    props = evaluate(POLICY, **world)
    confirmed = {f"finding:{f.id}" for f in world["findings"] if f.status == "confirmed"}
    used = {fid for p in props for fid in p.fact_ids if fid.startswith("finding:")}
    assert used <= confirmed
    only_confirmed = dict(world, findings=[f for f in world["findings"] if f.status == "confirmed"])
    assert evaluate(POLICY, **only_confirmed) == props
    assert len({p.dedupe_key for p in props}) == len(props)
    assert all(p.fact_ids == tuple(sorted(p.fact_ids)) for p in props)


@PROPERTY_SETTINGS
@given(worlds(), st.integers(0, 200))
def test_evaluating_later_never_loses_or_changes_a_proposal(world, days):
    now = evaluate(POLICY, **world)
    later = {p.dedupe_key: p for p in evaluate(POLICY, **dict(world, as_of=world["as_of"] + timedelta(days=days)))}
    for p in now:
        assert later[p.dedupe_key] == p


@PROPERTY_SETTINGS
@given(worlds())
def test_every_firing_of_a_count_rule_meets_its_rule(world):
    by_id = {f"finding:{f.id}": f for f in world["findings"]}
    for p in evaluate(POLICY, **world):
        trigger = POLICY.rule(p.rule_id).trigger
        if trigger.kind not in ("confirmed_findings", "findings_in_quarter"):
            continue
        facts = [by_id[i] for i in p.fact_ids]
        days = [f.observed_on for f in facts]
        assert len(facts) >= trigger.count
        assert max(days) == p.fired_on <= world["as_of"]
        if trigger.kind == "confirmed_findings":
            assert max(days) - min(days) <= timedelta(days=trigger.window_days)
            assert {f.staff_id for f in facts} == {p.subject_id}
        else:
            assert len({(d.year, (d.month - 1) // 3) for d in days}) == 1
            assert {f.unit_id for f in facts} == {p.subject_id}


# --- occasions: a rung that says "times" counts visits or complaints, not findings ---------------------------

def visit_finding(id, on, visit, **kw):
    return FindingFact(id=id, staff_id=kw.get("staff", 1), unit_id=kw.get("unit", 10), severity="minor",
                       category="off_post", status="confirmed", observed_on=on, occasion=f"visit:{visit}")


def test_one_visit_with_two_findings_is_one_occasion_for_the_shipped_staff_ladder():
    one_visit = [visit_finding(1, D0, "v1"), visit_finding(2, D0, "v1")]
    assert evaluate(POLICY, findings=one_visit, as_of=AS_OF) == []
    two_visits = [*one_visit, visit_finding(3, D0 + timedelta(days=30), "v2")]
    [p] = evaluate(POLICY, findings=two_visits, as_of=AS_OF)
    assert p.rule_id == "staff_two_findings_warning"
    assert p.fact_ids == ("finding:1", "finding:2", "finding:3")
    assert "被确认问题 2 次（3 条问题" in p.reason


def test_counting_findings_or_occasions_is_policy_data():
    by_finding = one_rule("staff", {"confirmed_findings": {"count": 2, "window_days": 365, "counts": "findings"}})
    one_visit = [visit_finding(1, D0, "v1"), visit_finding(2, D0, "v1")]
    assert len(evaluate(by_finding, findings=one_visit, as_of=AS_OF)) == 1
    by_occasion = one_rule("staff", {"confirmed_findings": {"count": 2, "window_days": 365, "counts": "occasions"}})
    assert evaluate(by_occasion, findings=one_visit, as_of=AS_OF) == []
    complaint = FindingFact(id=3, staff_id=1, unit_id=10, severity="minor", category="off_post",
                            status="confirmed", observed_on=D0, occasion="complaint:7")
    assert len(evaluate(by_occasion, findings=[*one_visit, complaint], as_of=AS_OF)) == 1


def test_a_quarter_counting_occasions_fires_on_the_day_the_third_visit_is_reached():
    rule = one_rule("unit", {"findings_in_quarter": {"count": 3, "counts": "occasions"}}, "head_talk")
    findings = [visit_finding(1, date(2026, 4, 1), "a", staff=None), visit_finding(2, date(2026, 4, 1), "a", staff=None),
                visit_finding(3, date(2026, 4, 2), "b", staff=None), visit_finding(4, date(2026, 4, 9), "c", staff=None)]
    [p] = evaluate(rule, findings=findings, as_of=AS_OF)
    assert p.fired_on == date(2026, 4, 9) and len(p.fact_ids) == 4


def test_an_unknown_counts_value_is_refused():
    from inspect_api.accountability.policy import EscalationPolicyError

    with pytest.raises(EscalationPolicyError, match="counts"):
        one_rule("staff", {"confirmed_findings": {"count": 2, "window_days": 365, "counts": "visits"}})
