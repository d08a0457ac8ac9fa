"""Accountability: the policy in force (file, then versions an admin saved), running the rules over the
facts in the database, proposals, and referral cases to an outcome. Every step is on the trail."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from inspect_api.accountability import policy as policy_io
from inspect_api.accountability import rules
from inspect_api.accountability.models import EscalationPolicyVersion, Proposal, ReferralCase
from inspect_api.audit import services as audit
from inspect_api.core import clock
from inspect_api.core import events as domain_events
from inspect_api.core.clock import local
from inspect_api.db import db, read_phase
from inspect_api.errors import Forbidden, InvalidTransition, NotFound, Unprocessable
from inspect_api.org.models import Staff, Unit
from inspect_api.org.recipients import office_ids
from inspect_api.review.models import Rectification
from inspect_api.visits.models import Finding, Visit

OUTCOMES = {"criticism_education": "批评教育", "written_self_criticism": "书面检查", "efficiency_warning": "效能告诫",
            "circulated_criticism": "通报批评", "admonishment_talk": "诫勉谈话", "off_post_training": "离岗培训",
            "reassignment": "调离岗位", "referral": "移送纪委监委"}
CASE_LABELS = {"open": "立案", "approved": "已审批", "sent": "已移送", "decided": "已处理", "closed": "已结案"}
CASE_STEPS = {"approve": {"open": "approved"}, "send": {"approved": "sent"}, "outcome": {"sent": "decided"},
              "close": {"decided": "closed"}}



# --- the policy -------------------------------------------------------------------------------------------

def current_policy() -> tuple[rules.EscalationPolicy, date | None]:
    """The policy in force and the day it was adopted (None for the shipped file)."""
    row = db.session.scalar(sa.select(EscalationPolicyVersion).order_by(EscalationPolicyVersion.version.desc())
                            .limit(1))
    if row is None:
        return policy_io.load(current_app.config["INSPECT_CHECKLIST_DIR"]), None
    return policy_io.parse(row.text, f"escalation policy v{row.version}"), local(row.saved_at).date()


def save_policy(text: str, actor) -> rules.EscalationPolicy:
    current, _ = current_policy()
    try:
        new = policy_io.parse_successor(text, current)
    except policy_io.PolicyError as exc:
        raise Unprocessable(str(exc), {"fields": {"text": [str(exc)]}}, code="invalid_policy") from exc
    db.session.add(EscalationPolicyVersion(version=new.version, text=text, saved_by=actor.id, saved_at=clock.now()))
    db.session.flush()
    audit.record("escalation_policy.save", "escalation_policy", new.version, actor=actor,
                 before={"version": current.version}, after={"version": new.version, "rules": len(new.rules)})
    return new


# --- facts from the database -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Subjects:
    """The units and staff a change can make proposals about: their facts are read whole."""

    units: frozenset = frozenset()
    staff: frozenset = frozenset()

    def has(self, subject_type: str, subject_id) -> bool:
        return int(subject_id) in (self.units if subject_type == "unit" else self.staff)


def _facts(only: Subjects | None = None) -> dict:
    observed = sa.func.coalesce(Finding.observed_at, Visit.started_at, Visit.submitted_at, Finding.created_at)
    findings = [rules.FindingFact(id=fid, staff_id=staff, unit_id=unit, severity=sev, category=cat, status=status,
                                  observed_on=local(when).date(),
                                  occasion=f"visit:{visit}" if visit else f"complaint:{complaint}")
                for fid, staff, unit, sev, cat, status, when, visit, complaint in db.session.execute(
                    sa.select(Finding.id, Finding.staff_id, Finding.unit_id, Finding.severity, Finding.category,
                              Finding.status, observed, Finding.visit_id, Finding.complaint_id).outerjoin(Visit, Visit.id == Finding.visit_id)  # complaints: no visit
                    .where(Finding.status == "confirmed",
                           *([sa.or_(Finding.unit_id.in_(only.units), Finding.staff_id.in_(only.staff))]
                             if only else [])))]
    outcomes = [rules.OutcomeFact(id=cid, staff_id=sid, kind=kind, decided_on=local(on).date())
                for cid, sid, kind, on in db.session.execute(
                    sa.select(ReferralCase.id, ReferralCase.subject_id, ReferralCase.outcome, ReferralCase.outcome_on)
                    .where(ReferralCase.subject_type == "staff", ReferralCase.outcome.in_(list(rules.OUTCOME_KINDS)),
                           *([ReferralCase.subject_id.in_(only.staff)] if only else [])))]
    overdue = [rules.OverdueFact(finding_id=fid, unit_id=uid, due_on=due) for fid, uid, due in db.session.execute(
        sa.select(Rectification.finding_id, Rectification.unit_id, Rectification.due_on)
        .where(Rectification.flagged_overdue_at.is_not(None),
               *([Rectification.unit_id.in_(only.units)] if only else [])))]
    grades = _grades(only.units if only else None)
    facts = {"findings": findings, "outcomes": outcomes, "overdue": overdue, "bottom_ranks": [], "grades": grades,
             "matters": []}
    # facts kept by the features above (matters, documents): they answer the question
    for answer in domain_events.results(domain_events.escalation_facts_asked.send(None, units=only.units if only else None)):
        for kind, more in answer.items():
            facts[kind] = facts[kind] + list(more)
    return facts


def _grades(units=None) -> list[rules.GradeFact]:
    """Each unit's grade in the approved annual assessment of each year (the run in force); of `units`
    only, when given."""
    from inspect_api.assessment.models import GradeRun, UnitGrade

    only = [UnitGrade.unit_id.in_(units)] if units is not None else []
    return [rules.GradeFact(unit_id=unit_id, year=year, grade=grade, approved_on=local(approved_at).date(),
                            head=" ".join(x for x in (head_name, head_title) if x) or None)
            for unit_id, year, grade, approved_at, head_name, head_title in db.session.execute(
                sa.select(UnitGrade.unit_id, UnitGrade.year, UnitGrade.grade, GradeRun.approved_at, Unit.head_name,
                          Unit.head_title)
                .join(GradeRun, GradeRun.id == UnitGrade.run_id).join(Unit, Unit.id == UnitGrade.unit_id)
                .where(UnitGrade.in_force.is_(True), UnitGrade.grade.in_(list(rules.GRADES)), *only))]


GRADE_WITHDRAWN = "考评等次已由“不合格”改为“{label}”（考评批次 #{run_id}），该建议依据的事实已不存在，自动撤回"


def grade_withdrawn(unit_id: int, year: int, new_grade: str, run_id: int, actor=None) -> dict:
    """A unit's 不合格 of `year` was replaced by another grade: the proposals it caused (fact
    `grade:<unit>:<year>`) are withdrawn while still open; those already taken into a case are left to
    the office, told to judge the case again. Returns the ids of each."""
    from inspect_api.assessment.rules import GRADE_LABELS

    fact = rules.GradeFact(unit_id=unit_id, year=year, grade="fail", approved_on=clock.today()).fact_id
    caused = [p for p in db.session.scalars(sa.select(Proposal).where(
        Proposal.subject_type == "unit", Proposal.subject_id == unit_id).with_for_update()) if fact in (p.fact_ids or [])]
    label = GRADE_LABELS.get(new_grade, new_grade)
    withdrawn, rejudge = [], []
    for p in caused:
        if p.status == "open":
            p.status, p.decided_at = "dismissed", clock.now()
            p.decided_by = actor.id if actor is not None else None
            p.decision_reason = GRADE_WITHDRAWN.format(label=label, run_id=run_id)
            audit.record("proposal.withdraw", "accountability_proposal", p.id, actor=actor, before={"status": "open"},
                         after={"status": "dismissed", "reason": p.decision_reason, "fact": fact})
            withdrawn.append(p.id)
        elif p.status == "accepted":
            audit.record("proposal.rejudge", "accountability_proposal", p.id, actor=actor,
                         after={"case_id": p.case_id, "fact": fact, "new_grade": new_grade, "run_id": run_id})
            rejudge.append(p.id)
    if rejudge:
        cases = sorted({p.case_id for p in caused if p.id in rejudge and p.case_id})
        _tell_office("accountability.rejudge", "考评不合格已撤销，请重新研判问责案件",
                     f"单位 #{unit_id} {year}年度考评等次已改为“{label}”，依据该不合格的问责案件 "
                     f"{'、'.join(f'#{c}' for c in cases)} 需重新研判",
                     {"type": "unit_grade", "unit_id": unit_id, "year": year, "case_ids": cases},
                     f"rejudge:{fact}:{run_id}")
    return {"withdrawn": withdrawn, "rejudge": rejudge}


def grade_reinstated(unit_id: int, year: int, actor=None) -> list[int]:
    """A unit graded 不合格 again after its 不合格 was replaced: the proposals withdrawn then are open again
    (the same facts propose once, so they would not be made anew)."""
    fact = f"grade:{unit_id}:{year:04d}"
    marker = GRADE_WITHDRAWN.split("“{label}”")[0]
    reopened = []
    for p in db.session.scalars(sa.select(Proposal).where(
            Proposal.subject_type == "unit", Proposal.subject_id == unit_id, Proposal.status == "dismissed")
            .with_for_update()):
        if fact in (p.fact_ids or []) and (p.decision_reason or "").startswith(marker):
            p.status, p.decided_by, p.decided_at, p.decision_reason = "open", None, None, None
            audit.record("proposal.reopen", "accountability_proposal", p.id, actor=actor,
                         before={"status": "dismissed"}, after={"status": "open", "fact": fact})
            reopened.append(p.id)
    return reopened


def run_rules(actor=None, *, only: Subjects | None = None, read_apart: bool = False) -> list[Proposal]:
    """Evaluate the policy in force over every fact and store the proposals not made before (by their
    key: the same rule on the same facts proposes once, whatever runs it and however often). Facts from
    before a saved version was adopted are not reproposed under it: a policy change never rewrites the
    past.

    `only`: judge just these units and staff — what a confirmation, an overdue flag or an outcome can
    change — reading all of their facts but nobody else's (every rule is about one unit or one staff
    member, so their proposals are the same as a full run's). The nightly run and the office's "run
    now" judge everyone.

    `read_apart`: the facts are read and judged in a read phase (`db.read_phase`), so on SQLite the
    write lock is taken only to store new proposals, not while judging; for a caller whose own writes
    are committed (a review decision), never inside a transaction that holds writes."""
    if read_apart:
        with read_phase():
            proposals, staff_rows = _judge(only)
    else:
        proposals, staff_rows = _judge(only)
    if not proposals:
        return []
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Proposal.__table__)
    now = clock.now()
    added_ids = []
    for p in proposals:
        unit_id = p.subject_id if p.subject_type == "unit" else getattr(staff_rows.get(p.subject_id), "unit_id", None)
        new_id = db.session.execute(insert.values(
            rule_id=p.rule_id, policy_version=p.policy_version, subject_type=p.subject_type,
            subject_id=int(p.subject_id), unit_id=unit_id, action=p.action, fact_ids=list(p.fact_ids),
            reason=p.reason, dedupe_key=p.dedupe_key, status="open", created_at=now)
            .on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(Proposal.__table__.c.id)).scalar()
        if new_id is not None:
            added_ids.append(new_id)
    added = list(db.session.scalars(sa.select(Proposal).where(Proposal.id.in_(added_ids)))) if added_ids else []
    for p in added:
        audit.record("proposal.create", "accountability_proposal", p.id, actor=actor,
                     after={"rule_id": p.rule_id, "policy_version": p.policy_version, "action": p.action,
                            "subject": f"{p.subject_type}:{p.subject_id}", "facts": p.fact_ids})
    if added:
        _tell_office("accountability.proposed", f"问责规则提出 {len(added)} 项建议", added[0].reason,
                     {"proposal_ids": [p.id for p in added]}, f"proposals:{min(added_ids)}-{max(added_ids)}")
    return added


def _judge(only: Subjects | None) -> tuple[list, dict]:
    """The proposals the policy in force makes on the facts (reads only), and the staff they name."""
    policy, adopted = current_policy()
    facts = _facts(only)
    staff_rows = {s.id: s for s in db.session.scalars(sa.select(Staff).where(
        Staff.id.in_({f.staff_id for f in facts["findings"] if f.staff_id} | {o.staff_id for o in facts["outcomes"]})))}
    names = sa.select(Unit.id, Unit.name)
    if only is not None:  # the units the facts and staff name, not the whole county's (or province's)
        named = {s.unit_id for s in staff_rows.values()}
        named |= {fact.unit_id for kind, kind_facts in facts.items() if kind != "outcomes" for fact in kind_facts}
        names = names.where(Unit.id.in_(named - {None}))
    unit_names = dict(db.session.execute(names).all())
    proposals = rules.evaluate(policy, as_of=clock.today(), since=adopted,
                               staff_names={k: f"{unit_names.get(s.unit_id, '')}{s.name}" for k, s in staff_rows.items()},
                               unit_names=unit_names, **facts)
    if only is not None:  # facts of others came along (a finding names a unit and a staff member): not judged here
        proposals = [p for p in proposals if only.has(p.subject_type, p.subject_id)]
    return proposals, staff_rows


def _tell_office(kind, title, body, subject, key) -> None:
    from inspect_api.notifications.services import notify

    for user_id in office_ids():
        notify(user_id, kind, title, body, subject, f"{key}:{user_id}")


def nightly() -> int:
    """Scheduler job: run the rules (a second run adds nothing)."""
    return len(run_rules())


# --- proposals ---------------------------------------------------------------------------------------------

def get_proposal(pid: int, *, lock: bool = False) -> Proposal:
    p = db.session.get(Proposal, pid, with_for_update=lock or None)
    if p is None:
        raise NotFound("建议不存在 (no such proposal)")
    return p


def dismiss_proposal(p: Proposal, reason: str, actor) -> Proposal:
    if p.status != "open":
        raise InvalidTransition("该建议已处理 (already decided)", {"status": p.status, "allowed_from": ["open"]})
    p.status, p.decided_by, p.decided_at, p.decision_reason = "dismissed", actor.id, clock.now(), reason
    audit.record("proposal.dismiss", "accountability_proposal", p.id, actor=actor, before={"status": "open"},
                 after={"status": "dismissed", "reason": reason})
    return p


# --- referral cases ----------------------------------------------------------------------------------------

def _subject_unit(subject_type: str, subject_id: int) -> int:
    if subject_type == "staff":
        s = db.session.get(Staff, subject_id)
        if s is None:
            raise Unprocessable("工作人员不存在 (unknown staff)", {"fields": {"subject_id": ["unknown"]}})
        return s.unit_id
    if db.session.get(Unit, subject_id) is None:
        raise Unprocessable("单位不存在 (unknown unit)", {"fields": {"subject_id": ["unknown"]}})
    return subject_id


def open_case(data: dict, actor) -> ReferralCase:
    """Open a case from proposals (their facts become the case's findings) or on the office's own motion."""
    proposals = [get_proposal(pid, lock=True) for pid in data.get("proposal_ids") or []]
    for p in proposals:
        if p.status != "open":
            raise InvalidTransition(f"建议 {p.id} 已处理 (proposal already decided)", {"proposal_id": p.id})
        if (p.subject_type, p.subject_id) != (data["subject_type"], data["subject_id"]):
            raise Unprocessable("建议与问责对象不一致 (a proposal about someone else)",
                                {"fields": {"proposal_ids": [p.id]}})
    unit_id = _subject_unit(data["subject_type"], data["subject_id"])
    finding_ids = list(dict.fromkeys([*(str(i) for i in data.get("finding_ids") or []),
                                      *(f.split(":", 1)[1] for p in proposals for f in p.fact_ids
                                        if f.startswith("finding:"))]))
    if not finding_ids and not proposals:
        # A proposal is grounds of its own (an annual grade, a bottom rank, an earlier outcome); on the
        # office's own motion a case rests on confirmed findings.
        raise Unprocessable("至少需要一项已确认的问题或一条问责建议 (a confirmed finding or a proposal)",
                            {"fields": {"finding_ids": ["required without proposal_ids"]}})
    found = dict(db.session.execute(sa.select(Finding.id, Finding.status).where(Finding.id.in_(finding_ids))).all())
    bad = [i for i in finding_ids if found.get(i) != "confirmed"]
    if bad:
        raise Unprocessable("只能写入已确认的问题 (confirmed findings only)", {"fields": {"finding_ids": bad}})
    case = ReferralCase(subject_type=data["subject_type"], subject_id=data["subject_id"], unit_id=unit_id,
                        title=data["title"], summary=data["summary"], finding_ids=finding_ids, status="open",
                        opened_by=actor.id)
    db.session.add(case)
    db.session.flush()
    for p in proposals:
        p.status, p.case_id, p.decided_by, p.decided_at = "accepted", case.id, actor.id, clock.now()
    audit.record("case.open", "referral_case", case.id, actor=actor,
                 after={"subject": f"{case.subject_type}:{case.subject_id}", "findings": finding_ids,
                        "proposals": [p.id for p in proposals], "title": case.title})
    return case


def get_case(case_id: int, *, lock: bool = False) -> ReferralCase:
    case = db.session.get(ReferralCase, case_id, with_for_update=lock or None)
    if case is None:
        raise NotFound("问责案件不存在 (no such case)")
    return case


def _step(case: ReferralCase, action: str) -> str:
    allowed = CASE_STEPS[action]
    if case.status not in allowed:
        raise InvalidTransition(f"案件当前为“{CASE_LABELS[case.status]}”, 不能执行该操作 (not allowed from {case.status})",
                                {"status": case.status, "action": action, "allowed_from": sorted(allowed)})
    return allowed[case.status]


def approve_case(case: ReferralCase, actor) -> ReferralCase:
    new = _step(case, "approve")
    if actor.id == case.opened_by:
        raise Forbidden("案件须由立案人以外的人审批 (approved by someone other than who opened it)", code="own_case")
    case.status, case.approved_by, case.approved_at = new, actor.id, clock.now()
    audit.record("case.approve", "referral_case", case.id, actor=actor, before={"status": "open"}, after={"status": new})
    return case


def send_case(case: ReferralCase, actor):
    """Send the referral: a document of kind `referral`, approved by the case's approver, issued now (its
    number allocated, its PDF rendered by the worker)."""
    new = _step(case, "send")
    doc, job = domain_events.answer(domain_events.document_requested.send(
        None, kind="referral", selection={"case_id": case.id}, wording={"title": case.title}, actor=None,
        approval={"author": case.opened_by, "approver": case.approved_by, "approved_at": case.approved_at},
        issue_by=actor))
    case.status, case.document_id, case.sent_at = new, doc.id, clock.now()
    audit.record("case.send", "referral_case", case.id, actor=actor, before={"status": "approved"},
                 after={"status": new, "document_id": doc.id, "number": doc.number})
    return case, job


def record_outcome(case: ReferralCase, outcome: str, note: str | None, decided_on: date | None, actor) -> ReferralCase:
    new = _step(case, "outcome")
    case.status, case.outcome, case.outcome_note = new, outcome, note
    case.outcome_on = clock.now() if decided_on is None else clock.now().replace(
        year=decided_on.year, month=decided_on.month, day=decided_on.day)
    audit.record("case.outcome", "referral_case", case.id, actor=actor, before={"status": "sent"},
                 after={"status": new, "outcome": outcome, "label": OUTCOMES[outcome], "note": note})
    if case.subject_type == "staff":  # an outcome is itself a fact (the 诫勉 ladder)
        run_rules(actor, only=Subjects(staff=frozenset({case.subject_id})))
    return case


def close_case(case: ReferralCase, actor) -> ReferralCase:
    new = _step(case, "close")
    case.status, case.closed_at = new, clock.now()
    audit.record("case.close", "referral_case", case.id, actor=actor, before={"status": "decided"}, after={"status": new})
    return case


def case_document(case: ReferralCase) -> dict:
    """The number and status of the referral document a sent case went out as (empty before), answered
    by documents through core.events.document_summary_asked (documents sits above accountability)."""
    if not case.document_id:
        return {}
    found = domain_events.results(domain_events.document_summary_asked.send(None, document_id=case.document_id))
    return found[0] if found and found[0] else {}


def case_history(case: ReferralCase) -> list[dict]:
    return [audit.decode(e) for e in _trail("referral_case", case.id)]


def _trail(entity_type: str, entity_id) -> list:
    from inspect_api.audit.models import AuditEvent

    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity_type == entity_type,
                                                               AuditEvent.entity_id == str(entity_id))
                                   .order_by(AuditEvent.seq)))


# --- history -----------------------------------------------------------------------------------------------

def history(subject_type: str, subject_id: int) -> list[dict]:
    """Confirmed findings, proposals and case outcomes about a member of staff or a unit, oldest first."""
    _subject_unit(subject_type, subject_id)
    column = Finding.staff_id if subject_type == "staff" else Finding.unit_id
    observed = sa.func.coalesce(Finding.observed_at, Visit.started_at, Finding.created_at)
    events = [{"on": local(when).date(), "kind": "finding", "label": "确认问题", "id": fid,
               "detail": f"{cat} ({sev}) {desc or ''}".strip()}
              for fid, cat, sev, desc, when in db.session.execute(
                  sa.select(Finding.id, Finding.category, Finding.severity, Finding.description, observed)
                  .outerjoin(Visit, Visit.id == Finding.visit_id)
                  .where(column == subject_id, Finding.status == "confirmed"))]
    events += [{"on": local(p.created_at).date(), "kind": "proposal", "label": rules.ACTIONS.get(p.action, p.action),
                "id": p.id, "detail": f"{p.reason} [{p.status}]"}
               for p in db.session.scalars(sa.select(Proposal).where(Proposal.subject_type == subject_type,
                                                                     Proposal.subject_id == subject_id))]
    events += [{"on": local(c.outcome_on).date(), "kind": "outcome", "label": OUTCOMES[c.outcome], "id": c.id,
                "detail": f"{c.title}: {c.outcome_note or ''}".strip()}
               for c in db.session.scalars(sa.select(ReferralCase).where(
                   ReferralCase.subject_type == subject_type, ReferralCase.subject_id == subject_id,
                   ReferralCase.outcome.is_not(None)))]
    return sorted(events, key=lambda e: (e["on"], e["kind"], str(e["id"])))


def history_csv(events: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["日期", "类型", "事项", "编号", "详情"])
    for e in events:
        w.writerow([e["on"].isoformat(), e["kind"], e["label"], e["id"], e["detail"]])
    return "\ufeff" + buf.getvalue()


# --- receivers of the domain events of the features below (connected by the app factory) ---------


def on_finding_confirmed(_sender, *, actor=None, units=frozenset(), staff=frozenset(), committed=False) -> None:
    """core.events.finding_confirmed: judge the units and staff concerned (after the confirmation's
    commit, reading before any write lock)."""
    run_rules(actor, only=Subjects(units=frozenset(units), staff=frozenset(staff)), read_apart=committed)


def on_rectifications_overdue(_sender, *, units=frozenset()) -> None:
    """core.events.rectifications_overdue: judge the units whose rectification is overdue."""
    run_rules(None, only=Subjects(units=frozenset(units)))


def on_grades_approved(run, *, actor, lifted=(), reinstated=()) -> list[dict]:
    """core.events.grades_approved: a replaced 不合格 withdraws what it proposed, a 不合格 again reopens
    it, then every fact is judged; returns the proposals made, as the approval shows them."""
    for unit_id, new_grade in lifted:
        grade_withdrawn(unit_id, run.year, new_grade, run.id, actor)
    for unit_id in reinstated:
        grade_reinstated(unit_id, run.year, actor)
    return [{"id": p.id, "rule_id": p.rule_id, "subject_type": p.subject_type, "subject_id": p.subject_id,
             "action": p.action, "action_label": rules.ACTIONS.get(p.action, p.action), "reason": p.reason}
            for p in run_rules(actor)]
