"""Review endpoints: the office's queue and decisions, and the unit's view of confirmed findings."""

from __future__ import annotations

import marshmallow as ma
from flask import url_for
from flask.views import MethodView
from marshmallow import fields, validate

from inspect_api.auth.access import current_user, roles
from inspect_api.core.blueprint import Blueprint
from inspect_api.core.categories import CATEGORIES, SEVERITIES
from inspect_api.core.http import stored_file
from inspect_api.core.schemas import ID_RANGE, BaseSchema, computed, paginate_select
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
    visit_id = fields.String(allow_none=True, metadata={"description": "none when it comes from a complaint"})
    complaint_id = fields.Integer(allow_none=True, metadata={"description": "the substantiated complaint (投诉)"})
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


def _complaint_url(f) -> str | None:
    # a substantiated complaint is the evidence of its finding (the unit reads it at this address); the
    # source is not shown otherwise (that a mystery shopper came is not the unit's to know)
    return url_for("complaints.UnitComplaint", complaint_id=f.complaint_id) if f.complaint_id else None


def _photos(f) -> list[str]:
    return [url_for("visits.EvidenceFile", evidence_id=pid, variant="watermarked")
            for pid in services.finding_photos(f)]


def _observed(key: str):
    return lambda f: services.observed_for_unit(f)[key]


class UnitFindingSchema(BaseSchema):
    """What a unit may know of a finding: what, when, where, severity, its rectification deadline and
    watermarked photos."""

    id = fields.String()
    category = fields.String()
    severity = fields.String()
    status = fields.String()
    complaint_id = fields.Integer(allow_none=True, metadata={"description": "the substantiated complaint it comes from"})
    complaint_url = computed(fields.String(allow_none=True, metadata={
        "description": "that complaint, as the unit may read it"}), _complaint_url)
    unit_id = fields.Integer()
    staff_id = fields.Integer(allow_none=True)
    badge_no = fields.String(allow_none=True)
    window_no = fields.String(allow_none=True)
    observed_at = computed(fields.DateTime(allow_none=True, metadata={
        "description": "null for a covert visit unless the policy (covert_time_for_units) shows the minute"}),
        _observed("observed_at"))
    observed_on = computed(fields.Date(allow_none=True, metadata={"description": "local date"}),
                           _observed("observed_on"))
    observed_half_day = computed(fields.String(allow_none=True, metadata={
        "description": "上午 / 下午 (null when the policy shows only the date)"}), _observed("observed_half_day"))
    description = fields.String(allow_none=True)
    photos = computed(fields.List(fields.String(), metadata={"description": "watermarked copies only"}), _photos)
    rectification = computed(fields.Dict(allow_none=True, metadata={
        "description": "due_on (working days by severity from the policy file), provisional, status"}),
        services.rectification_for_unit)


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
        return services.decide_and_commit(finding_id, _decision(body), current_user())


@blp.route("/review/decisions")
class Bulk(MethodView):
    @blp.arguments(BulkDecisionSchema)
    @blp.response(200, BulkResultSchema)
    @roles(*OFFICE)
    def post(self, body):
        """The same decision over a selection; each finding succeeds or fails on its own"""
        return {"results": services.decide_many([str(i) for i in body["finding_ids"]], _decision(body),
                                                current_user())}


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
        return paginate_select(services.unit_findings(current_user()), pagination_parameters)


# --- appeals (申辩) and rectification reports ------------------------------------------------------------

class AttachmentSchema(BaseSchema):
    id = fields.String()
    filename = fields.String(allow_none=True)
    media_type = fields.String()
    size_bytes = fields.Integer()
    sha256 = fields.String()
    url = computed(fields.String(), lambda att: url_for("review.AttachmentFile", attachment_id=att.id))


def _office_only(attr: str):
    # who filed, submitted or decided in the office is the office's business: a unit's view leaves it out
    return lambda obj, schema: ma.missing if schema.for_unit else getattr(obj, attr)


class _ForUnit:
    """`Schema(for_unit=True)` leaves out what only the office sees."""

    def __init__(self, *args, for_unit: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.for_unit = for_unit


class AppealSchema(_ForUnit, BaseSchema):
    id = fields.Integer()
    finding_id = fields.String()
    unit_id = fields.Integer()
    text = fields.String()
    status = fields.String(metadata={"description": "pending | upheld | rejected"})
    status_label = computed(fields.String(), lambda a: rules.APPEAL_LABELS[a.status])
    filed_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    filed_by = computed(fields.Integer(metadata={"description": "office view only"}), _office_only("filed_by"))
    decided_by = computed(fields.Integer(allow_none=True, metadata={"description": "office view only"}),
                          _office_only("decided_by"))
    attachments = fields.List(fields.Nested(AttachmentSchema))


class ReportSchema(_ForUnit, BaseSchema):
    id = fields.Integer()
    finding_id = fields.String()
    unit_id = fields.Integer()
    text = fields.String()
    status = fields.String(metadata={"description": "submitted | accepted | returned"})
    status_label = computed(fields.String(), lambda r: rules.REPORT_LABELS[r.status])
    submitted_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    submitted_by = computed(fields.Integer(metadata={"description": "office view only"}), _office_only("submitted_by"))
    decided_by = computed(fields.Integer(allow_none=True, metadata={"description": "office view only"}),
                          _office_only("decided_by"))
    attachments = fields.List(fields.Nested(AttachmentSchema))


class UnitFindingDetailSchema(UnitFindingSchema):
    # its appeals and reports as the unit sees them
    appeals = computed(fields.List(fields.Nested(AppealSchema(for_unit=True))), services.appeals_of)
    reports = computed(fields.List(fields.Nested(ReportSchema(for_unit=True))), services.reports_of)


class TextFilesSchema(BaseSchema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    files = fields.List(fields.Raw(metadata={"type": "string", "format": "binary"}), load_default=list,
                        metadata={"description": f"PDF or photos (JPEG, PNG, HEIC), up to {services.MAX_ATTACHMENTS}"})


class AppealDecisionSchema(BaseSchema):
    action = fields.String(required=True, validate=validate.OneOf(list(rules.APPEAL_DECISIONS)),
                           metadata={"description": "uphold (finding withdrawn) | reject"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ReportDecisionSchema(BaseSchema):
    action = fields.String(required=True, validate=validate.OneOf(list(rules.REPORT_DECISIONS)),
                           metadata={"description": "accept | return (reason required)"})
    reason = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=2000))


class AppealQuerySchema(BaseSchema):
    status = fields.String(load_default="pending", validate=validate.OneOf(list(rules.APPEAL_LABELS)))
    unit_id = fields.Integer(validate=ID_RANGE)


class ReportQuerySchema(BaseSchema):
    status = fields.String(load_default="submitted", validate=validate.OneOf(list(rules.REPORT_LABELS)))
    unit_id = fields.Integer(validate=ID_RANGE)


@blp.route("/unit/findings/<uuid:finding_id>")
class UnitFinding(MethodView):
    @blp.response(200, UnitFindingDetailSchema)
    @roles("unit_liaison")
    def get(self, finding_id):
        """One finding about my unit, with its deadlines, appeals and rectification reports"""
        return services.unit_finding_detail(finding_id, current_user())


@blp.route("/unit/findings/<uuid:finding_id>/appeals")
class UnitAppeal(MethodView):
    @blp.arguments(TextFilesSchema, location="multipart")
    @blp.response(201, AppealSchema(for_unit=True))
    @blp.alt_response(409, description="不在申辩期内、已申辩或问题不是已确认状态")
    @blp.alt_response(415, description="附件不是 PDF 或图片")
    @roles("unit_liaison")
    def post(self, form, finding_id):
        """File an appeal (申辩) against a confirmed finding within the policy window (multipart: `text`,
        optional `files`); the office upholds it (the finding is withdrawn) or rejects it"""
        appeal = services.file_appeal(finding_id, form["text"], form["files"], current_user())
        db.session.commit()
        return appeal


@blp.route("/unit/findings/<uuid:finding_id>/reports")
class UnitReport(MethodView):
    @blp.arguments(TextFilesSchema, location="multipart")
    @blp.response(201, ReportSchema(for_unit=True))
    @blp.alt_response(409, description="整改已报送、已验收，或问题不需要整改")
    @blp.alt_response(415, description="附件不是 PDF 或图片")
    @roles("unit_liaison")
    def post(self, form, finding_id):
        """Report the rectification of a confirmed finding (multipart: `text`, optional evidence `files`);
        the office accepts it or returns it"""
        report = services.file_report(finding_id, form["text"], form["files"], current_user())
        db.session.commit()
        return report


@blp.route("/review/appeals")
class Appeals(MethodView):
    @blp.arguments(AppealQuerySchema, location="query")
    @blp.response(200, AppealSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=200)
    @roles(*OFFICE)
    def get(self, args, pagination_parameters):
        """Appeals, oldest first (default: pending)"""
        return paginate_select(services.appeal_queue(args), pagination_parameters)


@blp.route("/review/appeals/<int:appeal_id>/decision")
class AppealDecision(MethodView):
    @blp.arguments(AppealDecisionSchema)
    @blp.response(200, AppealSchema)
    @blp.alt_response(409, description="申辩已处理")
    @blp.alt_response(403, description="不能处理自己参与检查的问题的申辩")
    @roles(*OFFICE)
    def post(self, body, appeal_id):
        """Uphold an appeal (the finding is withdrawn and its rectification cancelled) or reject it, with a reason"""
        appeal = services.decide_appeal(services.get_appeal(appeal_id, lock=True), body["action"], body["reason"],
                                        current_user())
        db.session.commit()
        return appeal


@blp.route("/review/reports")
class Reports(MethodView):
    @blp.arguments(ReportQuerySchema, location="query")
    @blp.response(200, ReportSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=200)
    @roles(*OFFICE)
    def get(self, args, pagination_parameters):
        """Rectification reports, oldest first (default: waiting for acceptance)"""
        return paginate_select(services.report_queue(args), pagination_parameters)


@blp.route("/review/reports/<int:report_id>/decision")
class ReportDecision(MethodView):
    @blp.arguments(ReportDecisionSchema)
    @blp.response(200, ReportSchema)
    @blp.alt_response(409, description="整改报告已处理")
    @roles(*OFFICE)
    def post(self, body, report_id):
        """Accept a rectification report (the rectification is closed) or return it with a reason (the
        deadline stands; past it, the rectification is overdue at once)"""
        report = services.decide_report(services.get_report(report_id, lock=True), body["action"], body["reason"],
                                        current_user())
        db.session.commit()
        return report


@blp.route("/attachments/<uuid:attachment_id>")
class AttachmentFile(MethodView):
    @blp.response(200, description="附件文件 (file bytes)")
    @blp.alt_response(304, description="If-None-Match 与当前 ETag 相同：无正文 (not modified)", success=True)
    @blp.alt_response(304, description="未变 (If-None-Match holds the ETag: weak comparison, lists and W/)")
    @roles("office", "admin", "unit_liaison")
    def get(self, attachment_id):
        """Download an appeal's or report's attachment (the office; a liaison only their unit's)"""
        att = services.attachment_for(attachment_id, current_user())
        return stored_file(att.storage_key, att.media_type, etag=att.sha256, disposition="attachment")
