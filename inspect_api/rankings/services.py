"""Rankings computed on request from the tables as they are (no table of their own): confirmed findings,
submitted visits and citizen ratings of a period, grouped in the database, scored by the pure rules.

When something counts in a period:
- a visit: when it was submitted (`visits.submitted_at`), as in the statistics and the bulletin;
- a confirmed finding: with its visit, when the visit was submitted; a finding without a visit (one
  from a complaint) when it was observed, else when it was recorded;
- a rating: on the local day it was given (`ratings.rated_on`).

Staff are ranked by the confirmed findings that name them and the visits to them; a window's ratings
count for a member of staff only where exactly one active member of staff of the unit holds that
window number today (ratings name a window, not a person, and the registry keeps no window history).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import date

import sqlalchemy as sa
from flask import current_app

from inspect_api.auth.rules import Role
from inspect_api.core import clock
from inspect_api.core.categories import SEVERITIES
from inspect_api.core.clock import LOCAL_TZ
from inspect_api.db import db
from inspect_api.errors import Unprocessable
from inspect_api.org.models import Staff, Unit
from inspect_api.org.services import STAFFING_LABEL, get_unit, staffing_of_windows
from inspect_api.rankings import rules
from inspect_api.rankings.rules import Period, RankingPolicy
from inspect_api.ratings.models import Rating
from inspect_api.ratings.rules import BAD_SCORE_MAX, SATISFIED_MIN
from inspect_api.stats import rules as stats_rules
from inspect_api.visits.models import FINDING_SOURCE, Finding, Visit

COMPLAINT_SOURCE = "complaint"


def policy() -> RankingPolicy:
    return current_app.extensions["inspect_rankings_policy"]


def complaints_recorded() -> bool:
    """Whether findings can come from complaints yet (the complaints feature adds the source)."""
    return COMPLAINT_SOURCE in FINDING_SOURCE.enums


@dataclass(frozen=True)
class Scope:
    root: Unit | None  # the ranked population: this subtree; None: every unit
    own: Unit | None  # a liaison's unit: only its subtree's rows are shown; None: everything

    @property
    def liaison(self) -> bool:
        return self.own is not None

    def visible(self, path: str) -> bool:
        return self.own is None or path.startswith(self.own.path)


def scope_for(user, args: dict) -> Scope:
    """`under` narrows the ranked population to a subtree (404 when unknown or outside a liaison's own
    subtree). A liaison is ranked among the whole county (or `under`), and shown its own units only."""
    root = get_unit(args["under"], user) if args.get("under") else None
    own = None
    if user.role == Role.UNIT_LIAISON:
        own = db.session.get(Unit, user.unit_id) if user.unit_id else None
        own = own or Unit(id=0, path="/none/")
    return Scope(root, own)


def period_for(args: dict, scope: Scope | None = None) -> Period:
    """The requested period. A liaison sees whole months, quarters or years that have ended (last month
    by default): a ranking of days, or of a month still running, would tell it on which days its unit
    was visited before anything was confirmed, and so point at the covert inspectors."""
    now = clock.today()
    if scope is not None and scope.liaison:
        if args.get("period") is None and args.get("start") is None and args.get("end") is None:
            last_month = stats_rules.add_months(now.replace(day=1), -1)
            return rules.period_of_key(f"{last_month.year}-{last_month.month:02d}")
        period = rules.resolve_period(args.get("period"), args.get("start"), args.get("end"), now)
        if rules.period_key(period) is None or period.end >= now:
            raise Unprocessable("单位联络员只能查看已结束的整月、整季或整年的排名 (a unit's liaison sees months, "
                                "quarters and years that have ended)",
                                {"fields": {"period": ["a month, quarter or year that has ended"]}})
        return period
    return rules.resolve_period(args.get("period"), args.get("start"), args.get("end"), now)


# --- figures from the database ------------------------------------------------------------------------

def _count_if(condition):
    return sa.func.count(sa.case((condition, 1)))


def _in_subtree(column, root: Unit | None) -> list:
    if root is None:
        return []
    return [column.in_(sa.select(Unit.id).where(Unit.path.startswith(root.path)))]


def _finding_in_period(period: Period):
    start, end = period.utc_range(LOCAL_TZ)
    seen = sa.func.coalesce(Finding.observed_at, Finding.created_at)
    return sa.or_(sa.and_(Finding.visit_id.is_not(None), Visit.submitted_at >= start, Visit.submitted_at < end),
                  sa.and_(Finding.visit_id.is_(None), seen >= start, seen < end))


def _blank() -> dict:
    return {"visits": 0, "findings_by_severity": {}, "points": 0, "unpointed_by_severity": {}, "complaints": 0,
            "ratings": 0, "rating_sum": 0, "satisfied": 0, "dissatisfied": 0, "matters_closed": 0, "matters_on_time": 0}


def _add_visits(acc: dict, key_column, period: Period, root: Unit | None) -> None:
    start, end = period.utc_range(LOCAL_TZ)
    stmt = (sa.select(key_column, sa.func.count())
            .where(Visit.status == "submitted", Visit.submitted_at >= start, Visit.submitted_at < end,
                   key_column.is_not(None), *_in_subtree(Visit.unit_id, root))
            .group_by(key_column))
    for key, n in db.session.execute(stmt):
        acc.setdefault(key, _blank())["visits"] = n


def _add_findings(acc: dict, key_column, period: Period, root: Unit | None) -> None:
    stmt = (sa.select(key_column, Finding.severity, sa.func.count(),
                      sa.func.coalesce(sa.func.sum(sa.case((Finding.points > 0, Finding.points), else_=0)), 0),
                      _count_if(Finding.points <= 0), _count_if(Finding.source == COMPLAINT_SOURCE))
            .select_from(Finding).outerjoin(Visit, Visit.id == Finding.visit_id)
            .where(Finding.status == "confirmed", _finding_in_period(period), key_column.is_not(None),
                   *_in_subtree(Finding.unit_id, root))
            .group_by(key_column, Finding.severity))
    for key, severity, n, points, unpointed, complaints in db.session.execute(stmt):
        f = acc.setdefault(key, _blank())
        f["findings_by_severity"][severity] = f["findings_by_severity"].get(severity, 0) + n
        f["points"] += int(points)
        if unpointed:
            f["unpointed_by_severity"][severity] = f["unpointed_by_severity"].get(severity, 0) + unpointed
        f["complaints"] += complaints


def _rating_groups(period: Period, root: Unit | None, *keys):
    stmt = (sa.select(*keys, sa.func.count(), sa.func.coalesce(sa.func.sum(Rating.score), 0),
                      _count_if(Rating.score >= SATISFIED_MIN), _count_if(Rating.score <= BAD_SCORE_MAX))
            .where(Rating.rated_on >= period.start, Rating.rated_on <= period.end,
                   *_in_subtree(Rating.unit_id, root))
            .group_by(*keys))
    return db.session.execute(stmt).all()


def _add_ratings(f: dict, n: int, total: int, satisfied: int, dissatisfied: int) -> None:
    f["ratings"] += n
    f["rating_sum"] += int(total)
    f["satisfied"] += satisfied
    f["dissatisfied"] += dissatisfied


def unit_figures(period: Period, root: Unit | None) -> dict[int, rules.Figures]:
    acc: dict[int, dict] = {}
    _add_visits(acc, Visit.unit_id, period, root)
    _add_findings(acc, Finding.unit_id, period, root)
    for unit_id, *counts in _rating_groups(period, root, Rating.unit_id):
        _add_ratings(acc.setdefault(unit_id, _blank()), *counts)
    _add_matters(acc, period, root)
    return {k: rules.Figures(**v) for k, v in acc.items()}


def _add_matters(acc: dict, period: Period, root: Unit | None) -> None:
    """Supervised matters (督办事项) each unit led and that were closed in the period, and how many of them
    closed 办结 (on time): for the 督办落实 component, where the policy weighs it."""
    # The matters feature sits above rankings in the layers (it runs the escalation rules): read its
    # table, not its module.
    matters = db.metadata.tables["supervised_matters"].c
    start, end = period.utc_range(LOCAL_TZ)
    stmt = (sa.select(matters.lead_unit_id, sa.func.count(), _count_if(matters.verdict == "done"))
            .where(matters.status == "closed", matters.closed_at >= start, matters.closed_at < end,
                   *_in_subtree(matters.lead_unit_id, root))
            .group_by(matters.lead_unit_id))
    for unit_id, closed, on_time in db.session.execute(stmt):
        f = acc.setdefault(unit_id, _blank())
        f["matters_closed"] += closed
        f["matters_on_time"] += on_time


@dataclass
class Attribution:
    """How a window's ratings reached staff: windows with one member of staff, and the rest."""

    attributed: int = 0  # ratings counted for a member of staff
    shared_windows: list = field(default_factory=list)  # (unit id, window no) held by several
    unheld: int = 0  # ratings of windows nobody holds


def staff_figures(period: Period, root: Unit | None) -> tuple[dict[int, rules.Figures], Attribution]:
    acc: dict[int, dict] = {}
    _add_visits(acc, Visit.staff_id, period, root)
    _add_findings(acc, Finding.staff_id, period, root)
    holders: dict[tuple[int, str], list[int]] = {}
    for staff_id, unit_id, window_no in db.session.execute(
            sa.select(Staff.id, Staff.unit_id, Staff.window_no)
            .where(Staff.is_active, Staff.window_no.is_not(None), *_in_subtree(Staff.unit_id, root))):
        holders.setdefault((unit_id, window_no.strip()), []).append(staff_id)
    how = Attribution()
    for unit_id, window_no, *counts in _rating_groups(period, root, Rating.unit_id, Rating.window_no):
        held = holders.get((unit_id, window_no), [])
        if len(held) == 1:
            _add_ratings(acc.setdefault(held[0], _blank()), *counts)
            how.attributed += counts[0]
        elif held:
            how.shared_windows.append((unit_id, window_no))
        else:
            how.unheld += counts[0]
    return {k: rules.Figures(**v) for k, v in acc.items()}, how


# --- rankings ---------------------------------------------------------------------------------------------

@dataclass
class Ranking:
    period: Period
    compared: Period
    rows: list[rules.Row]
    info: dict  # key -> the unit's or staff member's registry fields
    bottom: rules.Bottom
    previous: dict  # key -> rank in the compared period
    special: dict = field(default_factory=dict)  # unit id -> reasons
    method: str = ""
    staffed: dict = field(default_factory=dict)  # rollup=staffing: department id -> its windows' ids
    window_figures: dict = field(default_factory=dict)  # and each such window's own figures


ROLLUPS = ("staffing",)
ROLLUP_BASIS = ("rollup=staffing：有进驻部门的窗口不单独排名，其检查、问题和群众评价计入进驻部门（进驻部门负责），"
                "各窗口本身的数字列在部门行的 staffed_windows 中；未登记进驻部门、或进驻部门不在排名范围内的窗口仍单独排名 / "
                "windows staffed by a department are ranked with it, their own figures listed beside it")


def _sum_figures(a: rules.Figures, b: rules.Figures) -> rules.Figures:
    values = {}
    for f in fields(rules.Figures):
        x, y = getattr(a, f.name), getattr(b, f.name)
        values[f.name] = {k: x.get(k, 0) + y.get(k, 0) for k in {*x, *y}} if hasattr(x, "items") else x + y
    return rules.Figures(**values)


def _rolled_up(figures: dict[int, rules.Figures], staffing: dict[int, int]) -> dict[int, rules.Figures]:
    """Each staffed window's figures moved onto its department's."""
    out = dict(figures)
    for window_id, dept_id in staffing.items():
        own = out.pop(window_id, None)
        if own is not None:
            out[dept_id] = _sum_figures(out.get(dept_id, rules.Figures()), own)
    return out


def _units_info(root: Unit | None, ids) -> dict[int, dict]:
    """Units of the population: every active unit of the subtree, and inactive ones with figures."""
    cond = sa.or_(Unit.is_active, Unit.id.in_(list(ids))) if ids else Unit.is_active
    stmt = sa.select(Unit.id, Unit.code, Unit.name, Unit.kind, Unit.parent_id, Unit.path).where(cond)
    if root is not None:
        stmt = stmt.where(Unit.path.startswith(root.path))
    return {r.id: dict(r._mapping) for r in db.session.execute(stmt)}


def _method(pol: RankingPolicy, subject: str, extra: str = "") -> str:
    complaints = ("投诉数为来源为投诉的已确认问题数。" if complaints_recorded()
                  else "系统尚未记录投诉来源的问题，投诉数计为0。")
    return rules.method_text(pol, subject) + extra + complaints


def unit_ranking(period: Period, root: Unit | None, pol: RankingPolicy | None = None, *,
                 compare: bool = True, rollup: str | None = None) -> Ranking:
    """Units ranked on their own figures; with rollup="staffing", a window staffed by a department
    (both in the population) is not ranked on its own: its figures count for its department."""
    pol = pol or policy()
    own_figures = unit_figures(period, root)
    info = _units_info(root, own_figures)
    staffing = ({w: d for w, d in staffing_of_windows().items() if w in info and d in info}
                if rollup == "staffing" else {})
    figures = _rolled_up(own_figures, staffing)
    entries = [rules.Entry(uid, u["code"], figures.get(uid, rules.Figures())) for uid, u in info.items()
               if uid not in staffing]
    rows = rules.rank(entries, pol.units, pol.deduction_by_severity)
    compared = stats_rules.compared_period(period)
    previous = {}
    if compare:
        before = _rolled_up(unit_figures(compared, root), staffing)
        previous = {r.key: r.rank for r in rules.rank(
            [rules.Entry(uid, info[uid]["code"], fig) for uid, fig in before.items()
             if uid in info and uid not in staffing],
            pol.units, pol.deduction_by_severity) if r.rank is not None}
    special = {r.key: reasons for r in rows
               if (reasons := rules.special_supervision(r.figures, pol.special_supervision))}
    staffed: dict[int, list[int]] = {}
    for window_id, dept_id in sorted(staffing.items(), key=lambda wd: info[wd[0]]["code"]):
        staffed.setdefault(dept_id, []).append(window_id)
    return Ranking(period, compared, rows, info, rules.bottom(rows, pol.units.bottom, "单位"), previous, special,
                   _method(pol, "units", ROLLUP_BASIS if rollup == "staffing" else ""), staffed,
                   {w: own_figures.get(w, rules.Figures()) for w in staffing})


def _staff_info(ids) -> dict[int, dict]:
    if not ids:
        return {}
    stmt = (sa.select(Staff.id, Staff.badge_no, Staff.name, Staff.unit_id, Staff.window_no, Staff.post,
                      Staff.is_active, Unit.name.label("unit_name"), Unit.path)
            .join(Unit, Unit.id == Staff.unit_id).where(Staff.id.in_(list(ids))))
    return {r.id: dict(r._mapping) for r in db.session.execute(stmt)}


def staff_ranking(period: Period, root: Unit | None, pol: RankingPolicy | None = None, *,
                  compare: bool = True) -> Ranking:
    """Staff with figures in the period (staff with none are not listed: they are neither ranked nor
    named)."""
    pol = pol or policy()
    figures, how = staff_figures(period, root)
    info = _staff_info(set(figures))
    rows = rules.rank([rules.Entry(sid, info[sid]["badge_no"], fig) for sid, fig in figures.items() if sid in info],
                      pol.staff, pol.deduction_by_severity)
    compared = stats_rules.compared_period(period)
    previous = {}
    if compare:
        before, _ = staff_figures(compared, root)
        known = _staff_info(set(before))
        previous = {r.key: r.rank for r in rules.rank(
            [rules.Entry(sid, known[sid]["badge_no"], fig) for sid, fig in before.items() if sid in known],
            pol.staff, pol.deduction_by_severity) if r.rank is not None}
    extra = (f"群众评价按窗口号归属：本单位只有一名在岗工作人员的窗口，其评价计入该工作人员（本期{how.attributed}条）；"
             f"多人共用的窗口（{len(how.shared_windows)}个）及无人对应的窗口（评价{how.unheld}条）的评价不计入个人。"
             "只列出本期有检查、问题或评价的工作人员。")
    return Ranking(period, compared, rows, info, rules.bottom(rows, pol.staff.bottom, "工作人员"), previous, {},
                   _method(pol, "staff", extra))


# --- what the API shows (rankings/schemas.py dumps it) ------------------------------------------------------

def _change(rank: int | None, before: int | None) -> int | None:
    return None if rank is None or before is None else before - rank


@dataclass(frozen=True)
class StaffedWindow:
    """A window counted in its staffing department's row, with its own figures."""

    ranking: Ranking
    unit_id: int
    hide_visits: bool

    label = "窗口本身 / at the window"

    @property
    def info(self) -> dict:
        return self.ranking.info[self.unit_id]

    @property
    def figures(self) -> rules.Figures:
        return self.ranking.window_figures[self.unit_id]

    @property
    def visits(self) -> int | None:
        return None if self.hide_visits else self.figures.visits

    @property
    def by_severity(self) -> dict:
        return {s: self.figures.findings_by_severity.get(s, 0) for s in SEVERITIES}


@dataclass(frozen=True)
class RankedRow:
    """One unit's or member of staff's row: its figures, score, rank and their explanation."""

    ranking: Ranking
    row: rules.Row
    tie_break: tuple
    hide_visits: bool = False  # a liaison is not told how often its units were visited

    @property
    def info(self) -> dict:
        return self.ranking.info[self.row.key]

    @property
    def status(self) -> str:
        return "ranked" if self.row.rank is not None else "no_data"

    @property
    def previous_rank(self) -> int | None:
        return self.ranking.previous.get(self.row.key)

    @property
    def change(self) -> int | None:
        return _change(self.row.rank, self.previous_rank)

    @property
    def bottom(self) -> bool:
        return self.row.key in self.ranking.bottom.named

    @property
    def special_supervision(self) -> list:
        return self.ranking.special.get(self.row.key, [])

    @property
    def visits(self) -> int | None:
        return None if self.hide_visits else self.row.figures.visits

    @property
    def by_severity(self) -> dict:
        return {s: self.row.figures.findings_by_severity.get(s, 0) for s in SEVERITIES}

    @property
    def explanation(self) -> dict:
        row = self.row
        return {"text": row.score.text, "components": [c.as_dict() for c in row.score.components],
                "tie_break": [{"key": k, "label": rules.TIE_BREAKS[k][0], "value": v}
                              for k, v in zip(self.tie_break, row.tie_values, strict=True)]}

    @property
    def staffed_windows(self) -> list[StaffedWindow]:
        return [StaffedWindow(self.ranking, w, self.hide_visits) for w in self.ranking.staffed.get(self.row.key, [])]

    @property
    def basis(self) -> str:
        return "staffing" if self.ranking.staffed.get(self.row.key) else "unit"

    @property
    def basis_label(self) -> str:
        windows = self.ranking.staffed.get(self.row.key, [])
        return (f"{STAFFING_LABEL}：本单位及其进驻的{len(windows)}个窗口合计 / the unit and the windows it staffs"
                if windows else "本单位 / the unit itself")


@dataclass(frozen=True)
class Shown:
    """A ranking as the caller may see it: everything, or for a unit's liaison only its own units' rows
    (their rank among all ranked), without visit counts."""

    ranking: Ranking
    policy: rules.SubjectPolicy
    scope: Scope
    rows: list[RankedRow]  # the rows listed (after the `status` filter)
    rollup: str | None = None

    @property
    def under(self) -> int | None:
        return self.scope.root.id if self.scope.root else None

    @property
    def restricted_to_unit(self) -> int | None:
        return self.scope.own.id if self.scope.liaison else None

    @property
    def rollup_basis(self) -> str | None:
        return ROLLUP_BASIS if self.rollup == "staffing" else None

    @property
    def ranked_count(self) -> int:
        return sum(1 for r in self.ranking.rows if r.rank is not None)

    @property
    def no_data_count(self) -> int:
        return sum(1 for r in self.ranking.rows if r.rank is None)

    def _row(self, key) -> RankedRow:
        row = next(r for r in self.ranking.rows if r.key == key)
        return RankedRow(self.ranking, row, self.policy.tie_break, self.scope.liaison)

    def _visible(self, key) -> bool:
        return "path" not in self.ranking.info[key] or self.scope.visible(self.ranking.info[key]["path"])

    @property
    def bottom(self) -> dict:
        b = self.ranking.bottom
        return {"note": b.note, "size": b.size, "named": [self._row(k) for k in b.named if self._visible(k)]}

    @property
    def special_supervision(self) -> list[dict]:
        info = self.ranking.info
        return [{"unit_id": k, "code": info[k]["code"], "name": info[k]["name"], "reasons": reasons}
                for k, reasons in sorted(self.ranking.special.items(), key=lambda kv: info[kv[0]]["code"])
                if self._visible(k)]


def units_shown(user, args: dict) -> Shown:
    scope = scope_for(user, args)
    pol = policy()
    ranking = unit_ranking(period_for(args, scope), scope.root, pol, rollup=args.get("rollup"))
    shown = [r for r in ranking.rows if scope.visible(ranking.info[r.key]["path"])]
    if args.get("status"):
        shown = [r for r in shown if (r.rank is not None) == (args["status"] == "ranked")]
    return Shown(ranking, pol.units, scope, [RankedRow(ranking, r, pol.units.tie_break, scope.liaison) for r in shown],
                 args.get("rollup"))


def staff_shown(user, args: dict) -> Shown:
    scope = scope_for(user, args)
    pol = policy()
    ranking = staff_ranking(period_for(args), scope.root, pol)
    return Shown(ranking, pol.staff, Scope(scope.root, None),
                 [RankedRow(ranking, r, pol.staff.tie_break) for r in ranking.rows])


# --- CSV ---------------------------------------------------------------------------------------------------

def _pct(rate: float | None) -> str:
    return "" if rate is None else f"{rate * 100:.1f}%"


def _common_cells(row: dict) -> list:
    sev = row["by_severity"]
    return [row["score"] if row["score"] is not None else "",
            "" if row["change"] is None else row["change"],
            "" if row["visits"] is None else row["visits"], row["findings"], sev["minor"], sev["serious"],
            sev["severe"], f"{row['deduction']:g}", row["ratings"],
            "" if row["rating_mean"] is None else f"{row['rating_mean']:.2f}",
            _pct(row["satisfaction_rate"]), _pct(row["dissatisfaction_rate"]), row["complaints"],
            "是" if row["bottom"] else ""]


COMMON_HEADER = ["综合得分", "名次变化", "检查次数", "问题数", "一般", "较重", "严重", "扣分", "评价数", "评价平均分",
                 "满意率", "差评率", "投诉数", "末位"]


def _csv(header: list[str], rows: Iterator[list]) -> Iterator[str]:
    """UTF-8 with a BOM (Excel opens it as UTF-8), one row at a time."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    yield "\ufeff"
    for row in (header, *rows):
        writer.writerow(row)
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()


def units_csv(shown: Shown) -> Iterator[str]:
    """The rows as the JSON has them (UnitRowSchema), one CSV line each."""
    from inspect_api.rankings.schemas import UnitRowSchema

    staffing = shown.rollup == "staffing"
    header = ["排名", "单位编码", "单位", *COMMON_HEADER, "专项督查", "得分说明"]
    if staffing:  # the figures' basis and the windows counted with each department
        header += ["口径", "进驻窗口"]
    schema = UnitRowSchema()
    return _csv(header, ([r["rank"] or "无数据", r["code"], r["name"], *_common_cells(r),
                          "；".join(x["label"] for x in r["special_supervision"]), r["explanation"]["text"],
                          *((r["basis_label"], "、".join(w["name"] for w in r["staffed_windows"]))
                            if staffing else ())]
                         for r in map(schema.dump, shown.rows)))


def staff_csv(shown: Shown) -> Iterator[str]:
    from inspect_api.rankings.schemas import StaffRowSchema

    header = ["排名", "工牌号", "姓名", "单位", "窗口", *COMMON_HEADER, "得分说明"]
    return _csv(header, ([r["rank"] or "无数据", r["badge_no"], r["name"], r["unit_name"], r["window_no"] or "",
                          *_common_cells(r), r["explanation"]["text"]] for r in map(StaffRowSchema().dump, shown.rows)))


def csv_filename(kind: str, shown: Shown) -> str:
    p = shown.ranking.period
    span = rules.period_key(p) or f"{p.start}_{p.end}"
    return f"rankings-{kind}-{span}.csv"


# --- for the bulletin ---------------------------------------------------------------------------------------

def bulletin_section(start: date, end: date, under: int | None, *, best_count: int, with_staff: bool) -> dict:
    """What the supervision bulletin prints of the rankings: ranked units (with their change against the
    compared period), the best, the units and (optionally) staff named at the bottom, the units that
    may be commended, and the method in one paragraph. Staff come back with their names; the document
    names them as its policy says."""
    pol = policy()
    root = db.session.get(Unit, under) if under else None
    if under and root is None:
        root = Unit(id=0, path="/none/")
    ranking = unit_ranking(Period(start, end), root, pol)
    ranked = [r for r in ranking.rows if r.rank is not None]
    named = set(ranking.bottom.named)
    rows = [{"rank": r.rank, "unit_id": r.key, "unit_name": ranking.info[r.key]["name"], "score": r.score.value,
             "findings": r.figures.findings, "change": _change(r.rank, ranking.previous.get(r.key)),
             "ratings": r.figures.ratings if _counted(r, "ratings") else None,
             "satisfaction_rate": r.figures.satisfaction_rate if _counted(r, "ratings") else None}
            for r in ranked]
    out = {
        "ranking": rows,
        "best": [ranking.info[r.key]["name"] for r in rules.best(ranked, best_count, named)],
        "bottom": [ranking.info[k]["name"] for k in ranking.bottom.named],
        "bottom_note": ranking.bottom.note,
        "ranking_method": rules.bulletin_method_text(pol),
        "commended_units": [ranking.info[r.key]["name"] for r in ranked
                            if r.figures.findings == 0 and r.figures.visits and r.key not in named
                            and r.key not in ranking.special],
        "bottom_staff": [],
    }
    if with_staff:
        staff = staff_ranking(Period(start, end), root, pol, compare=False)
        out["bottom_staff"] = [{"staff_id": k, "name": staff.info[k]["name"], "badge_no": staff.info[k]["badge_no"],
                                "window_no": staff.info[k]["window_no"], "unit_id": staff.info[k]["unit_id"],
                                "unit_name": staff.info[k]["unit_name"]} for k in staff.bottom.named]
    return out


def _counted(row: rules.Row, code: str) -> bool:
    return any(c.code == code and c.counted for c in row.score.components)
