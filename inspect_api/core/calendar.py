"""The working-day calendar: which days are working days in China, and counting N working days.

A year's days come from one of three sources, in this order:

1. ``official``: the official calendar library (chinesecalendar, 2004-2026 in 1.11.0), with the State
   Council's 调休 schedule (holidays and the weekend days that become working days);
2. ``loaded``: a holiday table an admin imported for a year the library lacks (`YearTable`, usually
   parsed from CSV by `parse_year_tables`);
3. ``assumed``: neither, so Monday-Friday are taken as working days. Every result that rests on such
   a year is PROVISIONAL and names the years it assumed (`Deadline.assumed_years`).

Counting (in working days, as 行政许可法 §82 counts its periods; the day a period starts on is not
counted, as 民法典 §201 says: "开始的当日不计入，自下一日开始计算"):

- ``add_working_days(start, n)`` for n >= 1 is the n-th working day strictly after `start`; the matter
  may be finished any time up to the end of that day. `start` itself never counts, whether or not it
  is a working day, so a Saturday receipt with n = 1 is due on Monday.
- n = 0 ("当场/当日办结") is `start` if it is a working day, else the next working day.
- half a working day (`add_half_working_day`): each working day has two halves (上午, 下午); the
  matter is due at the end of the first whole half after the one it arrived in: morning -> end of
  that day, afternoon -> noon of the next working day, a non-working day -> noon of the next
  working day. So at least half a working day of office time is always available.
- ``working_days_between(a, b)`` counts the working days d with a < d <= b (negative when b < a), so
  ``working_days_between(d, add_working_days(d, n).date) == n`` for n >= 1.

Pure: no Flask, no database, no clock. Importing and editing tables in the database is another
module's job; here a table is just data passed to `WorkingCalendar`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Protocol

import chinese_calendar

from inspect_api.errors import Unprocessable

SATURDAY = 5  # date.weekday(): Monday is 0


class CalendarError(Unprocessable):
    """Invalid input to the calendar (a negative count, a malformed year table)."""

    code = "invalid_calendar_input"


class HolidayTableError(CalendarError):
    """A holiday table that can't be used; `details["errors"]` lists `{"line", "reason"}` (line 0: the
    table as a whole)."""

    code = "invalid_holiday_table"

    def __init__(self, errors: list[tuple[int, str]]):
        self.errors = tuple(errors)
        shown = "；".join(_where(line) + reason for line, reason in errors[:3])
        more = f"（另有 {len(errors) - 3} 处错误）" if len(errors) > 3 else ""
        super().__init__(
            f"节假日表有误：{shown}{more}",
            {"errors": [{"line": line, "reason": reason} for line, reason in errors]},
        )


def _where(line: int) -> str:
    return f"第{line}行：" if line else ""


class YearStatus(StrEnum):
    OFFICIAL = "official"  # the official calendar library knows the year
    LOADED = "loaded"  # an imported holiday table covers the year
    ASSUMED = "assumed"  # Monday-Friday assumed: results are provisional

    @property
    def label(self) -> str:
        return {"official": "官方日历", "loaded": "已导入节假日表", "assumed": "未导入节假日安排，按周一至周五推算"}[self]


class DayHalf(StrEnum):
    AM = "am"
    PM = "pm"

    @property
    def label(self) -> str:
        return "上午" if self is DayHalf.AM else "下午"


@dataclass(frozen=True)
class Deadline:
    """The last day of a time limit. `ends_at` PM means the whole day; AM means by noon (half-day
    limits). Provisional exactly when some year the count passed through had to be assumed."""

    date: dt.date
    assumed_years: tuple[int, ...] = ()
    ends_at: DayHalf = DayHalf.PM

    @property
    def provisional(self) -> bool:
        return bool(self.assumed_years)

    def describe(self) -> str:
        """The deadline as users read it, with the warning when it is provisional."""
        text = f"{self.date.year}年{self.date.month}月{self.date.day}日"
        if self.ends_at is DayHalf.AM:
            text += "中午12时前"
        if self.provisional:
            years = "、".join(f"{y}年" for y in self.assumed_years)
            text += f"（暂定：{years}节假日安排尚未导入，按周一至周五推算）"
        return text


@dataclass(frozen=True)
class YearTable:
    """One calendar year's official schedule: the holidays (放假, weekend days included or not) and the
    weekend days that are working days (调休上班). Every other Monday-Friday is a working day."""

    holidays: frozenset[dt.date]
    working_weekends: frozenset[dt.date]
    source: str  # where the dates come from, e.g. the notice's title or the imported file's name
    names: Mapping[dt.date, str] = field(default_factory=dict, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "working_weekends", frozenset(self.working_weekends))
        object.__setattr__(self, "names", MappingProxyType(dict(self.names)))
        errors = []
        for day in sorted(self.holidays & self.working_weekends):
            errors.append((0, f"{day.isoformat()} 不能既是节假日又是调休上班日"))
        for day in sorted(self.working_weekends):
            if day.weekday() < SATURDAY:
                errors.append((0, f"{day.isoformat()} 是工作日（{_WEEKDAYS[day.weekday()]}），不能列为调休上班日"))
        years = {d.year for d in self.holidays | self.working_weekends}
        if len(years) > 1:
            errors.append((0, f"一张年度表只能含一个年份的日期，实际含 {sorted(years)}"))
        if errors:
            raise HolidayTableError(errors)

    def check_year(self, year: int) -> None:
        wrong = sorted(d for d in self.holidays | self.working_weekends if d.year != year)
        if wrong:
            raise HolidayTableError([(0, f"{year}年的节假日表含有其他年份的日期 {wrong[0].isoformat()}")])

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.working_weekends:
            return True
        return day not in self.holidays and day.weekday() < SATURDAY


_WEEKDAYS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")


class OfficialCalendar(Protocol):
    """An authoritative source of working days for the years it covers."""

    name: str

    def covers(self, year: int) -> bool: ...

    def is_working_day(self, day: dt.date) -> bool: ...


class ChineseCalendarSource:
    """chinesecalendar: the State Council's schedules, 调休 working weekends included. It raises
    NotImplementedError for any year it has no data for (2027+ in 1.11.0), so coverage is asked per
    year instead of hard-coding the range: upgrading the library extends it."""

    name = "chinesecalendar"

    def covers(self, year: int) -> bool:
        try:
            chinese_calendar.is_workday(dt.date(year, 1, 1))
        except NotImplementedError:
            return False
        return True

    def is_working_day(self, day: dt.date) -> bool:
        return chinese_calendar.is_workday(day)


CHINESE_CALENDAR = ChineseCalendarSource()


def _as_date(day) -> dt.date:
    # A datetime is a date subclass; accepting one would silently count in whatever zone it is in
    # (a UTC evening is the next day in Shanghai), so callers must convert first.
    if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
        raise TypeError(f"expected a datetime.date, got {type(day).__name__}")
    return day


class WorkingCalendar:
    """Working days from the official library, then loaded tables, then an assumed Monday-Friday.

    A loaded table for a year the library covers is not used (`shadowed_years` lists them): the
    library is the official schedule, and keeping an old import for the year after upgrading the
    library must not change any deadline.
    """

    def __init__(self, tables: Mapping[int, YearTable] | None = None, *,
                 official: OfficialCalendar | None = CHINESE_CALENDAR):
        tables = dict(tables or {})
        for year, table in tables.items():
            table.check_year(year)
        self._tables = MappingProxyType(tables)
        self._official = official
        self._status: dict[int, YearStatus] = {}
        # Per year: one flag per day and the running count of working days (prefix[i] = working days
        # among the year's first i days). The calendar never changes, so each year is built once and
        # a count over months is a subtraction instead of a walk. Two threads building the same year
        # store equal values, so one calendar can be shared by the whole app without a lock.
        self._years: dict[int, tuple[bytes, tuple[int, ...]]] = {}

    @property
    def tables(self) -> Mapping[int, YearTable]:
        return self._tables

    def year_status(self, year: int) -> YearStatus:
        status = self._status.get(year)
        if status is None:
            if self._official is not None and self._official.covers(year):
                status = YearStatus.OFFICIAL
            elif year in self._tables:
                status = YearStatus.LOADED
            else:
                status = YearStatus.ASSUMED
            self._status[year] = status
        return status

    @property
    def shadowed_years(self) -> tuple[int, ...]:
        """Years with a loaded table that is not used because the official library covers them."""
        return tuple(sorted(y for y in self._tables if self.year_status(y) is YearStatus.OFFICIAL))

    def _year(self, year: int) -> tuple[bytes, tuple[int, ...]]:
        built = self._years.get(year)
        if built is None:
            status = self.year_status(year)
            if status is YearStatus.OFFICIAL:
                check = self._official.is_working_day
            elif status is YearStatus.LOADED:
                check = self._tables[year].is_working_day
            else:
                def check(d: dt.date) -> bool:
                    return d.weekday() < SATURDAY
            first = dt.date(year, 1, 1)
            length = (dt.date(year + 1, 1, 1) - first).days if year < dt.MAXYEAR else 365
            flags = bytes(check(first + dt.timedelta(days=i)) for i in range(length))
            built = self._years[year] = (flags, tuple(itertools.accumulate(flags, initial=0)))
        return built

    @staticmethod
    def _index(day: dt.date) -> int:
        return day.toordinal() - dt.date(day.year, 1, 1).toordinal()

    def is_working_day(self, day: dt.date) -> bool:
        day = _as_date(day)
        return bool(self._year(day.year)[0][self._index(day)])

    def _through(self, day: dt.date) -> int:
        """Working days from 1 January of `day`'s year through `day`."""
        return self._year(day.year)[1][self._index(day) + 1]

    def _assumed(self, years: Collection[int]) -> tuple[int, ...]:
        return tuple(sorted(y for y in set(years) if self.year_status(y) is YearStatus.ASSUMED))

    def assumed_years_between(self, a: dt.date, b: dt.date) -> tuple[int, ...]:
        """The assumed years among the days a count from `a` to `b` looks at (a excluded, b included)."""
        lo, hi = sorted((_as_date(a), _as_date(b)))
        if lo == hi:
            return ()
        return self._assumed(range((lo + dt.timedelta(days=1)).year, hi.year + 1))

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day strictly after `day` (equal to `add_working_days(day, 1).date`)."""
        day = _as_date(day) + dt.timedelta(days=1)
        while not self.is_working_day(day):
            day += dt.timedelta(days=1)
        return day

    def add_working_days(self, start: dt.date, n: int, *, excluded: Collection[dt.date] = frozenset()) -> Deadline:
        """The n-th working day after `start` (n = 0: `start` if it is a working day, else the next
        one). Working days in `excluded` are not counted (e.g. days of a hearing the applicant was
        told about), so the deadline never falls on one."""
        start = _as_date(start)
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise CalendarError(f"工作日数必须是非负整数，收到 {n!r}", {"n": repr(n)})
        years = set()
        day = start
        if n == 0:
            years.add(day.year)
            if self.is_working_day(day) and day not in excluded:
                return Deadline(day, self._assumed(years))
        counted = 0
        while True:
            day += dt.timedelta(days=1)
            years.add(day.year)
            if self.is_working_day(day) and day not in excluded:
                counted += 1
                if counted >= max(n, 1):
                    return Deadline(day, self._assumed(years))

    def add_half_working_day(self, start: dt.date, half: DayHalf) -> Deadline:
        """Half a working day from arrival in `half` of `start`: the end of the first whole half-day
        of office time after arrival (see the module docstring)."""
        start = _as_date(start)
        half = DayHalf(half)
        if half is DayHalf.AM:
            if self.is_working_day(start):
                return Deadline(start, self._assumed({start.year}), DayHalf.PM)
            years = {start.year}  # the arrival day's status was looked up
        else:
            years = set()
        nxt = self.next_working_day(start)
        years.update(self.assumed_years_between(start, nxt))
        return Deadline(nxt, self._assumed(years), DayHalf.AM)

    def working_days_between(self, a: dt.date, b: dt.date) -> int:
        """The number of working days d with a < d <= b; negative (the same count) when b < a."""
        a, b = _as_date(a), _as_date(b)
        if b < a:
            return -self.working_days_between(b, a)
        whole_years = sum(self._year(y)[1][-1] for y in range(a.year, b.year))
        return whole_years + self._through(b) - self._through(a)


# --- the importable holiday table (CSV) -------------------------------------------------------------

HOLIDAY = "holiday"
WORKDAY = "workday"

# The spellings people use in the State Council's notices and in hand-made sheets.
KIND_ALIASES = {
    "holiday": HOLIDAY, "休": HOLIDAY, "假日": HOLIDAY, "节假日": HOLIDAY, "放假": HOLIDAY,
    "workday": WORKDAY, "班": WORKDAY, "调休上班": WORKDAY, "上班": WORKDAY, "补班": WORKDAY,
}
COLUMN_ALIASES = {
    "date": "date", "日期": "date",
    "kind": "kind", "类型": "kind",
    "name": "name", "名称": "name", "节日": "name",
}
_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


def _parse_date(text: str) -> dt.date:
    match = _DATE_RE.match(text)
    if not match:
        raise ValueError(f"无法识别的日期“{text}”，应写成 YYYY-MM-DD，如 2027-01-01")
    try:
        return dt.date(*(int(g) for g in match.groups()))
    except ValueError:
        raise ValueError(f"日期“{text}”不存在") from None


def _rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line number of the row's first line, stripped cells) of every row that is not blank or a
    `#` comment."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    line = 1
    for cells in reader:
        cells = [c.strip() for c in cells]
        if any(cells) and not cells[0].startswith("#"):
            yield line, cells
        line = reader.line_num + 1


def parse_year_tables(text: str, *, source: str = "导入的节假日表") -> dict[int, YearTable]:
    """Parse a holiday table: CSV with a header row `date,kind,name` (or 日期,类型,名称; `name` may be
    left out), one row per date. `kind` is `holiday` (休, 假日, 节假日, 放假) or `workday` (班, 调休上班,
    上班, 补班). Rows are grouped by their date's year. Every bad row is reported at once, by line.

    Each year's rows must be that year's whole schedule: a loaded year replaces the Monday-Friday
    assumption for all of its days.
    """
    try:
        rows = list(_rows(text))
    except csv.Error as exc:
        raise HolidayTableError([(0, f"CSV 格式错误：{exc}")]) from exc
    if not rows:
        raise HolidayTableError([(0, "文件是空的，应有表头 date,kind,name 和至少一行日期")])
    header_line, header = rows[0]
    errors: list[tuple[int, str]] = []
    columns: dict[str, int] = {}
    for i, cell in enumerate(header):
        key = COLUMN_ALIASES.get(cell.lower())
        if key is None:
            errors.append((header_line, f"未知的列“{cell}”，表头应为 date,kind,name（或 日期,类型,名称）"))
        elif key in columns:
            errors.append((header_line, f"列“{cell}”重复"))
        else:
            columns[key] = i
    for required in ("date", "kind"):
        if required not in columns:
            errors.append((header_line, f"缺少“{required}”列，表头应为 date,kind,name（或 日期,类型,名称）"))
    if errors:
        raise HolidayTableError(errors)
    if len(rows) == 1:
        raise HolidayTableError([(0, "表中没有日期行")])

    seen: dict[dt.date, int] = {}
    kinds: dict[dt.date, str] = {}
    names: dict[dt.date, str] = {}
    for line, cells in rows[1:]:
        if len(cells) > len(header) and any(cells[len(header):]):
            errors.append((line, f"本行有 {len(cells)} 列，多于表头的 {len(header)} 列"))
            continue
        cells += [""] * (len(header) - len(cells))
        raw_date, raw_kind = cells[columns["date"]], cells[columns["kind"]]
        try:
            day = _parse_date(raw_date) if raw_date else None
        except ValueError as exc:
            errors.append((line, str(exc)))
            day = None
        else:
            if day is None:
                errors.append((line, "日期为空"))
        kind = KIND_ALIASES.get(raw_kind.lower())
        if kind is None:
            errors.append((line, f"类型“{raw_kind}”无法识别，应为 holiday（休、假日）或 workday（班、调休上班）"
                           if raw_kind else "类型为空，应为 holiday（休、假日）或 workday（班、调休上班）"))
        if day is None or kind is None:
            continue
        if day in seen:
            errors.append((line, f"日期 {day.isoformat()} 与第{seen[day]}行重复"))
            continue
        if kind == WORKDAY and day.weekday() < SATURDAY:
            errors.append((line, f"{day.isoformat()} 是{_WEEKDAYS[day.weekday()]}，本来就是工作日，"
                                 "调休上班日只能是星期六或星期日"))
            continue
        seen[day] = line
        kinds[day] = kind
        if "name" in columns and cells[columns["name"]]:
            names[day] = cells[columns["name"]]
    if errors:
        raise HolidayTableError(errors)

    tables: dict[int, YearTable] = {}
    for year in sorted({d.year for d in kinds}):
        days = [d for d in kinds if d.year == year]
        tables[year] = YearTable(
            holidays=frozenset(d for d in days if kinds[d] == HOLIDAY),
            working_weekends=frozenset(d for d in days if kinds[d] == WORKDAY),
            source=source,
            names={d: names[d] for d in days if d in names},
        )
    return tables


def dump_year_tables(tables: Mapping[int, YearTable]) -> str:
    """The tables as CSV in the format `parse_year_tables` reads (for exporting and editing)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["date", "kind", "name"])
    for year in sorted(tables):
        table = tables[year]
        rows = [(d, HOLIDAY) for d in table.holidays] + [(d, WORKDAY) for d in table.working_weekends]
        for day, kind in sorted(rows):
            writer.writerow([day.isoformat(), kind, table.names.get(day, "")])
    return out.getvalue()


def period_label(start: dt.date, end: dt.date) -> str:
    """How an official document names a period: 2026年11月, 2026年第四季度, else 2026年1月5日至2026年2月3日
    (documents and the matters' bulletins alike)."""
    import calendar

    if start.day == 1 and end.day == calendar.monthrange(end.year, end.month)[1]:
        if (start.year, start.month) == (end.year, end.month):
            return f"{start.year}年{start.month}月"
        if start.year == end.year and start.month % 3 == 1 and end.month == start.month + 2:
            return f"{start.year}年第{'一二三四'[start.month // 3]}季度"
    return f"{start.year}年{start.month}月{start.day}日至{end.year}年{end.month}月{end.day}日"
