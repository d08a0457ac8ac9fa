"""The working-day calendar the app uses: the official library's years plus the holiday tables an
admin imported for later years (kept in `holiday_days`). One calendar per process, rebuilt when the
imported table changes."""

from __future__ import annotations

import threading
from datetime import date

import sqlalchemy as sa

from inspect_api.core import clock
from inspect_api.core.calendar import WorkingCalendar, YearStatus, YearTable, parse_year_tables
from inspect_api.core.models import HolidayDay
from inspect_api.db import db

_lock = threading.Lock()
_cached: tuple[tuple, WorkingCalendar] | None = None
def _table_version() -> tuple:
    return tuple(db.session.execute(
        sa.select(sa.func.count(), sa.func.max(HolidayDay.imported_at))).one())


def load_tables() -> dict[int, YearTable]:
    by_year: dict[int, dict] = {}
    for row in db.session.scalars(sa.select(HolidayDay).order_by(HolidayDay.day)):
        year = by_year.setdefault(row.day.year, {"holidays": set(), "workdays": set(), "names": {},
                                                  "source": row.source})
        (year["holidays"] if row.kind == "holiday" else year["workdays"]).add(row.day)
        if row.name:
            year["names"][row.day] = row.name
    return {y: YearTable(holidays=v["holidays"], working_weekends=v["workdays"], source=v["source"],
                         names=v["names"]) for y, v in by_year.items()}


def current_calendar() -> WorkingCalendar:
    """The calendar for this request or job (cheap: one small query unless the table changed)."""
    global _cached
    version = _table_version()
    with _lock:
        if _cached is None or _cached[0] != version:
            _cached = (version, WorkingCalendar(load_tables()))
        return _cached[1]


def days_left(due_on: date, still_open: bool = True) -> dict:
    """Working days from today to a deadline on the calendar in force (negative: past it), provisional when
    a year in between has no loaded calendar; None once the matter is done. What a liaison's "剩余 N 个工作日"
    shows."""
    if not still_open:
        return {"days_left": None, "days_left_provisional": False}
    cal, today = current_calendar(), clock.today()
    return {"days_left": cal.working_days_between(today, due_on),
            "days_left_provisional": bool(cal.assumed_years_between(today, due_on))}


def store_tables(text: str, *, source: str, actor=None) -> dict[int, dict]:
    """Replace the imported schedule of every year in the file (a year is always imported whole).

    Years the official library already covers are refused: the official schedule wins, and an import
    for them would only look as if it changed something. Returns what each year holds; the caller
    (system.services.import_calendar) records it and announces the import."""
    from inspect_api.errors import Unprocessable

    tables = parse_year_tables(text, source=source)
    if not tables:
        raise Unprocessable("文件中没有日期 (no dates in the file)")
    official = WorkingCalendar({})
    covered = sorted(y for y in tables if official.year_status(y) == YearStatus.OFFICIAL)
    if covered:
        raise Unprocessable(f"{covered} 年已由官方日历提供, 无需导入 (years covered by the official calendar)",
                            {"years": covered}, code="year_official")
    now = clock.now()
    summary = {}
    for year, table in sorted(tables.items()):
        in_year = sa.and_(HolidayDay.day >= date(year, 1, 1), HolidayDay.day <= date(year, 12, 31))
        before = db.session.scalar(sa.select(sa.func.count()).select_from(HolidayDay).where(in_year))
        db.session.execute(sa.delete(HolidayDay).where(in_year))
        rows = [{"day": d, "kind": "holiday", "name": table.names.get(d), "source": source, "imported_at": now,
                 "imported_by": getattr(actor, "id", None)} for d in sorted(table.holidays)]
        rows += [{"day": d, "kind": "workday", "name": table.names.get(d), "source": source, "imported_at": now,
                  "imported_by": getattr(actor, "id", None)} for d in sorted(table.working_weekends)]
        db.session.execute(HolidayDay.__table__.insert(), rows)
        summary[year] = {"holidays": len(table.holidays), "working_weekends": len(table.working_weekends),
                         "replaced_rows": before}
    return summary


def year_statuses(first: int, last: int) -> list[dict]:
    cal = current_calendar()
    out = []
    for year in range(first, last + 1):
        status = cal.year_status(year)
        table = cal.tables.get(year)
        out.append({"year": year, "status": status.value, "label": status.label,
                    "source": table.source if table is not None and status == YearStatus.LOADED else None})
    return out
