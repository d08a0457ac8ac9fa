"""Visit endpoints for phones and the office: upsert, read, submit, batch sync, evidence."""

from __future__ import annotations

from flask import Response as FlaskResponse
from flask import jsonify, request
from flask.views import MethodView
from marshmallow import fields, validate

from inspect_api.auth.access import current_user, roles
from inspect_api.core.blueprint import Blueprint
from inspect_api.core.http import if_match_version, may_hold_unstorable_text, not_modified, stored_file
from inspect_api.core.schemas import BaseSchema, paginate_select
from inspect_api.db import db, writes_done
from inspect_api.errors import NotFound
from inspect_api.visits import media, services, shopper_comparison
from inspect_api.visits.schemas import (
    ComparisonQuerySchema,
    ComparisonRowSchema,
    DerivativePendingSchema,
    EvidenceSchema,
    SyncRequestSchema,
    SyncResponseSchema,
    VisitContentSchema,
    VisitQuerySchema,
    VisitSchema,
    VisitSummarySchema,
)

blp = Blueprint("visits", __name__, url_prefix="", description="检查记录、问题与照片证据 Visits, findings, evidence")

READERS = ("inspector", "office", "admin", "leader")


def _etag(visit) -> str:
    return f'"v{visit.version}"'


def _respond(visit, status: int):
    """The visit (dumped by the view's VisitSchema) with its status and ETag."""
    return visit, status, {"ETag": _etag(visit)}


@blp.route("/visits")
class Visits(MethodView):
    @blp.arguments(VisitQuerySchema, location="query")
    @blp.response(200, VisitSummarySchema(many=True))
    @blp.paginate(page_size=50, max_page_size=200)
    @roles(*READERS)
    def get(self, args, pagination_parameters):
        """List visits: an inspector sees the visits of teams they are on (`status=draft` for drafts)"""
        return paginate_select(services.list_visits(current_user(), args), pagination_parameters)


@blp.route("/visits/<uuid:visit_id>")
class VisitById(MethodView):
    @blp.response(200, VisitSchema)
    @blp.alt_response(304, description="If-None-Match 与当前 ETag 相同：无正文 (not modified)", success=True)
    @roles(*READERS)
    def get(self, visit_id):
        """One visit with its responses, findings, evidence and the photos it still needs (ETag)"""
        visit = services.get_visit(visit_id, current_user())
        if not_modified(_etag(visit)):
            return FlaskResponse(status=304, headers={"ETag": _etag(visit)})
        return _respond(visit, 200)

    @blp.arguments(VisitContentSchema)
    @blp.response(200, VisitSchema)
    @blp.alt_response(201, schema=VisitSchema, description="草稿已创建")
    @blp.alt_response(409, description="已提交的检查记录内容不同")
    @blp.alt_response(412, description="If-Match 版本已过期; details.current_version")
    @blp.alt_response(428, description="修改已有草稿须带 If-Match")
    @roles("inspector")
    def put(self, body, visit_id):
        """Create or replace a draft visit (idempotent)

        The phone picks the UUID. Creating needs no `If-Match`; replacing an existing draft needs
        `If-Match: "v<version>"` (412 when stale, 428 when missing). Sending exactly the content the
        server already has answers 200 with the current state, whatever the version or status, so a
        retry after a lost answer is always safe.
        """
        result = services.upsert(visit_id, body, current_user(), if_match=if_match_version(),
                                 base_version_given="If-Match" in request.headers)
        db.session.commit()
        writes_done()  # the whole visit is dumped from here, unlocked
        return _respond(result.visit, 201 if result.outcome == "created" else 200)


@blp.route("/visits/<uuid:visit_id>/submit")
class Submit(MethodView):
    @blp.response(200, VisitSchema)
    @blp.alt_response(409, description="缺少必需的照片 (details.missing_photos) 或检查组不足两人")
    @roles("inspector")
    def post(self, visit_id):
        """Submit a draft: it is frozen from then on; submitting again answers the same"""
        visit = services.submit_visit(visit_id, current_user())
        db.session.commit()
        writes_done()
        return _respond(visit, 200)


@blp.route("/sync")
class Sync(MethodView):
    texts_checked_per_item = True  # a visit holding NUL or a lone surrogate is refused alone (services.sync)

    @blp.arguments(SyncRequestSchema)
    @blp.response(200, SyncResponseSchema)
    @roles("inspector")
    def post(self, body):
        """Send many visits at once; each succeeds or fails on its own

        Each item is a whole visit plus `id`, `base_version` (needed to change an existing draft) and
        `submit`. Results come per item with the status it would have had alone. Sending the same
        batch again changes nothing, also while the first copy is still being written (the copy
        waits for it). An item the database could not write twice running answers 503 `try_again`
        on its own; so does a submit the database failed (its save stands, still a draft); items
        already committed keep their answers.
        """
        results = services.sync(body["visits"], current_user(), check_text=may_hold_unstorable_text(request))
        db.session.commit()
        return {"results": results}


class EvidenceUploadSchema(BaseSchema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})
    item_code = fields.String(validate=validate.Length(min=1, max=32))
    finding_id = fields.UUID()


@blp.route("/visits/<uuid:visit_id>/evidence")
class VisitEvidence(MethodView):
    @blp.arguments(EvidenceUploadSchema, location="multipart")
    @blp.response(201, EvidenceSchema)
    @blp.alt_response(200, schema=EvidenceSchema, description="同一文件已上传过: 返回已有记录")
    @blp.alt_response(413, description="文件过大")
    @blp.alt_response(415, description="不是 JPEG (含 MPO)、PNG 或 HEIC 图片")
    @blp.alt_response(422, description="图片损坏、不完整、像素过多 (image_broken, image_too_large), 内容与声明的类型不符 "
                                       "(type_mismatch), 或图片结束后还有其他数据 (trailing_data)")
    @roles("inspector")
    def post(self, form, visit_id):
        """Upload a photo (multipart `file`, optional `item_code` / `finding_id`)

        The original is kept byte for byte under its SHA-256; the same bytes again answer the
        existing record (200). A 2xx means the bytes are durably stored and proved a complete image
        of the type they claim. The display copy, thumbnail and watermarked copy are made afterwards
        by the media worker: `derivatives` says `pending` until they are `ready`.
        """
        evidence, created = services.add_evidence(
            visit_id, form["file"], item_code=form.get("item_code"),
            finding_id=str(form["finding_id"]) if form.get("finding_id") else None, actor=current_user())
        db.session.commit()
        return evidence, 201 if created else 200


@blp.route("/evidence/<uuid:evidence_id>/<string:variant>")
class EvidenceFile(MethodView):
    @blp.response(200, description="图片文件 (image bytes)")
    @blp.alt_response(202, schema=DerivativePendingSchema, success=True,
                      description="副本正在生成 (`Retry-After` 秒后再取): the media worker has not made it yet")
    @blp.alt_response(304, description="If-None-Match 与当前 ETag 相同：无正文 (not modified)", success=True)
    @blp.alt_response(304, description="未变 (If-None-Match holds the ETag: weak comparison, lists and W/)")
    @blp.alt_response(404, description="不存在、无权查看, 或副本生成失败 (`derivative_failed`)")
    @roles("inspector", "office", "admin", "unit_liaison")
    def get(self, evidence_id, variant):
        """Download a photo: `original`, `display`, `thumbnail` or `watermarked`

        Originals and working copies: office, admin and the visit's inspectors. A unit's liaison only
        gets watermarked copies of confirmed findings about its own unit. A copy the media worker has
        not made yet answers 202 with `Retry-After` (the evidence's `derivatives` is `pending`); one
        it could not make answers 404 `derivative_failed`. The original is always there.
        """
        ev, key = services.evidence_for(evidence_id, variant, current_user())
        if variant != "original" and ev.derivatives != "ready":
            if ev.derivatives == "failed":
                raise NotFound("照片副本生成失败 (the copies of this photo could not be made)",
                               code="derivative_failed")
            resp = jsonify(DerivativePendingSchema().dump({"derivatives": "pending",
                                                           "retry_after": media.RETRY_AFTER_S}))
            resp.status_code = 202
            resp.headers["Retry-After"] = str(media.RETRY_AFTER_S)
            resp.headers["Cache-Control"] = "no-store"
            return resp
        media_type = ev.media_type if variant == "original" else "image/jpeg"
        return stored_file(key, media_type, etag=f"{ev.sha256}-{variant}")


@blp.route("/shopper/comparison")
class ShopperComparison(MethodView):
    @blp.arguments(ComparisonQuerySchema, location="query")
    @blp.response(200, ComparisonRowSchema(many=True))
    @blp.alt_response(200, schema={"type": "string"}, content_type="text/csv", success=True,
                      description="the rows (JSON), or `?format=csv` as a spreadsheet")
    @blp.doc(tags=["shopper"])  # documented with the shopper audits, where it was
    @roles("office", "admin", "leader")
    def get(self, args):
        """Which units, windows or service items tell applicants everything the first time

        Over submitted mystery-shopper visits: runs, average notice completeness, the share of runs
        with a complete notice, invented requirements (乱要材料), findings by category, average wait
        and score, ranked. `format=csv` downloads the same table (UTF-8 with BOM, for Excel).
        """
        rows = shopper_comparison.comparison(args.get("scenario_id"), args["by"])
        if args["format"] == "csv":
            return shopper_comparison.as_csv(rows, args["by"])
        return rows
