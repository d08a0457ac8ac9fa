"""Reporting periods, compared periods, trend buckets and changes: plain values in and out."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from inspect_api.errors import Unprocessable
from inspect_api.stats.rules import (
    Period,
    add_months,
    bucket_start,
    buckets,
    change,
    compared_period,
    delta,
    make_period,
)

CST = ZoneInfo("Asia/Shanghai")


def test_a_period_is_the_utc_range_of_its_local_days():
    start, end = Period(date(2026, 11, 1), date(2026, 11, 30)).utc_range(CST)
    assert start == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize("d,months,expected", [
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2028, 3, 31), -1, date(2028, 2, 29)),
    (date(2026, 11, 15), 3, date(2027, 2, 15)),
    (date(2026, 1, 1), -13, date(2024, 12, 1)),
])
def test_add_months_keeps_the_day_or_takes_the_months_last(d, months, expected):
    assert add_months(d, months) == expected


@pytest.mark.parametrize("start,end,comparison,expected", [
    # whole months: as many whole months before (March with February, not 31 days back)
    ("2026-03-01", "2026-03-31", "previous", ("2026-02-01", "2026-02-28")),
    ("2026-10-01", "2026-12-31", "previous", ("2026-07-01", "2026-09-30")),
    ("2026-01-01", "2026-12-31", "previous", ("2025-01-01", "2025-12-31")),
    # any other span: the same number of days just before
    ("2026-11-25", "2026-12-04", "previous", ("2026-11-15", "2026-11-24")),
    ("2026-03-01", "2026-03-15", "previous", ("2026-02-14", "2026-02-28")),
    # a year before
    ("2026-11-01", "2026-11-30", "year_ago", ("2025-11-01", "2025-11-30")),
    ("2028-02-01", "2028-02-29", "year_ago", ("2027-02-01", "2027-02-28")),
    ("2027-02-01", "2027-02-28", "year_ago", ("2026-02-01", "2026-02-28")),
    ("2028-02-29", "2028-02-29", "year_ago", ("2027-02-28", "2027-02-28")),
    ("2028-02-10", "2028-03-09", "year_ago", ("2027-02-10", "2027-03-09")),
])
def test_compared_periods(start, end, comparison, expected):
    got = compared_period(Period(date.fromisoformat(start), date.fromisoformat(end)), comparison)
    assert (got.start.isoformat(), got.end.isoformat()) == expected


def test_make_period_defaults_and_limits():
    today = date(2026, 12, 10)
    assert make_period(None, None, today) == Period(date(2026, 12, 1), today)
    assert make_period(None, None, today, default_months=12) == Period(date(2026, 1, 1), today)
    assert make_period(None, date(2026, 3, 15), today) == Period(date(2026, 3, 1), date(2026, 3, 15))
    assert make_period(date(2021, 12, 11), today, today).days == 1826
    with pytest.raises(Unprocessable) as exc:
        make_period(date(2026, 12, 11), None, today)
    assert "to" in exc.value.details["fields"]
    with pytest.raises(Unprocessable) as exc:
        make_period(date(2020, 1, 1), date(2025, 1, 2), today)
    assert "from" in exc.value.details["fields"]


@pytest.mark.parametrize("d,granularity,expected", [
    (date(2026, 11, 29), "week", date(2026, 11, 23)),  # Sunday -> Monday before
    (date(2026, 11, 30), "week", date(2026, 11, 30)),
    (date(2026, 11, 30), "month", date(2026, 11, 1)),
    (date(2026, 12, 31), "quarter", date(2026, 10, 1)),
    (date(2026, 3, 31), "quarter", date(2026, 1, 1)),
])
def test_bucket_start(d, granularity, expected):
    assert bucket_start(d, granularity) == expected


def test_buckets_cover_the_period_and_clip_its_ends():
    weeks = buckets(Period(date(2026, 12, 30), date(2027, 1, 12)), "week")
    assert [(b.key, b.start.isoformat(), b.end.isoformat()) for b in weeks] == [
        ("2026-W53", "2026-12-30", "2027-01-03"),  # 2026 has 53 ISO weeks
        ("2027-W01", "2027-01-04", "2027-01-10"),
        ("2027-W02", "2027-01-11", "2027-01-12"),
    ]
    assert weeks[0].natural_start == date(2026, 12, 28)
    quarters = buckets(Period(date(2026, 2, 10), date(2026, 12, 31)), "quarter")
    assert [b.key for b in quarters] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    assert len(buckets(Period(date(2021, 12, 11), date(2026, 12, 10)), "month")) == 61


def test_change_is_absolute_and_percent_and_none_when_nothing_before():
    assert delta(3, 1) == {"absolute": 2, "percent": 200.0}
    assert delta(1, 3) == {"absolute": -2, "percent": -66.7}
    assert delta(2, 0) == {"absolute": 2, "percent": None}
    assert delta(None, None) is None
    current = {"visits": 3, "units": None, "by": {"a": 1, "b": 0}}
    previous = {"visits": 4, "units": None, "by": {"a": 0, "b": 0}}
    assert change(current, previous) == {"visits": {"absolute": -1, "percent": -25.0}, "units": None,
                                         "by": {"a": {"absolute": 1, "percent": None},
                                                "b": {"absolute": 0, "percent": None}}}
