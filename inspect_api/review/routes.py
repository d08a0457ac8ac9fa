"""Review endpoints: the office's queue and decisions, and the unit's view of confirmed findings."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from inspect_api.auth.access import current_user, roles
from inspect_api.checklists.rules import CATEGORIES, SEVERITIES
from inspect_api.core.schemas import BaseSchema, paginate_select
from inspect_api.db import db
from inspect_api.review import rules, services
from inspect_api.visits.schemas import FindingSchema

blp = Blueprint("review", __name__, url_prefix="", description="审核 Review of findings")
OFFICE = ("office", "admin")


class QueueSchema(BaseSchema):
    status = fields.String(load_default="pending_review", validate=validate.OneOf(list(rules.STATUS_LABELS)[1:]))
    category = fields.String(validate=validate.OneOf(list(CATEGORIES)))
    severity = fields.String(validate=validate.OneOf(list(SEVERITIES)))
    unit_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    under = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    visit_id = fields.UUID()
    mode = fields.String(validate=validate.OneOf(["covert", "overt", "mystery_shopper"]))


class QueueItemSchema(FindingSchema):
    visit_id = fields.String()
    unit_id = fields.Integer()


class DecisionSchema(BaseSchema):
    action = fields.String(required=True, validate=validate.OneOf(list(rules.TRANSITIONS)),
                           metadata={"description": "confirm | dismiss | send_back | reopen | adjust_severity"})
    reason = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=2000))
    severity = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(list(SEVERITIES)))


class BulkDecisionSchema(DecisionSchema):
    finding_ids = fields.List(fields.UUID(), required=True, validate=validate.Length(min=1, max=500))


class BulkResultSchema(BaseSchema):
    results = fields.List(fields.Dict())


class UnitFindingSchema(BaseSchema):
    id = fields.String()
    category = fields.String()
    severity = fields.String()
    status = fields.String()
    unit_id = fields.Integer()
    staff_id = fields.Integer(allow_none=True)
    badge_no = fields.String(allow_none=True)
    window_no = fields.String(allow_none=True)
    observed_at = fields.DateTime(allow_none=True)
    description = fields.String(allow_none=True)
    photos = fields.List(fields.String(), metadata={"description": "watermarked copies only"})
    rectification = fields.Dict(allow_none=True, metadata={
        "description": "due_on (working days by severity from the policy file), provisional, status"})


@blp.route("/review/findings")
class Queue(MethodView):
    @blp.arguments(QueueSchema, location="query")
    @blp.response(200, QueueItemSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=500)
    @roles(*OFFICE)
    def get(self, args, pagination_parameters):
        """The review queue: findings of submitted visits, oldest first (filter by status, unit, category…)"""
        return paginate_select(services.queue(args), pagination_parameters)


def _decision(body) -> rules.Decision:
    return rules.Decision(action=body["action"], reason=body["reason"], severity=body["severity"])


@blp.route("/review/findings/<uuid:finding_id>/decision")
class Decide(MethodView):
    @blp.arguments(DecisionSchema)
    @blp.response(200, QueueItemSchema)
    @blp.alt_response(409, description="当前状态不允许该操作")
    @blp.alt_response(403, description="不能审核自己参与的检查记录")
    @roles(*OFFICE)
    def post(self, body, finding_id):
        """Decide on one finding: confirm, dismiss (reason), send back for evidence (reason; the visit
        reopens), reopen a decision (reason), adjust severity (reason)"""
        finding = services.decide(services.get_finding(finding_id, lock=True), _decision(body), current_user())
        db.session.commit()
        return finding


@blp.route("/review/decisions")
class Bulk(MethodView):
    @blp.arguments(BulkDecisionSchema)
    @blp.response(200, BulkResultSchema)
    @roles(*OFFICE)
    def post(self, body):
        """The same decision over a selection; each finding succeeds or fails on its own"""
        results = services.decide_many([str(i) for i in body["finding_ids"]], _decision(body), current_user())
        db.session.commit()
        return {"results": results}


@blp.route("/review/findings/<uuid:finding_id>/history")
class History(MethodView):
    @blp.response(200, BulkResultSchema)
    @roles(*OFFICE)
    def get(self, finding_id):
        """Every decision on a finding, oldest first (from the trail)"""
        services.get_finding(finding_id)
        return {"results": services.history(finding_id)}


@blp.route("/unit/findings")
class UnitFindings(MethodView):
    @blp.response(200, UnitFindingSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=200)
    @roles("unit_liaison")
    def get(self, pagination_parameters):
        """Confirmed findings about my unit (who inspected is never shown)"""
        rows = paginate_select(services.unit_findings(current_user()), pagination_parameters)
        return [services.unit_finding_view(f) for f in rows]
