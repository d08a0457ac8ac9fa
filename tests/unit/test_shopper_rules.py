"""Mystery-shopper scoring rules (模拟办事): the one-time notice against the official materials list,
the findings and their severities from the template's `scoring` section, the score, promises counted
in working days across the 2026 National Day and Spring Festival holidays, and the comparison."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from inspect_api.core.calendar import WorkingCalendar
from inspect_api.core.deadlines import check_promised_date
from inspect_api.shopper.rules import (
    ATTITUDES,
    RunRow,
    ScoringPolicy,
    ShopperFacts,
    assess_notice,
    compare,
    policy_from_template,
    score,
    shopper_findings,
)

D = dt.date.fromisoformat
CAL = WorkingCalendar()

SCORING = {
    "rules": "shopper_v1",
    "incomplete_notice": {
        "severity_by_untold_share": [
            {"above": 0.5, "severity": "severe"},
            {"above": 0.2, "severity": "serious"},
            {"above": 0, "severity": "minor"},
        ],
        "points": 5,
    },
    "poor_attitude": {"cold": "minor", "rude": "serious", "points": 4},
    "shirking": {"severity": "serious", "points": 6},
    "no_receipt": {"severity": "minor", "points": 3},
    "overdue": {"severity": "severe", "points": 2},
}
POLICY = policy_from_template(SCORING)

# Ten materials, so untold shares of exactly 0.2 and 0.5 can be built.
REQUIRED = tuple(f"m{i}" for i in range(1, 11))
NAMES = {code: f"材料{i}" for i, code in enumerate(REQUIRED, start=1)}
NAMES.update(m1="营业执照副本", m2="法定代表人身份证复印件", m3="租赁合同")


def notice_with(missing: int, told: int, **kw):
    """Ten required; the last `missing` not brought; the first `told` of those told."""
    brought = REQUIRED[: len(REQUIRED) - missing]
    absent = REQUIRED[len(REQUIRED) - missing:]
    return assess_notice(REQUIRED, brought, absent[:told], kw.get("told_other", ()))


def facts(notice=None, **kw) -> ShopperFacts:
    values = dict(notice=notice or notice_with(0, 0), unit_handles_matter=True, sent_elsewhere=False,
                  done_on_spot=True, receipt_given=None, promise=None, attitude="warm")
    values.update(kw)
    return ShopperFacts(**values)


def rules_of(findings) -> list[str]:
    return [f.rule for f in findings]


# --- policy_from_template ----------------------------------------------------------------------------

def test_a_good_scoring_section_becomes_a_policy():
    assert POLICY.untold_severity == ((0.5, "severe"), (0.2, "serious"), (0, "minor"))
    assert POLICY.attitude == {"cold": "minor", "rude": "serious"}
    assert (POLICY.shirking_severity, POLICY.no_receipt_severity, POLICY.overdue_severity) == (
        "serious", "minor", "severe")
    assert POLICY.points == {"incomplete_notice": 5, "shirking": 6, "no_receipt": 3,
                             "poor_attitude": 4, "overdue": 2}


def test_the_policy_does_not_share_the_templates_dicts():
    data = copy.deepcopy(SCORING)
    policy = policy_from_template(data)
    data["poor_attitude"]["ordinary"] = "minor"
    assert "ordinary" not in policy.attitude


def _set(path: str, value):
    data = copy.deepcopy(SCORING)
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


def _drop(path: str):
    data = copy.deepcopy(SCORING)
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[key]
    del node[last]
    return data


STEPS = "incomplete_notice.severity_by_untold_share"


@pytest.mark.parametrize("data, key", [
    (_set("rules", "shopper_v2"), "scoring.rules"),
    (_drop("rules"), "scoring.rules"),
    (_drop("shirking"), "scoring.shirking"),
    (_set("shirking", "serious"), "scoring.shirking"),
    (_set("shirking.severity", "grave"), "scoring.shirking.severity"),
    (_drop("no_receipt.points"), "scoring.no_receipt.points"),
    (_set("overdue.points", -1), "scoring.overdue.points"),
    (_set("overdue.points", 2.5), "scoring.overdue.points"),
    (_set("overdue.points", True), "scoring.overdue.points"),
    (_set("overdue.serverity", "minor"), "scoring.overdue.serverity"),
    (_set("poor_attitude.rude", "very"), "scoring.poor_attitude.rude"),
    (_set("poor_attitude.warm", "minor"), "scoring.poor_attitude.warm"),
    (_set("bonus", {"points": 1}), "scoring.bonus"),
    (_set(STEPS, []), f"scoring.{STEPS}"),
    (_drop(STEPS), f"scoring.{STEPS}"),
    (_set(f"{STEPS}.1", {"above": 0.6, "severity": "serious"}), f"scoring.{STEPS}[1].above"),
    (_set(f"{STEPS}.2", {"above": 0.1, "severity": "minor"}), f"scoring.{STEPS}[2].above"),
    (_set(f"{STEPS}.0", {"above": 1, "severity": "severe"}), f"scoring.{STEPS}[0].above"),
    (_set(f"{STEPS}.0", {"above": "half", "severity": "severe"}), f"scoring.{STEPS}[0].above"),
    (_set(f"{STEPS}.0", {"above": 0.5}), f"scoring.{STEPS}[0].severity"),
    (_set(f"{STEPS}.0", {"above": 0.5, "severity": "huge"}), f"scoring.{STEPS}[0].severity"),
    (_set(f"{STEPS}.0", {"above": 0.5, "severity": "severe", "points": 1}), f"scoring.{STEPS}[0].points"),
])
def test_a_bad_scoring_section_is_refused_naming_the_key(data, key):
    with pytest.raises(ValueError) as exc:
        policy_from_template(data)
    assert key in str(exc.value)


def test_every_problem_is_reported_at_once():
    data = _set("shirking.points", "five")
    data["overdue"]["severity"] = "late"
    with pytest.raises(ValueError) as exc:
        policy_from_template(data)
    assert "scoring.shirking.points" in str(exc.value) and "scoring.overdue.severity" in str(exc.value)


def test_scoring_must_be_a_mapping():
    with pytest.raises(ValueError, match="scoring"):
        policy_from_template([1, 2])


def test_a_policy_built_in_code_is_checked_too():
    with pytest.raises(ValueError, match="untold_severity"):
        ScoringPolicy(untold_severity=((0.5, "severe"),), attitude={})  # a share of 0.3 would have no severity
    with pytest.raises(ValueError, match="attitude.warm"):
        ScoringPolicy(untold_severity=((0, "minor"),), attitude={"warm": "minor"})


# --- assess_notice -----------------------------------------------------------------------------------

def test_nothing_missing_is_complete_and_raises_no_finding():
    notice = assess_notice(REQUIRED, REQUIRED, (), ())
    assert notice.missing == notice.untold == notice.told_missing == ()
    assert notice.completeness == 1.0
    assert shopper_findings(facts(notice), POLICY, NAMES) == []


def test_all_missing_and_none_told_is_zero_and_severe():
    notice = assess_notice(REQUIRED, (), (), ())
    assert notice.missing == notice.untold == REQUIRED
    assert notice.completeness == 0.0
    [finding] = shopper_findings(facts(notice), POLICY, NAMES)
    assert (finding.rule, finding.category, finding.severity, finding.points) == (
        "incomplete_notice", "incomplete_notice", "severe", 5)


def test_all_missing_all_told_is_complete():
    notice = assess_notice(REQUIRED, (), reversed(REQUIRED), ())
    assert notice.told_missing == REQUIRED  # in the official order, not the order told
    assert notice.untold == ()
    assert notice.completeness == 1.0
    assert shopper_findings(facts(notice), POLICY, NAMES) == []


def test_partly_told_lists_untold_material_names_in_official_order():
    notice = assess_notice(("m1", "m2", "m3", "m4"), ("m4",), ("m2",), ())
    assert notice.missing == ("m1", "m2", "m3")
    assert (notice.told_missing, notice.untold) == (("m2",), ("m1", "m3"))
    assert notice.completeness == pytest.approx(1 / 3)
    [finding] = shopper_findings(facts(notice), POLICY, NAMES)
    assert finding.description == "应补正材料 3 项，一次性告知 1 项，未告知：营业执照副本、租赁合同"
    assert finding.severity == "severe"  # 2/3 untold


def test_a_material_without_a_name_is_shown_by_its_code():
    notice = assess_notice(("m1", "x9"), (), ("m1",), ())
    [finding] = shopper_findings(facts(notice), POLICY, NAMES)
    assert finding.description.endswith("未告知：x9")


def test_invented_requirements_only_count_but_are_no_finding():
    notice = assess_notice(REQUIRED, REQUIRED, (), ["  户口本原件 ", "", "   ", "户口本原件", "村委会证明"])
    assert notice.invented == ("户口本原件", "村委会证明")
    assert notice.completeness == 1.0
    assert shopper_findings(facts(notice), POLICY, NAMES) == []
    result = score(notice, [])
    assert (result.invented_count, result.findings, result.score) == (2, 0, 100.0)


def test_asking_again_for_something_brought_is_told_needless():
    notice = assess_notice(("m1", "m2", "m3"), ("m1", "m3"), ("m3", "m2", "m1"), ())
    assert notice.told_needless == ("m1", "m3")
    assert notice.told_missing == ("m2",)
    assert notice.completeness == 1.0


@pytest.mark.parametrize("brought, told", [(("m1", "zz"), ()), ((), ("zz",))])
def test_codes_off_the_official_list_are_refused(brought, told):
    with pytest.raises(ValueError, match="zz"):
        assess_notice(("m1", "m2"), brought, told, ())


def test_a_bare_string_is_not_taken_as_a_list_of_codes():
    with pytest.raises(TypeError):
        assess_notice(("m1", "m2"), "m1", (), ())


# --- incomplete_notice severity by untold share -------------------------------------------------------

@pytest.mark.parametrize("missing, told, severity", [
    (10, 10, None),  # share 0
    (10, 9, "minor"),  # 0.1
    (10, 8, "minor"),  # exactly 0.2: not strictly above
    (5, 4, "minor"),  # 1/5 == 0.2 as well
    (10, 7, "serious"),  # 0.3
    (10, 5, "serious"),  # exactly 0.5: not strictly above
    (2, 1, "serious"),  # 1/2
    (10, 4, "severe"),  # 0.6
    (1, 0, "severe"),  # 1.0
])
def test_severity_of_the_first_threshold_strictly_below_the_untold_share(missing, told, severity):
    findings = shopper_findings(facts(notice_with(missing, told)), POLICY, NAMES)
    assert [f.severity for f in findings] == ([severity] if severity else [])


# --- the other rules ----------------------------------------------------------------------------------

@pytest.mark.parametrize("handles, sent, expected", [
    (True, True, ["shirking"]),
    (False, True, []),  # sent to the responsible unit: correct behaviour
    (True, False, []),
    (False, False, []),
])
def test_shirking_only_when_the_unit_handles_the_matter(handles, sent, expected):
    findings = shopper_findings(facts(unit_handles_matter=handles, sent_elsewhere=sent), POLICY, NAMES)
    assert rules_of(findings) == expected
    if expected:
        assert (findings[0].severity, findings[0].points) == ("serious", 6)


@pytest.mark.parametrize("on_spot, receipt, expected", [
    (False, False, ["no_receipt"]),
    (True, False, []),  # done on the spot: no receipt needed
    (False, True, []),
    (False, None, []),  # not recorded
])
def test_no_receipt_only_when_not_done_on_the_spot(on_spot, receipt, expected):
    findings = shopper_findings(facts(done_on_spot=on_spot, receipt_given=receipt), POLICY, NAMES)
    assert rules_of(findings) == expected
    if expected:
        assert (findings[0].severity, findings[0].points, findings[0].description) == (
            "minor", 3, "事项不能当场办结，未出具回执")


@pytest.mark.parametrize("attitude, severity", [
    ("warm", None), ("ordinary", None), ("cold", "minor"), ("rude", "serious"),
])
def test_attitude_findings_follow_the_policy(attitude, severity):
    findings = shopper_findings(facts(attitude=attitude), POLICY, NAMES)
    assert [f.severity for f in findings] == ([severity] if severity else [])
    if severity:
        assert findings[0].rule == "poor_attitude" and ATTITUDES[attitude] in findings[0].description


def test_a_policy_can_make_ordinary_attitude_a_finding():
    policy = policy_from_template(_set("poor_attitude.ordinary", "minor"))
    assert rules_of(shopper_findings(facts(attitude="ordinary"), policy, NAMES)) == ["poor_attitude"]


def test_an_unknown_attitude_is_refused():
    with pytest.raises(ValueError, match="attitude"):
        facts(attitude="grumpy")


# --- promises and overdue, in working days -------------------------------------------------------------

def test_a_promise_exactly_at_the_committed_limit_is_not_overdue():
    # Monday 2026-11-02 + 5 working days = Monday 2026-11-09.
    promise = check_promised_date(CAL, D("2026-11-02"), D("2026-11-09"), 5)
    assert not promise.exceeds
    assert shopper_findings(facts(promise=promise), POLICY, NAMES) == []


def test_a_promise_one_day_beyond_the_limit_is_overdue():
    promise = check_promised_date(CAL, D("2026-11-02"), D("2026-11-10"), 5)
    assert promise.exceeds
    [finding] = shopper_findings(facts(promise=promise), POLICY, NAMES)
    assert (finding.rule, finding.severity, finding.points) == ("overdue", "severe", 2)
    assert "2026年11月10日" in finding.description and "2026年11月9日" in finding.description


def test_across_national_day_a_late_looking_promise_is_within_the_limit():
    # Visit Wed 2026-09-30; 1-7 Oct are holidays; Sat 10 Oct is a working day (调休).
    # Five working days: 8, 9, 10, 12, 13 Oct. The 13th is 13 calendar days later, yet in time.
    within = check_promised_date(CAL, D("2026-09-30"), D("2026-10-13"), 5)
    assert within.allowed.date == D("2026-10-13") and not within.allowed.provisional
    assert (D("2026-10-13") - D("2026-09-30")).days == 13
    assert not within.exceeds
    assert shopper_findings(facts(promise=within), POLICY, NAMES) == []

    beyond = check_promised_date(CAL, D("2026-09-30"), D("2026-10-14"), 5)
    assert beyond.exceeds and beyond.promised_working_days == 6
    assert rules_of(shopper_findings(facts(promise=beyond), POLICY, NAMES)) == ["overdue"]


def test_across_spring_festival_a_working_saturday_counts():
    # Visit Fri 2026-02-13; Sat 14 Feb is a working day, 15-23 Feb are holidays.
    # Five working days: 14, 24, 25, 26, 27 Feb.
    within = check_promised_date(CAL, D("2026-02-13"), D("2026-02-27"), 5)
    assert not within.exceeds
    # Sat 28 Feb is a working day too, so it is the 6th: beyond.
    beyond = check_promised_date(CAL, D("2026-02-13"), D("2026-02-28"), 5)
    assert beyond.exceeds
    assert rules_of(shopper_findings(facts(promise=within), POLICY, NAMES)) == []
    assert rules_of(shopper_findings(facts(promise=beyond), POLICY, NAMES)) == ["overdue"]


# --- all together, and the score ------------------------------------------------------------------------

def test_every_rule_at_once_in_a_fixed_order_and_the_score():
    notice = notice_with(10, 0, told_other=["结婚证"])
    promise = check_promised_date(CAL, D("2026-11-02"), D("2026-11-20"), 5)
    findings = shopper_findings(
        facts(notice, sent_elsewhere=True, done_on_spot=False, receipt_given=False, promise=promise,
              attitude="rude"), POLICY, NAMES)
    assert rules_of(findings) == ["incomplete_notice", "shirking", "no_receipt", "poor_attitude", "overdue"]
    assert all(f.category == f.rule for f in findings)
    result = score(notice, findings)
    assert (result.completeness, result.invented_count, result.findings) == (0.0, 1, 5)
    assert result.points_deducted == 5 + 6 + 3 + 4 + 2
    assert result.score == 80.0


def test_the_score_is_floored_at_zero():
    policy = policy_from_template(_set("shirking.points", 150))
    findings = shopper_findings(facts(sent_elsewhere=True), policy, NAMES)
    result = score(facts().notice, findings)
    assert (result.points_deducted, result.score) == (150, 0.0)


def test_points_default_to_zero_for_a_policy_built_in_code():
    policy = ScoringPolicy(untold_severity=((0, "minor"),), attitude={"rude": "severe"})
    [finding] = shopper_findings(facts(attitude="rude"), policy, NAMES)
    assert (finding.severity, finding.points) == ("severe", 0)


# --- compare ---------------------------------------------------------------------------------------------

def row(unit, window, item, completeness, score_, categories=(), invented=0, wait=None):
    return RunRow(unit_id=unit, window_no=window, service_item_id=item, completeness=completeness,
                  invented_count=invented, categories=tuple(categories), wait_minutes=wait, score=score_)


ROWS = [
    row(1, "3", 10, 1.0, 100.0, wait=10),
    row(1, "3", 11, 0.5, 89.0, ["incomplete_notice", "shirking"], invented=2, wait=20),
    row(1, "10", 10, 0.0, 80.0, ["incomplete_notice", "poor_attitude"]),
    row(2, "1", 10, 1.0, 90.0, invented=1),
    row(2, None, 11, 1.0, 88.0, ["shirking"], wait=5),
    row(3, "2", 12, 1.0, 89.0, ["no_receipt"]),
    row(4, "1", 12, 0.0, 60.0, ["incomplete_notice", "shirking", "overdue"], wait=40),
]


def test_compare_by_unit_averages_and_counts():
    result = compare(ROWS, "unit")
    # Units 2 and 3 both average 89: they share rank 2, and unit 4 is 4th.
    assert [(r["unit_id"], r["rank"]) for r in result] == [(1, 1), (2, 2), (3, 2), (4, 4)]
    first = result[0]
    assert first["key"] == 1 and first["runs"] == 3
    assert first["avg_score"] == pytest.approx(89.666, abs=1e-3)
    assert first["avg_completeness"] == 0.5
    assert first["complete_notice_rate"] == pytest.approx(1 / 3)
    assert first["invented_total"] == 2
    assert first["findings_by_category"] == {"incomplete_notice": 2, "poor_attitude": 1, "shirking": 1}
    assert first["shirking_runs"] == 1
    assert first["avg_wait_minutes"] == 15.0  # the run without a recorded wait is left out
    assert result[2]["avg_wait_minutes"] is None  # unit 3 recorded none
    assert result[3]["findings_by_category"] == {"incomplete_notice": 1, "overdue": 1, "shirking": 1}


def test_compare_ties_share_a_rank_and_the_next_rank_skips():
    rows = [row(1, None, 1, 1.0, 90.0), row(2, None, 1, 1.0, 95.0), row(3, None, 1, 1.0, 90.0),
            row(4, None, 1, 1.0, 80.0), row(5, None, 1, 1.0, 85.0), row(5, None, 1, 1.0, 95.0)]
    result = compare(rows, "unit")
    assert [(r["unit_id"], r["rank"]) for r in result] == [(2, 1), (1, 2), (3, 2), (5, 2), (4, 5)]


def test_compare_by_window_groups_by_unit_and_window():
    result = compare(ROWS, "window")
    keys = [r["key"] for r in result]
    assert len(keys) == len(set(keys)) == 7 - 1  # unit 1 window 3 has two runs
    by_key = {r["key"]: r for r in result}
    assert by_key[(1, "3")]["runs"] == 2 and by_key[(1, "3")]["avg_score"] == 94.5
    assert by_key[(2, None)]["window_no"] is None and by_key[(2, None)]["unit_id"] == 2
    assert [(r["key"], r["rank"]) for r in result] == [
        ((1, "3"), 1), ((2, "1"), 2), ((3, "2"), 3), ((2, None), 4), ((1, "10"), 5), ((4, "1"), 6)]


def test_compare_by_window_orders_equal_scores_by_unit_then_natural_window_number():
    rows = [row(1, "10", 1, 1.0, 90.0), row(1, None, 1, 1.0, 90.0), row(1, "2", 1, 1.0, 90.0),
            row(0, "9", 1, 1.0, 90.0)]
    result = compare(rows, "window")
    assert [r["key"] for r in result] == [(0, "9"), (1, "2"), (1, "10"), (1, None)]
    assert {r["rank"] for r in result} == {1}


def test_compare_by_service_item():
    result = compare(ROWS, "service_item")
    assert [(r["service_item_id"], r["runs"], r["rank"]) for r in result] == [
        (10, 3, 1), (11, 2, 2), (12, 2, 3)]
    assert result[0]["avg_score"] == 90.0 and result[1]["avg_score"] == 88.5
    assert result[1]["shirking_runs"] == 2
    assert result[2]["complete_notice_rate"] == 0.5


def test_compare_refuses_an_unknown_grouping_and_accepts_no_rows():
    with pytest.raises(ValueError, match="by"):
        compare(ROWS, "staff")
    assert compare([], "unit") == []
