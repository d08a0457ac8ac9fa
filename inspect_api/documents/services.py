"""The documents' workflow: drafts, approval by a second office user, issue with a gap-free number,
render jobs, and who may read what. Every step is on the trail."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import current_app

from inspect_api.audit import services as audit
from inspect_api.core import clock
from inspect_api.core.counters import next_value
from inspect_api.db import db
from inspect_api.documents import context as ctxmod
from inspect_api.documents import rules
from inspect_api.documents.models import Document, DocumentUnit, RenderJob
from inspect_api.documents.numbering import format_number
from inspect_api.errors import Conflict, NotFound, PreconditionFailed, Unprocessable
from inspect_api.org.models import Staff, Unit
from inspect_api.visits.models import Finding

MAX_FINDINGS = 300
WORDING_KEYS = ("title", "addressee", "paragraphs", "closing_paragraphs", "requirements", "attachments", "cc",
                "report_to")


def policy() -> dict:
    return current_app.extensions["inspect_document_policy"]



def _invalid(field: str, problem) -> Unprocessable:
    return Unprocessable("公文内容有误 (invalid selection)", {"fields": {field: problem if isinstance(problem, list)
                                                                         else [problem]}})


def _confirmed(finding_ids: list[str], unit_ids: set[int] | None = None) -> list[str]:
    ids = [str(i) for i in dict.fromkeys(finding_ids)]
    if not ids:
        raise _invalid("finding_ids", "至少选择一项问题 (at least one)")
    if len(ids) > MAX_FINDINGS:
        raise _invalid("finding_ids", f"最多 {MAX_FINDINGS} 项 (at most {MAX_FINDINGS})")
    rows = dict(db.session.execute(sa.select(Finding.id, Finding.status).where(Finding.id.in_(ids))).all())
    unknown = [i for i in ids if i not in rows]
    if unknown:
        raise _invalid("finding_ids", [f"{i}: 不存在 (unknown)" for i in unknown])
    unconfirmed = [i for i in ids if rows[i] != "confirmed"]
    if unconfirmed:
        raise _invalid("finding_ids", [f"{i}: 未确认的问题不能写入公文 (not confirmed)" for i in unconfirmed])
    if unit_ids is not None:
        outside = db.session.scalars(sa.select(Finding.id).where(Finding.id.in_(ids),
                                                                 Finding.unit_id.not_in(unit_ids))).all()
        if outside:
            raise _invalid("finding_ids", [f"{i}: 不属于该单位 (another unit's finding)" for i in outside])
    return ids


def _fail_grades(refs: list[dict]) -> list[dict]:
    """(unit, year) pairs whose grade in force is 不合格, in the order given, once each; 422 naming the
    others."""
    from inspect_api.assessment.models import UnitGrade

    refs = list({(r["unit_id"], r["year"]): None for r in refs})
    if not refs:
        return []
    problems = []
    for unit_id, year in refs:
        grade = db.session.scalar(sa.select(UnitGrade.grade).where(
            UnitGrade.unit_id == unit_id, UnitGrade.year == year, UnitGrade.in_force.is_(True)))
        if grade is None:
            problems.append(f"unit {unit_id} {year}: 没有已审批的考评等次 (no approved grade)")
        elif grade != "fail":
            problems.append(f"unit {unit_id} {year}: 考评等次不是不合格 (not 不合格)")
    if problems:
        raise _invalid("grades", problems)
    return [{"unit_id": u, "year": y} for u, y in refs]


def _subtree(unit_id: int) -> set[int]:
    unit = db.session.get(Unit, unit_id)
    if unit is None:
        raise _invalid("unit_id", "单位不存在 (unknown unit)")
    return set(db.session.scalars(sa.select(Unit.id).where(Unit.path.startswith(unit.path))))


def check_selection(kind: str, sel: dict) -> dict:
    """The selection, checked and normalised, or a 422 naming what is wrong."""
    if kind in rules.MATTER_KINDS:
        from inspect_api.matters import bulletins

        return bulletins.check_selection(kind, sel)
    if kind == "referral":  # made by a referral case when it is sent (accountability)
        from inspect_api.accountability.models import ReferralCase

        if db.session.get(ReferralCase, sel.get("case_id") or 0) is None:
            raise _invalid("case_id", "问责案件不存在 (unknown case)")
        return {"case_id": sel["case_id"]}
    if kind == "criticism":
        # A notice rests on confirmed findings, on 不合格 grades (000 六: 不合格 gets a 通报批评), or both.
        grades = _fail_grades(sel.get("grades") or [])
        if not grades:
            return {"finding_ids": _confirmed(sel.get("finding_ids") or []), "grades": []}
        return {"finding_ids": _confirmed(sel["finding_ids"]) if sel.get("finding_ids") else [], "grades": grades}
    if kind == "rectification":
        if not sel.get("unit_id"):
            raise _invalid("unit_id", "required")
        return {"unit_id": sel["unit_id"],
                "finding_ids": _confirmed(sel.get("finding_ids") or [], _subtree(sel["unit_id"]))}
    if kind == "commendation":
        entries = sel.get("entries") or []
        if not entries:
            raise _invalid("entries", "至少一个单位或个人 (at least one)")
        units = {e["unit_id"] for e in entries}
        known = set(db.session.scalars(sa.select(Unit.id).where(Unit.id.in_(units))))
        staff = {e["staff_id"] for e in entries if e.get("staff_id")}
        known_staff = dict(db.session.execute(sa.select(Staff.id, Staff.unit_id).where(Staff.id.in_(staff))).all())
        problems = [f"unit {u}: 不存在 (unknown)" for u in sorted(units - known)]
        problems += [f"staff {e['staff_id']}: 不存在或不在该单位 (unknown or another unit)" for e in entries
                     if e.get("staff_id") and known_staff.get(e["staff_id"]) != e["unit_id"]]
        if problems:
            raise _invalid("entries", problems)
        return {"entries": [{"unit_id": e["unit_id"], "staff_id": e.get("staff_id"), "reason": e["reason"]}
                            for e in entries]}
    start, end = sel.get("period_start"), sel.get("period_end")
    if not start or not end:
        raise _invalid("period_start", "required")
    if date.fromisoformat(str(start)) > date.fromisoformat(str(end)):
        raise _invalid("period_end", "须不早于 period_start (before the start)")
    out = {"period_start": str(start), "period_end": str(end), "under": sel.get("under"),
           "typical_finding_ids": None}
    if out["under"]:
        _subtree(out["under"])
    if sel.get("typical_finding_ids") is not None:
        out["typical_finding_ids"] = _confirmed(sel["typical_finding_ids"]) if sel["typical_finding_ids"] else []
    return out


def _units_of(kind: str, sel: dict) -> dict[int, str]:
    ids = {sel["unit_id"]} if kind == "rectification" else {g["unit_id"] for g in sel.get("grades") or []} \
        if kind == "criticism" else set()
    return dict(db.session.execute(sa.select(Unit.id, Unit.name).where(Unit.id.in_(ids))).all()) if ids else {}


def snapshot(doc: Document) -> dict:
    return {"status": doc.status, "version": doc.version, "title": doc.title, "number": doc.number,
            "selection": doc.selection, "wording": doc.wording}


def create(kind: str, selection: dict, wording: dict | None, actor) -> Document:
    sel = check_selection(kind, selection)
    base = ctxmod.default_wording(kind, policy(), sel, {} if kind in rules.MATTER_KINDS else _units_of(kind, sel))
    text = {**base, **{k: v for k, v in (wording or {}).items() if v is not None}}
    doc = Document(kind=kind, status="draft", title=text["title"], selection=sel, wording=text, version=1,
                   created_by=getattr(actor, "id", None))
    db.session.add(doc)
    db.session.flush()
    audit.record("document.create", "document", doc.id, actor=actor, after=snapshot(doc))
    return doc


def get(doc_id: int, *, lock: bool = False) -> Document:
    doc = db.session.get(Document, doc_id, with_for_update=lock or None)
    if doc is None:
        raise NotFound("公文不存在 (no such document)")
    return doc


def _check_version(doc: Document, if_match: int | None) -> None:
    if if_match is not None and if_match != doc.version:
        raise PreconditionFailed("公文已被他人修改, 请先获取最新版本 (stale version)",
                                 {"current_version": doc.version, "your_version": if_match})


def update(doc: Document, changes: dict, actor, if_match: int | None) -> Document:
    rules.next_status(doc.status, "edit")
    _check_version(doc, if_match)
    before = snapshot(doc)
    if "selection" in changes:
        doc.selection = check_selection(doc.kind, changes["selection"])
    wording = dict(doc.wording)
    for key in WORDING_KEYS:
        if changes.get(key) is not None:
            wording[key] = changes[key]
    doc.wording = wording
    doc.title = wording["title"]
    doc.version += 1
    db.session.flush()
    audit.record("document.update", "document", doc.id, actor=actor, before=before, after=snapshot(doc))
    return doc


def approve(doc: Document, actor, if_match: int | None) -> Document:
    new = rules.next_status(doc.status, "approve")
    rules.check_approver(actor.id, doc.created_by)
    _check_version(doc, if_match)
    doc.status, doc.approved_by, doc.approved_at = new, actor.id, clock.now()
    db.session.flush()
    audit.record("document.approve", "document", doc.id, actor=actor, before={"status": "draft"},
                 after={"status": new, "version": doc.version})
    return doc


def return_to_draft(doc: Document, reason: str, actor) -> Document:
    new = rules.next_status(doc.status, "return_to_draft")
    doc.status, doc.approved_by, doc.approved_at = new, None, None
    doc.version += 1
    audit.record("document.return_to_draft", "document", doc.id, actor=actor, before={"status": "approved"},
                 after={"status": new, "reason": reason})
    return doc


def issue(doc: Document, actor) -> tuple[Document, RenderJob]:
    """Allocate the number (per issuer code and year, in this transaction: a rollback gives it back, so
    there is never a gap or a duplicate), freeze the content, and queue the final render."""
    new = rules.next_status(doc.status, "issue")
    issuer = policy()["issuer"]
    year = clock.today().year
    seq = next_value(f"document-number:{issuer['short']}:{year}")
    doc.issuer_short, doc.number_year, doc.number_seq = issuer["short"], year, seq
    doc.number = format_number(issuer["short"], year, seq)
    doc.status, doc.issued_by, doc.issued_at = new, actor.id, clock.now()
    ctx = ctxmod.build(doc, policy(), today=clock.today())
    doc.issued_context = ctxmod.freeze(ctx)
    if doc.kind != "referral":  # a referral goes to the discipline authority, not to the unit
        for unit_id in ctxmod.named_units(ctx):
            db.session.add(DocumentUnit(document_id=doc.id, unit_id=unit_id))
    job = queue_render(doc, "final", actor)
    audit.record("document.issue", "document", doc.id, actor=actor, before={"status": "approved"},
                 after={"status": new, "number": doc.number, "version": doc.version})
    return doc, job


def queue_render(doc: Document, purpose: str, actor) -> RenderJob:
    """Queue a render (the worker process picks it up). A preview of the same version already queued
    or running is answered, not queued twice."""
    if purpose == "preview" and doc.status in ("issuing", "issued"):
        raise Conflict("已印发的公文不再重新生成 (an issued document is never rendered again)",
                       code="document_issued")
    existing = db.session.scalar(sa.select(RenderJob).where(
        RenderJob.document_id == doc.id, RenderJob.purpose == purpose, RenderJob.document_version == doc.version,
        RenderJob.status.in_(("queued", "rendering"))))
    if existing is not None:
        return existing
    if purpose == "final" and doc.status == "issued":
        raise Conflict("已印发的公文不再重新生成 (an issued document is never rendered again)",
                       code="document_issued")
    job = RenderJob(document_id=doc.id, purpose=purpose, document_version=doc.version, status="queued",
                    requested_by=getattr(actor, "id", None), requested_at=clock.now())
    db.session.add(job)
    db.session.flush()
    return job


def retry_final(doc: Document, actor) -> RenderJob:
    if doc.status != "issuing":
        raise Conflict("只有印发中的公文可以重试生成 (only a document being issued)", code="not_issuing")
    return queue_render(doc, "final", actor)


def get_job(job_id: int) -> RenderJob:
    job = db.session.get(RenderJob, job_id)
    if job is None:
        raise NotFound("生成任务不存在 (no such render job)")
    return job


def latest_preview(doc: Document) -> RenderJob | None:
    return db.session.scalar(sa.select(RenderJob).where(
        RenderJob.document_id == doc.id, RenderJob.purpose == "preview", RenderJob.status == "done",
        RenderJob.document_version == doc.version).order_by(RenderJob.id.desc()).limit(1))


def listing(args: dict) -> sa.Select:
    stmt = sa.select(Document).order_by(Document.created_at.desc(), Document.id.desc())
    for key in ("kind", "status"):
        if args.get(key):
            stmt = stmt.where(getattr(Document, key) == args[key])
    if args.get("year"):
        stmt = stmt.where(Document.number_year == args["year"])
    return stmt


def for_unit(user) -> sa.Select:
    """Issued documents that name the liaison's unit or a unit under it."""
    from inspect_api.org.services import scope_unit_ids

    named = sa.select(DocumentUnit.document_id).where(DocumentUnit.unit_id.in_(scope_unit_ids(user)))
    return (sa.select(Document).where(Document.status == "issued", Document.id.in_(named))
            .order_by(Document.issued_at.desc(), Document.id.desc()))


def readable(doc_id: int, user) -> Document:
    """The document if the caller may read it: office, admin and leaders all; a liaison only issued
    documents naming their unit (404 otherwise, so nothing is revealed)."""
    from inspect_api.auth import permissions

    doc = get(doc_id)
    if not permissions.can_read_document(
            user, doc, covers=lambda: db.session.scalar(for_unit(user).where(Document.id == doc.id)) is not None):
        raise NotFound("公文不存在 (no such document)")
    return doc


# --- receivers of the domain events of the features below (connected by the app factory) ---------

# The kinds a feature below asks for through core.events.document_requested (their selection names
# that feature's data, which documents/context.py renders).
REQUESTED_KINDS = ("referral", "commendation")


def on_document_requested(_sender, *, kind: str, selection: dict, wording: dict | None, actor,
                          approval: dict | None = None, issue_by=None) -> tuple[Document, RenderJob | None]:
    """core.events.document_requested: draft the document; one decided by the asking feature's own four
    eyes (a case's referral) is taken as approved by them and issued now."""
    if kind not in REQUESTED_KINDS:
        raise ValueError(f"documents are not asked for kind {kind!r}")
    doc = create(kind, selection, wording, actor)
    if approval is not None:
        doc.created_by, doc.status = approval["author"], "approved"
        doc.approved_by, doc.approved_at = approval["approver"], approval["approved_at"]
    if issue_by is None:
        return doc, None
    return issue(doc, issue_by)


def on_document_summary_asked(_sender, *, document_id: int) -> dict | None:
    """core.events.document_summary_asked: the number and status of a document a feature asked for."""
    doc = db.session.get(Document, document_id)
    return None if doc is None else {"id": doc.id, "number": doc.number, "status": doc.status}


def on_escalation_facts_asked(_sender, *, units=None) -> dict:
    """core.events.escalation_facts_asked: the 末位 units of issued monthly bulletins (whole-county ones)."""
    from inspect_api.accountability.rules import BottomRankFact

    out = []
    for sel, ctx in db.session.execute(sa.select(Document.selection, Document.issued_context).where(
            Document.kind == "bulletin", Document.status == "issued")):
        start, end = date.fromisoformat(sel["period_start"]), date.fromisoformat(sel["period_end"])
        if sel.get("under") or (start.year, start.month) != (end.year, end.month) or not ctx:
            continue
        ids = {r["unit_name"]: r["unit_id"] for r in ctx.get("ranking", [])}
        out += [BottomRankFact(unit_id=ids[name], year=start.year, month=start.month)
                for name in ctx.get("bottom", []) if name in ids]
    if units is not None:
        out = [r for r in out if r.unit_id in units]
    return {"bottom_ranks": out}
