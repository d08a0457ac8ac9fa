"""Time-limit rules: the clock start and the one-time notice window (004 (三)5), excluded procedures
(004 (三)5), extensions (004 (三)6), assigned-matter limits (003 第五篇 三(三)(四)), overdue checks
and mystery-shopper promises, on the official 2026 calendar."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspect_api.core.calendar import DayHalf, Deadline, WorkingCalendar
from inspect_api.core.deadlines import (
    LEVEL_LIMITS,
    NOTICE_WINDOW_WORKING_DAYS,
    ClockStartRule,
    ExcludedPeriod,
    ExcludedProcedure,
    Extension,
    ExtensionProblem,
    ExtensionRefused,
    LimitOutOfRange,
    MaterialsReceipt,
    MatterLevel,
    TimeLimitError,
    allowed_days,
    assigned_matter_deadline,
    check_promised_date,
    clock_start,
    day_half,
    evaluate_extension,
    is_overdue,
    processing_deadline,
)
from inspect_api.errors import DomainError

D = dt.date.fromisoformat
CAL = WorkingCalendar()
CST = dt.timezone(dt.timedelta(hours=8))


def at(text: str) -> dt.datetime:
    """A China-time moment, as the services will pass it (aware)."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=CST)


# --- the clock start and the one-time notice -------------------------------------------------------

def test_complete_materials_start_the_clock_on_receipt():
    start = clock_start(CAL, MaterialsReceipt(D("2026-03-02"), complete=True))
    assert (start.starts_on, start.rule, start.notice_in_time) == (D("2026-03-02"), ClockStartRule.COMPLETE, None)


@pytest.mark.parametrize("received, notice, supplemented, starts_on, rule", [
    # Received Monday 2 March 2026: the 5th working day after it is Monday 9 March.
    ("2026-03-02", "2026-03-02", "2026-03-12", "2026-03-12", ClockStartRule.FROM_SUPPLEMENT),  # on the spot
    ("2026-03-02", "2026-03-09", "2026-03-12", "2026-03-12", ClockStartRule.FROM_SUPPLEMENT),  # day 5
    ("2026-03-02", "2026-03-10", "2026-03-12", "2026-03-02", ClockStartRule.NOTICE_LATE),  # day 6
    ("2026-03-02", None, "2026-03-12", "2026-03-02", ClockStartRule.NOTICE_MISSING),
    ("2026-03-02", "2026-03-04", None, None, ClockStartRule.AWAITING_SUPPLEMENT),
    # Received 30 September 2026: the 5 days are working days, so the window runs over National Day
    # (8, 9, Sat 10, 12, 13 October) instead of ending on 5 October.
    ("2026-09-30", "2026-10-13", "2026-10-20", "2026-10-20", ClockStartRule.FROM_SUPPLEMENT),
    ("2026-09-30", "2026-10-14", "2026-10-20", "2026-09-30", ClockStartRule.NOTICE_LATE),
])
def test_the_one_time_notice_window_is_five_working_days(received, notice, supplemented, starts_on, rule):
    receipt = MaterialsReceipt(D(received), complete=False, notice_on=notice and D(notice),
                               supplemented_on=supplemented and D(supplemented))
    start = clock_start(CAL, receipt)
    assert start.starts_on == (starts_on and D(starts_on))
    assert start.rule is rule
    assert start.notice_in_time is (rule in (ClockStartRule.FROM_SUPPLEMENT, ClockStartRule.AWAITING_SUPPLEMENT))
    assert start.notice_due.date == CAL.add_working_days(D(received), NOTICE_WINDOW_WORKING_DAYS).date


def test_a_late_notice_leaves_less_time_than_a_timely_one():
    limit = 5
    timely = clock_start(CAL, MaterialsReceipt(D("2026-03-02"), False, D("2026-03-09"), D("2026-03-12")))
    late = clock_start(CAL, MaterialsReceipt(D("2026-03-02"), False, D("2026-03-10"), D("2026-03-12")))
    assert processing_deadline(CAL, timely.starts_on, limit).deadline.date == D("2026-03-19")
    assert processing_deadline(CAL, late.starts_on, limit).deadline.date == D("2026-03-09")


@pytest.mark.parametrize("kwargs", [
    {"complete": True, "supplemented_on": D("2026-03-05")},
    {"complete": False, "notice_on": D("2026-03-01")},
    {"complete": False, "notice_on": D("2026-03-02"), "supplemented_on": D("2026-02-27")},
])
def test_contradictory_receipts_are_refused(kwargs):
    with pytest.raises(TimeLimitError):
        MaterialsReceipt(D("2026-03-02"), **kwargs)


def test_a_supplement_before_the_notice_is_refused():
    with pytest.raises(TimeLimitError, match="早于一次性告知日期"):
        clock_start(CAL, MaterialsReceipt(D("2026-03-02"), False, D("2026-03-05"), D("2026-03-03")))


# --- excluded procedures ---------------------------------------------------------------------------

def review(first: str, last: str, told: bool, kind=ExcludedProcedure.EXPERT_REVIEW) -> ExcludedPeriod:
    return ExcludedPeriod(kind, D(first), D(last), told)


def test_without_procedures_five_days_from_monday_end_next_monday():
    result = processing_deadline(CAL, D("2026-03-02"), 5)
    assert (result.deadline.date, result.excluded_days, result.disregarded) == (D("2026-03-09"), 0, ())


def test_a_told_procedure_is_not_counted():
    result = processing_deadline(CAL, D("2026-03-02"), 5, [review("2026-03-04", "2026-03-05", told=True)])
    assert result.deadline.date == D("2026-03-11")
    assert result.excluded_days == 2 and result.disregarded == ()


def test_an_untold_procedure_is_counted_as_usual():
    untold = review("2026-03-04", "2026-03-05", told=False)
    result = processing_deadline(CAL, D("2026-03-02"), 5, [untold])
    assert result.deadline.date == D("2026-03-09")
    assert result.excluded_days == 0 and result.disregarded == (untold,)


def test_overlapping_procedures_count_each_day_once_and_ignore_days_before_the_start():
    result = processing_deadline(CAL, D("2026-03-02"), 5, [
        review("2026-02-25", "2026-03-03", True, ExcludedProcedure.HEARING),  # only 3 March is after the start
        review("2026-03-03", "2026-03-08", True, ExcludedProcedure.TESTING),  # 3-6 March (7, 8 are a weekend)
    ])
    assert result.excluded_days == 4  # 3, 4, 5, 6 March
    assert result.deadline.date == D("2026-03-13")


def test_a_procedure_over_a_holiday_excludes_only_working_days():
    # 2026-02-13 + 3 working days: 14 (worked Sat), 24, 25. A site survey 14-24 Feb hides two of them.
    result = processing_deadline(CAL, D("2026-02-13"), 3, [review("2026-02-14", "2026-02-24", True,
                                                                  ExcludedProcedure.SURVEY)])
    assert result.excluded_days == 2 and result.deadline.date == D("2026-02-27")


def test_a_period_that_ends_before_it_starts_is_refused():
    with pytest.raises(TimeLimitError):
        review("2026-03-05", "2026-03-04", True)


@pytest.mark.parametrize("limit", [-1, 2.5, True])
def test_a_limit_that_is_not_a_whole_number_of_days_is_refused(limit):
    with pytest.raises(TimeLimitError):
        processing_deadline(CAL, D("2026-03-02"), limit)


@settings(max_examples=80, deadline=None)
@given(st.dates(D("2025-06-01"), D("2026-11-30")), st.integers(1, 30), st.integers(0, 40), st.integers(0, 15),
       st.booleans())
def test_excluded_days_push_the_deadline_by_exactly_their_count(start, limit, offset, length, told):
    first = start + dt.timedelta(days=offset)
    period = ExcludedPeriod(ExcludedProcedure.INSPECTION, first, first + dt.timedelta(days=length), told)
    plain = processing_deadline(CAL, start, limit)
    result = processing_deadline(CAL, start, limit, [period])
    assert CAL.working_days_between(start, result.deadline.date) == limit + result.excluded_days
    assert result.deadline.date >= plain.deadline.date
    if not told:
        assert result.deadline == plain.deadline and result.excluded_days == 0


# --- extensions --------------------------------------------------------------------------------------

ORIGINAL = Deadline(D("2026-03-09"))
STATUTORY = Deadline(D("2026-03-20"))


def ext(new="2026-03-16", signed=True, notified="2026-03-06", reason="需补充现场核查") -> Extension:
    return Extension(D(new), signed, notified and D(notified), reason)


def test_a_signed_timely_explained_extension_within_the_statutory_limit_holds():
    outcome = evaluate_extension(ORIGINAL, ext(), STATUTORY)
    assert outcome.valid and outcome.effective == Deadline(D("2026-03-16"))
    assert outcome.raise_if_invalid() == Deadline(D("2026-03-16"))


def test_notice_on_the_deadline_day_is_still_in_time():
    assert evaluate_extension(ORIGINAL, ext(notified="2026-03-09"), STATUTORY).valid


@pytest.mark.parametrize("extension, problem", [
    (ext(notified="2026-03-10"), ExtensionProblem.NOTIFIED_LATE),  # the day after the deadline
    (ext(notified=None), ExtensionProblem.NOT_NOTIFIED),
    (ext(signed=False), ExtensionProblem.NOT_SIGNED),
    (ext(reason="  "), ExtensionProblem.NO_REASON),
])
def test_an_extension_missing_a_requirement_is_refused_and_the_original_deadline_stands(extension, problem):
    outcome = evaluate_extension(ORIGINAL, extension, STATUTORY)
    assert not outcome.valid and outcome.problems == (problem,)
    assert outcome.effective == ORIGINAL
    with pytest.raises(ExtensionRefused) as err:
        outcome.raise_if_invalid()
    assert err.value.problems == (problem,) and problem.label in err.value.message
    assert err.value.details["effective_deadline"] == "2026-03-09"


def test_an_extension_past_the_statutory_limit_is_refused_and_capped_at_it():
    outcome = evaluate_extension(ORIGINAL, ext(new="2026-03-23"), STATUTORY)
    assert outcome.problems == (ExtensionProblem.BEYOND_STATUTORY,)
    assert outcome.effective == STATUTORY
    with pytest.raises(ExtensionRefused, match="超过法律、法规规定的时限"):
        outcome.raise_if_invalid()


def test_the_statutory_day_itself_is_allowed():
    assert evaluate_extension(ORIGINAL, ext(new="2026-03-20"), STATUTORY).valid


def test_a_late_extension_past_the_statutory_limit_keeps_the_original_deadline():
    outcome = evaluate_extension(ORIGINAL, ext(new="2026-03-23", notified="2026-03-10"), STATUTORY)
    assert set(outcome.problems) == {ExtensionProblem.NOTIFIED_LATE, ExtensionProblem.BEYOND_STATUTORY}
    assert outcome.effective == ORIGINAL


def test_without_a_statutory_limit_there_is_no_cap():
    assert evaluate_extension(ORIGINAL, ext(new="2026-06-30")).effective == Deadline(D("2026-06-30"))


def test_an_accepted_extension_is_as_provisional_as_the_statutory_check():
    statutory = Deadline(D("2027-01-15"), (2027,))
    outcome = evaluate_extension(Deadline(D("2026-12-30")), ext(new="2027-01-08", notified="2026-12-29"), statutory)
    assert outcome.valid and outcome.effective.provisional


@pytest.mark.parametrize("new, statutory", [("2026-03-09", STATUTORY), ("2026-03-02", STATUTORY),
                                            ("2026-03-16", Deadline(D("2026-03-06")))])
def test_an_extension_not_later_than_the_original_or_an_original_past_the_law_is_invalid_input(new, statutory):
    with pytest.raises(TimeLimitError):
        evaluate_extension(ORIGINAL, ext(new=new), statutory)


# --- assigned matters ---------------------------------------------------------------------------------

@pytest.mark.parametrize("level, lowest, highest, below, above, default", [
    (MatterLevel.URGENT, "0.5", "1", "0", "1.5", "0.5"),
    (MatterLevel.IMPORTANT, "1", "3", "0", "4", "3"),
    (MatterLevel.ORDINARY, "3", "5", "2", "6", "5"),
    (MatterLevel.CITIZEN_ROUTINE, "1", "5", "0", "6", "5"),
    (MatterLevel.CITIZEN_HEAVY, "5", "10", "4", "11", "10"),
    (MatterLevel.CITIZEN_MULTI_DEPARTMENT, "1", "30", "0", "31", "30"),
])
def test_each_level_accepts_its_bounds_and_refuses_beyond_them(level, lowest, highest, below, above, default):
    assert allowed_days(level, Decimal(lowest)) == Decimal(lowest)
    assert allowed_days(level, Decimal(highest)) == Decimal(highest)
    assert allowed_days(level) == Decimal(default)
    for wrong in (below, above):
        with pytest.raises(LimitOutOfRange) as err:
            allowed_days(level, Decimal(wrong))
        assert level.label in err.value.message and err.value.status == 422
        assert "requested_days" in err.value.details["fields"]


def test_every_level_has_a_rule_and_a_seed():
    assert set(LEVEL_LIMITS) == set(MatterLevel)
    assert all(rule.seed.startswith("003") for rule in LEVEL_LIMITS.values())


@pytest.mark.parametrize("level, requested", [
    (MatterLevel.ORDINARY, "3.5"), (MatterLevel.IMPORTANT, 0.5), (MatterLevel.URGENT, 0.75),
    (MatterLevel.IMPORTANT, "two"), (MatterLevel.IMPORTANT, "NaN"), (MatterLevel.IMPORTANT, -1),
])
def test_half_days_are_for_urgent_matters_only_and_numbers_must_be_numbers(level, requested):
    with pytest.raises(LimitOutOfRange):
        allowed_days(level, requested)


def test_numbers_arrive_as_int_float_or_text():
    assert allowed_days("important", 2) == allowed_days("important", "2.0") == Decimal(2)
    assert allowed_days("urgent", 0.5) == allowed_days("urgent", "0.5") == Decimal("0.5")


def test_a_statutory_limit_replaces_the_range_where_the_seed_says_so():
    assert allowed_days(MatterLevel.ORDINARY, statutory_days=20) == 20  # "3-5个工作日或法律规定时限内"
    assert allowed_days(MatterLevel.ORDINARY, 1, statutory_days=20) == 1
    with pytest.raises(LimitOutOfRange):
        allowed_days(MatterLevel.ORDINARY, 21, statutory_days=20)
    assert allowed_days(MatterLevel.CITIZEN_ROUTINE, statutory_days=15) == 15  # "除法律有明确时限要求的"


def test_a_statutory_limit_only_caps_the_other_levels():
    assert allowed_days(MatterLevel.CITIZEN_HEAVY, statutory_days=20) == 10
    assert allowed_days(MatterLevel.CITIZEN_HEAVY, statutory_days=7) == 7
    with pytest.raises(LimitOutOfRange):
        allowed_days(MatterLevel.CITIZEN_HEAVY, 8, statutory_days=7)
    assert allowed_days(MatterLevel.CITIZEN_HEAVY, statutory_days=3) == 3
    assert allowed_days(MatterLevel.URGENT, statutory_days=1) == Decimal("0.5")


@pytest.mark.parametrize("statutory", [0, -3, 2.5, True])
def test_a_statutory_limit_must_be_a_positive_whole_number(statutory):
    with pytest.raises(TimeLimitError):
        allowed_days(MatterLevel.IMPORTANT, statutory_days=statutory)


@pytest.mark.parametrize("level, assigned_at, requested, due, ends_at", [
    (MatterLevel.URGENT, at("2026-02-13T09:00"), None, "2026-02-13", DayHalf.PM),  # morning: same day
    (MatterLevel.URGENT, at("2026-02-13T13:00"), None, "2026-02-14", DayHalf.AM),  # afternoon: worked Sat noon
    (MatterLevel.URGENT, dt.datetime(2026, 2, 13, 5, tzinfo=dt.UTC), None, "2026-02-14", DayHalf.AM),  # 13:00 CST
    (MatterLevel.URGENT, dt.datetime(2026, 2, 13, 3, tzinfo=dt.UTC), None, "2026-02-13", DayHalf.PM),  # 11:00 CST
    (MatterLevel.URGENT, D("2026-02-13"), None, "2026-02-13", DayHalf.PM),  # a date alone: the morning
    (MatterLevel.URGENT, at("2026-02-13T13:00"), 1, "2026-02-14", DayHalf.PM),  # "最迟不得超过1个工作日"
    (MatterLevel.URGENT, at("2026-02-16T10:00"), None, "2026-02-24", DayHalf.AM),  # assigned in the holiday
    (MatterLevel.IMPORTANT, at("2026-02-12T10:00"), None, "2026-02-24", DayHalf.PM),
    (MatterLevel.ORDINARY, D("2026-09-30"), 5, "2026-10-13", DayHalf.PM),
    # Sun 20 Sep is worked (day 1), 21-24 are days 2-5, Mid-autumn 25-27 is skipped: day 6 is 28 Sep.
    (MatterLevel.CITIZEN_HEAVY, D("2026-09-18"), 6, "2026-09-28", DayHalf.PM),
])
def test_assigned_matter_deadlines_on_the_2026_calendar(level, assigned_at, requested, due, ends_at):
    result = assigned_matter_deadline(CAL, level, assigned_at, requested)
    assert (result.deadline.date, result.deadline.ends_at) == (D(due), ends_at)
    assert result.level is level and not result.deadline.provisional


def test_a_december_multi_department_matter_runs_into_an_assumed_2027():
    result = assigned_matter_deadline(CAL, MatterLevel.CITIZEN_MULTI_DEPARTMENT, D("2026-12-01"))
    assert result.days == 30 and result.deadline.date.year == 2027
    assert result.deadline.provisional and result.deadline.assumed_years == (2027,)


def test_day_half_reads_china_time():
    assert day_half(at("2026-03-02T11:59")) is DayHalf.AM
    assert day_half(at("2026-03-02T12:00")) is DayHalf.PM
    assert day_half(dt.datetime(2026, 3, 2, 3, 30, tzinfo=dt.UTC)) is DayHalf.AM  # 11:30 CST
    assert day_half(dt.datetime(2026, 3, 2, 4, 30, tzinfo=dt.UTC)) is DayHalf.PM  # 12:30 CST
    assert day_half(D("2026-03-02")) is DayHalf.AM


# --- overdue ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("done_at, now, overdue", [
    (D("2026-03-09"), D("2026-03-20"), False),  # done on the last day
    (D("2026-03-10"), D("2026-03-20"), True),
    (None, D("2026-03-09"), False),  # still open on the last day
    (None, D("2026-03-10"), True),
    (at("2026-03-09T23:59"), at("2026-03-20T09:00"), False),
    (dt.datetime(2026, 3, 9, 16, 30, tzinfo=dt.UTC), D("2026-03-20"), True),  # 00:30 on 10 March in China
    (dt.datetime(2026, 3, 9, 15, 30, tzinfo=dt.UTC), D("2026-03-20"), False),  # 23:30 on 9 March in China
])
def test_is_overdue_after_the_deadline_day(done_at, now, overdue):
    assert is_overdue(Deadline(D("2026-03-09")), done_at, now) is overdue
    assert is_overdue(D("2026-03-09"), done_at, now) is overdue  # a plain date works the same


@pytest.mark.parametrize("done_at, overdue", [
    (at("2026-02-14T11:59"), False), (at("2026-02-14T12:00"), False), (at("2026-02-14T12:01"), True),
    (D("2026-02-14"), False),  # a date alone can't show it was after noon
    (D("2026-02-24"), True),
])
def test_a_noon_deadline_is_overdue_after_noon(done_at, overdue):
    assert is_overdue(Deadline(D("2026-02-14"), ends_at=DayHalf.AM), done_at, at("2026-03-01T09:00")) is overdue


def test_done_after_now_is_invalid_input():
    with pytest.raises(TimeLimitError):
        is_overdue(Deadline(D("2026-03-09")), D("2026-03-12"), D("2026-03-10"))


# --- mystery shopper: the promised date against the committed limit ---------------------------------------

@pytest.mark.parametrize("promised, exceeds, working_days", [
    ("2026-10-08", False, 1),
    ("2026-10-10", False, 3),  # the worked Saturday is the last allowed day
    ("2026-10-11", True, 3),  # the Sunday after it: no extra working day, still later than allowed
    ("2026-10-12", True, 4),
])
def test_a_promise_beyond_the_committed_limit_from_the_visit_is_flagged(promised, exceeds, working_days):
    check = check_promised_date(CAL, D("2026-09-30"), D(promised), committed_days=3)
    assert check.allowed.date == D("2026-10-10")
    assert (check.exceeds, check.promised_working_days) == (exceeds, working_days)
    assert not check.provisional


def test_a_same_day_commitment_on_a_holiday_allows_the_next_working_day():
    check = check_promised_date(CAL, D("2026-10-03"), D("2026-10-08"), committed_days=0)
    assert check.allowed.date == D("2026-10-08") and not check.exceeds


def test_a_promise_checked_against_an_assumed_year_is_provisional():
    check = check_promised_date(CAL, D("2026-12-29"), D("2027-01-06"), committed_days=5)
    assert check.allowed.date == D("2027-01-05")  # 30, 31 Dec, Fri 1 Jan (assumed working), 4, 5 Jan
    assert check.exceeds and check.provisional


@pytest.mark.parametrize("promised, committed", [("2026-09-29", 3), ("2026-10-10", -1), ("2026-10-10", 2.0)])
def test_a_promise_before_the_visit_or_a_bad_limit_is_invalid_input(promised, committed):
    with pytest.raises(TimeLimitError):
        check_promised_date(CAL, D("2026-09-30"), D(promised), committed)


def test_time_limit_errors_are_domain_errors_answered_with_422():
    assert issubclass(TimeLimitError, DomainError)
    assert TimeLimitError.status == LimitOutOfRange.status == ExtensionRefused.status == 422
