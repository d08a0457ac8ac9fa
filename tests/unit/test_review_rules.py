"""Pure rules of the unit's side: appeals and rectification reports."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from inspect_api.errors import InvalidTransition, Unprocessable
from inspect_api.review import rules

CONFIRMED = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
DUE = date(2026, 11, 30)


def test_appeal_on_the_last_day_of_the_window_is_allowed_the_day_after_not():
    rules.check_appeal("confirmed", DUE, DUE, CONFIRMED, [])
    with pytest.raises(InvalidTransition) as exc:
        rules.check_appeal("confirmed", date(2026, 12, 1), DUE, CONFIRMED, [])
    assert exc.value.code == "appeal_window_closed"


@pytest.mark.parametrize("status", ["pending_review", "dismissed", "withdrawn", "returned", "draft"])
def test_only_confirmed_findings_are_appealed(status):
    with pytest.raises(InvalidTransition) as exc:
        rules.check_appeal(status, DUE, DUE, CONFIRMED, [])
    assert exc.value.code == "not_appealable"


def test_one_appeal_per_confirmation():
    earlier = datetime(2026, 11, 20, tzinfo=UTC)  # against an earlier confirmation
    rules.check_appeal("confirmed", DUE, DUE, CONFIRMED, [("rejected", earlier)])
    with pytest.raises(InvalidTransition) as exc:
        rules.check_appeal("confirmed", DUE, DUE, CONFIRMED, [("rejected", CONFIRMED)])
    assert exc.value.code == "already_appealed"
    with pytest.raises(InvalidTransition) as exc:
        rules.check_appeal("confirmed", DUE, DUE, CONFIRMED, [("pending", earlier)])
    assert exc.value.code == "appeal_pending"


def test_no_window_means_no_appeal():
    with pytest.raises(InvalidTransition):
        rules.check_appeal("confirmed", DUE, None, CONFIRMED, [])


@pytest.mark.parametrize(("action", "expected"), [("uphold", "upheld"), ("reject", "rejected")])
def test_appeal_decisions(action, expected):
    assert rules.decide_appeal("pending", action, "理由") == expected
    with pytest.raises(Unprocessable):
        rules.decide_appeal("pending", action, "  ")
    for done in ("upheld", "rejected"):
        with pytest.raises(InvalidTransition):
            rules.decide_appeal(done, action, "理由")


def test_unknown_decisions_are_422():
    with pytest.raises(Unprocessable):
        rules.decide_appeal("pending", "withdraw", "x")
    with pytest.raises(Unprocessable):
        rules.decide_report("submitted", "reject", "x")


@pytest.mark.parametrize(("rect", "ok"), [("open", True), ("overdue", True), ("reported", False),
                                          ("accepted", False), ("cancelled", False), (None, False)])
def test_reports_only_while_the_rectification_is_due(rect, ok):
    if ok:
        rules.check_report("confirmed", rect)
    else:
        with pytest.raises(InvalidTransition):
            rules.check_report("confirmed", rect)
    with pytest.raises(InvalidTransition):
        rules.check_report("withdrawn", rect)


def test_report_decisions_and_the_state_after_a_return():
    assert rules.decide_report("submitted", "accept", None) == "accepted"
    with pytest.raises(Unprocessable):
        rules.decide_report("submitted", "return", None)
    assert rules.decide_report("submitted", "return", "缺签到表") == "returned"
    with pytest.raises(InvalidTransition):
        rules.decide_report("accepted", "return", "x")
    assert rules.rectification_after_return(DUE, DUE) == "open"
    assert rules.rectification_after_return(DUE, date(2026, 12, 1)) == "overdue"


def test_withdrawn_findings_can_be_reopened():
    assert rules.next_status("withdrawn", rules.Decision("reopen", reason="新证据")) == "pending_review"
    with pytest.raises(InvalidTransition):
        rules.next_status("withdrawn", rules.Decision("confirm"))


def test_edit_diff_names_what_changed_only():
    from inspect_api.visits.rules import edit_diff

    base = {"fields": {"notes": None, "window_no": "3"}, "team": [1, 2],
            "responses": {"A1": {"answer": "no", "note": None}},
            "findings": {"f1": {"category": "badge_missing", "severity": "minor"}}}
    assert edit_diff(base, base) == {}
    after = {"fields": {"notes": "补充", "window_no": "3"}, "team": [2, 1, 3],
             "responses": {"A1": {"answer": "yes", "note": None}, "A2": {"answer": "yes", "note": None}},
             "findings": {"f2": {"category": "poor_attitude", "severity": "serious"}}}
    diff = edit_diff(base, after)
    assert diff["fields"] == {"notes": [None, "补充"]}
    assert diff["team"] == [[1, 2], [1, 2, 3]]
    assert diff["responses"] == {"A1": [{"answer": "no", "note": None}, {"answer": "yes", "note": None}],
                                 "A2": [None, {"answer": "yes", "note": None}]}
    assert set(diff["findings"]) == {"added", "removed"}
