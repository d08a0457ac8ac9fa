"""The review queue and the office's decisions on findings; what a unit's liaison sees.

Every decision is on the trail with who, role, before and after. The route commits once, but for a
decision on findings: it commits, then the escalation rules judge in a transaction of their own
(`decide_and_commit`)."""

from __future__ import annotations

import logging
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from inspect_api.audit import services as audit
from inspect_api.auth import permissions
from inspect_api.core import calendar_store, clock, events
from inspect_api.db import db
from inspect_api.errors import DomainError, InvalidTransition, NotFound
from inspect_api.notifications.services import notify
from inspect_api.org.models import Unit
from inspect_api.org.recipients import liaison_ids, office_ids
from inspect_api.review import rules
from inspect_api.review.models import Appeal, Attachment, Rectification, RectificationReport
from inspect_api.visits.models import Evidence, Finding, Visit

log = logging.getLogger(__name__)


def _snapshot(f: Finding) -> dict:
    return {"status": f.status, "severity": f.severity}


def queue(args: dict) -> sa.Select:
    status = args.get("status", "pending_review")
    # outer join: findings from substantiated complaints have no visit
    stmt = (sa.select(Finding).outerjoin(Visit, Visit.id == Finding.visit_id)
            .where(Finding.status == status)
            .order_by(sa.func.coalesce(Visit.submitted_at, Finding.created_at), Finding.created_at, Finding.id))
    if status == "pending_review":
        # a visit sent back is being edited: its findings wait until it is submitted again
        stmt = stmt.where(sa.or_(Visit.status == "submitted", Finding.visit_id.is_(None)))
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


def decide(finding: Finding, decision: rules.Decision, actor, *, run_rules: bool = True) -> Finding:
    visit = db.session.get(Visit, finding.visit_id) if finding.visit_id else None  # None: from a complaint
    if visit is not None:
        rules.check_four_eyes(actor.id, visit.team, visit.created_by)
    new_status = rules.next_status(finding.status, decision)
    if visit is None and decision.action == "send_back":
        raise InvalidTransition("该问题由投诉查实而来，没有检查记录可退回 (no visit to send back)",
                                {"status": finding.status, "action": "send_back", "source": finding.source},
                                code="no_visit")
    before = _snapshot(finding)
    finding.status = new_status
    if decision.action == "adjust_severity":
        finding.severity = decision.severity
    if decision.action == "send_back" and visit is not None and visit.status == "submitted":
        visit.status = "draft"  # the inspectors add evidence and submit again
        visit.version += 1
        audit.record("visit.reopen", "visit", visit.id, actor=actor, before={"status": "submitted"},
                     after={"status": "draft", "reason": decision.reason, "finding_id": finding.id})
        for user_id in visit.team:
            notify(user_id, "finding.returned", f"检查记录 {visit.code} 被退回补充证据", decision.reason,
                   {"visit_id": visit.id, "finding_id": finding.id},
                   f"finding.returned:{finding.id}:{user_id}:{visit.version}")
    if decision.action == "confirm":
        _set_rectification(finding)
    elif decision.action == "adjust_severity" and new_status == "confirmed":
        _resize_rectification(finding)
    elif finding.status != "confirmed":
        _cancel_rectification(finding)
    if decision.action == "confirm":
        for user_id in liaison_ids([finding.unit_id]):
            notify(user_id, "finding.confirmed", "本单位有一项问题经效能办确认",
                   finding.description, {"finding_id": finding.id},
                   f"finding.confirmed:{finding.id}:{user_id}:{clock.now().isoformat()}")
    db.session.flush()
    audit.record(f"finding.{decision.action}", "finding", finding.id, actor=actor, before=before,
                 after={**_snapshot(finding), "reason": decision.reason})
    if new_status == "confirmed" and run_rules:
        _confirmed(actor, units={finding.unit_id}, staff={finding.staff_id})
    return finding


def _confirmed(actor=None, *, units=(), staff=(), committed: bool = False) -> None:
    """Confirmed findings are facts for the escalation rules (issue 8): announced, and accountability
    judges the units and staff concerned (`committed`: the confirmations are committed already)."""
    events.finding_confirmed.send(None, actor=actor, units={u for u in units if u is not None},
                                  staff={s for s in staff if s is not None}, committed=committed)


def decide_and_commit(finding_id, decision: rules.Decision, actor) -> Finding:
    """A decision on one finding, committed; then, if it confirmed the finding, the escalation rules
    judge its unit and staff member in a transaction of their own (committed too).

    The decision commits first so that judging (reading every confirmed fact of the unit and the
    person) does not hold SQLite's one write lock, which the phones' syncs and uploads wait on: the
    rules take it only to store a proposal. Proposals are keyed by their facts, so judging again (the
    nightly run) after a crash between the two commits adds what was missed and nothing twice."""
    finding = decide(get_finding(finding_id, lock=True), decision, actor, run_rules=False)
    db.session.commit()
    if finding.status == "confirmed":
        _judge_committed(actor, units={finding.unit_id}, staff={finding.staff_id})
    return finding


def _judge_committed(actor, *, units, staff) -> None:
    """The rules on committed confirmations, committed. The decisions stand whatever happens here: a
    failure is logged and the nightly run judges everyone again."""
    try:
        _confirmed(actor, units=units, staff=staff, committed=True)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("escalation rules after a review decision failed; the nightly run will judge again")


def _set_rectification(finding: Finding) -> Rectification:
    """Due a number of working days (by severity, from the policy file) after the confirmation; the
    appeal window counts from the same day."""
    from flask import current_app

    from inspect_api.core.calendar_store import current_calendar

    policy = current_app.extensions["inspect_review_policy"]
    days = policy.rectification_days[finding.severity]
    cal = current_calendar()
    today = clock.today()
    deadline = cal.add_working_days(today, days)
    appeal = cal.add_working_days(today, policy.appeal_window_days)
    rect = db.session.get(Rectification, finding.id) or Rectification(finding_id=finding.id, unit_id=finding.unit_id)
    rect.working_days, rect.due_on, rect.provisional, rect.status = days, deadline.date, deadline.provisional, "open"
    rect.appeal_days, rect.appeal_due_on, rect.appeal_provisional = (policy.appeal_window_days, appeal.date,
                                                                      appeal.provisional)
    rect.set_at, rect.flagged_overdue_at, rect.closed_at = clock.now(), None, None
    db.session.add(rect)
    return rect


def _resize_rectification(finding: Finding) -> None:
    """A confirmed finding's severity changed: its deadline is counted again from the same day with the
    new severity's working days; whatever the unit already did (a report, an acceptance) stands."""
    from flask import current_app

    from inspect_api.core.calendar_store import current_calendar
    from inspect_api.core.clock import local

    rect = db.session.get(Rectification, finding.id)
    if rect is None or rect.status in ("cancelled", "accepted"):
        return
    rect.working_days = current_app.extensions["inspect_review_policy"].rectification_days[finding.severity]
    deadline = current_calendar().add_working_days(local(rect.set_at).date(), rect.working_days)
    rect.due_on, rect.provisional = deadline.date, deadline.provisional
    if rect.status == "overdue" and rect.due_on >= clock.today():
        rect.status, rect.flagged_overdue_at = "open", None


def _cancel_rectification(finding: Finding) -> None:
    rect = db.session.get(Rectification, finding.id)
    if rect is not None and rect.status != "cancelled":
        rect.status, rect.closed_at = "cancelled", clock.now()


def flag_overdue_rectifications() -> int:
    """Scheduler job: mark open rectifications past their due day as overdue (for escalation) and
    tell the office and the unit; a second run finds nothing new."""

    today = clock.today()
    due = db.session.scalars(sa.select(Rectification).where(Rectification.status == "open",
                                                            Rectification.due_on < today)
                             .with_for_update()).all()
    office = office_ids()
    for rect in due:
        rect.status, rect.flagged_overdue_at = "overdue", clock.now()
        audit.record("rectification.overdue", "finding", rect.finding_id,
                     after={"due_on": rect.due_on.isoformat(), "unit_id": rect.unit_id})
        for user_id in [*office, *liaison_ids([rect.unit_id])]:
            notify(user_id, "rectification.overdue", "整改逾期", f"整改期限 {rect.due_on:%Y-%m-%d} 已过",
                   {"finding_id": rect.finding_id}, f"rectification.overdue:{rect.finding_id}:{user_id}")
    db.session.flush()
    if due:
        events.rectifications_overdue.send(None, units={rect.unit_id for rect in due} - {None})
    return len(due)


def remind_due_rectifications(working_days: int = 2) -> int:
    """Scheduler job: tell a unit's liaisons (and through their routes, the unit's group robot) of each
    open rectification due in `working_days` working days; once per rectification and due day."""
    from inspect_api.core.calendar_store import current_calendar

    today = clock.today()
    due_on = current_calendar().add_working_days(today, working_days).date
    rects = db.session.scalars(sa.select(Rectification).where(Rectification.status == "open",
                                                              Rectification.due_on == due_on)).all()
    told = 0
    for rect in rects:
        for user_id in liaison_ids([rect.unit_id]):
            told += notify(user_id, "rectification.due_soon", "整改即将到期",
                           f"整改期限 {rect.due_on:%Y-%m-%d}（还有{working_days}个工作日），请按期整改并报送整改情况。",
                           {"finding_id": rect.finding_id},
                           f"rectification.due_soon:{rect.finding_id}:{rect.due_on}:{user_id}")
    return told


def decide_many(finding_ids: list[str], decision: rules.Decision, actor) -> list[dict]:
    """A bulk decision: each finding on its own (a savepoint each), results per finding; committed,
    then the rules judge the confirmed findings' units and staff (`decide_and_commit`)."""
    results, units, staff = [], set(), set()
    for fid in finding_ids:
        savepoint = db.session.begin_nested()
        try:
            f = decide(get_finding(fid, lock=True), decision, actor, run_rules=False)
            savepoint.commit()
            if f.status == "confirmed":
                units.add(f.unit_id)
                staff.add(f.staff_id)
            results.append({"id": str(fid), "status": 200, "finding_status": f.status, "error": None})
        except DomainError as exc:
            savepoint.rollback()
            results.append({"id": str(fid), "status": exc.status, "finding_status": None,
                            "error": {"code": exc.code, "message": exc.message, "details": exc.details}})
    db.session.commit()  # the decisions first, then judging without the write lock (decide_and_commit)
    if units:
        _judge_committed(actor, units=units, staff=staff)  # once for the whole selection
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


def finding_photos(f: Finding) -> list[str]:
    """The ids of the photos of a finding (taken for it, or for its checklist item)."""
    if not f.visit_id:
        return []
    return list(db.session.scalars(sa.select(Evidence.id).where(
        Evidence.visit_id == f.visit_id, sa.or_(Evidence.finding_id == f.id,
                                                sa.and_(Evidence.item_code.is_not(None),
                                                        Evidence.item_code == f.item_code)))))


def observed_for_unit(f: Finding) -> dict:
    """A covert visit's time only as precisely as the policy lets units know it (the minute points
    at who the visitor was); other findings' times in full."""
    from flask import current_app

    from inspect_api.visits.rules import COVERT_MODES

    mode = db.session.get(Visit, f.visit_id).mode if f.visit_id else None
    precision = (current_app.extensions["inspect_review_policy"].covert_time_for_units
                 if mode in COVERT_MODES else "minute")
    shown = rules.time_for_unit(clock.local(f.observed_at) if f.observed_at else None, precision)
    if shown["observed_at"] is not None:
        shown["observed_at"] = f.observed_at
    return shown


def rectification_for_unit(f: Finding) -> dict | None:
    """The finding's rectification deadlines, counted today."""
    rect = db.session.get(Rectification, f.id)
    if rect is None or rect.status == "cancelled":
        return None
    cal, today = calendar_store.current_calendar(), clock.today()
    return {"due_on": rect.due_on.isoformat(), "provisional": rect.provisional, "working_days": rect.working_days,
            "status": rect.status, "status_label": rules.RECTIFICATION_LABELS[rect.status],
            # working days left, counted today on the calendar in force (negative: days past due); provisional
            # when a year between today and the day has no loaded calendar
            "days_left": cal.working_days_between(today, rect.due_on),
            "days_left_provisional": bool(cal.assumed_years_between(today, rect.due_on)),
            "appeal_due_on": rect.appeal_due_on.isoformat() if rect.appeal_due_on else None,
            "appeal_provisional": rect.appeal_provisional,
            "appeal_days_left": cal.working_days_between(today, rect.appeal_due_on) if rect.appeal_due_on else None}


# --- appeals (申辩) and rectification reports ------------------------------------------------------------

ATTACHMENT_TYPES = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png", "image/heic": "heic"}
MAX_ATTACHMENTS = 10



def _unit_finding(finding_id, user, *, lock: bool = False) -> Finding:
    """A finding the liaison may act on (their unit or below, confirmed or withdrawn); 404 otherwise."""
    from inspect_api.org.services import in_scope

    f = db.session.get(Finding, str(finding_id), with_for_update=lock or None)
    if f is None or f.status not in ("confirmed", "withdrawn") or not in_scope(user, f.unit_id):
        raise NotFound("问题不存在 (no such finding)")
    return f


def _check_attachment(upload, path, cfg) -> str:
    """The media type of an attached file (PDF or photo), or an error saying why it is refused."""
    from inspect_api.core import images
    from inspect_api.errors import Unprocessable, UnsupportedMediaType

    with open(path, "rb") as fh:
        head = fh.read(5)
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - 1024))
        tail = fh.read()
    if size == 0:
        raise Unprocessable("文件为空 (empty file)", {"fields": {"files": [upload.filename or "file"]}},
                            code="empty_file")
    if head == b"%PDF-":
        if b"%%EOF" not in tail:
            raise Unprocessable("PDF 文件不完整 (truncated PDF)", {"fields": {"files": [upload.filename or "file"]}},
                                code="pdf_broken")
        return "application/pdf"
    declared = images.declared_format(upload.mimetype if upload.mimetype != "application/octet-stream" else None,
                                      upload.filename)
    try:
        # checked as evidence photos are: JPEG's draft-mode decode still reads every byte of the scan,
        # so a truncated file fails as at full size (tests/unit/test_image_checks.py)
        info = images.check_image(path, declared=declared, max_pixels=cfg["INSPECT_MAX_IMAGE_PIXELS"])
    except images.ImageRejected as exc:
        if exc.status == 415:
            raise UnsupportedMediaType("附件只接受 PDF、JPEG、PNG、HEIC (attachments: PDF or photos)",
                                       {"fields": {"files": [upload.filename or "file"]}}, code=exc.code) from exc
        raise Unprocessable(exc.message, {"fields": {"files": [upload.filename or "file"]}}, code=exc.code) from exc
    return info.media_type


def store_uploads(uploads: list, build) -> list:
    """Check every uploaded file first, then store them all, content-addressed (the same bytes are kept
    once); a refused file stores nothing. `build(position, upload, received, media_type, key)` makes the
    row that records each file (appeal and report attachments here, supervised-matter files there)."""
    from flask import current_app

    from inspect_api.core.storage import get_storage, receive
    from inspect_api.errors import Unprocessable

    if len(uploads) > MAX_ATTACHMENTS:
        raise Unprocessable(f"附件最多 {MAX_ATTACHMENTS} 个 (too many files)", {"fields": {"files": ["too many"]}})
    storage = get_storage()
    received, checked = [], []
    try:
        for upload in uploads:
            r = receive(upload.stream, storage.scratch_dir())
            received.append(r)
            checked.append((upload, r, _check_attachment(upload, r.path, current_app.config)))
        out = []
        for position, (upload, r, media_type) in enumerate(checked):
            key = f"attachments/{r.sha256[:2]}/{r.sha256}.{ATTACHMENT_TYPES[media_type]}"
            storage.put(key, r.path)
            row = build(position, upload, r, media_type, key)
            db.session.add(row)
            out.append(row)
        return out
    finally:
        for r in received:
            r.path.unlink(missing_ok=True)


def _store_attachments(owner_type: str, owner_id: int, uploads: list, actor) -> list[Attachment]:
    return store_uploads(uploads, lambda position, upload, r, media_type, key: Attachment(
        id=str(uuid.uuid4()), owner_type=owner_type, owner_id=owner_id, sha256=r.sha256, position=position,
        size_bytes=r.size, media_type=media_type, filename=(upload.filename or "")[:255] or None,
        storage_key=key, uploaded_by=actor.id, uploaded_at=clock.now()))


def file_appeal(finding_id, text: str, uploads: list, actor) -> Appeal:
    finding = _unit_finding(finding_id, actor, lock=True)
    rect = db.session.get(Rectification, finding.id)
    earlier = [(a.status, a.filed_at) for a in db.session.scalars(sa.select(Appeal).where(
        Appeal.finding_id == finding.id))]
    rules.check_appeal(finding.status, clock.today(), rect.appeal_due_on if rect else None,
                       rect.set_at if rect else clock.now(), earlier)
    appeal = Appeal(finding_id=finding.id, unit_id=finding.unit_id, text=text, status="pending",
                    filed_by=actor.id, filed_at=clock.now())
    db.session.add(appeal)
    db.session.flush()
    atts = _store_attachments("appeal", appeal.id, uploads, actor)
    db.session.flush()
    audit.record("appeal.file", "finding", finding.id, actor=actor,
                 after={"appeal_id": appeal.id, "text": text,
                        "attachments": [{"sha256": a.sha256, "filename": a.filename} for a in atts]})
    for user_id in office_ids():
        notify(user_id, "appeal.filed", "有单位对问题提出申辩", text[:200], {"finding_id": finding.id,
                                                                    "appeal_id": appeal.id},
               f"appeal.filed:{appeal.id}:{user_id}")
    return appeal


def get_appeal(appeal_id: int, *, lock: bool = False) -> Appeal:
    appeal = db.session.get(Appeal, appeal_id, with_for_update=lock or None)
    if appeal is None:
        raise NotFound("申辩不存在 (no such appeal)")
    return appeal


def decide_appeal(appeal: Appeal, action: str, reason: str | None, actor) -> Appeal:
    finding = get_finding(appeal.finding_id, lock=True)
    visit = db.session.get(Visit, finding.visit_id) if finding.visit_id else None
    if visit is not None:
        rules.check_four_eyes(actor.id, visit.team, visit.created_by)
    new_status = rules.decide_appeal(appeal.status, action, reason)
    appeal.status, appeal.decided_by, appeal.decided_at, appeal.decision_reason = (new_status, actor.id,
                                                                                   clock.now(), reason)
    if new_status == "upheld":
        before = _snapshot(finding)
        finding.status = "withdrawn"
        _cancel_rectification(finding)
        audit.record("finding.withdraw", "finding", finding.id, actor=actor, before=before,
                     after={**_snapshot(finding), "reason": reason, "appeal_id": appeal.id})
    db.session.flush()
    audit.record(f"appeal.{action}", "finding", finding.id, actor=actor, before={"appeal_status": "pending"},
                 after={"appeal_id": appeal.id, "appeal_status": new_status, "reason": reason})
    verdict = "申辩成立, 问题已撤销" if new_status == "upheld" else "申辩不成立, 请按期整改"
    for user_id in liaison_ids([finding.unit_id]):
        notify(user_id, f"appeal.{new_status}", verdict, reason, {"finding_id": finding.id, "appeal_id": appeal.id},
               f"appeal.decided:{appeal.id}:{user_id}")
    return appeal


def file_report(finding_id, text: str, uploads: list, actor) -> RectificationReport:
    finding = _unit_finding(finding_id, actor, lock=True)
    rect = db.session.get(Rectification, finding.id, with_for_update=True)
    rules.check_report(finding.status, rect.status if rect else None)
    before = rect.status
    report = RectificationReport(finding_id=finding.id, unit_id=finding.unit_id, text=text, status="submitted",
                                 submitted_by=actor.id, submitted_at=clock.now())
    db.session.add(report)
    db.session.flush()
    atts = _store_attachments("report", report.id, uploads, actor)
    rect.status = "reported"
    db.session.flush()
    audit.record("rectification.report", "finding", finding.id, actor=actor,
                 before={"rectification_status": before},
                 after={"rectification_status": "reported", "report_id": report.id, "text": text,
                        "attachments": [{"sha256": a.sha256, "filename": a.filename} for a in atts]})
    for user_id in office_ids():
        notify(user_id, "rectification.reported", "单位报送了整改报告", text[:200],
               {"finding_id": finding.id, "report_id": report.id}, f"rectification.reported:{report.id}:{user_id}")
    return report


def get_report(report_id: int, *, lock: bool = False) -> RectificationReport:
    report = db.session.get(RectificationReport, report_id, with_for_update=lock or None)
    if report is None:
        raise NotFound("整改报告不存在 (no such report)")
    return report


def decide_report(report: RectificationReport, action: str, reason: str | None, actor) -> RectificationReport:
    finding = get_finding(report.finding_id, lock=True)
    new_status = rules.decide_report(report.status, action, reason)
    rect = db.session.get(Rectification, finding.id, with_for_update=True)
    before = rect.status
    report.status, report.decided_by, report.decided_at, report.decision_reason = (new_status, actor.id,
                                                                                   clock.now(), reason)
    if new_status == "accepted":
        rect.status, rect.closed_at = "accepted", clock.now()
    else:
        rect.status = rules.rectification_after_return(rect.due_on, clock.today())
    db.session.flush()
    audit.record(f"rectification.{action}", "finding", finding.id, actor=actor,
                 before={"rectification_status": before, "report_status": "submitted"},
                 after={"rectification_status": rect.status, "report_id": report.id, "report_status": new_status,
                        "reason": reason})
    title = "整改报告已验收" if new_status == "accepted" else "整改报告被退回, 请补充后重新报送"
    for user_id in liaison_ids([finding.unit_id]):
        notify(user_id, f"rectification.{new_status}", title, reason,
               {"finding_id": finding.id, "report_id": report.id}, f"report.decided:{report.id}:{user_id}")
    return report


def appeal_queue(args: dict) -> sa.Select:
    stmt = sa.select(Appeal).options(selectinload(Appeal.attachments)).order_by(Appeal.filed_at, Appeal.id)
    if args.get("status"):
        stmt = stmt.where(Appeal.status == args["status"])
    if args.get("unit_id"):
        stmt = stmt.where(Appeal.unit_id == args["unit_id"])
    return stmt


def report_queue(args: dict) -> sa.Select:
    stmt = (sa.select(RectificationReport).options(selectinload(RectificationReport.attachments))
            .order_by(RectificationReport.submitted_at, RectificationReport.id))
    if args.get("status"):
        stmt = stmt.where(RectificationReport.status == args["status"])
    if args.get("unit_id"):
        stmt = stmt.where(RectificationReport.unit_id == args["unit_id"])
    return stmt


def unit_finding_detail(finding_id, user) -> Finding:
    """A finding about the liaison's unit (its appeals and reports come with it); 404 otherwise."""
    return _unit_finding(finding_id, user)


def appeals_of(f: Finding) -> list[Appeal]:
    return list(db.session.scalars(sa.select(Appeal).where(Appeal.finding_id == f.id).order_by(Appeal.filed_at)))


def reports_of(f: Finding) -> list[RectificationReport]:
    return list(db.session.scalars(sa.select(RectificationReport).where(RectificationReport.finding_id == f.id)
                                   .order_by(RectificationReport.submitted_at)))


def attachment_for(attachment_id: str, user) -> Attachment:
    """The attachment if the caller may read it: office/admin, or a liaison of the unit it concerns."""
    from inspect_api.org.services import in_scope

    att = db.session.get(Attachment, str(attachment_id))
    if att is None:
        raise NotFound("附件不存在 (no such attachment)")
    def covers() -> bool:
        owner = db.session.get(Appeal if att.owner_type == "appeal" else RectificationReport, att.owner_id)
        return owner is not None and in_scope(user, owner.unit_id)

    if not permissions.can_read_attachment(user, att, covers=covers):
        raise NotFound("附件不存在 (no such attachment)")
    return att


# --- deadlines that rested on an assumed week ------------------------------------------------------------

def recompute_provisional_deadlines(years: list[int], actor=None) -> int:
    """After a holiday table is imported: count every provisional deadline again on the calendar now
    known, from the same day and the same number of working days, and tell the unit and the office
    when a date moved. Returns how many deadlines changed."""
    from inspect_api.core.calendar_store import current_calendar
    from inspect_api.core.clock import local

    cal = current_calendar()
    today = clock.today()
    office = office_ids()
    changed = 0
    rows = db.session.scalars(sa.select(Rectification).where(
        sa.or_(Rectification.provisional.is_(True), Rectification.appeal_provisional.is_(True)),
        Rectification.status.in_(("open", "reported", "overdue"))).with_for_update()).all()
    for rect in rows:
        start = local(rect.set_at).date()
        before = {"due_on": rect.due_on.isoformat(), "provisional": rect.provisional,
                  "appeal_due_on": rect.appeal_due_on.isoformat() if rect.appeal_due_on else None,
                  "appeal_provisional": rect.appeal_provisional, "status": rect.status}
        if rect.provisional and rect.working_days:
            d = cal.add_working_days(start, rect.working_days)
            rect.due_on, rect.provisional = d.date, d.provisional
        if rect.appeal_provisional and rect.appeal_days:
            d = cal.add_working_days(start, rect.appeal_days)
            rect.appeal_due_on, rect.appeal_provisional = d.date, d.provisional
        if rect.status == "overdue" and rect.due_on >= today:
            rect.status, rect.flagged_overdue_at = "open", None  # the later day has not passed yet
        after = {"due_on": rect.due_on.isoformat(), "provisional": rect.provisional,
                 "appeal_due_on": rect.appeal_due_on.isoformat() if rect.appeal_due_on else None,
                 "appeal_provisional": rect.appeal_provisional, "status": rect.status}
        if after == before:
            continue
        audit.record("rectification.recompute", "finding", rect.finding_id, actor=actor, before=before,
                     after={**after, "years": years})
        if after["due_on"] != before["due_on"] or after["appeal_due_on"] != before["appeal_due_on"]:
            changed += 1
            body = (f"按 {'、'.join(map(str, years))} 年节假日安排重新计算: 整改期限 {before['due_on']} → "
                    f"{after['due_on']}" + (f"; 申辩期限 {before['appeal_due_on']} → {after['appeal_due_on']}"
                                            if after["appeal_due_on"] != before["appeal_due_on"] else ""))
            for user_id in [*office, *liaison_ids([rect.unit_id])]:
                notify(user_id, "deadline.recomputed", "期限已按正式节假日安排调整", body,
                       {"finding_id": rect.finding_id},
                       f"deadline.recomputed:{rect.finding_id}:{after['due_on']}:{after['appeal_due_on']}:{user_id}")
    db.session.flush()
    return changed


def on_calendar_imported(_sender, *, years: list[int], actor=None) -> int:
    """Receiver of core.events.calendar_imported."""
    return recompute_provisional_deadlines(years, actor)
