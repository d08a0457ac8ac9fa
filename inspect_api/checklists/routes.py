"""Published checklist templates for phones and the office: the current list, the versions of one
code, and one version in full (strong ETag = its content hash, so `If-None-Match` gives a 304)."""

from __future__ import annotations

from flask import g, make_response
from flask.views import MethodView
from marshmallow import fields

from inspect_api.auth.access import roles
from inspect_api.auth.rules import ALL_ROLES
from inspect_api.checklists import services
from inspect_api.checklists.models import ChecklistVersion
from inspect_api.checklists.rules import item_count, read_template
from inspect_api.checklists.schemas import ChecklistSchema, ChecklistSummarySchema
from inspect_api.core.blueprint import Blueprint
from inspect_api.core.categories import CATEGORIES, SEVERITIES
from inspect_api.core.http import not_modified
from inspect_api.core.schemas import BaseSchema
from inspect_api.errors import Unprocessable

blp = Blueprint("checklists", __name__, url_prefix="/checklists", description="检查表 Checklists")

EVERYONE = tuple(r.value for r in ALL_ROLES)
# Per user (the answer needs a token); the phone keeps its copy and revalidates with If-None-Match,
# which costs a 304 and lets the server refuse a version found tampered.
CACHE_CONTROL = "private, no-cache"


def _summary(row: ChecklistVersion, template: dict) -> dict:
    return {"code": row.code, "version": row.version, "title": row.title, "kind": row.kind,
            "content_hash": row.content_hash, "item_count": item_count(template), "is_current": row.is_current,
            "published_at": row.published_at}


def _with_labels(item: dict) -> dict:
    labels = {}
    if "category" in item:
        labels["category_label"] = CATEGORIES[item["category"]]
    if "severity" in item:
        labels["severity_label"] = SEVERITIES[item["severity"]]
    return {**item, **labels}


def _full(row: ChecklistVersion):
    """The whole template, or a bodiless 304 when the caller already holds this content."""
    etag = f'"{row.content_hash}"'
    if not_modified(row.content_hash):
        resp = make_response("", 304)
        resp.headers["ETag"] = etag
        resp.headers["Cache-Control"] = CACHE_CONTROL
        return resp
    g.checklist_etag = etag
    template = services.template_of(row)
    systems = [{**system, "items": [_with_labels(item) for item in system["items"]]}
               for system in template["systems"]]
    extra = {key: template[key] for key in ("description", "scoring") if key in template}
    return {**_summary(row, template), **extra, "systems": systems}


@blp.after_request
def _etag(resp):
    etag = getattr(g, "checklist_etag", None)
    if etag and resp.status_code == 200:
        resp.headers["ETag"] = etag
        resp.headers["Cache-Control"] = CACHE_CONTROL
    return resp


@blp.route("")
class Checklists(MethodView):
    @blp.response(200, ChecklistSummarySchema(many=True))
    @roles(*EVERYONE)
    def get(self):
        """Current checklists: the newest published version of each code"""
        return [_summary(row, services.template_of(row)) for row in services.list_current()]


@blp.route("/<string:code>")
class CurrentChecklist(MethodView):
    @blp.response(200, ChecklistSchema)
    @blp.alt_response(304, description="If-None-Match 与当前 ETag 相同：无正文 (not modified)", success=True)
    @blp.alt_response(304, description="内容未变 (If-None-Match matched the content hash)")
    @blp.alt_response(404, description="检查表不存在")
    @roles(*EVERYONE)
    def get(self, code):
        """The newest version of a checklist, with all items

        The ETag is the version's content hash: send it as `If-None-Match` to get a bodiless 304.
        """
        return _full(services.get_current(code))


@blp.route("/<string:code>/versions")
class ChecklistVersions(MethodView):
    @blp.response(200, ChecklistSummarySchema(many=True))
    @blp.alt_response(404, description="检查表不存在")
    @roles(*EVERYONE)
    def get(self, code):
        """Every published version of a checklist, newest first"""
        return [_summary(row, services.template_of(row)) for row in services.list_versions(code)]


@blp.route("/<string:code>/versions/<int:version>")
class ChecklistVersionDetail(MethodView):
    @blp.response(200, ChecklistSchema)
    @blp.alt_response(304, description="If-None-Match 与当前 ETag 相同：无正文 (not modified)", success=True)
    @blp.alt_response(304, description="内容未变 (If-None-Match matched the content hash)")
    @blp.alt_response(404, description="检查表或版本不存在")
    @roles(*EVERYONE)
    def get(self, code, version):
        """One published version of a checklist, with all items

        A published version never changes; visits pin (code, version, content_hash). The ETag is the
        content hash: send it as `If-None-Match` to get a bodiless 304.
        """
        return _full(services.get_version(code, version))


class TemplateFileSchema(BaseSchema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary",
                                               "description": "one template file (YAML, UTF-8)"})


class TemplateProblemSchema(BaseSchema):
    message = fields.String()
    system = fields.String(allow_none=True)
    item = fields.String(allow_none=True)
    field = fields.String(allow_none=True)
    line = fields.Integer(allow_none=True)


class TemplateCheckSchema(BaseSchema):
    valid = fields.Boolean()
    problems = fields.List(fields.Nested(TemplateProblemSchema))
    code = fields.String(allow_none=True)
    version = fields.Integer(allow_none=True)
    title = fields.String(allow_none=True)
    item_count = fields.Integer(allow_none=True)
    content_hash = fields.String(allow_none=True)
    published = fields.String(allow_none=True, metadata={
        "enum": ["new", "same", "conflict", None],
        "description": "new: 该版本尚未发布; same: 与已发布的同一版本内容相同; conflict: 已发布的同一版本内容不同 (a problem)"})


MAX_TEMPLATE_BYTES = 1_000_000


@blp.route("/validate")
class ValidateTemplate(MethodView):
    @blp.arguments(TemplateFileSchema, location="files")
    @blp.response(200, TemplateCheckSchema)
    @blp.alt_response(422, description="文件不是 UTF-8 文本或过大")
    @roles("admin")
    def post(self, files):
        """Check one checklist template file as `inspect-api checklists validate` would; nothing is stored

        Answers every problem (with its system, item, field and line where known), or the template's
        code, version, item count and hash, and whether that version is already published (and the
        same). Publishing stays a deployment step (`inspect-api checklists publish`).
        """
        upload = files["file"]
        raw = upload.stream.read(MAX_TEMPLATE_BYTES + 1)
        if len(raw) > MAX_TEMPLATE_BYTES:
            raise Unprocessable("文件过大 (file too large, at most 1 MB)", {"fields": {"file": ["too large"]}})
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise Unprocessable("文件须为 UTF-8 编码的 YAML (file must be UTF-8)", {"fields": {"file": ["not UTF-8"]}},
                                code="not_utf8") from exc
        template, errors = read_template(text, upload.filename or "upload.yaml")
        if template is None:
            return {"valid": False, "published": None,
                    "problems": [{"message": e.message, "system": e.system, "item": e.item, "field": e.field,
                                  "line": e.line} for e in errors]}
        published = services.published_hash(template.code, template.version)
        state = "new" if published is None else "same" if published == template.content_hash else "conflict"
        problems = [] if state != "conflict" else [{
            "message": f"检查表 {template.code} 第 {template.version} 版已发布且内容不同; 修改须使用新的版本号 "
                       "(a published version never changes: use a new version number)", "field": "version"}]
        return {"valid": not problems, "problems": problems, "code": template.code, "version": template.version,
                "title": template.title, "item_count": item_count(template.data),
                "content_hash": template.content_hash, "published": state}
