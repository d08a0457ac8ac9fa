"""Schemas of the org registry endpoints."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from inspect_api.core.schemas import BaseSchema

UNIT_KINDS = ["county", "department", "hall", "window", "other"]
CODE = validate.Regexp(r"^[A-Za-z0-9_.-]{1,32}$", error="只能包含字母、数字和 _ . - (letters, digits, _ . -)")


class UnitSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(min=1, max=128))
    kind = fields.String(required=True, validate=validate.OneOf(UNIT_KINDS))
    parent_id = fields.Integer(allow_none=True, load_default=None)
    head_name = fields.String(allow_none=True, validate=validate.Length(max=64))
    head_title = fields.String(allow_none=True, validate=validate.Length(max=64))
    address = fields.String(allow_none=True, validate=validate.Length(max=255))
    phone = fields.String(allow_none=True, validate=validate.Length(max=32))
    opening_hours = fields.String(allow_none=True, validate=validate.Regexp(
        r"^\d{2}:\d{2}-\d{2}:\d{2}(,\d{2}:\d{2}-\d{2}:\d{2})*$", error="格式如 09:00-12:00,13:30-17:30"))
    tags = fields.List(fields.String(validate=validate.Length(min=1, max=32)), validate=validate.Length(max=20))
    is_active = fields.Boolean(dump_only=True)
    version = fields.Integer(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class UnitUpdateSchema(UnitSchema):
    code = fields.String(validate=CODE)
    name = fields.String(validate=validate.Length(min=1, max=128))
    kind = fields.String(validate=validate.OneOf(UNIT_KINDS))
    parent_id = fields.Integer(allow_none=True)


class UnitQuerySchema(BaseSchema):
    q = fields.String(validate=validate.Length(max=64), metadata={"description": "名称或编码包含"})
    kind = fields.String(validate=validate.OneOf(UNIT_KINDS))
    parent_id = fields.Integer()
    under = fields.Integer(metadata={"description": "只列出该单位及其下级 (subtree)"})
    tag = fields.String()
    include_inactive = fields.Boolean(load_default=False)


class StaffSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    badge_no = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    unit_id = fields.Integer(required=True)
    post = fields.String(required=True, validate=validate.Length(min=1, max=64))
    position = fields.String(allow_none=True, validate=validate.Length(max=64))
    window_no = fields.String(allow_none=True, validate=validate.Length(max=16))
    backup_id = fields.Integer(allow_none=True)
    is_active = fields.Boolean(dump_only=True)
    version = fields.Integer(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class StaffUpdateSchema(StaffSchema):
    badge_no = fields.String(validate=CODE)
    name = fields.String(validate=validate.Length(min=1, max=64))
    unit_id = fields.Integer()
    post = fields.String(validate=validate.Length(min=1, max=64))


class StaffQuerySchema(BaseSchema):
    q = fields.String(validate=validate.Length(max=64), metadata={"description": "姓名或工牌号包含"})
    unit_id = fields.Integer()
    under = fields.Integer()
    window_no = fields.String()
    include_inactive = fields.Boolean(load_default=False)


class MaterialSchema(BaseSchema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=16))
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    note = fields.String(allow_none=True, validate=validate.Length(max=255))


def _materials_unique(materials) -> None:
    codes = [m["code"] for m in materials]
    if len(codes) != len(set(codes)):
        raise ValidationError("材料编码重复 (duplicate material codes)")


class ServiceItemSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    unit_id = fields.Integer(required=True)
    materials = fields.List(fields.Nested(MaterialSchema), required=True, validate=_materials_unique)
    statutory_limit_days = fields.Integer(required=True, validate=validate.Range(min=0, max=365))
    committed_limit_days = fields.Integer(required=True, validate=validate.Range(min=0, max=365))
    on_the_spot = fields.Boolean(load_default=False)
    is_active = fields.Boolean(dump_only=True)
    version = fields.Integer(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    @validates_schema
    def _limits(self, data, **kwargs):
        s, c = data.get("statutory_limit_days"), data.get("committed_limit_days")
        if s is not None and c is not None and c > s:
            raise ValidationError("承诺时限不得超过法定时限 (committed limit above statutory)",
                                  "committed_limit_days")


class ServiceItemUpdateSchema(ServiceItemSchema):
    code = fields.String(validate=CODE)
    name = fields.String(validate=validate.Length(min=1, max=255))
    unit_id = fields.Integer()
    materials = fields.List(fields.Nested(MaterialSchema), validate=_materials_unique)
    statutory_limit_days = fields.Integer(validate=validate.Range(min=0, max=365))
    committed_limit_days = fields.Integer(validate=validate.Range(min=0, max=365))
    on_the_spot = fields.Boolean()


class ServiceItemQuerySchema(BaseSchema):
    q = fields.String(validate=validate.Length(max=64))
    unit_id = fields.Integer()
    under = fields.Integer()
    include_inactive = fields.Boolean(load_default=False)


class DeltaQuerySchema(BaseSchema):
    since = fields.Integer(load_default=0, validate=validate.Range(min=0),
                           metadata={"description": "上次同步返回的 cursor; 0 表示全量"})
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=2000))


class DeltaSchema(BaseSchema):
    units = fields.List(fields.Nested(UnitSchema))
    staff = fields.List(fields.Nested(StaffSchema))
    service_items = fields.List(fields.Nested(ServiceItemSchema))
    cursor = fields.Integer(metadata={"description": "下次请求的 since"})
    has_more = fields.Boolean(metadata={"description": "还有更多变更, 立即用新 cursor 再取"})
