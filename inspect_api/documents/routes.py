"""Document endpoints: drafts, approval, issue, render jobs (202 + status URL), downloads, exports."""

from __future__ import annotations

from flask import Response as FlaskResponse
from flask import jsonify, stream_with_context, url_for
from flask.views import MethodView
from marshmallow import fields, validate

from inspect_api.auth import permissions
from inspect_api.auth.access import current_user, roles
from inspect_api.core import clock
from inspect_api.core.blueprint import Blueprint
from inspect_api.core.http import if_match_version, stored_file
from inspect_api.core.schemas import ID_RANGE, BaseSchema, computed, paginate_select
from inspect_api.db import db
from inspect_api.documents import context as ctxmod
from inspect_api.documents import exports, rules, services
from inspect_api.errors import Conflict, NotFound

blp = Blueprint("documents", __name__, url_prefix="", description="公文 Documents the office issues")
OFFICE = ("office", "admin")
READERS = ("office", "admin", "leader", "unit_liaison")


class EntrySchema(BaseSchema):
    unit_id = fields.Integer(required=True, validate=ID_RANGE)
    staff_id = fields.Integer(allow_none=True, load_default=None, validate=ID_RANGE)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class GradeRefSchema(BaseSchema):
    unit_id = fields.Integer(required=True, validate=ID_RANGE)
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))


class SelectionSchema(BaseSchema):
    finding_ids = fields.List(fields.UUID(), validate=validate.Length(max=services.MAX_FINDINGS),
                              metadata={"description": "criticism, rectification: confirmed findings"})
    grades = fields.List(fields.Nested(GradeRefSchema), validate=validate.Length(max=200), metadata={
        "description": "criticism: 不合格 annual grades in force (unit and year); the notice states each with its "
                       "explanation. With grades, finding_ids may be empty"})
    unit_id = fields.Integer(validate=ID_RANGE, metadata={"description": "rectification: the unit addressed"})
    entries = fields.List(fields.Nested(EntrySchema), validate=validate.Length(max=200),
                          metadata={"description": "commendation: units (and staff) with reasons"})
    period_start = fields.Date(metadata={"description": "bulletin: first day (local)"})
    period_end = fields.Date(metadata={"description": "bulletin: last day (local)"})
    under = fields.Integer(allow_none=True, validate=ID_RANGE, metadata={"description": "bulletin: unit subtree"})
    typical_finding_ids = fields.List(fields.UUID(), allow_none=True, validate=validate.Length(max=300), metadata={
        "description": "bulletin: typical cases (default: the most severe, as many as the policy says)"})
    matter_id = fields.Integer(validate=ID_RANGE, metadata={"description": "matter_bulletin: a leader-assigned matter"})
    meeting_name = fields.String(validate=validate.Length(min=1, max=200), metadata={
        "description": "meeting_bulletin: the meeting whose decisions are reported (with period_start/period_end)"})
    target_year = fields.Integer(allow_none=True, validate=validate.Range(min=2000, max=2100), metadata={
        "description": "keywork_summary: the year of the targets (default: the period's)"})


def _strs(max_items=50, max_len=2000):
    return fields.List(fields.String(validate=validate.Length(max=max_len)), validate=validate.Length(max=max_items))


class WordingSchema(BaseSchema):
    title = fields.String(validate=validate.Length(min=1, max=200))
    addressee = fields.String(validate=validate.Length(min=1, max=500))
    paragraphs = _strs()
    closing_paragraphs = _strs()
    requirements = _strs()
    attachments = _strs(20, 200)
    cc = fields.String(allow_none=True, validate=validate.Length(max=500))
    report_to = fields.String(validate=validate.Length(max=1000))


class CreateSchema(WordingSchema):
    kind = fields.String(required=True, validate=validate.OneOf([k for k in rules.KIND_LABELS if k != "referral"]),
                         metadata={"description": "criticism 通报批评 | bulletin 督查通报 | rectification 整改通知 | "
                                                  "commendation 通报表扬 | matter_bulletin 一事一通报 | "
                                                  "meeting_bulletin 一会一通报 | keywork_summary 重点工作季度通报 "
                                                  "(referrals are sent from their accountability case)"})
    selection = fields.Nested(SelectionSchema, required=True)


class UpdateSchema(WordingSchema):
    selection = fields.Nested(SelectionSchema)


class ReturnReasonSchema(BaseSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ListSchema(BaseSchema):
    kind = fields.String(validate=validate.OneOf(list(rules.KIND_LABELS)))
    status = fields.String(validate=validate.OneOf(list(rules.STATUS_LABELS)))
    year = fields.Integer(validate=validate.Range(min=2000, max=2100))


class ExportSchema(BaseSchema):
    table = fields.String(load_default=None, validate=validate.OneOf(list(exports.TABLES)),
                          metadata={"description": "CSV: ranking | categories | staffing | cases (default: the first the kind has)"})


def _kind_label(doc) -> str:
    return rules.KIND_LABELS[doc.kind]


class DocumentSchema(BaseSchema):
    id = fields.Integer()
    kind = fields.String()
    kind_label = computed(fields.String(), _kind_label)
    status = fields.String(metadata={"description": "draft | approved | issuing | issued"})
    status_label = computed(fields.String(), lambda doc: rules.STATUS_LABELS[doc.status])
    title = fields.String()
    number = fields.String(allow_none=True)
    version = fields.Integer()
    selection = fields.Dict()
    wording = fields.Dict()
    created_by = fields.Integer(allow_none=True)
    approved_by = fields.Integer(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    issued_at = fields.DateTime(allow_none=True)
    pdf_sha256 = fields.String(allow_none=True)
    page_count = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class UnitDocumentSchema(BaseSchema):
    """An issued document as a unit sees it, without the workflow details."""

    id = fields.Integer()
    kind = fields.String()
    kind_label = computed(fields.String(), _kind_label)
    title = fields.String()
    number = fields.String()
    issued_at = fields.DateTime()
    pdf_sha256 = fields.String()
    page_count = fields.Integer()


class JobSchema(BaseSchema):
    id = fields.Integer()
    document_id = fields.Integer()
    purpose = fields.String(metadata={"description": "preview (a draft, watermarked 草稿) | final (the issued record)"})
    status = fields.String(metadata={"description": "queued | rendering | done | failed"})
    document_version = fields.Integer()
    requested_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    error = fields.String(allow_none=True)
    page_count = fields.Integer(allow_none=True)
    pdf_sha256 = fields.String(allow_none=True)
    seconds = fields.Float(allow_none=True)
    peak_rss_mb = fields.Float(allow_none=True)
    status_url = computed(fields.String(), lambda job: url_for("documents.RenderJobStatus", job_id=job.id))
    pdf_url = computed(fields.String(allow_none=True), lambda job: url_for("documents.DocumentPdf", doc_id=job.document_id)
                       if job.status == "done" else None)


def _accepted(job):
    return job, 202, {"Location": url_for("documents.RenderJobStatus", job_id=job.id)}


def _etag(doc) -> dict:
    return {"ETag": f'"v{doc.version}"'}


@blp.route("/documents")
class Documents(MethodView):
    @blp.arguments(ListSchema, location="query")
    @blp.response(200, DocumentSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=200)
    @roles("office", "admin", "leader")
    def get(self, args, pagination_parameters):
        """Documents, newest first (leaders: issued ones only)"""
        if not permissions.can_see_drafts(current_user()):
            args = {**args, "status": "issued"}
        return paginate_select(services.listing(args), pagination_parameters)

    @blp.arguments(CreateSchema)
    @blp.response(201, DocumentSchema)
    @roles(*OFFICE)
    def post(self, body):
        """Start a draft: the kind, what it is about (`selection`) and, optionally, its wording (else the
        policy's default text)"""
        kind, selection = body.pop("kind"), body.pop("selection")
        doc = services.create(kind, _plain(selection), body, current_user())
        db.session.commit()
        return doc, 201, _etag(doc)


def _plain(selection: dict) -> dict:
    out = dict(selection)
    for key in ("finding_ids", "typical_finding_ids"):
        if out.get(key) is not None:
            out[key] = [str(i) for i in out[key]]
    for key in ("period_start", "period_end"):
        if out.get(key) is not None:
            out[key] = out[key].isoformat()
    return out


@blp.route("/documents/<int:doc_id>")
class DocumentItem(MethodView):
    @blp.response(200, DocumentSchema)
    @roles(*READERS)
    def get(self, doc_id):
        """One document (a liaison: issued documents naming their unit, without the workflow details)"""
        user = current_user()
        doc = services.readable(doc_id, user)
        if not permissions.can_see_document_workflow(user):
            return jsonify(UnitDocumentSchema().dump(doc))
        return doc, 200, _etag(doc)

    @blp.arguments(UpdateSchema)
    @blp.response(200, DocumentSchema)
    @blp.alt_response(409, description="只有草稿可以修改")
    @blp.alt_response(412, description="版本已变 (If-Match)")
    @roles(*OFFICE)
    def patch(self, body, doc_id):
        """Edit a draft's wording or selection (optional If-Match: "v<version>")"""
        doc = services.get(doc_id, lock=True)
        if "selection" in body:
            body["selection"] = _plain(body["selection"])
        services.update(doc, body, current_user(), if_match_version())
        db.session.commit()
        return doc, 200, _etag(doc)


@blp.route("/documents/<int:doc_id>/approve")
class Approve(MethodView):
    @blp.response(200, DocumentSchema)
    @blp.alt_response(403, description="起草人不能审批自己的公文")
    @blp.alt_response(409, description="只有草稿可以审批")
    @roles(*OFFICE)
    def post(self, doc_id):
        """Approve a draft (a second office user, not its author; optional If-Match pins the version read)"""
        doc = services.approve(services.get(doc_id, lock=True), current_user(), if_match_version())
        db.session.commit()
        return doc


@blp.route("/documents/<int:doc_id>/return")
class ReturnToDraft(MethodView):
    @blp.arguments(ReturnReasonSchema)
    @blp.response(200, DocumentSchema)
    @roles(*OFFICE)
    def post(self, body, doc_id):
        """Take an approved document back to draft for changes (a new approval is needed)"""
        doc = services.return_to_draft(services.get(doc_id, lock=True), body["reason"], current_user())
        db.session.commit()
        return doc


@blp.route("/documents/<int:doc_id>/issue")
class Issue(MethodView):
    @blp.response(202, JobSchema)
    @blp.alt_response(409, description="未经审批的公文不能印发")
    @roles(*OFFICE)
    def post(self, doc_id):
        """Issue an approved document: the number is allocated (per issuer and year, no gap, no
        duplicate), the content frozen, and the final PDF rendered by the worker (202 + status URL)"""
        _doc, job = services.issue(services.get(doc_id, lock=True), current_user())
        db.session.commit()
        return _accepted(job)


@blp.route("/documents/<int:doc_id>/render")
class Render(MethodView):
    @blp.response(202, JobSchema)
    @blp.alt_response(409, description="已印发的公文不再重新生成")
    @roles(*OFFICE)
    def post(self, doc_id):
        """Render a preview of a draft or approved document (watermarked 草稿), or retry the final PDF of
        one being issued; the worker renders it (202 + status URL)"""
        doc = services.get(doc_id, lock=True)
        job = services.retry_final(doc, current_user()) if doc.status == "issuing" else \
            services.queue_render(doc, "preview", current_user())
        db.session.commit()
        return _accepted(job)


@blp.route("/documents/render-jobs/<int:job_id>")
class RenderJobStatus(MethodView):
    @blp.response(200, JobSchema)
    @roles(*OFFICE)
    def get(self, job_id):
        """A render job's progress: queued, rendering, done (with the PDF's link) or failed (with why)"""
        return services.get_job(job_id)


@blp.route("/documents/<int:doc_id>/pdf")
class DocumentPdf(MethodView):
    @blp.response(200, description="PDF")
    @blp.alt_response(304, description="If-None-Match 与当前 ETag 相同：无正文 (not modified)", success=True)
    @blp.alt_response(304, description="未变 (If-None-Match holds the ETag: weak comparison, lists and W/)")
    @roles(*READERS)
    def get(self, doc_id):
        """The PDF: the issued record, byte for byte the same every time (its SHA-256 in ETag), or for the
        office the latest preview of the current draft version"""
        user = current_user()
        doc = services.readable(doc_id, user)
        if doc.status == "issued":
            key, sha, name = doc.pdf_key, doc.pdf_sha256, doc.number
        else:
            job = services.latest_preview(doc)
            if job is None:
                raise NotFound("尚未生成该版本的预览, 请先请求生成 (no preview of this version: POST …/render)",
                               code="no_preview")
            key, sha, name = job.pdf_key, job.pdf_sha256, f"草稿-{doc.id}-v{doc.version}"
        return stored_file(key, "application/pdf", etag=sha, disposition=_disposition(f"{name}.pdf"),
                           cache="private, max-age=31536000, immutable" if doc.status == "issued" else "no-cache")


def _disposition(filename: str) -> str:
    from urllib.parse import quote

    return f"inline; filename=\"document.pdf\"; filename*=UTF-8''{quote(filename)}"


def _export_context(doc) -> dict:
    if doc.issued_context is not None:
        return ctxmod.thaw(doc.issued_context)
    return ctxmod.build(doc, services.policy(), today=clock.today())


def _tables(doc, wanted: str | None) -> list[str]:
    tables = exports.tables_for(doc.kind)
    if not tables:
        raise Conflict("该类公文没有可导出的表格 (this kind has no tables)", code="no_tables")
    if wanted is not None and wanted not in tables:
        raise Conflict(f"该类公文没有 {wanted} 表 (not a table of this kind)", {"tables": tables}, code="no_such_table")
    return [wanted] if wanted else tables


@blp.route("/documents/<int:doc_id>/data.csv")
class ExportCsv(MethodView):
    @blp.arguments(ExportSchema, location="query")
    @blp.response(200, description="CSV (UTF-8 with BOM)")
    @roles("office", "admin", "leader")
    def get(self, args, doc_id):
        """A document's table as CSV, streamed (bulletin: ranking, categories, staffing, cases)"""
        doc = services.readable(doc_id, current_user())
        table = _tables(doc, args["table"])[0]
        ctx = _export_context(doc)
        resp = FlaskResponse(stream_with_context(exports.csv_stream(ctx, table)), mimetype="text/csv")
        resp.headers["Content-Disposition"] = f'attachment; filename="document-{doc.id}-{table}.csv"'
        return resp


@blp.route("/documents/<int:doc_id>/data.xlsx")
class ExportXlsx(MethodView):
    @blp.response(200, description="XLSX, a sheet per table")
    @roles("office", "admin", "leader")
    def get(self, doc_id):
        """A document's tables as an XLSX workbook, streamed from a temporary file"""
        doc = services.readable(doc_id, current_user())
        fh = exports.xlsx_file(_export_context(doc), _tables(doc, None))

        def chunks():
            with fh:
                while chunk := fh.read(64 * 1024):
                    yield chunk

        resp = FlaskResponse(chunks(), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        resp.headers["Content-Disposition"] = f'attachment; filename="document-{doc.id}.xlsx"'
        return resp


@blp.route("/documents/<int:doc_id>/draft.docx")
class ExportDocx(MethodView):
    @blp.response(200, description="DOCX")
    @blp.alt_response(409, description="已印发的公文以 PDF 为准")
    @roles(*OFFICE)
    def get(self, doc_id):
        """A draft as a Word document, for finishing the wording (the issued PDF stays the record)"""
        doc = services.get(doc_id)
        if doc.status in ("issuing", "issued"):
            raise Conflict("已印发的公文以 PDF 为准 (issued: the PDF is the record)", code="document_issued")
        data = exports.docx_bytes(ctxmod.build(doc, services.policy(), today=clock.today()))
        resp = FlaskResponse(data, mimetype="application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        resp.headers["Content-Disposition"] = f'attachment; filename="draft-{doc.id}-v{doc.version}.docx"'
        return resp


@blp.route("/unit/documents")
class UnitDocuments(MethodView):
    @blp.response(200, UnitDocumentSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=200)
    @roles("unit_liaison")
    def get(self, pagination_parameters):
        """Issued documents that name my unit (or a unit under it), newest first"""
        return paginate_select(services.for_unit(current_user()), pagination_parameters)
