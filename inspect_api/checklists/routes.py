"""Published checklist templates for phones and the office: the current list, the versions of one
code, and one version in full (strong ETag = its content hash, so `If-None-Match` gives a 304)."""

from __future__ import annotations

from flask import g, make_response
from flask.views import MethodView

from inspect_api.auth.access import roles
from inspect_api.auth.rules import ALL_ROLES
from inspect_api.checklists import services
from inspect_api.checklists.models import ChecklistVersion
from inspect_api.checklists.rules import item_count
from inspect_api.checklists.schemas import ChecklistSchema, ChecklistSummarySchema
from inspect_api.core.blueprint import Blueprint
from inspect_api.core.categories import CATEGORIES, SEVERITIES
from inspect_api.core.http import not_modified

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
