"""Aggregate queries behind the bulletin and the dashboards: GROUP BY runs in the database and only
counts come back (a few hundred groups at most, folded into the answer).

Every figure is keyed on when its visit was submitted (`visits.submitted_at`, UTC), filtered with the
UTC range of the requested local days, so the range can be served by an index on that column and no
function is applied to a column in a WHERE clause. A finding counts in the period its visit was
submitted in (a visit sent back for more evidence keeps its place until it is submitted again); a
rectification counts with its finding, in its state today. Findings still being written (`draft`)
never count, nor do visits that were never submitted.

A unit's liaison sees its own subtree only, and only the findings it is shown elsewhere (confirmed or
withdrawn); it gets no visit counts: how often and when a unit was visited, before any finding is
confirmed, would point at the covert inspectors. No figure names an inspector.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from inspect_api.auth.rules import Role
from inspect_api.core import clock
from inspect_api.core.categories import CATEGORIES, SEVERITIES
from inspect_api.core.clock import LOCAL_TZ
from inspect_api.db import db, is_postgres
from inspect_api.errors import Unprocessable
from inspect_api.org.models import Unit
from inspect_api.org.services import STAFFING_LABEL, get_unit
from inspect_api.review.models import RECTIFICATION_STATUS, Rectification
from inspect_api.review.rules import STATUS_LABELS
from inspect_api.stats import rollup, rules
from inspect_api.stats.models import MEASURES, stats_rollup
from inspect_api.visits.models import Finding, Visit

FINDING_STATUSES = tuple(s for s in STATUS_LABELS if s != "draft")
UNIT_VISIBLE_STATUSES = ("confirmed", "withdrawn")  # what /unit/findings shows a liaison
RECTIFICATION_STATES = tuple(RECTIFICATION_STATUS.enums)  # "overdue" also covers open ones past due
UNIT_SORTS = ("points", "confirmed", "findings", "visits", "rectifications_open", "rectifications_overdue",
              "code", "name")


@dataclass(frozen=True)
class Scope:
    """What a caller's query may count."""

    root: Unit | None  # the subtree counted; None: every unit
    liaison: bool
    category: str | None
    severity: str | None
    mode: str | None

    @property
    def visits_visible(self) -> bool:
        return not self.liaison

    def filters(self) -> dict:
        return {"under": self.root.id if self.root else None, "category": self.category,
                "severity": self.severity, "mode": self.mode}


def scope_for(user, args: dict) -> Scope:
    """`under` narrows to a subtree (404 when unknown or outside the caller's own subtree); a liaison
    without `under` gets its own unit's subtree."""
    liaison = user.role == Role.UNIT_LIAISON
    if args.get("under"):
        root = get_unit(args["under"], user)
    elif liaison:
        root = get_unit(user.unit_id, user) if user.unit_id else Unit(id=0, path="/none/")
    else:
        root = None
    return Scope(root, liaison, args.get("category"), args.get("severity"), args.get("mode"))



# --- building blocks --------------------------------------------------------------------------------

def _within(ranges: list[tuple[datetime, datetime]]):
    """Submitted inside one of the half-open UTC ranges (touching ranges become one)."""
    merged: list[list[datetime]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return sa.or_(*(sa.and_(Visit.submitted_at >= s, Visit.submitted_at < e) for s, e in merged))


def _in_subtree(column, scope: Scope) -> list:
    if scope.root is None:
        return []
    return [column.in_(sa.select(Unit.id).where(Unit.path.startswith(scope.root.path)))]


def _visit_conditions(scope: Scope, ranges) -> list:
    conditions = [_within(ranges), *_in_subtree(Visit.unit_id, scope)]
    if scope.mode:
        conditions.append(Visit.mode == scope.mode)
    return conditions


def _finding_conditions(scope: Scope, ranges) -> list:
    # the visit's unit is the finding's: filtering the visits (the smaller side) prunes before the join
    conditions = [_within(ranges), *_in_subtree(Visit.unit_id, scope),
                  Finding.status.in_(UNIT_VISIBLE_STATUSES) if scope.liaison else Finding.status != "draft"]
    if scope.mode:
        conditions.append(Visit.mode == scope.mode)
    if scope.category:
        conditions.append(Finding.category == scope.category)
    if scope.severity:
        conditions.append(Finding.severity == scope.severity)
    return conditions


def _findings_joined(*columns) -> sa.Select:
    return (sa.select(*columns).select_from(Finding).join(Visit, Visit.id == Finding.visit_id)
            .outerjoin(Rectification, Rectification.finding_id == Finding.id))


def _rectification_state(as_of: date):
    """The rectification's state today: an open one past its day is overdue even before the nightly
    job flags it; NULL when the finding has none."""
    return sa.case((_past_due(as_of), "overdue"), else_=Rectification.status)


def _past_due(as_of: date):
    return sa.and_(Rectification.status == "open", Rectification.due_on < as_of)


def _count_if(condition):
    return sa.func.count(sa.case((condition, 1)))


def _sum_if(condition, column):
    return sa.func.coalesce(sa.func.sum(sa.case((condition, column), else_=0)), 0)


def _for_aggregates() -> None:
    """PostgreSQL: no JIT for these statements; compiling them costs more (~0.2 s) than it saves at a
    few hundred thousand rows; and room to sort or hash the rollup's rows of a year in memory (the
    default 4 MB spills them to disk). SET LOCAL ends with the request's transaction."""
    if is_postgres():
        db.session.execute(sa.text("SET LOCAL jit = off"))
        db.session.execute(sa.text("SET LOCAL work_mem = '32MB'"))


def _bucket_start(column, granularity: str):
    """The local first day of the week (ISO, Monday), month or quarter of a UTC timestamp column."""
    if is_postgres():
        return sa.cast(sa.func.date_trunc(granularity, sa.func.timezone(LOCAL_TZ.key, column)), sa.Date)
    # SQLite keeps naive UTC text and knows no zones; Asia/Shanghai has been UTC+8 all year since 1991.
    minutes = int(LOCAL_TZ.utcoffset(datetime(2000, 1, 1)).total_seconds() // 60)
    local_ts = sa.func.datetime(column, f"{minutes:+d} minutes")
    if granularity == "week":
        return sa.func.date(local_ts, "weekday 0", "-6 days")  # the coming Sunday (or today), minus six
    if granularity == "month":
        return sa.func.strftime("%Y-%m-01", local_ts)
    first_month = (sa.cast(sa.func.strftime("%m", local_ts), sa.Integer) - 1) // 3 * 3 + 1
    return sa.func.printf("%s-%02d-01", sa.func.strftime("%Y", local_ts), first_month)


# --- the rollup (stats/rollup.py) ---------------------------------------------------------------------

def _uses_rollup(scope: Scope, use_rollup: bool | None) -> bool:
    """The rollup has no category, severity or mode: those filters read the raw tables."""
    if use_rollup is not None:
        return use_rollup
    return not (scope.category or scope.severity or scope.mode)


def _rollup_rows(scope: Scope, local_ranges, as_of: date, keys: list, *, months: bool = True,
                 cuts=()) -> sa.Subquery:
    """The rollup's rows of the local days with `keys` (k0, k1 …) and the measures (models.MEASURES),
    open rectifications past due as of `as_of` counted as overdue: sum them grouped by the keys."""
    t = stats_rollup.c
    segs = rollup.segments(local_ranges, months, cuts)
    labelled = [k.label(f"k{i}") for i, k in enumerate(keys)]
    rows = (sa.select(*labelled, *(c.label(m) for m, c in rollup.effective_columns(as_of).items()))
            .where(rollup.in_segments(segs), *_in_subtree(t.unit_id, scope)))
    due = rollup.due_this_month(segs, as_of)
    if due is not None:
        correction = (sa.select(*labelled, *(c.label(m) for m, c in rollup.moved_to_overdue().items()))
                      .where(due, *_in_subtree(t.unit_id, scope)))
        return sa.union_all(rows, correction).subquery("ru")
    return rows.subquery("ru")


def _summed(rows: sa.Subquery, n_keys: int) -> sa.Select:
    keys = [rows.c[f"k{i}"] for i in range(n_keys)]
    return sa.select(*keys, *(sa.func.sum(rows.c[m]).label(m) for m in MEASURES)).group_by(*keys)


def _shown(scope: Scope, m: dict) -> dict:
    """The figures a caller is shown of a set of summed measures (a liaison: its visible findings)."""
    statuses = UNIT_VISIBLE_STATUSES if scope.liaison else FINDING_STATUSES
    p = "rv_" if scope.liaison else "r_"
    return {"visits": m["visits"], "findings": sum(m[f"f_{s}"] for s in statuses), "confirmed": m["f_confirmed"],
            "points": m["points"], "rectifications_open": m[f"{p}open"],
            "rectifications_overdue": m[f"{p}overdue"]}


def _add_rollup(fig: dict, scope: Scope, m: dict) -> None:
    """Fold a period's summed measures (and `units_visited`) into the figures."""
    if scope.visits_visible:
        fig["visits"] += m["visits"]
        fig["units_visited"] += m["units_visited"]
    for s in (UNIT_VISIBLE_STATUSES if scope.liaison else FINDING_STATUSES):
        fig["findings"]["total"] += m[f"f_{s}"]
        fig["findings"]["by_status"][s] += m[f"f_{s}"]
    confirmed = fig["confirmed"]
    confirmed["total"] += m["f_confirmed"]
    confirmed["points"] += m["points"]
    for c in CATEGORIES:
        confirmed["by_category"][c] += m[f"c_{c}"]
    for s in SEVERITIES:
        confirmed["by_severity"][s] += m[f"s_{s}"]
    p = "rv_" if scope.liaison else "r_"
    for s in RECTIFICATION_STATES:
        fig["rectifications"][s] += m[f"{p}{s}"]


def _summary_from_rollup(scope: Scope, as_of: date, period, compared, figures: dict) -> list | None:
    """The two periods' figures from the rollup, folded into `figures`; returns the current period's
    rows per window for the staffing roll-up, or None when a confirmed finding has a category the
    rollup has no column for (then the raw tables answer)."""
    t = stats_rollup.c
    rows = _rollup_rows(scope, [(compared.start, compared.end), (period.start, period.end)], as_of,
                        [sa.case((t.bucket >= period.start, 1), else_=0), t.unit_id], cuts=[period.start])
    by_period: dict[int, list] = {0: [], 1: []}
    for current, unit_id, *values in db.session.execute(_summed(rows, 2)):
        by_period[current].append((unit_id, *values))
    visits, other = 1 + MEASURES.index("visits"), 1 + MEASURES.index("c_other")
    for current, units in by_period.items():
        if not units:
            continue
        totals = [int(v) for v in map(sum, zip(*units, strict=True))]
        if totals[other]:
            return None
        m = dict(zip(MEASURES, totals[1:], strict=True))
        m["units_visited"] = sum(1 for u in units if u[visits] > 0)
        _add_rollup(figures["current" if current else "previous"], scope, m)
    windows = []
    current_units = {u[0]: u for u in by_period[1]}
    if current_units:
        index = {m: 1 + i for i, m in enumerate(MEASURES)}
        # every window of the scope (a few hundred rows), not an IN list of as many parameters
        for unit_id, code, name, staffing_id in db.session.execute(
                sa.select(Unit.id, Unit.code, Unit.name, Unit.staffing_unit_id)
                .where(Unit.kind == "window", *_in_subtree(Unit.id, scope))):
            u = current_units.get(unit_id)
            if u is None:
                continue
            shown = _shown(scope, {m: int(u[i]) for m, i in index.items()})
            if shown["findings"] > 0:
                windows.append((staffing_id, unit_id, code, name, shown["findings"], shown["confirmed"],
                                shown["points"], shown["rectifications_open"], shown["rectifications_overdue"]))
    return windows


def _empty_figures(scope: Scope) -> dict:
    hidden = None if scope.liaison else 0
    return {
        "visits": hidden, "units_visited": hidden,
        "findings": {"total": 0, "by_status": {s: 0 if not scope.liaison or s in UNIT_VISIBLE_STATUSES else None
                                               for s in FINDING_STATUSES}},
        "confirmed": {"total": 0, "points": 0, "by_category": dict.fromkeys(CATEGORIES, 0),
                      "by_severity": dict.fromkeys(SEVERITIES, 0)},
        "rectifications": dict.fromkeys(RECTIFICATION_STATES, 0),
    }


def _add_findings(fig: dict, status: str, category: str, severity: str, rect_status: str | None, n: int,
                  points: int, past_due: int) -> None:
    """Fold one aggregated group (not a row) into the figures."""
    if not n:
        return
    fig["findings"]["total"] += n
    by_status = fig["findings"]["by_status"]
    by_status[status] = (by_status.get(status) or 0) + n
    if status == "confirmed":
        confirmed = fig["confirmed"]
        confirmed["total"] += n
        confirmed["points"] += points
        confirmed["by_category"][category] = confirmed["by_category"].get(category, 0) + n
        confirmed["by_severity"][severity] = confirmed["by_severity"].get(severity, 0) + n
    if rect_status is not None:
        rects = fig["rectifications"]
        rects[rect_status] = rects.get(rect_status, 0) + n - past_due
        rects["overdue"] = rects.get("overdue", 0) + past_due


# --- summary ----------------------------------------------------------------------------------------

def summary(user, args: dict, *, use_rollup: bool | None = None) -> dict:
    """The period's figures, the compared period's, and the change: two grouped queries, each scanning
    both periods at once.

    The groups are plain columns (status, category, severity, rectification status) and each period
    is a conditional aggregate: PostgreSQL then estimates a few hundred groups and hashes them, where
    grouping by an expression over `submitted_at` made it expect one group per row and sort them all.
    """
    scope = scope_for(user, args)
    as_of = clock.today()
    period = rules.make_period(args.get("start"), args.get("end"), as_of)
    comparison = args.get("compare") or "previous"
    compared = rules.compared_period(period, comparison)
    current_range, compared_range = period.utc_range(LOCAL_TZ), compared.utc_range(LOCAL_TZ)
    ranges = [compared_range, current_range]
    is_current = Visit.submitted_at >= current_range[0]
    is_previous = Visit.submitted_at < current_range[0]
    figures = {"current": _empty_figures(scope), "previous": _empty_figures(scope)}
    _for_aggregates()

    windows = None
    if _uses_rollup(scope, use_rollup):
        windows = _summary_from_rollup(scope, as_of, period, compared, figures)
        if windows is None:
            figures = {"current": _empty_figures(scope), "previous": _empty_figures(scope)}
    if windows is None:
        _summary_from_raw(scope, as_of, ranges, is_current, is_previous, figures)
        windows = _staffing_rows(scope, [current_range], as_of)

    return {"period": period.as_dict(), "compared_with": compared.as_dict(), "comparison": comparison,
            "as_of": as_of, "filters": scope.filters(), "current": figures["current"],
            "by_staffing_unit": _staffing(windows),
            "previous": figures["previous"], "change": rules.change(figures["current"], figures["previous"]),
            "ratings": {"current": _ratings_figures(scope, period), "previous": _ratings_figures(scope, compared)}}


def _summary_from_raw(scope: Scope, as_of: date, ranges, is_current, is_previous, figures: dict) -> None:
    if scope.visits_visible:
        row = db.session.execute(
            sa.select(_count_if(is_current), sa.func.count(sa.distinct(sa.case((is_current, Visit.unit_id)))),
                      _count_if(is_previous), sa.func.count(sa.distinct(sa.case((is_previous, Visit.unit_id)))))
            .where(*_visit_conditions(scope, ranges))).one()
        figures["current"]["visits"], figures["current"]["units_visited"] = row[0], row[1]
        figures["previous"]["visits"], figures["previous"]["units_visited"] = row[2], row[3]

    keys = (Finding.status, Finding.category, Finding.severity, Rectification.status)
    past_due = _past_due(as_of)
    stmt = (_findings_joined(*keys,
                             _count_if(is_current), _sum_if(is_current, Finding.points),
                             _count_if(sa.and_(is_current, past_due)),
                             _count_if(is_previous), _sum_if(is_previous, Finding.points),
                             _count_if(sa.and_(is_previous, past_due)))
            .where(*_finding_conditions(scope, ranges)).group_by(*keys))
    for status, category, severity, rect, *counts in db.session.execute(stmt):
        _add_findings(figures["current"], status, category, severity, rect, *counts[:3])
        _add_findings(figures["previous"], status, category, severity, rect, *counts[3:])



# --- a window's findings rolled up to its staffing department ----------------------------------------

STAFFING_BASIS = ("窗口的问题既计入窗口本身（current 及各单位数字不变），又按窗口的进驻部门汇总（进驻部门负责）；"
                  "未登记进驻部门的窗口（如乡镇便民服务中心窗口）的问题只计入窗口本身 / a window's findings count at "
                  "the window (the figures above are unchanged) and, rolled up, at the department that staffs it; "
                  "windows with no staffing department (a township centre's, say) only at the window")


def _window_figures(name: str, code: str, unit_id: int, label: str) -> dict:
    return {"unit_id": unit_id, "code": code, "name": name, "label": label, "findings": 0, "confirmed": 0,
            "points": 0, "rectifications_open": 0, "rectifications_overdue": 0}


def _staffing_rows(scope: Scope, ranges, as_of: date) -> list:
    """The period's findings at windows, per window, from the raw tables: one grouped query over
    findings at units of kind `window`."""
    window = aliased(Unit, name="window")
    state = _rectification_state(as_of)
    confirmed = Finding.status == "confirmed"
    stmt = (_findings_joined(window.staffing_unit_id, window.id, window.code, window.name, sa.func.count(),
                             _count_if(confirmed), _sum_if(confirmed, Finding.points), _count_if(state == "open"),
                             _count_if(state == "overdue"))
            .join(window, window.id == Finding.unit_id)
            .where(*_finding_conditions(scope, ranges), window.kind == "window")
            .group_by(window.staffing_unit_id, window.id, window.code, window.name))
    return list(db.session.execute(stmt))


def _staffing(windows: list) -> dict:
    """The windows' figures (staffing department id, window id, code, name, findings, confirmed,
    points, open, overdue), by the window and rolled up to its staffing department."""
    departments: dict[int, dict] = {}
    unstaffed = _window_figures("", "", 0, "")
    unstaffed_windows = []
    figures = ("findings", "confirmed", "points", "rectifications_open", "rectifications_overdue")
    for staffing_id, window_id, code, name, *counts in windows:
        row = _window_figures(name, code, window_id, "窗口 / at the window")
        row.update(zip(figures, (int(c) for c in counts), strict=True))
        if staffing_id is None:
            unstaffed_windows.append(row)
            target = unstaffed
        else:
            target = departments.setdefault(staffing_id, {**_window_figures("", "", staffing_id, STAFFING_LABEL),
                                                          "windows": []})
            target["windows"].append(row)
        for key in figures:
            target[key] += row[key]
    if departments:
        for unit_id, code, name in db.session.execute(
                sa.select(Unit.id, Unit.code, Unit.name).where(Unit.id.in_(list(departments)))):
            departments[unit_id].update(code=code, name=name)
    for dept in departments.values():
        dept["label"] = f"{STAFFING_LABEL}：进驻窗口合计 / its staffed windows, rolled up"
        dept["windows"].sort(key=lambda w: w["code"])
    rows = sorted(departments.values(), key=lambda d: (-d["points"], -d["confirmed"], d["code"]))
    unstaffed.pop("unit_id"), unstaffed.pop("code"), unstaffed.pop("name")
    unstaffed["label"] = "无进驻部门的窗口：只计入窗口本身 / windows with no staffing department"
    unstaffed["windows"] = sorted(unstaffed_windows, key=lambda w: w["code"])
    return {"basis": STAFFING_BASIS, "departments": rows, "unstaffed_windows": unstaffed}


def _ratings_figures(scope: Scope, period) -> dict:
    """The 好差评 of the period in the scope (by rating day): count, average, 满意率, 差评 count, as the
    ratings summary counts them. The category, severity and mode filters are about findings: ignored."""
    from inspect_api.ratings.models import Rating
    from inspect_api.ratings.rules import BAD_SCORE_MAX, SATISFIED_MIN

    count, total, satisfied, bad = db.session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(Rating.score), 0),
                  _count_if(Rating.score >= SATISFIED_MIN), _count_if(Rating.score <= BAD_SCORE_MAX))
        .where(Rating.rated_on >= period.start, Rating.rated_on <= period.end,
               *_in_subtree(Rating.unit_id, scope))).one()
    if not count:
        return {"count": 0, "average": None, "satisfaction_rate": None, "bad_count": 0}
    return {"count": count, "average": round(total / count, 2), "satisfaction_rate": round(satisfied / count, 4),
            "bad_count": bad}


# --- trend ------------------------------------------------------------------------------------------

def trend(user, args: dict, *, use_rollup: bool | None = None) -> dict:
    """One point per week, month or quarter of the period (twelve months by default)."""
    scope = scope_for(user, args)
    as_of = clock.today()
    period = rules.make_period(args.get("start"), args.get("end"), as_of, default_months=12)
    granularity = args.get("granularity") or "month"
    ranges = [period.utc_range(LOCAL_TZ)]
    hidden = None if scope.liaison else 0
    points = {b.natural_start.isoformat(): {
        "key": b.key, "start": b.start, "end": b.end, "visits": hidden, "findings": 0, "confirmed": 0,
        "points": 0, "rectifications_open": 0, "rectifications_overdue": 0}
        for b in rules.buckets(period, granularity)}
    _for_aggregates()

    if _uses_rollup(scope, use_rollup):
        rows = _rollup_rows(scope, [(period.start, period.end)], as_of, [stats_rollup.c.bucket],
                            months=granularity != "week")
        for day, *values in db.session.execute(_summed(rows, 1)):
            day = day if isinstance(day, date) else date.fromisoformat(str(day)[:10])
            shown = _shown(scope, dict(zip(MEASURES, (int(v) for v in values), strict=True)))
            point = points[rules.bucket_start(day, granularity).isoformat()]
            for key, value in shown.items():
                if key != "visits" or scope.visits_visible:
                    point[key] += value
    else:
        _trend_from_raw(scope, ranges, as_of, granularity, points)

    return {"period": period.as_dict(), "granularity": granularity, "as_of": as_of, "filters": scope.filters(),
            "buckets": list(points.values())}


def _trend_from_raw(scope: Scope, ranges, as_of: date, granularity: str, points: dict) -> None:
    # Grouped outside a subquery: the bucket expression carries bound parameters, which PostgreSQL
    # would not recognise as the same expression in SELECT and GROUP BY.
    if scope.visits_visible:
        v = (sa.select(_bucket_start(Visit.submitted_at, granularity).label("bucket"))
             .where(*_visit_conditions(scope, ranges)).subquery())
        for bucket, n in db.session.execute(sa.select(v.c.bucket, sa.func.count()).group_by(v.c.bucket)):
            points[str(bucket)[:10]]["visits"] = n

    state = _rectification_state(as_of)
    confirmed = Finding.status == "confirmed"
    f = (_findings_joined(_bucket_start(Visit.submitted_at, granularity).label("bucket"),
                          confirmed.label("confirmed"), Finding.points, state.label("rectification"))
         .where(*_finding_conditions(scope, ranges))).subquery()
    stmt = (sa.select(f.c.bucket, sa.func.count(), _count_if(f.c.confirmed), _sum_if(f.c.confirmed, f.c.points),
                      _count_if(f.c.rectification == "open"), _count_if(f.c.rectification == "overdue"))
            .group_by(f.c.bucket))
    for bucket, n, n_confirmed, pts, n_open, n_overdue in db.session.execute(stmt):
        points[str(bucket)[:10]].update(findings=n, confirmed=n_confirmed, points=pts, rectifications_open=n_open,
                                        rectifications_overdue=n_overdue)



# --- per unit ---------------------------------------------------------------------------------------

def _path_depth(column):
    """How many ids a materialised path holds ("/1/4/9/" -> 3)."""
    return sa.func.length(column) - sa.func.length(sa.func.replace(column, "/", "")) - 1


def _ids_in(path: str) -> int:
    return path.count("/") - 1


def unit_rows(user, args: dict, *, use_rollup: bool | None = None) -> tuple[sa.Select, Scope]:
    """One row per unit of the scope (active, or with figures in the period): its visits, findings,
    confirmed findings, deduction points and open and overdue rectifications; with `rollup`, each
    row counts its unit's whole subtree; `depth` keeps the units that many levels below `under` (or
    below the top when there is no `under`)."""
    scope = scope_for(user, args)
    as_of = clock.today()
    period = rules.make_period(args.get("start"), args.get("end"), as_of)
    ranges = [period.utc_range(LOCAL_TZ)]
    sort = args.get("sort") or "points"
    if sort == "visits" and not scope.visits_visible:
        raise Unprocessable("单位联络员不能按检查次数排序 (visits are not shown to units)",
                            {"fields": {"sort": ["visits are not shown to units"]}})

    if _uses_rollup(scope, use_rollup):
        fa = va = _unit_figures_from_rollup(scope, period, ranges, as_of)
    else:
        fa, va = _unit_figures_from_raw(scope, ranges, as_of)
    row_unit, member = aliased(Unit, name="row_unit"), aliased(Unit, name="member")
    joined = member.path.startswith(row_unit.path) if args.get("rollup") else member.id == row_unit.id

    def total(column):
        return sa.func.coalesce(sa.func.sum(column), 0)

    figures = {name: total(fa.c[name]).label(name) for name in
               ("findings", "confirmed", "points", "rectifications_open", "rectifications_overdue")}
    stmt = (sa.select(row_unit.id.label("unit_id"), row_unit.code, row_unit.name, row_unit.kind,
                      row_unit.parent_id)
            .select_from(row_unit).join(member, joined).outerjoin(fa, fa.c.unit_id == member.id))
    active = [row_unit.is_active, total(fa.c.findings) > 0]
    if scope.visits_visible:
        if va is not fa:
            stmt = stmt.outerjoin(va, va.c.unit_id == member.id)
        figures["visits"] = total(va.c.visits).label("visits")
        active.append(total(va.c.visits) > 0)
    else:
        figures["visits"] = sa.null().label("visits")
    stmt = stmt.add_columns(*figures.values(), sa.func.count().over().label("total_rows"))
    if scope.root is not None:
        stmt = stmt.where(row_unit.path.startswith(scope.root.path))
    if args.get("depth") is not None:
        top = _ids_in(scope.root.path) if scope.root is not None else 1
        stmt = stmt.where(_path_depth(row_unit.path) == top + args["depth"])
    stmt = (stmt.group_by(row_unit.id, row_unit.code, row_unit.name, row_unit.kind, row_unit.parent_id,
                          row_unit.is_active)
            .having(sa.or_(*active)))
    key = {"code": row_unit.code, "name": row_unit.name}.get(sort, figures.get(sort))
    order = args.get("order") or ("asc" if sort in ("code", "name") else "desc")
    return stmt.order_by(key.desc() if order == "desc" else key.asc(), row_unit.code, row_unit.id), scope


def _unit_figures_from_rollup(scope: Scope, period, ranges, as_of: date) -> sa.Subquery:
    """Per unit: findings, confirmed, points, open and overdue rectifications, visits (the rollup)."""
    rows = _rollup_rows(scope, [(period.start, period.end)], as_of, [stats_rollup.c.unit_id])
    statuses = UNIT_VISIBLE_STATUSES if scope.liaison else FINDING_STATUSES
    p = "rv_" if scope.liaison else "r_"
    return (sa.select(rows.c.k0.label("unit_id"),
                      sa.func.sum(sum((rows.c[f"f_{s}"] for s in statuses[1:]), rows.c[f"f_{statuses[0]}"]))
                      .label("findings"),
                      sa.func.sum(rows.c.f_confirmed).label("confirmed"), sa.func.sum(rows.c.points).label("points"),
                      sa.func.sum(rows.c[f"{p}open"]).label("rectifications_open"),
                      sa.func.sum(rows.c[f"{p}overdue"]).label("rectifications_overdue"),
                      sa.func.sum(rows.c.visits).label("visits"))
            .group_by(rows.c.k0).subquery("fa"))


def _unit_figures_from_raw(scope: Scope, ranges, as_of: date) -> tuple[sa.Subquery, sa.Subquery]:
    state = _rectification_state(as_of)
    confirmed = Finding.status == "confirmed"
    fa = (_findings_joined(Finding.unit_id.label("unit_id"), sa.func.count().label("findings"),
                           sa.func.count(sa.case((confirmed, 1))).label("confirmed"),
                           sa.func.sum(sa.case((confirmed, Finding.points), else_=0)).label("points"),
                           sa.func.count(sa.case((state == "open", 1))).label("rectifications_open"),
                           sa.func.count(sa.case((state == "overdue", 1))).label("rectifications_overdue"))
          .where(*_finding_conditions(scope, ranges)).group_by(Finding.unit_id).subquery("fa"))
    va = (sa.select(Visit.unit_id.label("unit_id"), sa.func.count().label("visits"))
          .where(*_visit_conditions(scope, ranges)).group_by(Visit.unit_id).subquery("va"))
    return fa, va


def page_of_units(user, args: dict, page: int, page_size: int, *, use_rollup: bool | None = None
                  ) -> tuple[list[dict], int]:
    """One page of unit rows and the number of rows (the window count saves a second aggregate)."""
    stmt, _ = unit_rows(user, args, use_rollup=use_rollup)
    _for_aggregates()
    rows = [dict(r) for r in db.session.execute(stmt.offset((page - 1) * page_size).limit(page_size)).mappings()]
    if rows:
        count = rows[0]["total_rows"]
    else:
        count = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery()))
    return rows, count
