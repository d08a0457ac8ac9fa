"""投诉举报 services: receiving complaints (the public form, the hotline), handling them to the end
(assign, forward to the unit, investigate, answer, close), the finding a substantiated complaint
becomes, the public status page, the nightly overdue flag and deadline recounts.

Nothing here reads the request: routes pass the few values needed, and never an IP address or a user
agent. Every change is on the trail; the route or job commits once.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from inspect_api.audit import services as audit
from inspect_api.auth import permissions
from inspect_api.auth.models import User
from inspect_api.complaints import rules
from inspect_api.complaints.models import Complaint
from inspect_api.complaints.policy import ComplaintsPolicy
from inspect_api.core import clock, public_form
from inspect_api.core.calendar_store import current_calendar
from inspect_api.core.calendar_store import days_left as calendar_days_left
from inspect_api.core.clock import LOCAL_TZ, local
from inspect_api.core.counters import next_value
from inspect_api.core.deadlines import LimitOutOfRange, MatterLevel
from inspect_api.db import db
from inspect_api.errors import NotFound, Unprocessable
from inspect_api.notifications.services import notify
from inspect_api.org.models import Staff, Unit
from inspect_api.org.recipients import liaison_ids, office_ids
from inspect_api.org.services import in_scope, scope_unit_ids
from inspect_api.ratings import services as rating_services
from inspect_api.visits.models import Finding

TOKEN_MESSAGES = {
    "token_invalid": "投诉页面已失效，请重新打开投诉页面 (invalid form token)",
    "token_expired": "投诉页面已过期，请重新打开投诉页面 (form token expired)",
    "too_fast": "提交过快，请稍后再试 (submitted too quickly)",
}
TOO_MANY = "投诉提交过于频繁，请稍后再试，或拨打效能投诉电话 (too many complaints)"
TOO_MANY_LOOKUPS = "查询过于频繁，请稍后再试 (too many lookups)"
NOT_FOUND_PUBLIC = "未找到该投诉，请核对投诉编号和查询码 (no such complaint, or wrong query code)"


def policy() -> ComplaintsPolicy:
    return current_app.extensions["inspect_complaints_policy"]


def _secret() -> str:
    return current_app.config["SECRET_KEY"]



def _snapshot(c: Complaint) -> dict:
    return {"status": c.status, "overdue": c.overdue, "due_on": c.due_on.isoformat(), "level": c.level,
            "handler_id": c.handler_id}


# --- deadlines --------------------------------------------------------------------------------------------

def _set_deadline(c: Complaint, level, days) -> None:
    """Count the complaint's deadline from the day it was received; a later day lifts the overdue flag."""
    try:
        c.working_days, found = rules.deadline(current_calendar(), level, c.received_on, days)
    except LimitOutOfRange as exc:
        raise Unprocessable(exc.message, {"fields": {"days": exc.details["fields"]["requested_days"]}},
                            code=exc.code) from exc
    c.level, c.due_on, c.provisional = MatterLevel(level).value, found.date, found.provisional
    if c.overdue and not rules.is_overdue(c.status, c.due_on, clock.today()):
        c.overdue, c.flagged_overdue_at = False, None


def deadline_text(c: Complaint) -> str:
    text = f"{c.due_on.year}年{c.due_on.month}月{c.due_on.day}日"
    return text + ("（暂定：节假日安排尚未导入，按周一至周五推算）" if c.provisional else "")


# --- receiving ----------------------------------------------------------------------------------------------

def _active_unit(unit_id, field: str = "unit_id") -> Unit:
    unit = db.session.get(Unit, unit_id) if isinstance(unit_id, int) and not isinstance(unit_id, bool) else None
    if unit is None or not unit.is_active:
        raise Unprocessable("单位不存在 (unknown unit)", {"fields": {field: ["请选择被投诉的单位"]}})
    return unit


def _staff(staff_id) -> Staff | None:
    if staff_id is None:
        return None
    staff = db.session.get(Staff, staff_id)
    if staff is None:
        raise Unprocessable("工作人员不存在 (unknown staff)", {"fields": {"staff_id": ["不存在"]}})
    return staff


def _receive(unit: Unit, value: rules.ComplaintInput, channel: str, actor, *, level=None, days=None,
             staff: Staff | None = None) -> tuple[Complaint, str]:
    """Store a complaint, count its deadline, tell the office; returns it with its query code (the code
    is shown once and kept only as an HMAC)."""
    now = clock.now()
    received_on = local(now).date()
    tracking = rules.tracking_no(received_on.year, next_value(f"complaint:{received_on.year}"))
    code = rules.new_code()
    c = Complaint(tracking_no=tracking, code_hash=rules.code_hash(_secret(), tracking, code), channel=channel,
                  unit_id=unit.id, window_no=value.window_no, staff_id=staff.id if staff else None,
                  category=value.category, content=value.content, occurred_on=value.occurred_on,
                  occurred_time=value.occurred_time, contact_name=value.contact_name,
                  contact_phone=value.contact_phone, contact_email=value.contact_email, status="received",
                  received_on=received_on, received_at=now, created_by=getattr(actor, "id", None), overdue=False)
    _set_deadline(c, level or rules.DEFAULT_LEVEL, days)
    db.session.add(c)
    db.session.flush()
    # The trail says whether a contact was left, never what it is.
    audit.record("complaint.receive", "complaint", c.id, actor=actor,
                 after={"tracking_no": tracking, "channel": channel, "unit_id": unit.id, "window_no": c.window_no,
                        "staff_id": c.staff_id, "category": c.category, "level": c.level,
                        "working_days": c.working_days, "due_on": c.due_on.isoformat(),
                        "provisional": c.provisional, "has_contact": c.has_contact})
    for user_id in office_ids():
        notify(user_id, "complaint.received", f"收到群众投诉 {tracking}",
               f"{rules.CHANNELS[channel]}：{unit.name}{f' {c.window_no} 号窗口' if c.window_no else ''}，"
               f"请于 {deadline_text(c)} 前办结", {"type": "complaint", "id": c.id},
               f"complaint.received:{c.id}:{user_id}")
    return c, code


def window_for_key(key: str) -> tuple[Unit, str]:
    """The unit and window of a window's printed key (the same key as its rating page)."""
    try:
        return rating_services.window_for_key(key)
    except NotFound as exc:
        raise NotFound("投诉页面不存在 (unknown window)") from exc


def public_units() -> list[Unit]:
    return list(db.session.scalars(sa.select(Unit).where(Unit.is_active.is_(True)).order_by(Unit.path)))


def new_token(window_key: str | None = None) -> str:
    return public_form.new_token(rules.form_key(window_key))


def submit_public(*, window_key: str | None, unit_id, token, fields: dict, device: str | None
                  ) -> tuple[Complaint, str]:
    """One complaint from the public form. `device` is the random value of the device cookie (or None).
    Order: where (404/422), the token (422), the content (422), replay (409), rate limits (429)."""
    now = clock.now()
    pol = policy()
    if window_key:
        unit, window_no = window_for_key(window_key)
        if unit_id not in (None, unit.id):
            raise Unprocessable("单位与窗口不符 (unit does not match the window)", {"fields": {"unit_id": ["与窗口不符"]}})
        fields = {**fields, "window_no": window_no}
    else:
        unit = _active_unit(unit_id)
    issued = public_form.check_token(rules.form_key(window_key), token, now, minutes=pol.token_minutes,
                                     min_fill_seconds=pol.min_fill_seconds, messages=TOKEN_MESSAGES)
    value = rules.validate(**fields, today=clock.today(), allow_links=False)
    public_form.use_token(token, issued, pol.token_minutes, now, "该投诉已提交过，请勿重复提交 (form already submitted)")
    public_form.throttle("complaint-all", "all", 60, pol.global_per_minute, now, TOO_MANY)
    if device:
        public_form.throttle("complaint-device", device, 3600, pol.device_per_hour, now, TOO_MANY)
    return _receive(unit, value, "web", None)


def create(data: dict, actor) -> tuple[Complaint, str]:
    """A complaint the office took by telephone (12345 / 效能投诉电话), letter or visit."""
    unit = _active_unit(data["unit_id"])
    staff = _staff(data.get("staff_id"))
    value = rules.validate(content=data["content"], category=data.get("category"), window_no=data.get("window_no"),
                           occurred_on=data.get("occurred_on"), occurred_time=data.get("occurred_time"),
                           contact_name=data.get("contact_name"), contact_phone=data.get("contact_phone"),
                           contact_email=data.get("contact_email"), today=clock.today(), allow_links=True)
    return _receive(unit, value, data["channel"], actor, level=data.get("level"), days=data.get("days"), staff=staff)


# --- handling -------------------------------------------------------------------------------------------------

def get(complaint_id: int, *, lock: bool = False) -> Complaint:
    c = db.session.get(Complaint, complaint_id, with_for_update=lock or None)
    if c is None:
        raise NotFound("投诉不存在 (no such complaint)")
    return c


def _record(action: str, c: Complaint, actor, before: dict, **extra) -> None:
    db.session.flush()
    audit.record(f"complaint.{action}", "complaint", c.id, actor=actor, before=before,
                 after={**_snapshot(c), **extra})


def assign(c: Complaint, actor, *, handler_id: int | None = None, level=None, days=None) -> Complaint:
    """分办: to an office handler (the caller by default); the time limit's level may be set here,
    counted again from the day received."""
    new = rules.next_status(c.status, "assign")
    handler_id = handler_id or actor.id
    handler = db.session.get(User, handler_id)
    if not permissions.can_handle_complaint(handler):
        raise Unprocessable("承办人须为效能办在岗人员 (handler must be an active office user)",
                            {"fields": {"handler_id": ["不是效能办人员"]}})
    before = _snapshot(c)
    if level is not None or days is not None:
        _set_deadline(c, level or c.level, days)
    c.status, c.handler_id, c.assigned_at = new, handler_id, clock.now()
    _record("assign", c, actor, before, working_days=c.working_days, provisional=c.provisional)
    if handler_id != actor.id:
        notify(handler_id, "complaint.assigned", f"群众投诉 {c.tracking_no} 分办给您",
               f"请于 {deadline_text(c)} 前办结", {"type": "complaint", "id": c.id},
               f"complaint.assigned:{c.id}:{handler_id}:{c.assigned_at.isoformat()}")
    return c


def forward(c: Complaint, actor, *, note: str, unit_id: int | None = None, unit_content: str | None = None
            ) -> Complaint:
    """转办: the unit concerned (or another, e.g. its department) investigates and reports back. The
    unit sees what happened, when and where, never who complained; `unit_content` replaces the text it
    is shown when the office takes personal details out."""
    new = rules.next_status(c.status, "forward")
    unit = _active_unit(unit_id if unit_id is not None else c.unit_id)
    before = _snapshot(c)
    c.status, c.forwarded_unit_id, c.forwarded_at, c.forward_note = new, unit.id, clock.now(), note
    c.unit_content = (unit_content or "").strip() or None
    if c.unit_report is not None:  # forwarded again: a new report is awaited (the old one is on the trail)
        c.unit_report, c.unit_reported_at, c.unit_reported_by = None, None, None
    if c.handler_id is None:
        c.handler_id = actor.id
    _record("forward", c, actor, before, forwarded_unit_id=unit.id, note=note,
            unit_content_edited=c.unit_content is not None)
    for user_id in liaison_ids([unit.id]):
        notify(user_id, "complaint.forwarded", "效能办转来一件群众投诉，请调查核实",
               f"请于 {deadline_text(c)} 前报送调查核实情况。{note}", {"type": "complaint", "id": c.id},
               f"complaint.forwarded:{c.id}:{user_id}:{c.forwarded_at.isoformat()}")
    return c


def investigate(c: Complaint, actor, *, note: str) -> Complaint:
    """The office records what its own investigation, or its reading of the unit's report, found."""
    new = rules.next_status(c.status, "investigate")
    before = _snapshot(c)
    c.status, c.investigation_note, c.investigated_at, c.investigated_by = new, note, clock.now(), actor.id
    _record("investigate", c, actor, before, note=note)
    return c


def answer(c: Complaint, actor, *, text: str, channel: str, answered_at: datetime | None = None) -> Complaint:
    """答复: what the complainant was told, how and when (by default now)."""
    new = rules.next_status(c.status, "answer")
    rules.check_answer_channel(channel, c.contact_phone, c.contact_email)
    now = clock.now()
    when = answered_at or now
    if when > now + timedelta(minutes=5) or when < c.received_at - timedelta(minutes=5):
        raise Unprocessable("答复时间须在受理之后、当前时间之前", {"fields": {"answered_at": ["超出范围"]}})
    before = _snapshot(c)
    c.status, c.answer_text, c.answer_channel, c.answered_at, c.answered_by = new, text, channel, when, actor.id
    _record("answer", c, actor, before, text=text, channel=channel, answered_at=when.isoformat())
    return c


def close(c: Complaint, actor, *, outcome: str, reason: str, category: str | None = None,
          severity: str | None = None, staff_id: int | None = None, description: str | None = None) -> Complaint:
    """办结: 成立 (substantiated) makes a confirmed finding against the unit, with its rectification;
    不成立 makes none."""
    rules.check_conclusion(outcome, category, severity, reason)
    new = rules.check_close(c.status, c.has_contact)
    staff = _staff(staff_id if staff_id is not None else (c.staff_id if outcome == "substantiated" else None))
    before = _snapshot(c)
    c.status, c.outcome, c.outcome_reason, c.closed_at, c.closed_by = new, outcome, reason, clock.now(), actor.id
    finding = None
    if outcome == "substantiated":
        finding = _make_finding(c, actor, category, severity, staff, description or reason)
    _record("close", c, actor, before, outcome=outcome, reason=reason,
            finding_id=finding.id if finding is not None else None)
    for user_id in liaison_ids([c.forwarded_unit_id]):
        notify(user_id, "complaint.closed", f"转办的群众投诉已办结：{rules.OUTCOMES[outcome]}", None,
               {"type": "complaint", "id": c.id}, f"complaint.closed:{c.id}:{user_id}")
    return c


def _occurred_at(c: Complaint) -> datetime | None:
    if c.occurred_on is None:
        return None
    return datetime.combine(c.occurred_on, c.occurred_time or time(12, 0), LOCAL_TZ).astimezone(clock.now().tzinfo)


def _make_finding(c: Complaint, actor, category: str, severity: str, staff: Staff | None,
                  description: str) -> Finding:
    """The finding a substantiated complaint becomes, confirmed through the review's own path (so it
    gets its rectification deadline, the unit is told and the escalation rules run), with the
    complaint as its evidence."""
    from inspect_api.review import rules as review_rules
    from inspect_api.review import services as review

    f = Finding(id=str(uuid.uuid4()), visit_id=None, complaint_id=c.id, source="complaint", item_code=None,
                category=category, severity=severity, points=0, unit_id=c.unit_id,
                staff_id=staff.id if staff else None, badge_no=staff.badge_no if staff else None,
                window_no=c.window_no or (staff.window_no if staff else None), position=None,
                observed_at=_occurred_at(c) or c.received_at, description=description, status="pending_review")
    db.session.add(f)
    db.session.flush()
    audit.record("finding.create", "finding", f.id, actor=actor,
                 after={"source": "complaint", "complaint_id": c.id, "tracking_no": c.tracking_no,
                        "category": category, "severity": severity, "unit_id": c.unit_id, "staff_id": f.staff_id})
    return review.decide(f, review_rules.Decision(action="confirm"), actor)


# --- the unit's side --------------------------------------------------------------------------------------------

def _unit_visible(user):
    """Complaints a liaison may read: forwarded to its unit's subtree, or substantiated against it
    (the finding it became names the complaint as evidence)."""
    scope = scope_unit_ids(user)
    return sa.or_(Complaint.forwarded_unit_id.in_(scope),
                  sa.and_(Complaint.outcome == "substantiated", Complaint.unit_id.in_(scope)))


def unit_complaints(user, args: dict) -> sa.Select:
    stmt = sa.select(Complaint).options(selectinload(Complaint.finding)).where(_unit_visible(user))
    if args.get("status"):
        stmt = stmt.where(Complaint.status == args["status"])
    return stmt.order_by(Complaint.due_on, Complaint.id)


def unit_complaint(complaint_id: int, user, *, lock: bool = False) -> Complaint:
    stmt = sa.select(Complaint).where(Complaint.id == complaint_id, _unit_visible(user))
    c = db.session.scalar(stmt.with_for_update(of=Complaint) if lock else stmt)
    if c is None:
        raise NotFound("投诉不存在 (no such complaint)")
    return c


def unit_report(complaint_id: int, user, text: str) -> Complaint:
    """The unit's investigation report (调查核实情况), due by the complaint's deadline."""
    c = unit_complaint(complaint_id, user, lock=True)
    if c.forwarded_unit_id is None or not in_scope(user, c.forwarded_unit_id):
        raise NotFound("投诉不存在 (no such complaint)")  # substantiated against it, but never forwarded
    new = rules.next_status(c.status, "unit_report")
    before = _snapshot(c)
    c.status, c.unit_report, c.unit_reported_at, c.unit_reported_by = new, text, clock.now(), user.id
    _record("unit_report", c, user, before, text=text)
    for user_id in [c.handler_id] if c.handler_id else office_ids():
        notify(user_id, "complaint.unit_reported", f"单位已报送投诉 {c.tracking_no} 的调查核实情况", text[:200],
               {"type": "complaint", "id": c.id}, f"complaint.unit_reported:{c.id}:{user_id}:{c.unit_reported_at.isoformat()}")
    return c


# --- reading --------------------------------------------------------------------------------------------------

def office_list(args: dict) -> sa.Select:
    stmt = sa.select(Complaint).options(selectinload(Complaint.finding))
    for key in ("status", "unit_id", "channel", "outcome", "handler_id", "level"):
        if args.get(key) is not None:
            stmt = stmt.where(getattr(Complaint, key) == args[key])
    if args.get("overdue") is not None:
        stmt = stmt.where(Complaint.overdue.is_(args["overdue"]))
    if args.get("under"):
        root = db.session.get(Unit, args["under"])
        if root is None:
            raise NotFound("单位不存在 (no such unit)")
        stmt = stmt.where(Complaint.unit_id.in_(sa.select(Unit.id).where(Unit.path.startswith(root.path))))
    if args.get("from"):
        stmt = stmt.where(Complaint.received_on >= args["from"])
    if args.get("to"):
        stmt = stmt.where(Complaint.received_on <= args["to"])
    if args.get("tracking_no"):
        stmt = stmt.where(Complaint.tracking_no == args["tracking_no"])
    if args.get("open") is not None:
        stmt = stmt.where((Complaint.status != "closed") if args["open"] else (Complaint.status == "closed"))
    if args.get("sort") == "due":
        return stmt.order_by(Complaint.due_on, Complaint.received_at, Complaint.id)
    return stmt.order_by(Complaint.received_at.desc(), Complaint.id.desc())


def days_left(c: Complaint) -> dict:
    """Working days left to the complaint's deadline (None once closed)."""
    return calendar_days_left(c.due_on, c.status != "closed")


def history(c: Complaint) -> list[dict]:
    from inspect_api.audit.models import AuditEvent

    rows = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity_type == "complaint",
                                                          AuditEvent.entity_id == str(c.id))
                              .order_by(AuditEvent.seq)).all()
    return [audit.decode(r) for r in rows]


def public_view(c: Complaint) -> dict:
    """The complainant's view: progress, deadline, the answer and the conclusion; nothing of the unit's
    report, the office's notes or who handles it."""
    status, label = rules.PUBLIC_STATUS[c.status]
    unit = db.session.get(Unit, c.unit_id)
    answered = c.answered_at is not None
    return {"tracking_no": c.tracking_no, "status": status, "status_label": label, "received_on": c.received_on,
            "due_on": c.due_on, "provisional": c.provisional, "unit_name": unit.name if unit else None,
            "answer": {"text": c.answer_text, "channel": c.answer_channel,
                       "channel_label": rules.ANSWER_CHANNELS[c.answer_channel], "answered_at": c.answered_at}
            if answered else None,
            "outcome": c.outcome, "outcome_label": rules.OUTCOMES.get(c.outcome) if c.outcome else None,
            "closed_on": local(c.closed_at).date() if c.closed_at else None}


def public_status(tracking_no: str, code: str | None, device: str | None) -> dict:
    """The status page's answer for a tracking number and its query code. A wrong code and an unknown
    number look the same (404) and both count against the failed-lookup limits; the caller commits
    those counts even though it answers 404.

    The limits are per tracking number (known or not, so a 429 tells nothing) and per device, never one
    bucket for everybody: guesses at other numbers cannot block a complainant's rightful lookup, and
    guessing one number's 10-character code stays hopeless at `lookup_number_per_hour` tries."""
    now = clock.now()
    pol = policy()
    tracking = (tracking_no or "").strip().upper()
    public_form.refuse_if_spent("complaint-lookup-number", tracking, 3600, pol.lookup_number_per_hour, now,
                                TOO_MANY_LOOKUPS)
    if device:
        public_form.refuse_if_spent("complaint-lookup-device", device, 3600, pol.lookup_device_per_hour, now,
                                    TOO_MANY_LOOKUPS)
    c = db.session.scalar(sa.select(Complaint).where(Complaint.tracking_no == tracking)) \
        if rules.TRACKING_RE.match(tracking) else None
    if c is None or not code or not rules.code_matches(_secret(), c.tracking_no, code, c.code_hash):
        public_form.throttle("complaint-lookup-number", tracking, 3600, pol.lookup_number_per_hour, now,
                             TOO_MANY_LOOKUPS)
        if device:
            public_form.throttle("complaint-lookup-device", device, 3600, pol.lookup_device_per_hour, now,
                                 TOO_MANY_LOOKUPS)
        raise NotFound(NOT_FOUND_PUBLIC, code="not_found")
    return public_view(c)


# --- jobs and calendar imports -------------------------------------------------------------------------------------

def flag_overdue() -> int:
    """Scheduler job: complaints past their deadline and not closed are flagged overdue once, on the
    trail, and the office (and the unit, when the complaint waits on it) is told; a second run finds
    nothing new."""
    today = clock.today()
    due = db.session.scalars(sa.select(Complaint).where(
        Complaint.status != "closed", Complaint.overdue.is_(False), Complaint.due_on < today)
        .order_by(Complaint.id).with_for_update()).all()
    office = office_ids()
    for c in due:
        before = _snapshot(c)
        c.overdue, c.flagged_overdue_at = True, clock.now()
        _record("overdue", c, None, before)
        waiting_on_unit = liaison_ids([c.forwarded_unit_id]) if c.status == "investigating" else []
        for user_id in [*office, *waiting_on_unit]:
            notify(user_id, "complaint.overdue", "群众投诉办理逾期", f"投诉办理期限 {c.due_on:%Y-%m-%d} 已过",
                   {"type": "complaint", "id": c.id}, f"complaint.overdue:{c.id}:{user_id}")
    db.session.flush()
    return len(due)


def recompute_provisional_deadlines(years: list[int], actor=None) -> int:
    """After a holiday table is imported: count provisional complaint deadlines again from the day each
    was received, with the same level and days; returns how many moved (the office and the unit
    investigating are told)."""
    changed = 0
    rows = db.session.scalars(sa.select(Complaint).where(Complaint.provisional.is_(True),
                                                         Complaint.status != "closed")
                              .order_by(Complaint.id).with_for_update()).all()
    for c in rows:
        before = _snapshot(c) | {"provisional": c.provisional}
        _set_deadline(c, c.level, c.working_days)
        after = _snapshot(c) | {"provisional": c.provisional}
        if after == before:
            continue
        audit.record("complaint.recompute", "complaint", c.id, actor=actor, before=before,
                     after={**after, "years": years})
        if after["due_on"] != before["due_on"]:
            changed += 1
            people = [c.handler_id] if c.handler_id else office_ids()
            for user_id in [*people, *liaison_ids([c.forwarded_unit_id])]:
                notify(user_id, "deadline.recomputed", "期限已按正式节假日安排调整",
                       f"投诉办理期限 {before['due_on']} → {after['due_on']}", {"type": "complaint", "id": c.id},
                       f"deadline.recomputed:complaint:{c.id}:{after['due_on']}:{user_id}")
    db.session.flush()
    return changed


# --- sampling ------------------------------------------------------------------------------------------------

def substantiated_counts(since: datetime) -> dict[int, int]:
    """Substantiated complaints per unit closed since `since` (a risk factor of the sampling draw)."""
    return dict(db.session.execute(
        sa.select(Complaint.unit_id, sa.func.count()).where(Complaint.outcome == "substantiated",
                                                            Complaint.closed_at >= since)
        .group_by(Complaint.unit_id)).all())


def on_calendar_imported(_sender, *, years: list[int], actor=None) -> int:
    """Receiver of core.events.calendar_imported."""
    return recompute_provisional_deadlines(years, actor)
