"""督查督办 endpoints: the office's inbox and steps (register, return a result, close with a verdict, decide
extensions), statistics with CSV/XLSX export, and the units' side (progress, result with files, extension
requests). Bulletins are documents of the ordinary workflow (`POST /documents` with kind
`matter_bulletin`, `meeting_bulletin` or `keywork_summary`)."""

from __future__ import annotations

import marshmallow as ma
from flask import Response as FlaskResponse
from flask import url_for
from flask.views import MethodView
from marshmallow import fields, validate

from inspect_api.auth.access import current_user, roles
from inspect_api.core.blueprint import Blueprint
from inspect_api.core.http import stored_file
from inspect_api.core.schemas import ID_RANGE, BaseSchema, computed, paginate_select
from inspect_api.db import db
from inspect_api.matters import rules, services

blp = Blueprint("matters", __name__, url_prefix="", description="督查督办 Supervised matters")
OFFICE = ("office", "admin")
READERS = ("office", "admin", "leader")
TEXT = validate.Length(min=1, max=5000)


class CoUnitSchema(BaseSchema):
    unit_id = fields.Integer(required=True, validate=ID_RANGE)
    duty = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000),
                         metadata={"description": "the co-unit's duty (协办职责)"})


class MatterCreateSchema(BaseSchema):
    kind = fields.String(required=True, validate=validate.OneOf(list(rules.KINDS)),
                         metadata={"description": "leader_assigned 领导批办 | meeting_decision 会议议定 | key_work 重点工作"})
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    content = fields.String(required=True, validate=TEXT,
                            metadata={"description": "the instruction (批示), the decision, or the year's target"})
    leader_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64),
                                metadata={"description": "the assigning leader (required for leader_assigned)"})
    leader_title = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    principal_leader = fields.Boolean(load_default=False,
                                      metadata={"description": "assigned by the principal leader (一事一通报)"})
    meeting_kind = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(list(rules.MEETING_KINDS)),
                                 metadata={"description": "standing | mayor_office | topical"})
    meeting_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    meeting_on = fields.Date(load_default=None, allow_none=True)
    target_year = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=2000, max=2100))
    lead_unit_id = fields.Integer(required=True, validate=ID_RANGE)
    lead_duty = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    co_units = fields.List(fields.Nested(CoUnitSchema), load_default=list, validate=validate.Length(max=50))
    level = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(list(rules.LEVELS)),
                          metadata={"description": "urgent 急件 (half a working day, at most 1) | important 要件 "
                                                   "(1–3) | ordinary 普件 (3–5); required for leader_assigned"})
    days = fields.Decimal(load_default=None, allow_none=True, as_string=True,
                          metadata={"description": "working days within the level's range (0.5 only for urgent)"})
    statutory_days = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=3650),
                                    metadata={"description": "a limit set by law, in working days: replaces the "
                                                             "range (要件, 普件) and caps every extension"})
    due_on = fields.Date(load_default=None, allow_none=True,
                         metadata={"description": "the deadline a meeting set, or key work's (default 31 Dec); "
                                                  "not with a level"})
    assigned_at = fields.AwareDateTime(load_default=None, allow_none=True,
                                       metadata={"description": "when it was assigned (default now)"})


class MatterQuerySchema(BaseSchema):
    status = fields.String(validate=validate.OneOf(list(rules.STATUS_LABELS)))
    include_closed = fields.Boolean(load_default=False)
    kind = fields.String(validate=validate.OneOf(list(rules.KINDS)))
    level = fields.String(validate=validate.OneOf(list(rules.LEVELS)))
    verdict = fields.String(validate=validate.OneOf(list(rules.VERDICTS)))
    overdue = fields.Boolean()
    lead_unit_id = fields.Integer(validate=ID_RANGE)
    unit_id = fields.Integer(validate=ID_RANGE, metadata={"description": "leads or co-operates"})
    meeting_name = fields.String(validate=validate.Length(max=200))


class MatterCoUnitSchema(BaseSchema):
    unit_id = fields.Integer()
    unit_name = computed(fields.String(allow_none=True), lambda c: services.unit_name(c.unit_id))
    duty = fields.String(allow_none=True)


def _label(labels, attr: str):
    return lambda obj: labels.get(getattr(obj, attr)) if getattr(obj, attr) else None


class MatterSchema(BaseSchema):
    id = fields.Integer()
    kind = fields.String()
    kind_label = computed(fields.String(), lambda m: rules.KINDS[m.kind])
    title = fields.String()
    content = fields.String()
    meeting_kind = fields.String(allow_none=True)
    meeting_name = fields.String(allow_none=True)
    meeting_on = fields.Date(allow_none=True)
    target_year = fields.Integer(allow_none=True)
    leader_name = fields.String(allow_none=True)
    leader_title = fields.String(allow_none=True)
    principal_leader = fields.Boolean()
    lead_unit_id = fields.Integer()
    lead_unit_name = computed(fields.String(allow_none=True), lambda m: services.unit_name(m.lead_unit_id))
    lead_duty = fields.String(allow_none=True)
    co_units = fields.List(fields.Nested(MatterCoUnitSchema))
    level = fields.String(allow_none=True)
    level_label = computed(fields.String(allow_none=True), _label(rules.LEVELS, "level"))
    working_days = computed(fields.Float(allow_none=True),
                            lambda m: float(m.working_days) if m.working_days is not None else None)
    statutory_days = fields.Integer(allow_none=True)
    assigned_at = fields.DateTime()
    due_on = fields.Date(allow_none=True, metadata={"description": "the last day; none: no deadline"})
    due_by_noon = computed(fields.Boolean(metadata={"description": "due by 12:00 of due_on (half-day matters)"}),
                           lambda m: m.due_ends_at == "am")
    due_text = computed(fields.String(), services.due_text)
    original_due_on = fields.Date(allow_none=True, metadata={"description": "before any extension"})
    provisional = fields.Boolean(metadata={"description": "counted across a year with no loaded calendar"})
    status = fields.String(metadata={"description": "open | result_reported | closed"})
    status_label = computed(fields.String(), lambda m: rules.STATUS_LABELS[m.status])
    overdue = computed(fields.Boolean(), services.is_late)
    flagged_overdue_at = fields.DateTime(allow_none=True)
    result_at = fields.DateTime(allow_none=True)
    verdict = fields.String(allow_none=True, metadata={"description": "done 办结 | done_late 逾期办结 | unfinished 未办结"})
    verdict_label = computed(fields.String(allow_none=True), _label(rules.VERDICTS, "verdict"))
    verdict_note = fields.String(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    state_label = computed(fields.String(metadata={"description": "the state as a bulletin words it"}),
                           lambda m: rules.state_label(m.status, m.verdict, services.is_late(m)))


class MatterAttachmentSchema(BaseSchema):
    id = fields.String()
    filename = fields.String(allow_none=True)
    media_type = fields.String()
    size_bytes = fields.Integer()
    sha256 = fields.String()
    url = computed(fields.String(), lambda a: url_for("matters.MatterAttachmentFile", attachment_id=a.id))


class MatterReportSchema(BaseSchema):
    id = fields.Integer()
    matter_id = fields.Integer()
    unit_id = fields.Integer()
    unit_name = computed(fields.String(allow_none=True), lambda r: services.unit_name(r.unit_id))
    kind = fields.String()
    kind_label = computed(fields.String(), lambda r: rules.REPORT_KINDS[r.kind])
    text = fields.String()
    submitted_at = fields.DateTime()
    attachments = fields.List(fields.Nested(MatterAttachmentSchema))


class MatterExtensionSchema(BaseSchema):
    id = fields.Integer()
    matter_id = fields.Integer()
    unit_id = fields.Integer()
    reason = fields.String()
    current_due_on = fields.Date(allow_none=True)
    new_due_on = fields.Date()
    status = fields.String()
    status_label = computed(fields.String(), lambda e: rules.EXTENSION_STATUS[e.status])
    requested_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    decision_note = fields.String(allow_none=True)


class MatterDetailSchema(MatterSchema):
    """A matter with its reports and extensions; `MatterDetailSchema(for_office=True)` adds its history."""

    def __init__(self, *args, for_office: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.for_office = for_office

    reports = computed(fields.List(fields.Nested(MatterReportSchema)), services.reports_of)
    extensions = computed(fields.List(fields.Nested(MatterExtensionSchema)), services.extensions_of)
    history = computed(fields.List(fields.Dict(), metadata={"description": "every change, from the trail (office only)"}),
                       lambda m, schema: services.history(m) if schema.for_office else ma.missing)


class MatterCloseSchema(BaseSchema):
    outcome = fields.String(required=True, validate=validate.OneOf(["finished", "unfinished"]),
                            metadata={"description": "finished: 办结 or 逾期办结 by when the result came | unfinished 未办结"})
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))


class MatterReasonSchema(BaseSchema):
    reason = fields.String(required=True, validate=TEXT)


class MatterExtensionQuerySchema(BaseSchema):
    status = fields.String(load_default="pending", validate=validate.OneOf(list(rules.EXTENSION_STATUS)))


class MatterExtensionDecisionSchema(BaseSchema):
    action = fields.String(required=True, validate=validate.OneOf(["approve", "refuse"]))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000),
                         metadata={"description": "required to refuse"})


class MatterExtensionRequestSchema(BaseSchema):
    new_due_on = fields.Date(required=True)
    reason = fields.String(required=True, validate=TEXT, metadata={"description": "the written explanation (书面说明)"})


class MatterReportFormSchema(BaseSchema):
    kind = fields.String(required=True, validate=validate.OneOf(list(rules.REPORT_KINDS)),
                         metadata={"description": "progress 进展情况 | result 办理结果 (lead unit only)"})
    text = fields.String(required=True, validate=TEXT)
    files = fields.List(fields.Raw(metadata={"type": "string", "format": "binary"}), load_default=list,
                        metadata={"description": "PDF or photos (JPEG, PNG, HEIC), up to 10"})


class MatterStatsQuerySchema(BaseSchema):
    from_ = fields.Date(data_key="from", attribute="from", metadata={"description": "closed on or after"})
    to = fields.Date(metadata={"description": "closed on or before"})
    kind = fields.String(validate=validate.OneOf(list(rules.KINDS)))


class MatterStatsRowSchema(BaseSchema):
    unit_id = fields.Integer()
    unit_name = fields.String(allow_none=True)
    level = fields.String(allow_none=True, metadata={"description": "null: every level; none: matters without one"})
    level_label = fields.String()
    closed = fields.Integer()
    on_time = fields.Integer()
    late = fields.Integer()
    unfinished = fields.Integer()
    on_time_rate = fields.Float(allow_none=True)


# --- the office ----------------------------------------------------------------------------------------

@blp.route("/matters")
class Matters(MethodView):
    @blp.arguments(MatterQuerySchema, location="query")
    @blp.response(200, MatterSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=500)
    @roles(*READERS)
    def get(self, args, pagination_parameters):
        """The inbox: matters by what is due (earliest first, no deadline last); closed ones on request"""
        return paginate_select(services.office_list(args), pagination_parameters)

    @blp.arguments(MatterCreateSchema)
    @blp.response(201, MatterDetailSchema(for_office=True))
    @blp.alt_response(422, description="字段有误；等级的工作日数超出范围（time_limit_out_of_range）")
    @roles(*OFFICE)
    def post(self, body):
        """Register a matter: its source, level or deadline, lead unit and co-units with their duties; the
        units' liaisons are told"""
        m = services.create(body, current_user())
        db.session.commit()
        return m


@blp.route("/matters/<int:matter_id>")
class MatterDetail(MethodView):
    @blp.response(200, MatterDetailSchema(for_office=True))
    @roles(*READERS)
    def get(self, matter_id):
        """One matter with its reports, extension requests and history"""
        return services.get(matter_id)


@blp.route("/matters/<int:matter_id>/return")
class MatterReturn(MethodView):
    @blp.arguments(MatterReasonSchema)
    @blp.response(200, MatterDetailSchema(for_office=True))
    @blp.alt_response(409, description="没有待审核的办理结果")
    @roles(*OFFICE)
    def post(self, body, matter_id):
        """Return a reported result to the units (the deadline stands)"""
        m = services.return_result(services.get(matter_id, lock=True), body["reason"], current_user())
        db.session.commit()
        return m


@blp.route("/matters/<int:matter_id>/close")
class MatterClose(MethodView):
    @blp.arguments(MatterCloseSchema)
    @blp.response(200, MatterDetailSchema(for_office=True))
    @blp.alt_response(409, description="已办结，或尚未反馈办理结果却按办结处理（no_result）")
    @roles(*OFFICE)
    def post(self, body, matter_id):
        """Close with a verdict: 办结 / 逾期办结 (by when the result came) or 未办结; a late or unfinished
        matter goes to the escalation rules"""
        m = services.close(services.get(matter_id, lock=True), body["outcome"], body["note"], current_user())
        db.session.commit()
        return m


@blp.route("/matters/extensions")
class Extensions(MethodView):
    @blp.arguments(MatterExtensionQuerySchema, location="query")
    @blp.response(200, MatterExtensionSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=200)
    @roles(*OFFICE)
    def get(self, args, pagination_parameters):
        """Extension requests, oldest first (default: pending)"""
        return paginate_select(services.extension_queue(args), pagination_parameters)


@blp.route("/matters/extensions/<int:extension_id>/decision")
class ExtensionDecision(MethodView):
    @blp.arguments(MatterExtensionDecisionSchema)
    @blp.response(200, MatterExtensionSchema)
    @blp.alt_response(403, description="登记该事项的人员不能审批其延期（own_matter）")
    @blp.alt_response(409, description="已处理")
    @blp.alt_response(422, description="超过法定时限（extension_beyond_statutory），或不予延期未说明理由")
    @roles(*OFFICE)
    def post(self, body, extension_id):
        """Approve (the new day becomes the deadline) or refuse an extension; never past a statutory limit"""
        ext = services.decide_extension(services.get_extension(extension_id, lock=True), body["action"], body["note"],
                                        current_user())
        db.session.commit()
        return ext


@blp.route("/matters/stats")
class MatterStats(MethodView):
    @blp.arguments(MatterStatsQuerySchema, location="query")
    @blp.response(200, MatterStatsRowSchema(many=True))
    @roles(*READERS)
    def get(self, args):
        """On-time rate (按期办结率) by lead unit and level over matters closed in the period (a row with
        level null per unit sums its levels)"""
        return services.on_time_stats(args)


@blp.route("/matters/stats.csv")
class MatterStatsCsv(MethodView):
    @blp.arguments(MatterStatsQuerySchema, location="query")
    @blp.response(200, description="CSV, UTF-8 with BOM")
    @roles(*READERS)
    def get(self, args):
        """The on-time rates as CSV"""
        resp = FlaskResponse(services.stats_csv(services.on_time_stats(args)), mimetype="text/csv")
        resp.headers["Content-Disposition"] = "attachment; filename=matters-on-time.csv"
        return resp


@blp.route("/matters/stats.xlsx")
class MatterStatsXlsx(MethodView):
    @blp.arguments(MatterStatsQuerySchema, location="query")
    @blp.response(200, description="XLSX workbook")
    @roles(*READERS)
    def get(self, args):
        """The on-time rates as an XLSX workbook"""
        resp = FlaskResponse(services.stats_xlsx(services.on_time_stats(args)),
                             mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        resp.headers["Content-Disposition"] = "attachment; filename=matters-on-time.xlsx"
        return resp


@blp.route("/matters/attachments/<uuid:attachment_id>")
class MatterAttachmentFile(MethodView):
    @blp.response(200, description="附件文件 (file bytes)")
    @roles("office", "admin", "leader", "unit_liaison")
    def get(self, attachment_id):
        """Download a report's attachment (a liaison only on its own matters)"""
        att = services.attachment_for(attachment_id, current_user())
        return stored_file(att.storage_key, att.media_type, etag=att.sha256, disposition="attachment")


# --- the units ------------------------------------------------------------------------------------------

class UnitMatterQuerySchema(BaseSchema):
    status = fields.String(validate=validate.OneOf(list(rules.STATUS_LABELS)))


@blp.route("/unit/matters")
class UnitMatters(MethodView):
    @blp.arguments(UnitMatterQuerySchema, location="query")
    @blp.response(200, MatterSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=200)
    @roles("unit_liaison")
    def get(self, args, pagination_parameters):
        """Matters my unit leads or co-operates on, by what is due"""
        return paginate_select(services.unit_list(current_user(), args), pagination_parameters)


@blp.route("/unit/matters/<int:matter_id>")
class UnitMatter(MethodView):
    @blp.response(200, MatterDetailSchema)
    @roles("unit_liaison")
    def get(self, matter_id):
        """One matter of my unit (lead or co-unit; anyone else 404)"""
        return services.unit_matter(matter_id, current_user())


@blp.route("/unit/matters/<int:matter_id>/reports")
class UnitMatterReports(MethodView):
    @blp.arguments(MatterReportFormSchema, location="multipart")
    @blp.response(201, MatterReportSchema)
    @blp.alt_response(403, description="办理结果只能由主办单位反馈（lead_unit_only）")
    @blp.alt_response(409, description="事项已办结")
    @blp.alt_response(415, description="附件不是 PDF 或图片")
    @roles("unit_liaison")
    def post(self, form, matter_id):
        """Report progress or the result (multipart: `kind`, `text`, optional `files`)"""
        report = services.file_report(matter_id, current_user(), form["kind"], form["text"], form["files"])
        db.session.commit()
        return report


@blp.route("/unit/matters/<int:matter_id>/extensions")
class UnitMatterExtensions(MethodView):
    @blp.arguments(MatterExtensionRequestSchema)
    @blp.response(201, MatterExtensionSchema)
    @blp.alt_response(403, description="只有主办单位可以申请延期（lead_unit_only）")
    @blp.alt_response(409, description="已有待审批的申请，或事项不在办理中")
    @blp.alt_response(422, description="超过法定时限（extension_beyond_statutory）或未说明理由")
    @roles("unit_liaison")
    def post(self, body, matter_id):
        """Ask to extend, with the reason in writing (the office decides; never past a statutory limit)"""
        ext = services.request_extension(matter_id, current_user(), body["new_due_on"], body["reason"])
        db.session.commit()
        return ext
