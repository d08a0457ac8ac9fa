"""Scheduler jobs of the sampling feature. Each is safe to run twice: the second run finds nothing
left to do. Each runs in the app context and the scheduler commits once per job."""

from __future__ import annotations

import calendar as month_calendar
from datetime import date

import sqlalchemy as sa

from inspect_api.audit import services as audit
from inspect_api.core import clock
from inspect_api.db import db
from inspect_api.notifications.services import notify
from inspect_api.sampling import services
from inspect_api.sampling.models import SamplingAssignment, SamplingPlan


def _next_month(today: date) -> tuple[date, date]:
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return date(year, month, 1), date(year, month, month_calendar.monthrange(year, month)[1])


def draft_next_plan() -> SamplingPlan | None:
    """Draft next month's plan from the newest plan's settings, unless one already covers it.

    The office reviews, commits and draws it; nothing is drawn automatically.
    """
    start, end = _next_month(clock.today())
    covering = db.session.scalar(sa.select(SamplingPlan.id).where(
        SamplingPlan.period_start <= end, SamplingPlan.period_end >= start))
    if covering is not None:
        return None
    model = db.session.scalar(sa.select(SamplingPlan).order_by(SamplingPlan.period_start.desc(),
                                                                SamplingPlan.id.desc()))
    if model is None:
        return None
    data = {f: getattr(model, f) for f in services.PLAN_FIELDS}
    data.update(code=f"AUTO-{start:%Y-%m}", title=f"{start.year}年{start.month}月抽查计划（自动起草）",
                period_start=start, period_end=end)
    if db.session.scalar(sa.select(SamplingPlan.id).where(SamplingPlan.code == data["code"])):
        return None
    plan = SamplingPlan(**data, created_by=model.created_by, status="draft")
    db.session.add(plan)
    db.session.flush()
    audit.record("plan.create", "sampling_plan", plan.id, after=services.snapshot(plan) | {"by": "scheduler"})
    return plan


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def release_assignments() -> int:
    """Mark assignments whose release time has come as handed out (once each), on the trail.

    Inspectors see an assignment from its release time whether or not this job has run; the job
    records the hand-out (and is where reminders hook in)."""
    now = clock.now()
    due = db.session.scalars(sa.select(SamplingAssignment).where(
        SamplingAssignment.release_at <= now, SamplingAssignment.released_at.is_(None))
        .order_by(SamplingAssignment.id).with_for_update()).all()
    for a in due:
        a.released_at = now
        audit.record("assignment.release", "sampling_assignment", a.id,
                     after={"plan_id": a.plan_id, "day": a.day.isoformat(), "team": a.team})
        for user_id in a.team:
            notify(user_id, "assignment.released", f"今日检查任务: {a.day:%m月%d日}",
                   f"{_hhmm(a.start_minute)} 起, 请按派单前往被检查单位。", {"assignment_id": a.id},
                   f"assignment.released:{a.id}:{user_id}")
    db.session.flush()
    return len(due)
