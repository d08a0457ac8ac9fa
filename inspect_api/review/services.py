"""The review queue and the office's decisions on findings; what a unit's liaison sees.

Every decision is on the trail with who, role, before and after; the route commits once."""

from __future__ import annotations

import sqlalchemy as sa

from inspect_api.audit import services as audit
from inspect_api.core import clock
from inspect_api.db import db
from inspect_api.errors import DomainError, NotFound
from inspect_api.notifications.services import notify
from inspect_api.org.models import Unit
from inspect_api.review import rules
from inspect_api.review.models import Rectification
from inspect_api.visits.models import Evidence, Finding, Visit


def _snapshot(f: Finding) -> dict:
    return {"status": f.status, "severity": f.severity}


def queue(args: dict) -> sa.Select:
    status = args.get("status", "pending_review")
    stmt = (sa.select(Finding).join(Visit, Visit.id == Finding.visit_id)
            .where(Finding.status == status)
            .order_by(Visit.submitted_at, Finding.created_at, Finding.id))
    if status == "pending_review":
        # a visit sent back is being edited: its findings wait until it is submitted again
        stmt = stmt.where(Visit.status == "submitted")
    for key in ("category", "severity", "unit_id"):
        if args.get(key):
            stmt = stmt.where(getattr(Finding, key) == args[key])
    if args.get("visit_id"):
        stmt = stmt.where(Finding.visit_id == str(args["visit_id"]))
    if args.get("mode"):
        stmt = stmt.where(Visit.mode == args["mode"])
    if args.get("under"):
        root = db.session.get(Unit, args["under"])
        prefix = root.path if root else "/none/"
        stmt = stmt.where(Finding.unit_id.in_(sa.select(Unit.id).where(Unit.path.startswith(prefix))))
    return stmt


def get_finding(finding_id, *, lock: bool = False) -> Finding:
    f = db.session.get(Finding, str(finding_id), with_for_update=lock or None)
    if f is None or f.status == "draft":
        raise NotFound("问题不存在 (no such finding)")
    return f


def _liaisons_for(unit_id: int) -> list[int]:
    """Liaisons whose unit is the finding's unit or one of its ancestors."""
    from inspect_api.auth.models import User

    unit = db.session.get(Unit, unit_id)
    ancestors = [int(x) for x in unit.path.strip("/").split("/")]
    return list(db.session.scalars(sa.select(User.id).where(User.role == "unit_liaison", User.is_active.is_(True),
                                                            User.unit_id.in_(ancestors))))


def decide(finding: Finding, decision: rules.Decision, actor) -> Finding:
    visit = db.session.get(Visit, finding.visit_id)
    rules.check_four_eyes(actor.id, visit.team, visit.created_by)
    new_status = rules.next_status(finding.status, decision)
    before = _snapshot(finding)
    finding.status = new_status
    if decision.action == "adjust_severity":
        finding.severity = decision.severity
    if decision.action == "send_back" and visit.status == "submitted":
        visit.status = "draft"  # the inspectors add evidence and submit again
        visit.version += 1
        audit.record("visit.reopen", "visit", visit.id, actor=actor, before={"status": "submitted"},
                     after={"status": "draft", "reason": decision.reason, "finding_id": finding.id})
        for user_id in visit.team:
            notify(user_id, "finding.returned", f"检查记录 {visit.code} 被退回补充证据", decision.reason,
                   {"visit_id": visit.id, "finding_id": finding.id},
                   f"finding.returned:{finding.id}:{user_id}:{visit.version}")
    if new_status == "confirmed":
        _set_rectification(finding)
    elif finding.status != "confirmed":
        _cancel_rectification(finding)
    if decision.action == "confirm":
        for user_id in _liaisons_for(finding.unit_id):
            notify(user_id, "finding.confirmed", "本单位有一项问题经效能办确认",
                   finding.description, {"finding_id": finding.id},
                   f"finding.confirmed:{finding.id}:{user_id}:{clock.now().isoformat()}")
    db.session.flush()
    audit.record(f"finding.{decision.action}", "finding", finding.id, actor=actor, before=before,
                 after={**_snapshot(finding), "reason": decision.reason})
    return finding


def _set_rectification(finding: Finding) -> Rectification:
    """Due a number of working days (by severity, from the policy file) after the confirmation."""
    from flask import current_app

    from inspect_api.core.calendar_store import current_calendar
    from inspect_api.core.clock import local

    days = current_app.extensions["inspect_review_policy"].rectification_days[finding.severity]
    deadline = current_calendar().add_working_days(local(clock.now()).date(), days)
    rect = db.session.get(Rectification, finding.id) or Rectification(finding_id=finding.id, unit_id=finding.unit_id)
    rect.due_on, rect.provisional, rect.status = deadline.date, deadline.provisional, "open"
    rect.set_at, rect.flagged_overdue_at = clock.now(), None
    db.session.add(rect)
    return rect


def _cancel_rectification(finding: Finding) -> None:
    rect = db.session.get(Rectification, finding.id)
    if rect is not None:
        rect.status = "cancelled"


def flag_overdue_rectifications() -> int:
    """Scheduler job: mark open rectifications past their due day as overdue (for escalation) and
    tell the office and the unit; a second run finds nothing new."""
    from inspect_api.auth.models import User
    from inspect_api.core.clock import local

    today = local(clock.now()).date()
    due = db.session.scalars(sa.select(Rectification).where(Rectification.status == "open",
                                                            Rectification.due_on < today)
                             .with_for_update()).all()
    office = db.session.scalars(sa.select(User.id).where(User.role == "office", User.is_active.is_(True))).all()
    for rect in due:
        rect.status, rect.flagged_overdue_at = "overdue", clock.now()
        audit.record("rectification.overdue", "finding", rect.finding_id,
                     after={"due_on": rect.due_on.isoformat(), "unit_id": rect.unit_id})
        for user_id in [*office, *_liaisons_for(rect.unit_id)]:
            notify(user_id, "rectification.overdue", "整改逾期", f"整改期限 {rect.due_on:%Y-%m-%d} 已过",
                   {"finding_id": rect.finding_id}, f"rectification.overdue:{rect.finding_id}:{user_id}")
    db.session.flush()
    return len(due)


def decide_many(finding_ids: list[str], decision: rules.Decision, actor) -> list[dict]:
    """A bulk decision: each finding on its own (a savepoint each), results per finding."""
    results = []
    for fid in finding_ids:
        savepoint = db.session.begin_nested()
        try:
            f = decide(get_finding(fid, lock=True), decision, actor)
            savepoint.commit()
            results.append({"id": str(fid), "status": 200, "finding_status": f.status, "error": None})
        except DomainError as exc:
            savepoint.rollback()
            results.append({"id": str(fid), "status": exc.status, "finding_status": None,
                            "error": {"code": exc.code, "message": exc.message, "details": exc.details}})
    return results


def history(finding_id) -> list[dict]:
    from inspect_api.audit.models import AuditEvent

    rows = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity_type == "finding",
                                                          AuditEvent.entity_id == str(finding_id))
                              .order_by(AuditEvent.seq)).all()
    return [audit.decode(r) for r in rows]


# --- the unit's side ---------------------------------------------------------------------------------

def unit_findings(user) -> sa.Select:
    """Confirmed findings about the liaison's unit and its subtree (never who inspected)."""
    from inspect_api.org.services import scope_unit_ids

    return (sa.select(Finding).where(Finding.status.in_(("confirmed", "withdrawn")),
                                     Finding.unit_id.in_(scope_unit_ids(user)))
            .order_by(Finding.updated_at.desc(), Finding.id))


def unit_finding_view(f: Finding) -> dict:
    """What a unit may know of a finding: what, when, where, severity, its rectification deadline,
    and watermarked photos."""
    photos = db.session.scalars(sa.select(Evidence.id).where(
        Evidence.visit_id == f.visit_id, sa.or_(Evidence.finding_id == f.id,
                                                sa.and_(Evidence.item_code.is_not(None),
                                                        Evidence.item_code == f.item_code)))).all()
    return {"id": f.id, "category": f.category, "severity": f.severity, "status": f.status,
            "unit_id": f.unit_id, "staff_id": f.staff_id, "badge_no": f.badge_no, "window_no": f.window_no,
            "observed_at": f.observed_at, "description": f.description,
            "photos": [f"/api/v1/evidence/{pid}/watermarked" for pid in photos],
            "rectification": _rectification_view(db.session.get(Rectification, f.id))}


def _rectification_view(rect: Rectification | None) -> dict | None:
    if rect is None or rect.status == "cancelled":
        return None
    return {"due_on": rect.due_on.isoformat(), "provisional": rect.provisional, "status": rect.status}
