"""督查督办 services: registering matters, the units' reports and extension requests, the office's
inbox, extension decisions and closing verdicts, the scheduler's reminders and overdue flags, deadline
recounts after a calendar import, the facts the escalation rules read, and on-time statistics.

Every change is on the trail (entity `supervised_matter`); the route or job commits once.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from inspect_api.audit import services as audit
from inspect_api.core import clock
from inspect_api.core.calendar import DayHalf
from inspect_api.core.calendar_store import current_calendar
from inspect_api.core.clock import local
from inspect_api.db import db
from inspect_api.errors import Conflict, Forbidden, NotFound, Unprocessable
from inspect_api.matters import rules
from inspect_api.matters.models import (
    MatterAttachment,
    MatterExtension,
    MatterReport,
    MatterUnit,
    SupervisedMatter,
)
from inspect_api.notifications.services import notify
from inspect_api.org.models import Unit
from inspect_api.org.recipients import liaison_ids, office_ids
from inspect_api.org.services import scope_unit_ids

NOT_FOUND = "督办事项不存在 (no such matter)"


# --- people -----------------------------------------------------------------------------------------------



def _unit_ids(m: SupervisedMatter) -> list[int]:
    return [m.lead_unit_id, *db.session.scalars(sa.select(MatterUnit.unit_id).where(MatterUnit.matter_id == m.id)
                                                .order_by(MatterUnit.unit_id))]


def _tell(user_ids, kind: str, title: str, body: str | None, m: SupervisedMatter, key: str) -> None:
    for user_id in dict.fromkeys(user_ids):
        notify(user_id, kind, title, body, {"type": "supervised_matter", "id": m.id}, f"{kind}:{m.id}:{key}:{user_id}")


# --- deadlines --------------------------------------------------------------------------------------------

def due_text(m: SupervisedMatter) -> str:
    if m.due_on is None:
        return "未明确办结时限，请适时报告办理进展"
    text = f"{m.due_on.year}年{m.due_on.month}月{m.due_on.day}日" + ("中午12时前" if m.due_ends_at == "am" else "")
    return text + ("（暂定：节假日安排尚未导入，按周一至周五推算）" if m.provisional else "")


def _apply_deadline(m: SupervisedMatter, *, days=None, due_on: date | None = None) -> None:
    found = rules.matter_deadline(current_calendar(), m.kind, m.assigned_at, level=m.level, days=days,
                                  statutory_days=m.statutory_days, due_on=due_on, target_year=m.target_year)
    m.due_on, m.due_ends_at, m.working_days, m.provisional = (found.due_on, found.ends_at.value, found.days,
                                                              found.provisional)


def _statutory(m: SupervisedMatter):
    return rules.statutory_deadline(current_calendar(), m.assigned_at, m.statutory_days)


def _snapshot(m: SupervisedMatter) -> dict:
    return {"status": m.status, "due_on": m.due_on.isoformat() if m.due_on else None, "due_ends_at": m.due_ends_at,
            "provisional": m.provisional, "overdue": m.overdue, "verdict": m.verdict}


def _record(action: str, m: SupervisedMatter, actor, before: dict | None, **extra) -> None:
    db.session.flush()
    audit.record(f"matter.{action}", "supervised_matter", m.id, actor=actor, before=before,
                 after={**_snapshot(m), **extra})


# --- registering ------------------------------------------------------------------------------------------

def _active_units(ids: list[int], field: str) -> dict[int, Unit]:
    units = {u.id: u for u in db.session.scalars(sa.select(Unit).where(Unit.id.in_(ids), Unit.is_active.is_(True)))}
    missing = [i for i in ids if i not in units]
    if missing:
        raise Unprocessable("单位不存在 (unknown unit)", {"fields": {field: [f"{i}: 不存在" for i in missing]}})
    return units


def create(data: dict, actor) -> SupervisedMatter:
    kind = data["kind"]
    co = data.get("co_units") or []
    co_ids = [c["unit_id"] for c in co]
    if len(set(co_ids)) != len(co_ids) or data["lead_unit_id"] in co_ids:
        raise Unprocessable("协办单位重复，或与主办单位相同", {"fields": {"co_units": ["单位重复"]}})
    _active_units([data["lead_unit_id"]], "lead_unit_id")
    _active_units(co_ids, "co_units")
    if kind == "leader_assigned" and not data.get("leader_name"):
        raise Unprocessable("领导批办事项须注明批办领导", {"fields": {"leader_name": ["必填"]}})
    if kind == "meeting_decision" and not (data.get("meeting_name") and data.get("meeting_on")):
        raise Unprocessable("会议议定事项须注明会议名称和日期", {"fields": {"meeting_name": ["必填"], "meeting_on": ["必填"]}})
    assigned_at = data.get("assigned_at") or clock.now()
    if assigned_at > clock.now():
        raise Unprocessable("交办时间不能晚于当前时间", {"fields": {"assigned_at": ["晚于当前时间"]}})
    m = SupervisedMatter(
        kind=kind, title=data["title"], content=data["content"], meeting_kind=data.get("meeting_kind"),
        meeting_name=data.get("meeting_name"), meeting_on=data.get("meeting_on"),
        target_year=data.get("target_year") or (local(assigned_at).year if kind == "key_work" else None),
        leader_name=data.get("leader_name"), leader_title=data.get("leader_title"),
        principal_leader=bool(data.get("principal_leader")), lead_unit_id=data["lead_unit_id"],
        lead_duty=data.get("lead_duty"), level=data.get("level"), statutory_days=data.get("statutory_days"),
        assigned_at=assigned_at, status="open", overdue=False, created_by=actor.id)
    _apply_deadline(m, days=data.get("days"), due_on=data.get("due_on"))
    m.original_due_on = m.due_on
    db.session.add(m)
    db.session.flush()
    for c in co:
        db.session.add(MatterUnit(matter_id=m.id, unit_id=c["unit_id"], duty=c.get("duty")))
    _record("create", m, actor, None, kind=kind, title=m.title, lead_unit_id=m.lead_unit_id,
            co_units=co_ids, level=m.level, working_days=str(m.working_days) if m.working_days else None,
            leader=" ".join(x for x in (m.leader_name, m.leader_title) if x) or None)
    _tell(liaison_ids(_unit_ids(m)), "matter.assigned", f"督办事项：{m.title}",
          f"{rules.KINDS[kind]}，请于 {due_text(m)} 前办结并反馈结果", m, "assigned")
    return m


def get(matter_id: int, *, lock: bool = False) -> SupervisedMatter:
    m = db.session.get(SupervisedMatter, matter_id, with_for_update=lock or None)
    if m is None:
        raise NotFound(NOT_FOUND)
    return m


def _due_order():
    # earliest due first; matters without a deadline last; then the oldest
    return (SupervisedMatter.due_on.is_(None), SupervisedMatter.due_on, SupervisedMatter.due_ends_at,
            SupervisedMatter.id)


def office_list(args: dict) -> sa.Select:
    """The office's inbox: open matters first by what is due (closed ones on request)."""
    stmt = sa.select(SupervisedMatter).options(selectinload(SupervisedMatter.co_units))
    status = args.get("status")
    if status:
        stmt = stmt.where(SupervisedMatter.status == status)
    elif not args.get("include_closed"):
        stmt = stmt.where(SupervisedMatter.status != "closed")
    for key in ("kind", "level", "lead_unit_id", "meeting_name", "verdict"):
        if args.get(key) is not None:
            stmt = stmt.where(getattr(SupervisedMatter, key) == args[key])
    if args.get("overdue") is not None:
        stmt = stmt.where(SupervisedMatter.overdue.is_(args["overdue"]))
    if args.get("unit_id"):
        stmt = stmt.where(_involves([args["unit_id"]]))
    return stmt.order_by(*_due_order())


def _involves(unit_ids) -> sa.ColumnElement:
    co = sa.select(MatterUnit.matter_id).where(MatterUnit.unit_id.in_(unit_ids))
    return sa.or_(SupervisedMatter.lead_unit_id.in_(unit_ids), SupervisedMatter.id.in_(co))


# --- the units' side --------------------------------------------------------------------------------------

def unit_list(user, args: dict) -> sa.Select:
    stmt = sa.select(SupervisedMatter).options(selectinload(SupervisedMatter.co_units)).where(
        _involves(scope_unit_ids(user)))
    if args.get("status"):
        stmt = stmt.where(SupervisedMatter.status == args["status"])
    return stmt.order_by(SupervisedMatter.status == "closed", *_due_order())


def unit_matter(matter_id: int, user, *, lock: bool = False) -> SupervisedMatter:
    """A matter the liaison's unit leads or co-operates on (or a unit under it); 404 for anyone else."""
    stmt = sa.select(SupervisedMatter).where(SupervisedMatter.id == matter_id, _involves(scope_unit_ids(user)))
    m = db.session.scalar(stmt.with_for_update(of=SupervisedMatter) if lock else stmt)
    if m is None:
        raise NotFound(NOT_FOUND)
    return m


def _acting_unit(m: SupervisedMatter, user, *, lead_only: bool = False) -> int:
    scope = set(db.session.scalars(scope_unit_ids(user)))
    if m.lead_unit_id in scope:
        return m.lead_unit_id
    if lead_only:
        raise Forbidden("只有主办单位可以反馈办理结果或申请延期 (the lead unit only)", code="lead_unit_only")
    return next(u for u in _unit_ids(m) if u in scope)


def _store_files(report: MatterReport, uploads: list, actor) -> list[MatterAttachment]:
    """Checked and stored as appeal attachments are (content-addressed; a refused file stores nothing)."""
    from inspect_api.review.services import store_uploads

    return store_uploads(uploads, lambda position, upload, r, media_type, key: MatterAttachment(
        id=str(uuid.uuid4()), report_id=report.id, position=position, sha256=r.sha256, size_bytes=r.size,
        media_type=media_type, filename=(upload.filename or "")[:255] or None, storage_key=key,
        uploaded_by=actor.id, uploaded_at=clock.now()))


def file_report(matter_id: int, user, kind: str, text: str, uploads: list) -> MatterReport:
    """进展情况 (any unit on the matter) or 办理结果 (the lead unit; the office then closes or returns it)."""
    m = unit_matter(matter_id, user, lock=True)
    new = rules.next_status(m.status, kind)
    unit_id = _acting_unit(m, user, lead_only=kind == "result")
    before = _snapshot(m)
    report = MatterReport(matter_id=m.id, unit_id=unit_id, kind=kind, text=text, submitted_by=user.id,
                          submitted_at=clock.now())
    db.session.add(report)
    db.session.flush()
    atts = _store_files(report, uploads, user)
    m.status = new
    if kind == "result":
        m.result_at = report.submitted_at
    _record(f"report.{kind}", m, user, before, report_id=report.id, unit_id=unit_id, text=text,
            attachments=[{"sha256": a.sha256, "filename": a.filename} for a in atts])
    _tell(office_ids(), f"matter.{kind}_reported", f"督办事项{rules.REPORT_KINDS[kind]}：{m.title}", text[:200], m,
          f"report:{report.id}")
    return report


def request_extension(matter_id: int, user, new_due_on: date, reason: str) -> MatterExtension:
    """延期申请: the lead unit explains in writing; refused at once past a statutory limit."""
    m = unit_matter(matter_id, user, lock=True)
    rules.next_status(m.status, "extend")
    unit_id = _acting_unit(m, user, lead_only=True)
    if db.session.scalar(sa.select(MatterExtension.id).where(MatterExtension.matter_id == m.id,
                                                              MatterExtension.status == "pending")):
        raise Conflict("已有待审批的延期申请 (an extension request is pending)", code="extension_pending")
    rules.check_extension(m.due_on, new_due_on, _statutory(m), reason)
    ext = MatterExtension(matter_id=m.id, unit_id=unit_id, reason=reason, current_due_on=m.due_on,
                          new_due_on=new_due_on, status="pending", requested_by=user.id, requested_at=clock.now())
    db.session.add(ext)
    db.session.flush()
    _record("extension.request", m, user, None, extension_id=ext.id, new_due_on=new_due_on.isoformat(), reason=reason)
    _tell(office_ids(), "matter.extension_requested", f"督办事项申请延期：{m.title}",
          f"申请延期至 {new_due_on.isoformat()}：{reason[:150]}", m, f"ext:{ext.id}")
    return ext


# --- the office's side ------------------------------------------------------------------------------------

def get_extension(ext_id: int, *, lock: bool = False) -> MatterExtension:
    ext = db.session.get(MatterExtension, ext_id, with_for_update=lock or None)
    if ext is None:
        raise NotFound("延期申请不存在 (no such extension request)")
    return ext


def decide_extension(ext: MatterExtension, action: str, note: str | None, actor) -> MatterExtension:
    """Approve (the new day becomes the deadline) or refuse, by an office user other than the one who
    registered the matter; an approval is checked against the statutory limit again."""
    if ext.status != "pending":
        raise Conflict("延期申请已处理 (already decided)", {"status": ext.status, "allowed_from": ["pending"]},
                       code="invalid_transition")
    m = get(ext.matter_id, lock=True)
    rules.check_four_eyes(actor.id, m.created_by)
    before = _snapshot(m)
    if action == "approve":
        rules.next_status(m.status, "extend")
        rules.check_extension(m.due_on, ext.new_due_on, _statutory(m), ext.reason)
        m.due_on, m.due_ends_at, m.provisional = ext.new_due_on, DayHalf.PM.value, False
        if m.overdue and not rules.overdue(m.due_on, m.due_ends_at, None, clock.now()):
            m.overdue, m.flagged_overdue_at = False, None
    elif not (note or "").strip():
        raise Unprocessable("不予延期须说明理由", {"fields": {"note": ["必填"]}})
    ext.status = "approved" if action == "approve" else "refused"
    ext.decided_by, ext.decided_at, ext.decision_note = actor.id, clock.now(), note
    _record(f"extension.{ext.status}", m, actor, before, extension_id=ext.id, note=note,
            new_due_on=ext.new_due_on.isoformat())
    _tell(liaison_ids([ext.unit_id]), f"matter.extension_{ext.status}",
          f"延期申请{rules.EXTENSION_STATUS[ext.status]}：{m.title}",
          f"办结时限：{due_text(m)}" + (f"。{note}" if note else ""), m, f"ext:{ext.id}")
    return ext


def return_result(m: SupervisedMatter, reason: str, actor) -> SupervisedMatter:
    """The result does not settle the matter: back to the units, the deadline unchanged."""
    new = rules.next_status(m.status, "return")
    before = _snapshot(m)
    m.status, m.result_at = new, None
    _record("return", m, actor, before, reason=reason)
    _tell(liaison_ids([m.lead_unit_id]), "matter.returned", f"办理结果退回：{m.title}", reason, m,
          f"return:{clock.now().isoformat()}")
    return m


def close(m: SupervisedMatter, outcome: str, note: str | None, actor) -> SupervisedMatter:
    """办结 with a verdict: 办结 / 逾期办结 by when the result came, or 未办结. A late or unfinished matter
    feeds the escalation rules at once."""
    new = rules.next_status(m.status, "close")
    if outcome == "finished" and m.status != "result_reported":
        raise Conflict("尚未反馈办理结果，不能按办结处理 (no result reported)", code="no_result")
    before = _snapshot(m)
    now = clock.now()
    m.verdict = rules.verdict(outcome, m.due_on, m.due_ends_at, m.result_at, now)
    m.status, m.verdict_note, m.closed_at, m.closed_by = new, note, now, actor.id
    _record("close", m, actor, before, note=note)
    _tell(liaison_ids(_unit_ids(m)), "matter.closed", f"督办事项{rules.VERDICTS[m.verdict]}：{m.title}", note, m,
          "closed")
    if m.verdict in ("unfinished", "done_late"):
        _run_escalation({m.lead_unit_id}, actor)
    return m


def _run_escalation(unit_ids: set[int], actor=None) -> None:
    from inspect_api.accountability import services as accountability

    accountability.run_rules(actor, only=accountability.Subjects(units=frozenset(unit_ids)))


# --- scheduler jobs ---------------------------------------------------------------------------------------

def remind_due() -> int:
    """Scheduler job: matters whose deadline is near get one reminder per due day (the lead and co-units'
    liaisons); a second run the same day sends nothing."""
    now = clock.now()
    cal = current_calendar()
    rows = db.session.scalars(sa.select(SupervisedMatter).where(
        SupervisedMatter.status == "open", SupervisedMatter.due_on.is_not(None),
        sa.or_(SupervisedMatter.reminded_for.is_(None), SupervisedMatter.reminded_for != SupervisedMatter.due_on))
        .order_by(SupervisedMatter.id).with_for_update()).all()
    sent = 0
    for m in rows:
        if not rules.needs_reminder(cal, m.due_on, m.due_ends_at, now):
            continue
        m.reminded_for = m.due_on
        _record("remind", m, None, None)
        _tell(liaison_ids(_unit_ids(m)), "matter.due_soon", f"督办事项即将到期：{m.title}",
              f"请于 {due_text(m)} 前办结并反馈结果；确需延期的，请书面说明理由申请延期", m, f"due:{m.due_on}")
        sent += 1
    return sent


def flag_overdue() -> int:
    """Scheduler job: open matters past their deadline with no result are flagged overdue once, on the
    trail; the office and the units are told, and the escalation rules judge the lead units."""
    now = clock.now()
    rows = db.session.scalars(sa.select(SupervisedMatter).where(
        SupervisedMatter.status == "open", SupervisedMatter.overdue.is_(False),
        SupervisedMatter.due_on.is_not(None), SupervisedMatter.due_on <= local(now).date())
        .order_by(SupervisedMatter.id).with_for_update()).all()
    flagged = [m for m in rows if rules.overdue(m.due_on, m.due_ends_at, None, now)]
    for m in flagged:
        before = _snapshot(m)
        m.overdue, m.flagged_overdue_at = True, now
        _record("overdue", m, None, before)
        _tell([*office_ids(), *liaison_ids(_unit_ids(m))], "matter.overdue", f"督办事项逾期：{m.title}",
              f"办结时限 {due_text(m)} 已过，尚未反馈办理结果", m, f"overdue:{m.due_on}")
    if flagged:
        _run_escalation({m.lead_unit_id for m in flagged})
    return len(flagged)


def on_calendar_imported(_sender, *, years: list[int], actor=None) -> int:
    """Receiver of core.events.calendar_imported."""
    return recompute_provisional_deadlines(years, actor)


def recompute_provisional_deadlines(years: list[int], actor=None) -> int:
    """After a holiday table is imported: matters counted by level across an assumed year are counted
    again from the same moment with the same days; returns how many moved (the units and office told)."""
    changed = 0
    rows = db.session.scalars(sa.select(SupervisedMatter).where(
        SupervisedMatter.provisional.is_(True), SupervisedMatter.status != "closed", SupervisedMatter.level.is_not(None))
        .order_by(SupervisedMatter.id).with_for_update()).all()
    for m in rows:
        before = _snapshot(m)
        was_original = m.original_due_on == m.due_on
        _apply_deadline(m, days=m.working_days)
        if was_original:
            m.original_due_on = m.due_on
        if m.overdue and not rules.overdue(m.due_on, m.due_ends_at, None, clock.now()):
            m.overdue, m.flagged_overdue_at = False, None
        after = _snapshot(m)
        if after == before:
            continue
        audit.record("matter.recompute", "supervised_matter", m.id, actor=actor, before=before,
                     after={**after, "years": years})
        if after["due_on"] != before["due_on"]:
            changed += 1
            _tell([*office_ids(), *liaison_ids(_unit_ids(m))], "deadline.recomputed", "期限已按正式节假日安排调整",
                  f"督办事项“{m.title}”办结时限 {before['due_on']} → {after['due_on']}", m, f"recompute:{m.due_on}")
    db.session.flush()
    return changed


# --- escalation facts -------------------------------------------------------------------------------------

def escalation_facts(units=None) -> list:
    """Overdue and unfinished matters as facts of the escalation rules (`overdue_matter`), about the lead
    unit: flagged overdue (from the day after the deadline), or closed 逾期办结 / 未办结."""
    from inspect_api.accountability.rules import MatterFact

    stmt = sa.select(SupervisedMatter).where(sa.or_(SupervisedMatter.flagged_overdue_at.is_not(None),
                                                    SupervisedMatter.verdict.in_(("done_late", "unfinished"))))
    if units is not None:
        stmt = stmt.where(SupervisedMatter.lead_unit_id.in_(list(units)))
    out = []
    for m in db.session.scalars(stmt):
        state = "unfinished" if m.verdict == "unfinished" else "overdue"
        closed_on = local(m.closed_at).date() if m.closed_at else None
        on = closed_on if m.due_on is None or (state == "unfinished" and closed_on and closed_on <= m.due_on) \
            else m.due_on
        out.append(MatterFact(matter_id=m.id, unit_id=m.lead_unit_id, due_on=on, state=state, title=m.title))
    return out


def on_escalation_facts_asked(_sender, *, units=None) -> dict:
    """core.events.escalation_facts_asked (accountability reads its facts): the matters' facts."""
    return {"matters": escalation_facts(units)}


# --- views ------------------------------------------------------------------------------------------------

def _unit_names(ids) -> dict[int, str]:
    ids = set(ids)
    return dict(db.session.execute(sa.select(Unit.id, Unit.name).where(Unit.id.in_(ids))).all()) if ids else {}


def unit_name(unit_id: int | None) -> str | None:
    unit = db.session.get(Unit, unit_id) if unit_id is not None else None
    return unit.name if unit else None


def is_late(m: SupervisedMatter) -> bool:
    """Overdue: flagged by the nightly job, or open and past its deadline now."""
    return m.overdue or (m.status == "open" and rules.overdue(m.due_on, m.due_ends_at, None, clock.now()))


def reports_of(m: SupervisedMatter) -> list[MatterReport]:
    return list(db.session.scalars(sa.select(MatterReport).where(MatterReport.matter_id == m.id)
                                   .order_by(MatterReport.submitted_at, MatterReport.id)))


def extensions_of(m: SupervisedMatter) -> list[MatterExtension]:
    return list(db.session.scalars(sa.select(MatterExtension).where(MatterExtension.matter_id == m.id)
                                   .order_by(MatterExtension.id)))


def history(m: SupervisedMatter) -> list[dict]:
    from inspect_api.audit.models import AuditEvent

    return [audit.decode(r) for r in db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.entity_type == "supervised_matter",
                                    AuditEvent.entity_id == str(m.id)).order_by(AuditEvent.seq))]


def extension_queue(args: dict) -> sa.Select:
    return (sa.select(MatterExtension).where(MatterExtension.status == args.get("status", "pending"))
            .order_by(MatterExtension.requested_at, MatterExtension.id))


def attachment_for(attachment_id, user) -> MatterAttachment:
    att = db.session.get(MatterAttachment, str(attachment_id))
    if att is None:
        raise NotFound("附件不存在 (no such attachment)")
    if user.role == "unit_liaison":
        report = db.session.get(MatterReport, att.report_id)
        unit_matter(report.matter_id, user)  # 404 outside the liaison's matters
    return att


# --- statistics -------------------------------------------------------------------------------------------

def on_time_stats(args: dict) -> list[dict]:
    """On-time rate by lead unit and level over matters closed in [from, to] (local days)."""
    stmt = sa.select(SupervisedMatter.lead_unit_id, SupervisedMatter.level, SupervisedMatter.verdict,
                     SupervisedMatter.closed_at).where(SupervisedMatter.status == "closed")
    if args.get("kind"):
        stmt = stmt.where(SupervisedMatter.kind == args["kind"])
    rows = []
    for unit_id, level, verdict, closed_at in db.session.execute(stmt):
        day = local(closed_at).date()
        if (args.get("from") and day < args["from"]) or (args.get("to") and day > args["to"]):
            continue
        rows.append(rules.ClosedMatter(unit_id, level, verdict))
    out = rules.on_time_rates(rows)
    names = _unit_names({r["unit_id"] for r in out})
    for r in out:
        r["unit_name"] = names.get(r["unit_id"])
        r["level_label"] = "全部" if r["level"] is None else rules.LEVELS.get(r["level"], "未分级")
    return out


STATS_HEADER = ["单位", "等级", "办结事项", "按期办结", "逾期办结", "未办结", "按期办结率"]


def _stats_rows(rows: list[dict]) -> list[list]:
    return [[r["unit_name"], r["level_label"], r["closed"], r["on_time"], r["late"], r["unfinished"],
             "" if r["on_time_rate"] is None else f"{r['on_time_rate'] * 100:.1f}%"] for r in rows]


def stats_csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf)
    writer.writerow(STATS_HEADER)
    writer.writerows(_stats_rows(rows))
    return buf.getvalue()


def stats_xlsx(rows: list[dict]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "督办事项按期办结率"
    sheet.append(STATS_HEADER)
    for row in _stats_rows(rows):
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
