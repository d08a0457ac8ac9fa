"""Accountability endpoints: the escalation policy, proposals, referral cases, histories."""

from __future__ import annotations

from flask import Response as FlaskResponse
from flask import url_for
from flask.views import MethodView
from marshmallow import fields, validate

from inspect_api.accountability import policy as policy_io
from inspect_api.accountability import rules, services
from inspect_api.auth.access import current_user, roles
from inspect_api.core.blueprint import Blueprint
from inspect_api.core.http import if_match_version
from inspect_api.core.schemas import ID_RANGE, BaseSchema, computed, paginate_select
from inspect_api.db import db
from inspect_api.errors import PreconditionFailed

blp = Blueprint("accountability", __name__, url_prefix="/accountability",
                description="问责 Accountability: escalation rules, proposals, referral cases")
OFFICE = ("office", "admin")


class PolicySchema(BaseSchema):
    version = fields.Integer(dump_only=True)
    adopted_on = fields.Date(dump_only=True, allow_none=True)
    text = fields.String(required=True, validate=validate.Length(min=1, max=200_000),
                         metadata={"description": "the YAML (checklists/policy/escalation.yaml format); its "
                                                  "`version` must be higher than the one in force"})
    rules = fields.List(fields.Dict(), dump_only=True)


class ProposalSchema(BaseSchema):
    id = fields.Integer()
    rule_id = fields.String()
    policy_version = fields.Integer()
    subject_type = fields.String()
    subject_id = fields.Integer()
    unit_id = fields.Integer(allow_none=True)
    action = fields.String()
    action_label = computed(fields.String(), lambda p: rules.ACTIONS.get(p.action, p.action))
    fact_ids = fields.List(fields.String(), metadata={"description": "finding:<id>, outcome:<case>, overdue:…, "
                                                                     "bottom_rank:<unit>:<month>"})
    reason = fields.String()
    status = fields.String(metadata={"description": "open | accepted (a case) | dismissed"})
    created_at = fields.DateTime()
    decision_reason = fields.String(allow_none=True)
    case_id = fields.Integer(allow_none=True)


class ProposalQuerySchema(BaseSchema):
    status = fields.String(load_default="open", validate=validate.OneOf(["open", "accepted", "dismissed"]))
    subject_type = fields.String(validate=validate.OneOf(list(rules.SUBJECTS)))
    subject_id = fields.Integer(validate=ID_RANGE)


class DismissSchema(BaseSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class CaseCreateSchema(BaseSchema):
    subject_type = fields.String(required=True, validate=validate.OneOf(list(rules.SUBJECTS)))
    subject_id = fields.Integer(required=True, validate=ID_RANGE)
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    summary = fields.String(required=True, validate=validate.Length(min=1, max=5000),
                            metadata={"description": "the proposed handling (处理建议), printed in the referral"})
    proposal_ids = fields.List(fields.Integer(validate=ID_RANGE), load_default=list, validate=validate.Length(max=100))
    finding_ids = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=300))


class OutcomeSchema(BaseSchema):
    outcome = fields.String(required=True, validate=validate.OneOf(list(services.OUTCOMES)), metadata={
        "description": ", ".join(f"{k} {v}" for k, v in services.OUTCOMES.items())})
    note = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=2000))


class CaseSchema(BaseSchema):
    id = fields.Integer()
    subject_type = fields.String()
    subject_id = fields.Integer()
    unit_id = fields.Integer(allow_none=True)
    title = fields.String()
    summary = fields.String()
    finding_ids = fields.List(fields.String())
    status = fields.String(metadata={"description": "open → approved → sent → decided → closed"})
    status_label = computed(fields.String(), lambda case: services.CASE_LABELS[case.status])
    opened_by = fields.Integer()
    approved_by = fields.Integer(allow_none=True)
    document_id = fields.Integer(allow_none=True)
    document_number = computed(fields.String(allow_none=True),
                               lambda case: services.case_document(case).get("number"))
    document_status = computed(fields.String(allow_none=True),
                               lambda case: services.case_document(case).get("status"))
    sent_at = fields.DateTime(allow_none=True)
    outcome = fields.String(allow_none=True)
    outcome_label = computed(fields.String(allow_none=True),
                             lambda case: services.OUTCOMES.get(case.outcome) if case.outcome else None)
    outcome_note = fields.String(allow_none=True)
    outcome_on = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    history = computed(fields.List(fields.Dict(), metadata={"description": "every step, from the trail"}),
                       services.case_history)


class CaseQuerySchema(BaseSchema):
    status = fields.String(validate=validate.OneOf(list(services.CASE_LABELS)))


class HistoryEventSchema(BaseSchema):
    on = fields.Date(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("finding", "proposal", "outcome")))
    label = fields.String(required=True)
    id = fields.Raw(required=True, metadata={"description": "a finding's id (text), a proposal's or a case's (number)"})
    detail = fields.String(required=True)


class HistorySchema(BaseSchema):
    subject_type = fields.String(required=True)
    subject_id = fields.Integer(required=True)
    events = fields.List(fields.Nested(HistoryEventSchema), required=True)


class HistoryQuerySchema(BaseSchema):
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


def _policy_view(policy, adopted) -> dict:
    return {"version": policy.version, "adopted_on": adopted, "text": policy.text or policy_io.dump(policy),
            "rules": policy_io.to_data(policy)["rules"]}


@blp.route("/policy")
class Policy(MethodView):
    @blp.response(200, PolicySchema)
    @roles("office", "admin", "leader")
    def get(self):
        """The escalation policy in force: its version, its text and its rules"""
        return _policy_view(*services.current_policy())

    @blp.arguments(PolicySchema)
    @blp.response(201, PolicySchema)
    @blp.alt_response(412, description="If-Match 不是当前版本: 他人已保存了新版本")
    @blp.alt_response(422, description="规则有误，逐条列出；或版本号未递增")
    @roles("admin")
    def put(self, body):
        """Save a new version of the policy (validated; the version must increase). Proposals already
        made keep their version; the new rules fire on facts from today on. Optional `If-Match: "v<n>"`
        names the version the text was edited from: 412 when another version was saved meanwhile"""
        wanted = if_match_version()
        if wanted is not None:
            in_force, _ = services.current_policy()
            if wanted != in_force.version:
                raise PreconditionFailed("规则已被他人保存为新版本, 请查看改动后重试 (stale version)",
                                         {"current_version": in_force.version, "your_version": wanted})
        services.save_policy(body["text"], current_user())
        db.session.commit()
        return _policy_view(*services.current_policy())


class PolicyCheckSchema(BaseSchema):
    valid = fields.Boolean(required=True)
    problems = fields.List(fields.String(), required=True, metadata={"description": "每个问题一条 (empty when valid)"})
    version = fields.Integer(allow_none=True, metadata={"description": "the version the text would become"})
    current_version = fields.Integer(required=True)
    rules = fields.List(fields.Dict(), metadata={"description": "the parsed rules (when valid)"})


@blp.route("/policy/validate")
class PolicyValidate(MethodView):
    @blp.arguments(PolicySchema)
    @blp.response(200, PolicyCheckSchema)
    @roles("admin")
    def post(self, body):
        """Check a new version of the policy without saving it: every problem listed (as `PUT` would
        refuse it), or the rules it would put in force"""
        current, _ = services.current_policy()
        try:
            new = policy_io.parse_successor(body["text"], current)
        except policy_io.EscalationPolicyError as exc:
            return {"valid": False, "problems": exc.problems, "version": None, "current_version": current.version,
                    "rules": []}
        return {"valid": True, "problems": [], "version": new.version, "current_version": current.version,
                "rules": policy_io.to_data(new)["rules"]}


@blp.route("/run")
class Run(MethodView):
    @blp.response(200, ProposalSchema(many=True))
    @roles(*OFFICE)
    def post(self):
        """Run the rules now (they also run on each confirmation, overdue flag and outcome, and nightly);
        answers the proposals that are new"""
        added = services.run_rules(current_user())
        db.session.commit()
        return added


@blp.route("/proposals")
class Proposals(MethodView):
    @blp.arguments(ProposalQuerySchema, location="query")
    @blp.response(200, ProposalSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=200)
    @roles(*OFFICE)
    def get(self, args, pagination_parameters):
        """Proposals of the rules, oldest first (default: open)"""
        import sqlalchemy as sa

        from inspect_api.accountability.models import Proposal

        stmt = sa.select(Proposal).where(Proposal.status == args["status"]).order_by(Proposal.created_at, Proposal.id)
        for key in ("subject_type", "subject_id"):
            if args.get(key):
                stmt = stmt.where(getattr(Proposal, key) == args[key])
        return paginate_select(stmt, pagination_parameters)


@blp.route("/proposals/<int:proposal_id>/dismiss")
class DismissProposal(MethodView):
    @blp.arguments(DismissSchema)
    @blp.response(200, ProposalSchema)
    @roles(*OFFICE)
    def post(self, body, proposal_id):
        """Dismiss a proposal with a reason (it stays on record and is never proposed again)"""
        p = services.dismiss_proposal(services.get_proposal(proposal_id, lock=True), body["reason"], current_user())
        db.session.commit()
        return p


@blp.route("/cases")
class Cases(MethodView):
    @blp.arguments(CaseQuerySchema, location="query")
    @blp.response(200, CaseSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=200)
    @roles(*OFFICE)
    def get(self, args, pagination_parameters):
        """Referral cases, newest first"""
        import sqlalchemy as sa

        from inspect_api.accountability.models import ReferralCase

        stmt = sa.select(ReferralCase).order_by(ReferralCase.created_at.desc(), ReferralCase.id.desc())
        if args.get("status"):
            stmt = stmt.where(ReferralCase.status == args["status"])
        return paginate_select(stmt, pagination_parameters)

    @blp.arguments(CaseCreateSchema)
    @blp.response(201, CaseSchema)
    @roles(*OFFICE)
    def post(self, body):
        """Open a case about a member of staff or a unit, from proposals and/or confirmed findings"""
        body["finding_ids"] = [str(i) for i in body["finding_ids"]]
        case = services.open_case(body, current_user())
        db.session.commit()
        return case


@blp.route("/cases/<int:case_id>")
class CaseItem(MethodView):
    @blp.response(200, CaseSchema)
    @roles(*OFFICE)
    def get(self, case_id):
        """A case with its findings, document, outcome and every step"""
        return services.get_case(case_id)


@blp.route("/cases/<int:case_id>/approve")
class ApproveCase(MethodView):
    @blp.response(200, CaseSchema)
    @blp.alt_response(403, description="立案人不能审批自己的案件")
    @roles(*OFFICE)
    def post(self, case_id):
        """Approve a case (a second office user)"""
        case = services.approve_case(services.get_case(case_id, lock=True), current_user())
        db.session.commit()
        return case


@blp.route("/cases/<int:case_id>/send")
class SendCase(MethodView):
    @blp.response(202, CaseSchema)
    @roles(*OFFICE)
    def post(self, case_id):
        """Send an approved case: a referral document is issued (numbered; its PDF rendered by the worker)"""
        case, job = services.send_case(services.get_case(case_id, lock=True), current_user())
        db.session.commit()
        return case, 202, {"Location": url_for("documents.RenderJobStatus", job_id=job.id)}


@blp.route("/cases/<int:case_id>/outcome")
class CaseOutcome(MethodView):
    @blp.arguments(OutcomeSchema)
    @blp.response(200, CaseSchema)
    @roles(*OFFICE)
    def post(self, body, case_id):
        """Record the outcome the discipline authority decided (it counts in the rules' outcome ladders)"""
        case = services.record_outcome(services.get_case(case_id, lock=True), body["outcome"], body["note"], None,
                                       current_user())
        db.session.commit()
        return case


@blp.route("/cases/<int:case_id>/close")
class CloseCase(MethodView):
    @blp.response(200, CaseSchema)
    @roles(*OFFICE)
    def post(self, case_id):
        """Close a case whose outcome is recorded"""
        case = services.close_case(services.get_case(case_id, lock=True), current_user())
        db.session.commit()
        return case


@blp.route("/history/<string:subject_type>/<int:subject_id>")
class History(MethodView):
    @blp.arguments(HistoryQuerySchema, location="query")
    @blp.response(200, HistorySchema)
    @blp.alt_response(200, schema={"type": "string"}, content_type="text/csv", success=True,
                      description="the events (JSON), or `?format=csv` the same as a spreadsheet")
    @roles("office", "admin", "leader")
    def get(self, args, subject_type, subject_id):
        """A member of staff's (`staff`) or a unit's (`unit`) confirmed findings, proposals and outcomes over
        time; `?format=csv` for a spreadsheet"""
        from inspect_api.errors import NotFound

        if subject_type not in rules.SUBJECTS:
            raise NotFound("没有这类对象 (staff or unit)")
        events = services.history(subject_type, subject_id)
        if args["format"] == "csv":
            resp = FlaskResponse(services.history_csv(events), mimetype="text/csv")
            resp.headers["Content-Disposition"] = f'attachment; filename="history-{subject_type}-{subject_id}.csv"'
            return resp
        return {"subject_type": subject_type, "subject_id": subject_id, "events": events}
