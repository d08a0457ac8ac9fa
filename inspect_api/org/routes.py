"""Org registry endpoints: units, staff, service items, history, the delta feed, imports."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from flask import current_app, request
from flask.views import MethodView
from marshmallow import fields

from inspect_api.audit.models import AuditEvent
from inspect_api.audit.services import decode
from inspect_api.auth.access import current_user, roles
from inspect_api.auth.rules import ALL_ROLES
from inspect_api.core.blueprint import Blueprint
from inspect_api.core.http import if_match_version, revalidated
from inspect_api.core.schemas import BaseSchema, paginate_select
from inspect_api.db import db
from inspect_api.errors import Unprocessable
from inspect_api.org import services
from inspect_api.org.models import ServiceItem, Staff, Unit
from inspect_api.org.schemas import (
    DeltaQuerySchema,
    DeltaSchema,
    ServiceItemQuerySchema,
    ServiceItemSchema,
    ServiceItemUpdateSchema,
    StaffQuerySchema,
    StaffSchema,
    StaffUpdateSchema,
    UnitQuerySchema,
    UnitSchema,
    UnitUpdateSchema,
)

blp = Blueprint("org", __name__, url_prefix="/org", description="组织机构: 单位、工作人员、服务事项 Org registry")

READERS = tuple(r.value for r in ALL_ROLES)
EDITORS = ("admin", "office")


class ActiveSchema(BaseSchema):
    is_active = fields.Boolean(required=True)


class HistoryEntrySchema(BaseSchema):
    seq = fields.Integer()
    at = fields.String()
    action = fields.String()
    actor_id = fields.Integer(allow_none=True)
    actor_role = fields.String(allow_none=True)
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)


class RowErrorSchema(BaseSchema):
    row = fields.Integer(metadata={"description": "表格行号 (1 = 表头)"})
    column = fields.String(allow_none=True)
    reason = fields.String()


class FieldChangeSchema(BaseSchema):
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)


class ImportRowSchema(BaseSchema):
    row = fields.Integer(metadata={"description": "表格行号"})
    key = fields.String(metadata={"description": "单位编码 / 工牌号 / 事项编码"})
    action = fields.String(metadata={"enum": ["create", "update", "unchanged"]})
    changes = fields.Dict(keys=fields.String(), values=fields.Nested(FieldChangeSchema),
                          metadata={"description": "每个改变的字段的原值和新值 (ids shown as codes)"})


class ImportReportSchema(BaseSchema):
    kind = fields.String()
    rows = fields.Integer()
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    errors = fields.List(fields.Nested(RowErrorSchema))
    dry_run = fields.Boolean()
    rows_detail = fields.List(fields.Nested(ImportRowSchema))


class ImportQuerySchema(BaseSchema):
    dry_run = fields.Boolean(load_default=False, metadata={"description": "只检查并列出将新增、更新、未变的行，不保存"})
    allow_rename = fields.Boolean(load_default=False,
                                  metadata={"description": "允许修改工牌号下已存的姓名 (otherwise refused)"})


class ImportFileSchema(BaseSchema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


def _history(entity_type: str, entity_id: int, pagination_parameters):
    stmt = (sa.select(AuditEvent)
            .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id))
            .order_by(AuditEvent.seq.desc()))
    return [decode(ev) for ev in paginate_select(stmt, pagination_parameters)]


def _crud(path: str, model, schema, update_schema, query_schema, search, create, update, get, entity_type, label):
    """One collection view and one item view for a registry entity (the three share every rule)."""

    class Collection(MethodView):
        @blp.arguments(query_schema, location="query")
        @blp.response(200, schema(many=True))
        @blp.paginate(page_size=50, max_page_size=500)
        @roles(*READERS)
        def get(self, args, pagination_parameters):
            return paginate_select(search(args, current_user()), pagination_parameters)

        @blp.arguments(schema)
        @blp.response(201, schema)
        @blp.alt_response(409, description="编码重复")
        @roles(*EDITORS)
        def post(self, body):
            obj = create(body, actor=current_user())
            db.session.commit()
            return obj

    class Item(MethodView):
        @blp.response(200, schema)
        @roles(*READERS)
        def get(self, obj_id):
            return get(obj_id, current_user())

        @blp.arguments(update_schema)
        @blp.response(200, schema)
        @blp.alt_response(412, description="If-Match 版本已过期")
        @roles(*EDITORS)
        def patch(self, body, obj_id):
            # Locked: two editors sending the same If-Match must not both pass the check.
            obj = get(obj_id, current_user(), lock=True)
            services.check_version(obj, if_match_version())
            obj = update(obj, body, actor=current_user())
            db.session.commit()
            return obj

    class Active(MethodView):
        @blp.arguments(ActiveSchema)
        @blp.response(200, schema)
        @roles(*EDITORS)
        def post(self, body, obj_id):
            obj = services.set_active(get(obj_id, current_user(), lock=True), body["is_active"],
                                      actor=current_user())
            db.session.commit()
            return obj

    class History(MethodView):
        @blp.response(200, HistoryEntrySchema(many=True))
        @blp.paginate(page_size=50, max_page_size=200)
        @roles(*EDITORS)
        def get(self, obj_id, pagination_parameters):
            get(obj_id, current_user())
            return _history(entity_type, obj_id, pagination_parameters)

    for view, name, doc in (
        (Collection, "", {"get": f"List and search {label}", "post": f"Create a {label}"}),
        (Item, "/<int:obj_id>", {"get": f"One {label}", "patch": f"Change a {label} (optional If-Match: version)"}),
        (Active, "/<int:obj_id>/active", {"post": f"Deactivate or reactivate a {label} (never deleted)"}),
        (History, "/<int:obj_id>/history", {"get": f"Change history of a {label}, newest first"}),
    ):
        for method, text in doc.items():
            getattr(view, method).__doc__ = text
        view.__name__ = f"{entity_type.title().replace('_', '')}{view.__name__}"
        blp.route(f"/{path}{name}", endpoint=f"{entity_type}_{view.__name__.lower()}")(view)


_crud("units", Unit, UnitSchema, UnitUpdateSchema, UnitQuerySchema, services.search_units, services.create_unit,
      services.update_unit, services.get_unit, "unit", "unit (单位)")
_crud("staff", Staff, StaffSchema, StaffUpdateSchema, StaffQuerySchema, services.search_staff,
      services.create_staff, services.update_staff, services.get_staff, "staff", "staff member (工作人员)")
_crud("service-items", ServiceItem, ServiceItemSchema, ServiceItemUpdateSchema, ServiceItemQuerySchema,
      services.search_service_items, services.create_service_item, services.update_service_item,
      services.get_service_item, "service_item", "service item (服务事项)")


def _delta_tag() -> str:
    """The delta's ETag: the caller's scope (role and unit), the query, the newest change it may see."""
    user = current_user()
    query = hashlib.blake2b(request.query_string, digest_size=6).hexdigest()
    return f"org-{user.role}-{user.unit_id or 0}-{query}-{services.delta_head(user)}"


@blp.route("/delta")
class Delta(MethodView):
    @revalidated(_delta_tag)
    @blp.arguments(DeltaQuerySchema, location="query")
    @blp.response(200, DeltaSchema)
    @blp.alt_response(304, description="If-None-Match 与当前 ETag 相同：无正文 (not modified)", success=True)
    @blp.alt_response(304, description="自上次同步以来没有变化 (If-None-Match matched)")
    @roles(*READERS)
    def get(self, args):
        """What changed in the registry since a cursor (the phone's offline copy)

        Start with `since=0`; store the returned `cursor` and send it next time. While `has_more` is
        true, ask again at once with the new cursor. Send the ETag back as `If-None-Match` to get a
        bodiless 304 when nothing changed. The rows under a moved unit share one change, which is never
        split across pages, so a page may hold more than `limit` rows.
        """
        return services.delta(current_user(), args["since"], args["limit"])


@blp.route("/imports/<string:kind>")
class Import(MethodView):
    @blp.arguments(ImportQuerySchema, location="query")
    @blp.arguments(ImportFileSchema, location="files")
    @blp.response(200, ImportReportSchema)
    @blp.alt_response(422, description="有错误的行: 整个文件未导入, details.errors 逐行说明")
    @roles("admin")
    def post(self, query, files, kind):
        """Import units, staff or service items from CSV or XLSX (all or nothing)

        `kind` is `units`, `staff` or `service-items`. Rows are matched by code (badge number for staff);
        re-importing the same file changes nothing. Codes and badge numbers are compared after Unicode
        normalisation (NFKC, trimmed); badge numbers must match `INSPECT_BADGE_PATTERN`. `rows_detail`
        lists each row as `create`, `update` or `unchanged` with every changed field's `before` and
        `after`. `?dry_run=true` checks and reports the same way and stores nothing. A staff row that
        changes the name stored under its badge number is refused unless `?allow_rename=true`.
        """
        from inspect_api.org import imports

        if kind not in imports.KINDS:
            raise Unprocessable("未知的导入类型 (unknown import kind)", {"fields": {"kind": list(imports.KINDS)}})
        upload = files["file"]
        options = imports.ImportOptions(dry_run=query["dry_run"], allow_rename=query["allow_rename"],
                                        badge_pattern=current_app.config["INSPECT_BADGE_PATTERN"])
        report = imports.run_import(kind, upload.stream, upload.filename or "", actor=current_user(),
                                    options=options)
        if report.errors:
            db.session.rollback()
            raise Unprocessable(f"文件有 {len(report.errors)} 处错误, 未导入任何数据 (nothing imported)",
                                {"errors": [e.__dict__ for e in report.errors][:1000], "rows": report.rows},
                                code="import_failed")
        if options.dry_run:
            db.session.rollback()
        else:
            db.session.commit()
        return report
