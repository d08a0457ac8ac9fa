"""The statistics rollup (stats_rollup, see models.py): kept by database triggers, rebuilt and
compacted here, read by the statistics services.

Why triggers: what the statistics count changes through many writers — the visits sync (set-based
Core statements that replace a visit's findings), submission, review decisions, appeals, complaints,
rectification reports, the nightly overdue flag, a holiday table import that moves due days. A trigger
sees every one of them, Core or ORM, in the writer's own transaction (a rollback undoes the rollup's
rows too), and no feature has to remember to call anything. Each trigger adds the difference its own
row's change makes against the current state of the others, so the order of the statements in a
transaction does not matter. Rows are appended deltas (no shared counter row, so concurrent writers
never wait on each other nor deadlock); readers sum them, and `compact` folds them nightly.

What the rollup leaves to the reader: units (a rename, a move or a change of staffing department only
changes which units a query selects, read from `units` at query time), and the day the figures are
asked for: an open rectification is overdue once its due day has passed. Open ones carry their due
day in day rows and their due month in month rows; the reader counts an open one as overdue when its
day (or month) is before today (or this month), and reads by day the months holding open ones due
this month, where the month alone cannot tell (an indexed look at the day rows of those due between
the 1st and today).

Filters on a finding's category, severity or the visit's mode are not in the rollup: those queries
read the raw tables (the services decide).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from inspect_api.core.categories import CATEGORIES, SEVERITIES
from inspect_api.core.clock import LOCAL_TZ
from inspect_api.db import db, is_postgres
from inspect_api.stats.models import FINDING_STATUSES, MEASURES, RECT_STATES, UNIT_VISIBLE, stats_rollup

COLUMNS = ("grain", "bucket", "unit_id", "open_due", *MEASURES)
_OFFSET = f"'{int(LOCAL_TZ.utcoffset(datetime(2000, 1, 1)).total_seconds() // 60):+d} minutes'"
_GRAINS = "(SELECT 'd' AS grain UNION ALL SELECT 'm') AS g"


# --- SQL text shared by the triggers, the rebuild and the compaction -----------------------------------

def _day(ts: str, pg: bool) -> str:
    return f"(({ts}) AT TIME ZONE '{LOCAL_TZ.key}')::date" if pg else f"date({ts}, {_OFFSET})"


def _month(ts: str, pg: bool) -> str:
    if pg:
        return f"date_trunc('month', ({ts}) AT TIME ZONE '{LOCAL_TZ.key}')::date"
    return f"strftime('%Y-%m-01', {ts}, {_OFFSET})"


def _due_month(d: str, pg: bool) -> str:
    return f"date_trunc('month', ({d})::timestamp)::date" if pg else f"strftime('%Y-%m-01', {d})"


def _if(condition: str, value: str) -> str:
    return f"CASE WHEN {condition} THEN {value} ELSE 0 END"


def _quoted(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _contribution(pg: bool, sign: str, *, f: str, submitted: str, r: str, finding: bool = True,
                  rect: bool = True) -> str:
    """The SELECT list of a finding's rows (one per grain; `g.grain` from _GRAINS): its counts if
    `finding`, its rectification's if `rect`; `f` and `r` name the finding's and the rectification's
    columns (a table alias or NEW/OLD), `submitted` its visit's submission time."""
    def part(on: bool, value: str) -> str:
        return value if on else "0"

    confirmed = f"{f}.status = 'confirmed'"
    values = {"visits": "0"}
    values |= {f"f_{s}": part(finding, _if(f"{f}.status = '{s}'", sign)) for s in FINDING_STATUSES}
    values["points"] = part(finding, _if(confirmed, f"{sign} * {f}.points"))
    values |= {f"c_{c}": part(finding, _if(f"{confirmed} AND {f}.category = '{c}'", sign)) for c in CATEGORIES}
    values["c_other"] = part(finding, _if(f"{confirmed} AND {f}.category NOT IN ({_quoted(CATEGORIES)})", sign))
    values |= {f"s_{s}": part(finding, _if(f"{confirmed} AND {f}.severity = '{s}'", sign)) for s in SEVERITIES}
    values |= {f"r_{s}": part(rect, _if(f"{r}.status = '{s}'", sign)) for s in RECT_STATES}
    values |= {f"rv_{s}": part(rect, _if(f"{r}.status = '{s}' AND {f}.status IN ({_quoted(UNIT_VISIBLE)})", sign))
               for s in RECT_STATES}
    due = (f"CASE WHEN {r}.status = 'open' THEN CASE g.grain WHEN 'd' THEN {r}.due_on "
           f"ELSE {_due_month(f'{r}.due_on', pg)} END END" if rect else "NULL")
    head = ["g.grain AS grain",
            f"CASE g.grain WHEN 'd' THEN {_day(submitted, pg)} ELSE {_month(submitted, pg)} END AS bucket",
            f"{f}.unit_id AS unit_id", f"{due} AS open_due"]
    return ", ".join(head + [f"{values[m]} AS {m}" for m in MEASURES])


def _visit_count(pg: bool, sign: str, v: str) -> str:
    head = ["g.grain AS grain",
            f"CASE g.grain WHEN 'd' THEN {_day(f'{v}.submitted_at', pg)} ELSE {_month(f'{v}.submitted_at', pg)} END"
            " AS bucket", f"{v}.unit_id AS unit_id", "NULL AS open_due"]
    return ", ".join(head + [f"{sign if m == 'visits' else '0'} AS {m}" for m in MEASURES])


def _insert(select_list: str, rest: str) -> str:
    return f"INSERT INTO stats_rollup ({', '.join(COLUMNS)}) SELECT {select_list} FROM {_GRAINS} {rest}"


# --- triggers ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Trigger:
    name: str
    timing: str  # AFTER | BEFORE
    event: str  # INSERT | DELETE | UPDATE OF ...
    table: str
    when: str
    statements: tuple[str, ...]


def triggers(pg: bool) -> list[Trigger]:
    distinct = "IS DISTINCT FROM" if pg else "IS NOT"

    def finding_rows(sign: str, row: str) -> str:
        # a finding row (NEW or OLD) with its visit and rectification as they are now
        return _insert(_contribution(pg, sign, f=row, submitted="v.submitted_at", r="r"),
                       f"CROSS JOIN visits v LEFT JOIN rectifications r ON r.finding_id = {row}.id "
                       f"WHERE v.id = {row}.visit_id AND v.submitted_at IS NOT NULL AND {row}.status <> 'draft'")

    def visit_findings(sign: str, row: str, condition: str) -> str:
        # a visit's findings as they are now, at the visit row's (NEW or OLD) submission time
        return _insert(_contribution(pg, sign, f="f", submitted=f"{row}.submitted_at", r="r"),
                       "CROSS JOIN findings f LEFT JOIN rectifications r ON r.finding_id = f.id "
                       f"WHERE f.visit_id = {row}.id AND f.status <> 'draft' AND {row}.submitted_at IS NOT NULL "
                       f"AND {condition}")

    def visit_count(sign: str, row: str) -> str:
        return _insert(_visit_count(pg, sign, row), f"WHERE {row}.submitted_at IS NOT NULL")

    def rect_rows(sign: str, row: str) -> str:
        # a rectification row (NEW or OLD) with its finding and visit as they are now
        return _insert(_contribution(pg, sign, f="f", submitted="v.submitted_at", r=row, finding=False),
                       "CROSS JOIN findings f CROSS JOIN visits v "
                       f"WHERE f.id = {row}.finding_id AND v.id = f.visit_id AND f.status <> 'draft' "
                       "AND v.submitted_at IS NOT NULL")

    moved = f"OLD.submitted_at {distinct} NEW.submitted_at"
    return [
        Trigger("stats_rollup_finding_ins", "AFTER", "INSERT", "findings", "NEW.status <> 'draft'",
                (finding_rows("1", "NEW"),)),
        Trigger("stats_rollup_finding_upd", "AFTER", "UPDATE OF status, category, severity, points, unit_id, visit_id",
                "findings", "OLD.status <> 'draft' OR NEW.status <> 'draft'",
                (finding_rows("-1", "OLD"), finding_rows("1", "NEW"))),
        # before: the rectification a cascade deletes is still there to be subtracted with its finding
        Trigger("stats_rollup_finding_del", "BEFORE", "DELETE", "findings", "OLD.status <> 'draft'",
                (finding_rows("-1", "OLD"),)),
        Trigger("stats_rollup_visit_ins", "AFTER", "INSERT", "visits", "NEW.submitted_at IS NOT NULL",
                (visit_count("1", "NEW"),)),
        Trigger("stats_rollup_visit_upd", "AFTER", "UPDATE OF submitted_at, unit_id", "visits",
                f"{moved} OR OLD.unit_id <> NEW.unit_id",
                (visit_count("-1", "OLD"), visit_count("1", "NEW"),
                 visit_findings("-1", "OLD", moved), visit_findings("1", "NEW", moved))),
        # before: its findings are still there (a cascade deletes them after the visit row is gone)
        Trigger("stats_rollup_visit_del", "BEFORE", "DELETE", "visits", "OLD.submitted_at IS NOT NULL",
                (visit_count("-1", "OLD"), visit_findings("-1", "OLD", "1 = 1"))),
        Trigger("stats_rollup_rect_ins", "AFTER", "INSERT", "rectifications", "1 = 1", (rect_rows("1", "NEW"),)),
        Trigger("stats_rollup_rect_upd", "AFTER", "UPDATE OF status, due_on, finding_id", "rectifications",
                f"OLD.status {distinct} NEW.status OR OLD.due_on {distinct} NEW.due_on "
                f"OR OLD.finding_id {distinct} NEW.finding_id",
                (rect_rows("-1", "OLD"), rect_rows("1", "NEW"))),
        Trigger("stats_rollup_rect_del", "AFTER", "DELETE", "rectifications", "1 = 1", (rect_rows("-1", "OLD"),)),
    ]


def create_ddl(dialect: str) -> list[str]:
    """The statements that create the triggers (the migration runs them)."""
    pg = dialect == "postgresql"
    out = []
    for t in triggers(pg):
        body = ";\n".join(t.statements)
        if pg:
            returned = "OLD" if t.timing == "BEFORE" else "NULL"
            out.append(f"CREATE OR REPLACE FUNCTION {t.name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                       f"BEGIN\n{body};\nRETURN {returned};\nEND $$")
            out.append(f"CREATE TRIGGER {t.name} {t.timing} {t.event} ON {t.table} FOR EACH ROW "
                       f"WHEN ({t.when}) EXECUTE FUNCTION {t.name}()")
        else:
            out.append(f"CREATE TRIGGER {t.name} {t.timing} {t.event} ON {t.table} FOR EACH ROW "
                       f"WHEN {t.when}\nBEGIN\n{body};\nEND")
    return out


def drop_ddl(dialect: str) -> list[str]:
    pg = dialect == "postgresql"
    out = []
    for t in triggers(pg):
        out.append(f"DROP TRIGGER IF EXISTS {t.name} ON {t.table}" if pg else f"DROP TRIGGER IF EXISTS {t.name}")
        if pg:
            out.append(f"DROP FUNCTION IF EXISTS {t.name}()")
    return out


# --- rebuild and compaction ----------------------------------------------------------------------------

def _sums(source: str, extra: str = "") -> str:
    nonzero = " OR ".join(f"sum({m}) <> 0" for m in MEASURES)
    return (f"INSERT INTO stats_rollup ({', '.join(COLUMNS)}) SELECT grain, bucket, unit_id, open_due, "
            f"{', '.join(f'sum({m})' for m in MEASURES)} FROM {source} {extra} "
            f"GROUP BY grain, bucket, unit_id, open_due HAVING {nonzero} "
            "ORDER BY grain, bucket, unit_id")  # stored in the order it is read


def _lock() -> None:
    """PostgreSQL: writers (their triggers) wait while the rollup is replaced, so no delta is lost
    nor counted twice; readers go on reading the rows as they were."""
    if is_postgres():
        db.session.execute(sa.text("LOCK TABLE stats_rollup IN EXCLUSIVE MODE"))


def rebuild_sql(dialect: str) -> list[str]:
    """The statements that recompute the whole rollup from visits, findings and rectifications."""
    pg = dialect == "postgresql"
    visits = (f"SELECT {_visit_count(pg, '1', 'v')} FROM {_GRAINS} CROSS JOIN visits v "
              "WHERE v.submitted_at IS NOT NULL")
    findings = (f"SELECT {_contribution(pg, '1', f='f', submitted='v.submitted_at', r='r')} FROM {_GRAINS} "
                "CROSS JOIN findings f JOIN visits v ON v.id = f.visit_id "
                "LEFT JOIN rectifications r ON r.finding_id = f.id "
                "WHERE f.status <> 'draft' AND v.submitted_at IS NOT NULL")
    return ["DELETE FROM stats_rollup", _sums(f"({visits} UNION ALL {findings}) AS x")]


def rebuild() -> int:
    """Recompute the whole rollup (set-based; `inspect-api stats rebuild`); returns the number of rows.
    The caller commits."""
    _lock()
    for statement in rebuild_sql("postgresql" if is_postgres() else "sqlite"):
        db.session.execute(sa.text(statement))
    return db.session.scalar(sa.text("SELECT count(*) FROM stats_rollup"))


def compact() -> dict:
    """Fold each key's delta rows into one (keys whose figures sum to nothing go); the nightly job
    and `inspect-api stats compact`. Returns the row counts before and after. The caller commits."""
    _lock()
    before, top = db.session.execute(sa.text("SELECT count(*), max(id) FROM stats_rollup")).one()
    if top is not None:
        db.session.execute(sa.text(_sums("stats_rollup", "WHERE id <= :top")), {"top": top})
        db.session.execute(sa.text("DELETE FROM stats_rollup WHERE id <= :top"), {"top": top})
    after = db.session.scalar(sa.text("SELECT count(*) FROM stats_rollup"))
    return {"rows_before": before, "rows_after": after}


# --- reading -------------------------------------------------------------------------------------------

def _month_start(d: date) -> date:
    return d.replace(day=1)


def _next_month(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


def segments(ranges: list[tuple[date, date]], months: bool = True, cuts=()) -> list[tuple[str, date, date]]:
    """Local day ranges (both ends included, touching or overlapping ones merged, then split at each
    day of `cuts` so no month row straddles one) as the rollup is read: (grain, first bucket, last
    bucket); whole months by their month rows when `months`, the other days by their day rows."""
    merged: list[list[date]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1] + timedelta(days=1):
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces = []
    for start, end in merged:
        for cut in sorted(c for c in cuts if start < c <= end):
            pieces.append((start, cut - timedelta(days=1)))
            start = cut
        pieces.append((start, end))
    out = []
    for start, end in pieces:
        first_whole = start if start.day == 1 else _next_month(start)
        after_whole = _month_start(end + timedelta(days=1))  # the 1st after the last whole month
        if not months or first_whole >= after_whole:
            out.append(("d", start, end))
            continue
        if start < first_whole:
            out.append(("d", start, first_whole - timedelta(days=1)))
        out.append(("m", first_whole, _month_start(after_whole - timedelta(days=1))))
        if after_whole <= end:
            out.append(("d", after_whole, end))
    merged_out: list[list] = []  # adjacent pieces of one grain as one range
    for grain, lo, hi in out:
        if merged_out and merged_out[-1][0] == grain and (
                merged_out[-1][2] + timedelta(days=1) == lo if grain == "d" else _next_month(merged_out[-1][2]) == lo):
            merged_out[-1][2] = hi
        else:
            merged_out.append([grain, lo, hi])
    return [(g, lo, hi) for g, lo, hi in merged_out]


def in_segments(segs) -> sa.ColumnElement:
    t = stats_rollup.c
    return sa.or_(*(sa.and_(t.grain == grain, t.bucket >= lo, t.bucket <= hi) for grain, lo, hi in segs))


def due_this_month(segs, as_of: date) -> sa.ColumnElement | None:
    """Where `effective_columns` cannot tell: the day rows, under the month rows `segs` reads, of open
    rectifications due in `as_of`'s month before `as_of` (their month rows count them as open); None
    when there are none to look for."""
    t = stats_rollup.c
    months = [(lo, _next_month(hi) - timedelta(days=1)) for grain, lo, hi in segs if grain == "m"]
    first = _month_start(as_of)
    if not months or first >= as_of:
        return None
    return sa.and_(t.grain == "d", t.open_due >= first, t.open_due < as_of,
                   sa.or_(*(sa.and_(t.bucket >= lo, t.bucket <= hi) for lo, hi in months)))


def moved_to_overdue() -> dict[str, sa.ColumnElement]:
    """The measures of a correction row (`due_this_month`): its open rectifications moved to overdue."""
    t = stats_rollup.c
    zero = sa.literal_column("0")
    cols: dict[str, sa.ColumnElement] = {m: zero for m in MEASURES}
    for p in ("r_", "rv_"):
        cols[f"{p}open"], cols[f"{p}overdue"] = -t[f"{p}open"], t[f"{p}open"]
    return cols


def effective_columns(as_of: date) -> dict[str, sa.ColumnElement]:
    """The rollup's measures per row, an open rectification due before `as_of` counted as overdue:
    day rows by its due day; month rows by its due month (those due earlier this month are moved by
    the correction rows of `due_this_month`)."""
    t = stats_rollup.c
    late = sa.or_(sa.and_(t.grain == "d", t.open_due < as_of), sa.and_(t.grain == "m", t.open_due < _month_start(as_of)))
    cols: dict[str, sa.ColumnElement] = {m: t[m] for m in MEASURES}
    zero = sa.literal_column("0")
    for p in ("r_", "rv_"):
        cols[f"{p}open"] = sa.case((late, zero), else_=t[f"{p}open"])
        cols[f"{p}overdue"] = t[f"{p}overdue"] + sa.case((late, t[f"{p}open"]), else_=zero)
    return cols
