"""Supervised matters' pure rules: each level's limit at its edges (half a day at noon and at the end of
the day, across a 调休 Saturday, into a year with no loaded calendar), extensions never past a statutory
limit, verdicts, reminders and on-time rates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from inspect_api.core.calendar import DayHalf, WorkingCalendar
from inspect_api.core.deadlines import LimitOutOfRange
from inspect_api.errors import Forbidden, InvalidTransition
from inspect_api.matters import rules

CN = dt.timezone(dt.timedelta(hours=8))
CAL = WorkingCalendar({})


def at(y, m, d, hh=10, mm=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=CN)


def deadline(level, when, days=None, **kw):
    return rules.matter_deadline(CAL, "leader_assigned", when, level=level, days=days, **kw)


# --- 急件: half a working day, at most one --------------------------------------------------------------

def test_urgent_assigned_in_the_morning_is_due_at_the_end_of_that_day():
    d = deadline("urgent", at(2026, 11, 23, 11, 59))
    assert (d.due_on, d.ends_at, d.days, d.provisional) == (dt.date(2026, 11, 23), DayHalf.PM, Decimal("0.5"), False)


def test_urgent_assigned_at_noon_is_due_at_noon_the_next_working_day():
    d = deadline("urgent", at(2026, 11, 23, 12, 0))
    assert (d.due_on, d.ends_at) == (dt.date(2026, 11, 24), DayHalf.AM)


def test_urgent_assigned_at_the_end_of_friday_is_due_monday_noon():
    d = deadline("urgent", at(2026, 11, 27, 17, 30))
    assert (d.due_on, d.ends_at) == (dt.date(2026, 11, 30), DayHalf.AM)


def test_urgent_noon_deadline_is_overdue_one_minute_after_noon_not_before():
    d = deadline("urgent", at(2026, 11, 23, 15, 0))
    assert not rules.overdue(d.due_on, d.ends_at, at(2026, 11, 24, 12, 0), at(2026, 11, 24, 12, 0))
    assert rules.overdue(d.due_on, d.ends_at, at(2026, 11, 24, 12, 1), at(2026, 11, 24, 12, 1))
    assert rules.overdue(d.due_on, d.ends_at, None, at(2026, 11, 24, 12, 1))


def test_urgent_at_most_one_working_day_and_nothing_in_between():
    assert deadline("urgent", at(2026, 11, 23), days=1).due_on == dt.date(2026, 11, 24)
    with pytest.raises(LimitOutOfRange) as exc:
        deadline("urgent", at(2026, 11, 23), days=2)
    assert "days" in exc.value.details["fields"]
    with pytest.raises(LimitOutOfRange):
        deadline("urgent", at(2026, 11, 23), days="0.7")


def test_urgent_the_evening_before_a_tiaoxiu_saturday_is_due_saturday_noon():
    # 2026-10-10 (Saturday) is a working day after the National Day holiday
    d = deadline("urgent", at(2026, 10, 9, 18, 0))
    assert (d.due_on, d.ends_at) == (dt.date(2026, 10, 10), DayHalf.AM)


# --- 要件 and 普件 ------------------------------------------------------------------------------------------

def test_important_counts_across_a_tiaoxiu_saturday():
    # Fri 9 Oct + 1 working day = Sat 10 Oct (调休), + 3 = Tue 13 Oct
    assert deadline("important", at(2026, 10, 9), days=1).due_on == dt.date(2026, 10, 10)
    assert deadline("important", at(2026, 10, 9)).due_on == dt.date(2026, 10, 13)


def test_important_range_is_one_to_three_unless_the_law_sets_a_limit():
    with pytest.raises(LimitOutOfRange):
        deadline("important", at(2026, 11, 23), days=4)
    d = deadline("important", at(2026, 11, 23), days=10, statutory_days=10)
    assert (d.days, d.due_on) == (Decimal(10), dt.date(2026, 12, 7))


def test_ordinary_default_is_five_working_days_skipping_the_weekend():
    d = deadline("ordinary", at(2026, 11, 23))
    assert (d.due_on, d.ends_at, d.days) == (dt.date(2026, 11, 30), DayHalf.PM, Decimal(5))
    with pytest.raises(LimitOutOfRange):
        deadline("ordinary", at(2026, 11, 23), days=2)


def test_ordinary_into_an_unloaded_year_is_provisional():
    d = deadline("ordinary", at(2026, 12, 28))
    assert d.due_on == dt.date(2027, 1, 4) and d.provisional and d.assumed_years == (2027,)
    inside = deadline("ordinary", at(2026, 12, 1))
    assert not inside.provisional


def test_urgent_on_new_years_eve_afternoon_is_provisional():
    d = deadline("urgent", at(2026, 12, 31, 15, 0))
    assert d.provisional and d.due_on.year == 2027 and d.ends_at is DayHalf.AM


def test_leader_assigned_needs_a_level_and_meetings_may_have_none():
    with pytest.raises(rules.MatterError):
        rules.matter_deadline(CAL, "leader_assigned", at(2026, 11, 23))
    none = rules.matter_deadline(CAL, "meeting_decision", at(2026, 11, 23))
    assert none.due_on is None and not rules.overdue(none.due_on, none.ends_at, None, at(2030, 1, 1))
    set_by_meeting = rules.matter_deadline(CAL, "meeting_decision", at(2026, 11, 23), due_on=dt.date(2026, 12, 15))
    assert set_by_meeting.due_on == dt.date(2026, 12, 15) and set_by_meeting.days is None
    key = rules.matter_deadline(CAL, "key_work", at(2026, 1, 5))
    assert key.due_on == dt.date(2026, 12, 31)
    with pytest.raises(rules.MatterError):
        rules.matter_deadline(CAL, "meeting_decision", at(2026, 11, 23), due_on=dt.date(2026, 11, 1))


# --- extensions -------------------------------------------------------------------------------------------

def test_extension_past_the_statutory_limit_is_refused():
    statutory = rules.statutory_deadline(CAL, at(2026, 11, 23), 10)  # 2026-12-07
    assert statutory.date == dt.date(2026, 12, 7)
    rules.check_extension(dt.date(2026, 11, 26), dt.date(2026, 12, 7), statutory, "需会同住建部门现场核查")
    with pytest.raises(rules.ExtensionBeyondStatutory) as exc:
        rules.check_extension(dt.date(2026, 11, 26), dt.date(2026, 12, 8), statutory, "需会同住建部门现场核查")
    assert exc.value.code == "extension_beyond_statutory"
    assert exc.value.details["statutory_due_on"] == "2026-12-07"


def test_extension_needs_a_reason_and_a_later_day():
    with pytest.raises(rules.MatterError):
        rules.check_extension(dt.date(2026, 11, 26), dt.date(2026, 11, 30), None, "  ")
    with pytest.raises(rules.MatterError):
        rules.check_extension(dt.date(2026, 11, 26), dt.date(2026, 11, 26), None, "理由")
    rules.check_extension(dt.date(2026, 11, 26), dt.date(2027, 3, 1), None, "理由")  # no law: no cap


def test_extension_is_decided_by_a_second_office_user():
    with pytest.raises(Forbidden):
        rules.check_four_eyes(7, 7)
    rules.check_four_eyes(8, 7)


# --- states, verdicts, reminders -------------------------------------------------------------------------

def test_verdicts_by_when_the_result_came():
    due = dt.date(2026, 11, 30)
    assert rules.verdict("finished", due, "pm", at(2026, 11, 30, 17), at(2026, 12, 2)) == "done"
    assert rules.verdict("finished", due, "pm", at(2026, 12, 1, 9), at(2026, 12, 2)) == "done_late"
    assert rules.verdict("finished", due, "pm", None, at(2026, 12, 2)) == "done_late"
    assert rules.verdict("unfinished", due, "pm", None, at(2026, 11, 25)) == "unfinished"
    assert rules.verdict("finished", None, "pm", None, at(2030, 1, 1)) == "done"


def test_a_closed_matter_takes_no_more_reports():
    assert rules.next_status("open", "result") == "result_reported"
    with pytest.raises(InvalidTransition) as exc:
        rules.next_status("closed", "progress")
    assert exc.value.details["allowed_from"] == ["open", "result_reported"]


def test_reminder_the_working_day_before_and_not_after_the_deadline():
    due = dt.date(2026, 11, 30)  # Monday
    assert not rules.needs_reminder(CAL, due, "pm", at(2026, 11, 26))  # Thursday: 2 working days away
    assert rules.needs_reminder(CAL, due, "pm", at(2026, 11, 27))  # Friday: the working day before
    assert rules.needs_reminder(CAL, due, "pm", at(2026, 11, 30, 17))
    assert not rules.needs_reminder(CAL, due, "pm", at(2026, 12, 1))
    assert not rules.needs_reminder(CAL, None, "pm", at(2026, 12, 1))


def test_periods_and_states():
    assert rules.period_of("quarter", 2026, 4) == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    assert rules.period_of("month", 2026, 2) == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert rules.state_label("closed", "done_late", True) == "逾期办结"
    assert rules.state_label("open", None, True) == "逾期未办结"


def test_on_time_rates_by_unit_and_level():
    rows = [rules.ClosedMatter(1, "urgent", "done"), rules.ClosedMatter(1, "urgent", "done_late"),
            rules.ClosedMatter(1, None, "unfinished"), rules.ClosedMatter(2, "ordinary", "done")]
    out = {(r["unit_id"], r["level"]): r for r in rules.on_time_rates(rows)}
    assert out[(1, "urgent")]["on_time_rate"] == 0.5
    assert out[(1, None)] == {"unit_id": 1, "level": None, "closed": 3, "on_time": 1, "late": 1, "unfinished": 1,
                              "on_time_rate": 0.3333}
    assert out[(1, "none")]["unfinished"] == 1 and out[(2, None)]["on_time_rate"] == 1.0
