"""The working-day calendar: the official 2025-2026 schedules (Spring Festival, National Day and their
调休 weekends), counting conventions, provisional deadlines past the library's last year, loaded
holiday tables and their CSV format, and properties of the counting.

The 2027 tables below are built inline for the tests; they are not the official 2027 schedule. The
expectations that 2027 is "assumed" hold for chinesecalendar 1.11.0 (pinned), which stops at 2026.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import chinese_calendar
import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspect_api.core.calendar import (
    CalendarError,
    DayHalf,
    Deadline,
    HolidayTableError,
    WorkingCalendar,
    YearStatus,
    YearTable,
    dump_year_tables,
    parse_year_tables,
)
from inspect_api.errors import DomainError

D = dt.date.fromisoformat
CAL = WorkingCalendar()


def days(first: dt.date, last: dt.date):
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def table_2027(*holiday_days: str, workdays: tuple[str, ...] = ()) -> YearTable:
    return YearTable(frozenset(map(D, holiday_days)), frozenset(map(D, workdays)), "测试用2027年表")


# --- the official schedules -------------------------------------------------------------------------

@pytest.mark.parametrize("day, working", [
    # Spring Festival 2026: off Sun 15 - Mon 23 February; Saturdays 14 and 28 February are worked.
    ("2026-02-07", False),  # an ordinary Saturday
    ("2026-02-13", True),
    ("2026-02-14", True),  # 调休: Saturday worked
    ("2026-02-15", False),
    ("2026-02-20", False),  # a Friday inside the holiday
    ("2026-02-21", False),
    ("2026-02-23", False),  # Monday, last holiday day
    ("2026-02-24", True),
    ("2026-02-28", True),  # 调休: Saturday worked
    ("2026-03-01", False),
    # National Day 2025: off 1-8 October; Sunday 28 September and Saturday 11 October are worked.
    ("2025-09-27", False),
    ("2025-09-28", True),
    ("2025-10-08", False),  # a Wednesday inside the holiday
    ("2025-10-09", True),
    ("2025-10-11", True),
    ("2025-10-12", False),
    # Mid-autumn and National Day 2026: off 25-27 September and 1-7 October; Sun 20 Sep and Sat 10 Oct worked.
    ("2026-09-20", True),
    ("2026-09-25", False),  # Friday, Mid-autumn
    ("2026-10-07", False),
    ("2026-10-08", True),
    ("2026-10-10", True),
    ("2026-10-11", False),
])
def test_official_working_days_follow_the_2025_and_2026_schedules(day, working):
    assert CAL.year_status(D(day).year) is YearStatus.OFFICIAL
    assert CAL.is_working_day(D(day)) is working


@pytest.mark.parametrize("start, n, due", [
    ("2026-02-13", 0, "2026-02-13"),  # a working day: the same day
    ("2026-02-16", 0, "2026-02-24"),  # a holiday: the next working day
    ("2026-02-13", 1, "2026-02-14"),  # the worked Saturday counts
    ("2026-02-13", 2, "2026-02-24"),  # then the whole holiday is skipped
    ("2026-02-12", 3, "2026-02-24"),
    ("2026-02-14", 1, "2026-02-24"),
    ("2026-02-24", 5, "2026-03-02"),  # 25, 26, 27, Sat 28 (worked), Mon 2 March
    ("2026-02-10", 10, "2026-03-02"),
    ("2026-02-07", 1, "2026-02-09"),  # a Saturday start is not counted: due Monday
    ("2025-09-26", 1, "2025-09-28"),  # the worked Sunday before National Day 2025
    ("2025-09-30", 1, "2025-10-09"),
    ("2025-09-30", 3, "2025-10-11"),  # the worked Saturday after it
    ("2025-09-30", 4, "2025-10-13"),
    ("2026-09-18", 1, "2026-09-20"),  # the worked Sunday before Mid-autumn 2026
    ("2026-09-24", 1, "2026-09-28"),  # over Mid-autumn (Fri-Sun)
    ("2026-09-30", 3, "2026-10-10"),  # 8, 9, Sat 10 October (worked)
    ("2026-09-30", 4, "2026-10-12"),
])
def test_add_working_days_across_2025_and_2026_holidays(start, n, due):
    deadline = CAL.add_working_days(D(start), n)
    assert deadline == Deadline(D(due))
    assert not deadline.provisional and deadline.ends_at is DayHalf.PM


@pytest.mark.parametrize("a, b, count", [
    ("2026-09-30", "2026-10-12", 4),
    ("2026-02-13", "2026-02-28", 6),  # Sat 14, 24, 25, 26, 27, Sat 28
    ("2026-02-14", "2026-02-23", 0),  # the holiday itself
    ("2026-02-28", "2026-02-13", -6),
    ("2026-03-02", "2026-03-02", 0),
])
def test_working_days_between_counts_the_days_after_a_up_to_b(a, b, count):
    assert CAL.working_days_between(D(a), D(b)) == count


def test_next_working_day_skips_the_holiday_and_is_strictly_after():
    assert CAL.next_working_day(D("2026-02-14")) == D("2026-02-24")
    assert CAL.next_working_day(D("2026-02-24")) == D("2026-02-25")
    assert CAL.next_working_day(D("2025-10-10")) == D("2025-10-11")


@pytest.mark.parametrize("start, half, due, ends_at", [
    ("2026-02-13", DayHalf.AM, "2026-02-13", DayHalf.PM),  # morning: end of the same day
    ("2026-02-13", DayHalf.PM, "2026-02-14", DayHalf.AM),  # afternoon: noon of the worked Saturday
    ("2026-02-14", DayHalf.PM, "2026-02-24", DayHalf.AM),
    ("2026-02-16", DayHalf.AM, "2026-02-24", DayHalf.AM),  # a holiday: noon of the next working day
    ("2026-02-07", DayHalf.PM, "2026-02-09", DayHalf.AM),
])
def test_half_a_working_day_ends_after_the_first_whole_half_day(start, half, due, ends_at):
    deadline = CAL.add_half_working_day(D(start), half)
    assert (deadline.date, deadline.ends_at) == (D(due), ends_at)


# --- past the library: assumed, then loaded --------------------------------------------------------

def test_a_december_2026_deadline_running_into_2027_is_provisional_without_a_table():
    deadline = CAL.add_working_days(D("2026-12-28"), 5)  # 29, 30, 31, Fri 1 Jan (assumed), Mon 4 Jan
    assert deadline.date == D("2027-01-04")
    assert deadline.provisional and deadline.assumed_years == (2027,)
    assert CAL.year_status(2027) is YearStatus.ASSUMED
    assert "暂定" in deadline.describe() and "2027年" in deadline.describe()


def test_the_library_itself_raises_for_2027_which_the_calendar_absorbs():
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(D("2027-01-04"))
    assert CAL.is_working_day(D("2027-01-04")) is True


def test_a_loaded_2027_table_makes_the_same_deadline_final_and_moves_it_past_a_holiday():
    cal = WorkingCalendar({2027: table_2027("2027-01-01")})
    deadline = cal.add_working_days(D("2026-12-28"), 5)
    assert cal.year_status(2027) is YearStatus.LOADED
    assert deadline == Deadline(D("2027-01-05"))
    assert not deadline.provisional
    assert "暂定" not in deadline.describe()


def test_a_loaded_working_weekend_counts():
    cal = WorkingCalendar({2027: table_2027("2027-01-01", workdays=("2027-01-02",))})
    assert cal.is_working_day(D("2027-01-02")) and not cal.is_working_day(D("2027-01-01"))
    assert cal.add_working_days(D("2026-12-31"), 1).date == D("2027-01-02")


def test_only_the_years_a_count_passes_through_are_assumed():
    assert CAL.add_working_days(D("2026-12-31"), 0) == Deadline(D("2026-12-31"))
    assert CAL.add_working_days(D("2026-12-31"), 1).assumed_years == (2027,)
    assert CAL.add_working_days(D("2027-12-30"), 3).assumed_years == (2027, 2028)
    assert CAL.add_half_working_day(D("2026-12-31"), DayHalf.PM).assumed_years == (2027,)
    assert CAL.assumed_years_between(D("2026-12-01"), D("2026-12-31")) == ()
    assert CAL.assumed_years_between(D("2026-12-31"), D("2027-01-01")) == (2027,)


def test_the_official_library_wins_over_a_loaded_table_for_a_year_it_covers():
    cal = WorkingCalendar({2026: YearTable(frozenset({D("2026-03-02")}), frozenset(), "旧导入")})
    assert cal.year_status(2026) is YearStatus.OFFICIAL
    assert cal.shadowed_years == (2026,)
    assert cal.is_working_day(D("2026-03-02"))


def test_a_loaded_table_is_used_when_no_official_source_is_given():
    table = YearTable(frozenset({D("2026-03-02")}), frozenset(), "导入")
    cal = WorkingCalendar({2026: table}, official=None)
    assert cal.year_status(2026) is YearStatus.LOADED and cal.shadowed_years == ()
    assert not cal.is_working_day(D("2026-03-02"))
    assert cal.year_status(2025) is YearStatus.ASSUMED


def test_years_before_the_library_are_assumed_too():
    assert CAL.year_status(2003) is YearStatus.ASSUMED
    assert CAL.year_status(2004) is YearStatus.OFFICIAL


def test_years_outside_the_library_are_assumed_monday_to_friday():
    cal = WorkingCalendar(official=None)
    assert [cal.is_working_day(d) for d in days(D("2027-01-04"), D("2027-01-10"))] == [True] * 5 + [False] * 2


# --- invalid input ------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [-1, 1.0, True, "3"])
def test_add_working_days_refuses_anything_but_a_non_negative_int(n):
    with pytest.raises(CalendarError):
        CAL.add_working_days(D("2026-03-02"), n)


def test_a_datetime_is_refused_because_its_day_depends_on_the_zone():
    with pytest.raises(TypeError):
        CAL.is_working_day(dt.datetime(2026, 3, 2, 20, tzinfo=dt.UTC))


def test_calendar_errors_are_domain_errors_with_status_422():
    assert issubclass(HolidayTableError, DomainError) and HolidayTableError.status == 422


@pytest.mark.parametrize("table_args, reason", [
    ((frozenset({D("2027-01-02")}), frozenset({D("2027-01-02")})), "既是节假日又是调休上班日"),
    ((frozenset(), frozenset({D("2027-01-04")})), "不能列为调休上班日"),  # a Monday
    ((frozenset({D("2027-01-01"), D("2028-01-01")}), frozenset()), "只能含一个年份"),
])
def test_year_table_refuses_contradictions(table_args, reason):
    with pytest.raises(HolidayTableError) as err:
        YearTable(*table_args, source="x")
    assert reason in err.value.message


def test_a_table_filed_under_the_wrong_year_is_refused():
    with pytest.raises(HolidayTableError, match="2028年的节假日表含有其他年份的日期 2027-01-01"):
        WorkingCalendar({2028: table_2027("2027-01-01")})


# --- the CSV format ------------------------------------------------------------------------------------

GOOD_CSV = """\ufeffdate,kind,name
# 测试数据，不是官方安排
2027-01-01,holiday,元旦

2027-02-06,班,春节
2027/2/8,休,春节
2027年2月9日,假日,春节
2027-02-20,调休上班,"春节"
2028-01-01,节假日,
"""


def test_parse_year_tables_reads_english_and_chinese_kinds_and_groups_by_year():
    tables = parse_year_tables(GOOD_CSV, source="test.csv")
    assert set(tables) == {2027, 2028}
    t = tables[2027]
    assert t.holidays == {D("2027-01-01"), D("2027-02-08"), D("2027-02-09")}
    assert t.working_weekends == {D("2027-02-06"), D("2027-02-20")}
    assert t.source == "test.csv" and t.names[D("2027-02-06")] == "春节"
    assert tables[2028].holidays == {D("2028-01-01")} and dict(tables[2028].names) == {}


def test_chinese_headers_and_no_name_column_are_accepted():
    tables = parse_year_tables("日期,类型\n2027-10-01,休\n")
    assert tables[2027].holidays == {D("2027-10-01")}


def test_parsed_tables_feed_the_calendar():
    cal = WorkingCalendar(parse_year_tables(GOOD_CSV))
    assert cal.is_working_day(D("2027-02-06")) and not cal.is_working_day(D("2027-02-08"))


def bad_rows(text: str) -> list[tuple[int, str]]:
    with pytest.raises(HolidayTableError) as err:
        parse_year_tables(text)
    return [(e["line"], e["reason"]) for e in err.value.details["errors"]]


def test_every_bad_row_is_reported_with_its_line_and_reason():
    text = (
        "date,kind,name\n"
        "2027-01-01,holiday,元旦\n"  # 2: fine
        "2027-13-01,holiday,x\n"  # 3: no such month
        "2027-02-30,holiday,x\n"  # 4: no such day
        "next monday,holiday,x\n"  # 5: not a date
        "2027-03-01,vacation,x\n"  # 6: unknown kind
        "2027-01-04,workday,x\n"  # 7: a Monday cannot be a 调休 working day
        "2027-01-01,休,元旦\n"  # 8: repeats line 2
        ",holiday,x\n"  # 9: no date
        "2027-03-02,,x\n"  # 10: no kind
        "2027-03-03,holiday,x,extra\n"  # 11: too many cells
    )
    errors = bad_rows(text)
    assert [line for line, _ in errors] == [3, 4, 5, 6, 7, 8, 9, 10, 11]
    reasons = dict(errors)
    assert "2027-13-01" in reasons[3] and "不存在" in reasons[4] and "YYYY-MM-DD" in reasons[5]
    assert "vacation" in reasons[6] and "星期一" in reasons[7] and "第2行" in reasons[8]
    assert "日期为空" in reasons[9] and "类型为空" in reasons[10] and "多于表头" in reasons[11]


def test_the_error_message_names_the_first_lines():
    with pytest.raises(HolidayTableError) as err:
        parse_year_tables("date,kind\n2027-01-01,holiday\n2027-01-02,maybe\n")
    assert err.value.message.startswith("节假日表有误：第3行：类型“maybe”无法识别")
    assert err.value.code == "invalid_holiday_table"


def test_a_quoted_multiline_cell_does_not_shift_the_line_numbers():
    errors = bad_rows('date,kind,name\n2027-01-01,holiday,"元\n旦"\n2027-01-02,x,y\n')
    assert errors == [(4, errors[0][1])]


@pytest.mark.parametrize("text, reason", [
    ("", "文件是空的"),
    ("\n# only a comment\n", "文件是空的"),
    ("date,kind,name\n", "没有日期行"),
    ("day,kind\n2027-01-01,holiday\n", "未知的列“day”"),
    ("date,name\n2027-01-01,元旦\n", "缺少“kind”列"),
    ("date,kind,日期\n", "重复"),
])
def test_a_file_without_a_usable_header_or_rows_is_refused(text, reason):
    assert any(reason in r for _, r in bad_rows(text))


dates_2027 = st.dates(D("2027-01-01"), D("2027-12-31"))


@settings(max_examples=40, deadline=None)
@given(st.sets(dates_2027, max_size=20), st.sets(dates_2027.filter(lambda d: d.weekday() >= 5), max_size=6))
def test_dump_then_parse_gives_the_same_tables(holiday_set, weekend_set):
    table = YearTable(frozenset(holiday_set - weekend_set), frozenset(weekend_set), "x",
                      names={d: "节日" for d in holiday_set - weekend_set})
    if not table.holidays and not table.working_weekends:
        return
    parsed = parse_year_tables(dump_year_tables({2027: table}), source="x")
    assert parsed == {2027: table}
    assert dict(parsed[2027].names) == dict(table.names)


# --- properties ---------------------------------------------------------------------------------------

dates = st.dates(D("2024-01-01"), D("2027-12-31"))  # official years and one assumed year
counts = st.integers(min_value=0, max_value=40)
PROPS = settings(max_examples=150, deadline=None)


@PROPS
@given(dates, st.integers(min_value=1, max_value=40))
def test_the_deadline_is_a_working_day_after_the_start(start, n):
    deadline = CAL.add_working_days(start, n)
    assert deadline.date > start and CAL.is_working_day(deadline.date)
    assert CAL.working_days_between(start, deadline.date) == n
    # and it is the first day reaching n: the day before is one working day short
    assert CAL.working_days_between(start, deadline.date - dt.timedelta(days=1)) == n - 1


@PROPS
@given(dates, counts, counts)
def test_add_working_days_is_monotonic_in_n(start, a, b):
    lo, hi = sorted((a, b))
    d_lo, d_hi = CAL.add_working_days(start, lo).date, CAL.add_working_days(start, hi).date
    assert d_lo <= d_hi
    if 1 <= lo < hi:
        assert d_lo < d_hi


@PROPS
@given(dates)
def test_zero_one_and_half_days_agree_with_next_working_day(start):
    nxt = CAL.next_working_day(start)
    assert CAL.add_working_days(start, 1).date == nxt
    zero = CAL.add_working_days(start, 0).date
    assert zero == (start if CAL.is_working_day(start) else nxt)
    for half in DayHalf:
        assert CAL.add_half_working_day(start, half).date <= nxt


@PROPS
@given(dates, dates, dates)
def test_working_days_between_is_additive_and_antisymmetric(a, b, c):
    lo, hi = sorted((a, b))
    assert CAL.working_days_between(lo, hi) == sum(CAL.is_working_day(d) for d in days(lo + dt.timedelta(days=1), hi))
    assert CAL.working_days_between(a, b) + CAL.working_days_between(b, c) == CAL.working_days_between(a, c)
    assert CAL.working_days_between(a, b) == -CAL.working_days_between(b, a)


@PROPS
@given(dates, counts)
def test_provisional_exactly_when_the_count_reaches_an_assumed_year(start, n):
    deadline = CAL.add_working_days(start, n)
    assert deadline.provisional == (deadline.date.year >= 2027)


def test_chinesecalendar_and_holidays_agree_on_every_day_of_2024_to_2026():
    cn = holidays.China(years=range(2024, 2027))
    disagree = [d for d in days(D("2024-01-01"), D("2026-12-31"))
                if CAL.is_working_day(d) != cn.is_working_day(d)]
    assert disagree == []


def test_a_table_built_from_the_official_2026_data_reproduces_the_official_calendar():
    year_days = list(days(D("2026-01-01"), D("2026-12-31")))
    table = YearTable(
        frozenset(d for d in year_days if d in chinese_calendar.holidays),
        frozenset(d for d in year_days if chinese_calendar.is_workday(d) and d.weekday() >= 5),
        "chinesecalendar 2026",
    )
    loaded = WorkingCalendar({2026: table}, official=None)
    assert loaded.year_status(2026) is YearStatus.LOADED
    assert [loaded.is_working_day(d) for d in year_days] == [CAL.is_working_day(d) for d in year_days]
    reparsed = WorkingCalendar(parse_year_tables(dump_year_tables({2026: table})), official=None)
    assert [reparsed.is_working_day(d) for d in year_days] == [CAL.is_working_day(d) for d in year_days]


def test_the_rules_modules_import_neither_flask_nor_sqlalchemy():
    code = ("import sys, inspect_api.core.calendar, inspect_api.core.deadlines; "
            "print(sorted(m for m in ('flask', 'sqlalchemy', 'flask_sqlalchemy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
