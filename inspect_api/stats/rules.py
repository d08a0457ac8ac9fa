"""Pure rules of the statistics: reporting periods in local days, the period a figure is compared
with, the buckets of a trend, and the change between two sets of figures.

A period is a span of whole local days, both ends included. The database keeps UTC instants, so a
period becomes the half-open UTC range [first day 00:00 local, day after the last 00:00 local).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from inspect_api.errors import Unprocessable

MAX_DAYS = 5 * 365 + 2  # five years, leap days included
GRANULARITIES = ("week", "month", "quarter")
COMPARISONS = ("previous", "year_ago")


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # included

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def utc_range(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """[start 00:00 local, end + 1 day 00:00 local) as UTC instants."""
        return (datetime.combine(self.start, time(0), tz).astimezone(UTC),
                datetime.combine(self.end + timedelta(days=1), time(0), tz).astimezone(UTC))

    def as_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "days": self.days}


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def add_months(d: date, months: int) -> date:
    """The same day `months` later (or earlier), the month's last day when it has no such day."""
    year, month0 = divmod(d.year * 12 + d.month - 1 + months, 12)
    return date(year, month0 + 1, min(d.day, calendar.monthrange(year, month0 + 1)[1]))


def whole_months(period: Period) -> int | None:
    """How many calendar months the period covers exactly, or None when it is not whole months."""
    if period.start.day != 1 or period.end != _month_end(period.end.year, period.end.month):
        return None
    return (period.end.year - period.start.year) * 12 + period.end.month - period.start.month + 1


def make_period(start: date | None, end: date | None, today: date, *, default_months: int = 1) -> Period:
    """The requested period; without `to` it ends today, without `from` it starts on the first day of
    the month `default_months - 1` months before the last day's month (the current month by default)."""
    end = end or today
    start = start or add_months(end.replace(day=1), -(default_months - 1))
    if start > end:
        raise Unprocessable("开始日期不能晚于结束日期 (from must not be after to)",
                            {"fields": {"to": ["must not be before from"]}})
    if (end - start).days + 1 > MAX_DAYS:
        raise Unprocessable("统计区间不能超过 5 年 (the period may span at most 5 years)",
                            {"fields": {"from": [f"at most {MAX_DAYS} days before to"]}})
    return Period(start, end)


def compared_period(period: Period, comparison: str = "previous") -> Period:
    """What a period is compared with.

    `previous` (环比): the period of equal length just before; a period of whole calendar months is
    compared with as many whole months before it (March with February, a quarter with the quarter
    before), as the monthly and quarterly bulletins do. `year_ago` (同比): the same days a year before
    (a 29 February becomes the 28th); whole months stay whole months.
    """
    months = whole_months(period)
    if comparison == "year_ago":
        start, end = add_months(period.start, -12), add_months(period.end, -12)
        if months is not None:  # February 2028 (29 days) is compared with all of February 2027
            end = _month_end(end.year, end.month)
        return Period(start, end)
    if comparison != "previous":
        raise ValueError(f"unknown comparison {comparison!r}")
    if months is not None:
        return Period(add_months(period.start, -months), period.start - timedelta(days=1))
    return Period(period.start - timedelta(days=period.days), period.start - timedelta(days=1))


# --- trend buckets ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Bucket:
    key: str  # 2026-W48, 2026-11, 2026-Q4
    natural_start: date  # the first day of the whole week, month or quarter (what the database groups by)
    start: date  # clipped to the period
    end: date


def bucket_start(d: date, granularity: str) -> date:
    if granularity == "week":
        return d - timedelta(days=d.weekday())  # ISO weeks start on Monday
    if granularity == "month":
        return d.replace(day=1)
    if granularity == "quarter":
        return date(d.year, (d.month - 1) // 3 * 3 + 1, 1)
    raise ValueError(f"unknown granularity {granularity!r}")


def _next_start(start: date, granularity: str) -> date:
    if granularity == "week":
        return start + timedelta(days=7)
    return add_months(start, 1 if granularity == "month" else 3)


def bucket_key(start: date, granularity: str) -> str:
    if granularity == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if granularity == "month":
        return f"{start.year}-{start.month:02d}"
    return f"{start.year}-Q{(start.month - 1) // 3 + 1}"


def buckets(period: Period, granularity: str) -> list[Bucket]:
    """The weeks, months or quarters the period touches, in order, the first and last clipped to it."""
    out = []
    natural = bucket_start(period.start, granularity)
    while natural <= period.end:
        following = _next_start(natural, granularity)
        out.append(Bucket(bucket_key(natural, granularity), natural, max(natural, period.start),
                          min(following - timedelta(days=1), period.end)))
        natural = following
    return out


# --- change between two sets of figures ---------------------------------------------------------------

def delta(current: int | None, previous: int | None) -> dict | None:
    """Absolute and relative change; the percentage is None when there was nothing before."""
    if current is None or previous is None:
        return None
    diff = current - previous
    return {"absolute": diff, "percent": round(diff * 100 / previous, 1) if previous else None}


def change(current, previous):
    """The change between two figures of the same shape: nested dicts of counts, leaf by leaf."""
    if isinstance(current, dict):
        return {k: change(v, (previous or {}).get(k)) for k, v in current.items()}
    return delta(current, previous)
