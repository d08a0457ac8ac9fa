"""Plans, the stored draw, release of assignments, verification and publication (双随机一公开).

The draw itself is `rules.draw`, a pure function of (plan, pools, seed); this module gathers its
inputs from the database, stores inputs and result with their digests, and re-runs it to verify.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from inspect_api.assessment.services import latest_grades
from inspect_api.audit import services as audit
from inspect_api.auth.models import User
from inspect_api.complaints import services as complaint_services
from inspect_api.core import clock
from inspect_api.core import draw as draw_record
from inspect_api.core.clock import LOCAL_TZ
from inspect_api.db import db
from inspect_api.errors import Conflict, NotFound, Unprocessable
from inspect_api.org.models import Unit
from inspect_api.org.recipients import office_ids
from inspect_api.sampling import rules
from inspect_api.sampling.models import (
    AssignmentInspector,
    InspectorConflict,
    SamplingAssignment,
    SamplingPlan,
)
from inspect_api.visits.models import Finding, Visit, VisitInspector

PLAN_FIELDS = ("code", "title", "period_start", "period_end", "pool", "sample_size", "sample_rate",
               "stratify_by_department", "min_per_stratum", "min_visits_per_year", "team_size",
               "allow_single_inspector", "max_visits_per_inspector", "visit_minutes", "travel_minutes",
               "recent_window_days", "default_opening_hours", "release_time", "weights")
# Risk weighting (policy data): each recent confirmed finding, complaint or poor grade multiplies the
# unit's chance; a plan may override these in `weights`.
DEFAULT_WEIGHTS = {"multipliers": {"confirmed_findings": 1.5, "complaints": 1.3, "poor_grade": 2.0},
                   "max_count": 3}


def snapshot(plan: SamplingPlan) -> dict:
    return {f: (getattr(plan, f).isoformat() if isinstance(getattr(plan, f), date) else getattr(plan, f))
            for f in PLAN_FIELDS} | {"status": plan.status}


PLAN_MAX_DAYS = 366  # a plan covers a month, a quarter, at most a year: a span of centuries ran for seconds


def _check(data: dict) -> None:
    if data["period_end"] < data["period_start"]:
        raise Unprocessable("结束日期早于开始日期 (period ends before it starts)", {"fields": {"period_end": ["before start"]}})
    if (data["period_end"] - data["period_start"]).days + 1 > PLAN_MAX_DAYS:
        raise Unprocessable(f"一个计划最长 {PLAN_MAX_DAYS} 天 (a plan covers at most {PLAN_MAX_DAYS} days)",
                            {"fields": {"period_end": [f"more than {PLAN_MAX_DAYS} days after period_start"]}})
    if (data.get("sample_size") is None) == (data.get("sample_rate") is None):
        raise Unprocessable("须给出抽取数量或比例之一 (give sample_size or sample_rate)",
                            {"fields": {"sample_size": ["one of sample_size, sample_rate"]}})
    if data.get("team_size", 2) < 2 and not data.get("allow_single_inspector"):
        raise Unprocessable("检查组须两人以上, 除非计划允许单人 (team of two or more)",
                            {"fields": {"team_size": ["at least 2 unless allow_single_inspector"]}})
    try:
        hours = rules.parse_opening_hours(data.get("default_opening_hours") or "09:00-12:00,14:00-17:00")
    except (ValueError, rules.PlanError) as exc:
        raise Unprocessable("办公时间格式错误", {"fields": {"default_opening_hours": [str(exc)]}}) from exc
    if not hours or any(not 0 <= start < end <= 24 * 60 for start, end in hours):
        raise Unprocessable("办公时间须在当天之内且开始早于结束 (periods must lie within the day, start < end)",
                            {"fields": {"default_opening_hours": ["invalid period"]}})


def _code_free(code: str, plan_id: int | None = None) -> None:
    """No other plan has this code (a taken one is a 409, not the unique index's 500)."""
    stmt = sa.select(SamplingPlan.id).where(SamplingPlan.code == code)
    if plan_id is not None:
        stmt = stmt.where(SamplingPlan.id != plan_id)
    if db.session.scalar(stmt):
        raise Conflict("计划编码已存在 (code taken)", {"fields": {"code": ["already exists"]}}, code="duplicate")


def create_plan(data: dict, actor) -> SamplingPlan:
    _code_free(data["code"])
    _check(data)
    plan = SamplingPlan(**{k: v for k, v in data.items() if k in PLAN_FIELDS}, created_by=actor.id, status="draft")
    plan.weights = plan.weights or DEFAULT_WEIGHTS
    plan.pool = plan.pool or {}
    db.session.add(plan)
    db.session.flush()
    audit.record("plan.create", "sampling_plan", plan.id, actor=actor, after=snapshot(plan))
    return plan


def get_plan(plan_id: int, *, lock: bool = False) -> SamplingPlan:
    plan = db.session.get(SamplingPlan, plan_id, with_for_update=lock or None)
    if plan is None:
        raise NotFound("抽查计划不存在 (no such plan)")
    return plan


def update_plan(plan: SamplingPlan, changes: dict, actor) -> SamplingPlan:
    if plan.status != "draft":
        raise Conflict("计划已承诺种子, 不能再修改 (plan committed; create a new one)", code="plan_frozen")
    before = snapshot(plan)
    if "code" in changes:
        _code_free(changes["code"], plan.id)
    merged = {**{f: getattr(plan, f) for f in PLAN_FIELDS}, **changes}
    _check(merged)
    for key, value in changes.items():
        setattr(plan, key, value)
    if snapshot(plan) != before:
        plan.version += 1
        db.session.flush()
        audit.record("plan.update", "sampling_plan", plan.id, actor=actor, before=before, after=snapshot(plan))
    return plan


def commit_seed(plan: SamplingPlan, actor) -> SamplingPlan:
    """Fix the secret seed and publish its SHA-256; from now on the plan cannot change."""
    if not draw_record.commit(plan, clock.now()):
        return plan  # committing again answers the same commitment
    db.session.flush()
    audit.record("plan.commit", "sampling_plan", plan.id, actor=actor,
                 after={"seed_commitment": plan.seed_commitment})
    return plan


# --- inputs ---------------------------------------------------------------------------------------

def _working_days(plan: SamplingPlan) -> tuple[list[date], bool]:
    from inspect_api.core.calendar_store import current_calendar as calendar

    cal = calendar()
    days, provisional = [], False
    d = plan.period_start
    while d <= plan.period_end:
        if cal.is_working_day(d):
            days.append(d)
        if cal.year_status(d.year).value == "assumed":
            provisional = True
        d += timedelta(days=1)
    return days, provisional


def _assumed_years(plan: SamplingPlan) -> list[int]:
    from inspect_api.core.calendar_store import current_calendar as calendar

    cal = calendar()
    return [y for y in range(plan.period_start.year, plan.period_end.year + 1)
            if cal.year_status(y).value == "assumed"]


def calendar_assumed_problem(years: list[int]) -> dict:
    listed = "、".join(map(str, years))
    return {"code": "calendar_assumed", "unit_id": None, "details": {"years": years},
            "message_zh": f"{listed} 年的节假日安排尚未导入, 抽取按周一至周五计工作日: 节假日可能被派单; "
                          "导入该年安排后, 落在非工作日的派单会被标出并通知效能办"}


def recheck_plans_after_calendar_import(years: list[int], actor) -> int:
    """After a holiday table is imported: every drawn plan whose visits stand on an assumed year is
    checked again; a visit on a day that became non-working is listed in the plan's problems and the
    office is told (as deadlines are recounted). Returns 0: plans are not deadlines."""
    from inspect_api.core.calendar_store import current_calendar as calendar
    from inspect_api.notifications.services import notify

    cal = calendar()
    imported = set(years)
    office = office_ids()
    plans = db.session.scalars(sa.select(SamplingPlan).where(
        SamplingPlan.status.in_(("drawn", "revealed")), SamplingPlan.calendar_provisional.is_(True))).all()
    for plan in plans:
        if not any(plan.period_start.year <= y <= plan.period_end.year for y in imported):
            continue
        before = list(plan.calendar_problems or [])
        kept = [p for p in before if p["code"] != "calendar_assumed"]
        still = _assumed_years(plan)
        if still:
            kept.insert(0, calendar_assumed_problem(still))
        flagged = {p["details"]["assignment_id"] for p in kept if p["code"] == "visit_on_non_working_day"}
        new = []
        for a in plan.assignments:
            if a.day.year in imported and not cal.is_working_day(a.day) and a.id not in flagged:
                new.append({"code": "visit_on_non_working_day", "unit_id": a.unit_id,
                            "details": {"assignment_id": a.id, "day": a.day.isoformat(), "years": sorted(imported)},
                            "message_zh": f"派单日期 {a.day.isoformat()} 按导入的节假日安排不是工作日, 请改派或取消"})
        plan.calendar_problems = kept + new
        plan.calendar_provisional = bool(still)
        if plan.calendar_problems == before:
            continue
        audit.record("plan.calendar_recheck", "sampling_plan", plan.id, actor=actor,
                     before={"problems": len(before)}, after={"problems": len(plan.calendar_problems),
                                                              "years": sorted(imported),
                                                              "visits_on_non_working_days": len(new)})
        if new:
            days = "、".join(sorted({p["details"]["day"] for p in new}))
            body = (f"导入 {'、'.join(map(str, sorted(imported)))} 年节假日安排后, 抽查计划 {plan.code} 有 {len(new)} "
                    f"个派单落在非工作日（{days}）, 请改派或取消")
            for user_id in office:
                notify(user_id, "plan.calendar_changed", "抽查计划有派单落在非工作日", body, {"plan_id": plan.id},
                       f"plan.calendar_changed:{plan.id}:{days}:{user_id}")
    db.session.flush()
    return 0


def _pool_units(plan: SamplingPlan) -> list[Unit]:
    pool = plan.pool or {}
    stmt = sa.select(Unit).where(Unit.is_active.is_(True)).order_by(Unit.id)
    if pool.get("under"):
        roots = db.session.scalars(sa.select(Unit.path).where(Unit.id.in_(pool["under"]))).all()
        stmt = stmt.where(sa.or_(*(Unit.path.startswith(p) for p in roots))) if roots else stmt.where(sa.false())
    if pool.get("kinds"):
        stmt = stmt.where(Unit.kind.in_(pool["kinds"]))
    units = list(db.session.scalars(stmt))
    if pool.get("tags"):
        wanted = set(pool["tags"])
        units = [u for u in units if wanted & set(u.tags or [])]
    return units


def build_inputs(plan: SamplingPlan, now: datetime):
    """The draw's inputs as the database has them now."""
    units = _pool_units(plan)
    excluded = set((plan.pool or {}).get("exclude") or [])
    unit_paths = dict(db.session.execute(sa.select(Unit.id, Unit.path)).all())
    kinds = dict(db.session.execute(sa.select(Unit.id, Unit.kind)).all())

    def department(unit: Unit) -> str | None:
        for uid in (int(x) for x in unit.path.strip("/").split("/")):
            if kinds.get(uid) == "department":
                return str(uid)
        return None

    since = now - timedelta(days=180)
    findings = dict(db.session.execute(
        sa.select(Finding.unit_id, sa.func.count()).where(Finding.status == "confirmed",
                                                          Finding.created_at >= since)
        .group_by(Finding.unit_id)).all())
    year_start = datetime(clock.local(now).year, 1, 1, tzinfo=LOCAL_TZ)
    visits_this_year = dict(db.session.execute(
        sa.select(Visit.unit_id, sa.func.count()).where(Visit.status == "submitted", Visit.submitted_at >= year_start)
        .group_by(Visit.unit_id)).all())
    default_hours = rules.parse_opening_hours(plan.default_opening_hours)
    # substantiated complaints (投诉查实) closed within the complaints policy's window
    complaints = complaint_services.substantiated_counts(
        now - timedelta(days=complaint_services.policy().sampling_window_days))
    # 1 when the unit's latest approved annual grade (年度考评) is 不合格
    poor = {uid for uid, grade in latest_grades().items() if grade == "fail"}
    unit_infos = [rules.UnitInfo(
        id=u.id, stratum=department(u) if plan.stratify_by_department else None,
        weight_factors={"confirmed_findings": int(findings.get(u.id, 0)), "poor_grade": int(u.id in poor),
                        "complaints": int(complaints.get(u.id, 0))},
        opening_hours=rules.parse_opening_hours(u.opening_hours) if u.opening_hours else default_hours,
        excluded=u.id in excluded,
        due=bool(plan.min_visits_per_year and visits_this_year.get(u.id, 0) < plan.min_visits_per_year),
    ) for u in units]

    inspectors = db.session.scalars(sa.select(User).where(User.role == "inspector", User.is_active.is_(True))
                                    .order_by(User.id)).all()
    declared: dict[int, set] = {}
    for user_id, unit_id in db.session.execute(sa.select(InspectorConflict.user_id, InspectorConflict.unit_id)):
        declared.setdefault(user_id, set()).add(unit_id)
    recent: dict[int, set] = {}
    recent_since = now - timedelta(days=plan.recent_window_days)
    for user_id, unit_id in db.session.execute(
            sa.select(VisitInspector.user_id, Visit.unit_id).join(Visit, Visit.id == VisitInspector.visit_id)
            .where(Visit.started_at >= recent_since)):
        recent.setdefault(user_id, set()).add(unit_id)

    def home_subtree(unit_id: int | None) -> frozenset:
        if unit_id is None or unit_id not in unit_paths:
            return frozenset()
        prefix = unit_paths[unit_id]
        return frozenset(uid for uid, path in unit_paths.items() if path.startswith(prefix) and uid != unit_id)

    def declared_subtrees(unit_ids) -> frozenset:
        # A conflict declared with a unit covers everything under it (a hall and its windows), as the
        # home-unit rule does: the relative who works at the hall works at its windows.
        return frozenset(unit_ids).union(*(home_subtree(uid) for uid in unit_ids))

    inspector_infos = [rules.InspectorInfo(
        id=i.id, home_unit_id=i.unit_id, relative_unit_ids=declared_subtrees(declared.get(i.id, ())),
        recent_unit_ids=frozenset(recent.get(i.id, ())), other_conflict_unit_ids=home_subtree(i.unit_id),
    ) for i in inspectors]
    days, provisional = _working_days(plan)
    weights = plan.weights or DEFAULT_WEIGHTS
    rule_plan = rules.Plan(
        period_start=plan.period_start, period_end=plan.period_end, sample_size=plan.sample_size,
        sample_rate=plan.sample_rate, min_per_stratum=plan.min_per_stratum, team_size=plan.team_size,
        max_visits_per_inspector=plan.max_visits_per_inspector, visit_minutes=plan.visit_minutes,
        travel_minutes=plan.travel_minutes,
        weights=rules.WeightPolicy(multipliers=weights.get("multipliers", {}), max_count=weights.get("max_count", 3),
                                   max_weight=weights.get("max_weight")))
    return rule_plan, unit_infos, inspector_infos, days, provisional


def effective_seed(plan: SamplingPlan) -> str:
    """The committed seed, joined with the public value fixed after the commitment when one is given."""
    return draw_record.effective_seed(plan.seed, plan.public_entropy)


def _release_at(plan: SamplingPlan, day: date) -> datetime:
    hh, mm = (int(x) for x in plan.release_time.split(":"))
    return datetime.combine(day, time(hh, mm), tzinfo=LOCAL_TZ).astimezone(UTC)


def draw(plan: SamplingPlan, actor, public_entropy: str | None = None) -> SamplingPlan:
    if plan.status in ("drawn", "revealed"):
        return plan  # the draw happens once; asking again answers the stored one
    if plan.status != "committed":
        raise Conflict("先承诺种子再抽取 (commit the seed first)", code="plan_not_committed")
    plan.public_entropy = public_entropy
    rule_plan, units, inspectors, days, provisional = build_inputs(plan, clock.now())
    result = rules.draw(rule_plan, units, inspectors, days, effective_seed(plan))
    plan.inputs = rules.canonical(rules.inputs_to_dict(rule_plan, units, inspectors, days))
    plan.inputs_digest = result.inputs_digest
    plan.result = rules.canonical_json(result)
    plan.result_digest = rules.result_digest(result)
    plan.calendar_provisional = provisional
    years = _assumed_years(plan)
    plan.calendar_problems = [calendar_assumed_problem(years)] if years else []
    plan.status = "drawn"
    plan.drawn_at = clock.now()
    plan.drawn_by = actor.id if actor else None
    for a in result.assignments:
        row = SamplingAssignment(plan_id=plan.id, unit_id=a.unit_id, day=a.day, start_minute=a.start_minute,
                                 end_minute=a.end_minute, release_at=_release_at(plan, a.day))
        row.inspectors = [AssignmentInspector(user_id=uid) for uid in a.inspector_ids]
        db.session.add(row)
    db.session.flush()
    audit.record("plan.draw", "sampling_plan", plan.id, actor=actor,
                 after={"inputs_digest": plan.inputs_digest, "result_digest": plan.result_digest,
                        "assignments": len(result.assignments), "problems": len(result.problems),
                        "public_entropy": public_entropy})
    return plan


def reveal(plan: SamplingPlan, actor) -> SamplingPlan:
    if plan.status == "revealed":
        return plan
    if plan.status != "drawn":
        raise Conflict("计划尚未抽取 (not drawn yet)", code="plan_not_drawn")
    if clock.today() <= plan.period_end:
        raise Conflict("检查期结束后才能公开种子 (the seed is revealed after the period)", code="period_not_over",
                       details={"period_end": plan.period_end.isoformat()})
    plan.status = "revealed"
    plan.revealed_at = clock.now()
    db.session.flush()
    audit.record("plan.reveal", "sampling_plan", plan.id, actor=actor, after={"seed": plan.seed})
    return plan


def verify(plan: SamplingPlan) -> list[str]:
    """Re-run the stored draw: inputs as stored (and as the plan's columns say now), seed, result."""
    if plan.status not in ("drawn", "revealed"):
        return ["计划尚未抽取 (not drawn)"]
    problems = []
    stored = json.loads(plan.inputs)
    rule_plan, units, inspectors, days = rules.inputs_from_dict(stored)
    current_plan = build_inputs(plan, plan.drawn_at)[0]
    if rules._plan_dict(current_plan) != stored["plan"]:
        problems.append("计划参数在抽取后被修改 (plan changed after the draw)")
    expected = rules.result_from_dict(json.loads(plan.result))
    problems += draw_record.stored_problems(
        inputs_text=plan.inputs, inputs=stored, result_text=plan.result, result_json=rules.canonical_json(expected),
        result_digest=rules.result_digest(expected), recorded_result_digest=plan.result_digest)
    stored_rows = {(a.unit_id, a.day, a.start_minute, tuple(a.team)) for a in plan.assignments}
    drawn_rows = {(a.unit_id, a.day, a.start_minute, tuple(sorted(a.inspector_ids))) for a in expected.assignments}
    if stored_rows != drawn_rows:
        problems.append("派单与抽取结果不一致 (assignments differ from the draw)")
    problems += draw_record.stored_seed_problems(plan.seed, plan.seed_commitment)
    # the commitment covers the secret seed; the public value is joined to it after the commitment
    problems += rules.verify(rule_plan, units, inspectors, days, effective_seed(plan), expected)
    return problems


def result_of(plan: SamplingPlan) -> dict | None:
    return json.loads(plan.result) if plan.result else None


# --- assignments for inspectors --------------------------------------------------------------------

def my_assignments(user, now: datetime) -> sa.Select:
    """Released assignments of teams the inspector is on (nothing before its release time)."""
    return (sa.select(SamplingAssignment)
            .join(AssignmentInspector, AssignmentInspector.assignment_id == SamplingAssignment.id)
            .where(AssignmentInspector.user_id == user.id, SamplingAssignment.release_at <= now)
            .order_by(SamplingAssignment.day.desc(), SamplingAssignment.start_minute))


def _taken() -> Unprocessable:
    return Unprocessable("派单已由另一检查记录完成 (assignment already fulfilled by another visit)",
                         {"fields": {"assignment_id": ["already fulfilled by another visit"]}}, code="assignment_taken")


def assignment_for_visit(assignment_id: int, actor, unit_id: int, now: datetime, *,
                         visit_id: str | None = None) -> SamplingAssignment:
    """The released assignment of the actor's team that visit `visit_id` may fulfil: for its unit, and
    not fulfilled by another visit."""
    a = db.session.get(SamplingAssignment, assignment_id)
    if a is None or actor.id not in a.team or a.release_at > now:
        raise Unprocessable("派单不存在 (unknown assignment)", {"fields": {"assignment_id": ["unknown"]}})
    if a.unit_id != unit_id:
        raise Unprocessable("派单的被检查单位与记录不符 (assignment is for another unit)",
                            {"fields": {"assignment_id": ["other unit"]}})
    if a.visit_id is not None and a.visit_id != visit_id:
        raise _taken()
    return a


def on_visit_assignment_asked(_sender, *, visit_id: str, assignment_id: int, actor, unit_id: int, now) -> bool:
    """core.events.visit_assignment_asked: whether the plan allows a single inspector (refuses otherwise)."""
    return assignment_for_visit(assignment_id, actor, unit_id, now, visit_id=visit_id).plan.allow_single_inspector


def on_visit_assignment_changed(_sender, *, visit_id: str, previous_id: int | None, assignment_id: int | None) -> None:
    """core.events.visit_assignment_changed."""
    claim_for_visit(visit_id, previous_id, assignment_id)


def claim_for_visit(visit_id: str, previous_id: int | None, assignment_id: int | None) -> None:
    """Under the visit's write lock: the assignment it no longer fulfils is released, the one it now
    fulfils is claimed. The claim is one guarded UPDATE, so of two visits racing for one assignment
    (both past `assignment_for_visit`) the second finds it taken and is refused."""
    if previous_id is not None and previous_id != assignment_id:
        db.session.execute(sa.update(SamplingAssignment)
                           .where(SamplingAssignment.id == previous_id, SamplingAssignment.visit_id == visit_id)
                           .values(visit_id=None))
    if assignment_id is not None:
        claimed = db.session.execute(
            sa.update(SamplingAssignment)
            .where(SamplingAssignment.id == assignment_id,
                   sa.or_(SamplingAssignment.visit_id.is_(None), SamplingAssignment.visit_id == visit_id))
            .values(visit_id=visit_id))
        if claimed.rowcount != 1:
            raise _taken()


def publication(plan: SamplingPlan) -> dict:
    """What is published after the period (双随机一公开): the seed, the draw, units checked and the
    confirmed findings per unit."""
    unit_ids = [a.unit_id for a in plan.assignments]
    names = dict(db.session.execute(sa.select(Unit.id, Unit.name).where(Unit.id.in_(unit_ids))).all())
    visit_ids = [a.visit_id for a in plan.assignments if a.visit_id]
    counts = dict(db.session.execute(
        sa.select(Finding.unit_id, sa.func.count()).where(Finding.visit_id.in_(visit_ids),
                                                          Finding.status == "confirmed")
        .group_by(Finding.unit_id)).all()) if visit_ids else {}
    return {
        "code": plan.code, "title": plan.title, "period_start": plan.period_start, "period_end": plan.period_end,
        "seed_commitment": plan.seed_commitment, "seed": plan.seed, "public_entropy": plan.public_entropy,
        "inputs_digest": plan.inputs_digest, "result_digest": plan.result_digest,
        "units": [{"unit_id": a.unit_id, "unit_name": names.get(a.unit_id), "day": a.day,
                   "checked": a.visit_id is not None, "confirmed_findings": counts.get(a.unit_id, 0)}
                  for a in plan.assignments],
    }


def on_calendar_imported(_sender, *, years: list[int], actor=None) -> int:
    """Receiver of core.events.calendar_imported."""
    return recheck_plans_after_calendar_import(years, actor)
