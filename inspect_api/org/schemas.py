"""Schemas of the org registry endpoints."""

from __future__ import annotations

import re
import unicodedata

from marshmallow import ValidationError, fields, pre_load, validate, validates_schema

from inspect_api.core.schemas import BaseSchema

UNIT_KINDS = ["county", "department", "hall", "window", "other"]
# \Z, not $: "$" also matches before a final newline, which would let "U1\n" in.
CODE = validate.Regexp(r"^[A-Za-z0-9_.-]{1,32}\Z", error="只能包含字母、数字和 _ . - (letters, digits, _ . -)")
OPENING_HOURS_ERROR = "格式如 09:00-12:00,13:30-17:30, 每段开始早于结束 (HH:MM-HH:MM, start before end)"
# Ids are database integers: a bigger number is a validation error, not an overflow in the driver.
ID = validate.Range(min=1, max=2**31 - 1, error="不存在的编号 (no such id)")
SEQ = validate.Range(min=0, max=2**63 - 1)
_HHMM = re.compile(r"([01][0-9]|2[0-4]):([0-5][0-9])")


_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


class NormalisedCodes:
    """Codes and badge numbers in NFKC with invisible characters removed, as the imports compare
    them, so `ＱＣ－０００１` is the duplicate of `QC-0001` here too. Unlike a spreadsheet cell, a JSON
    value is not trimmed: whitespace around a code is a client's bug and stays refused."""

    CODE_FIELDS = ("code", "badge_no")

    @pre_load
    def _normalise_codes(self, data, **kwargs):
        if not isinstance(data, dict):
            return data
        return {k: unicodedata.normalize("NFKC", v).translate(_INVISIBLE)
                if k in self.CODE_FIELDS and isinstance(v, str) else v for k, v in data.items()}


def not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("不能为空 (must not be blank)")


def _minutes(text: str) -> int:
    m = _HHMM.fullmatch(text)
    if m is None:
        raise ValidationError(OPENING_HOURS_ERROR)
    minutes = int(m[1]) * 60 + int(m[2])
    if minutes > 24 * 60:
        raise ValidationError(OPENING_HOURS_ERROR)
    return minutes


def valid_opening_hours(value: str) -> None:
    """"09:00-12:00,13:30-17:30": real times, each period starting before it ends, in day order."""
    previous_end = 0
    for period in value.split(","):
        start, sep, end = period.partition("-")
        if not sep:
            raise ValidationError(OPENING_HOURS_ERROR)
        start_min, end_min = _minutes(start), _minutes(end)
        if not previous_end <= start_min < end_min:
            raise ValidationError(OPENING_HOURS_ERROR)
        previous_end = end_min


def unique_tags(tags: list) -> None:
    if len(tags) != len(set(tags)):
        raise ValidationError("标签重复 (duplicate tags)")


class UnitSchema(NormalisedCodes, BaseSchema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=[validate.Length(min=1, max=128), not_blank])
    kind = fields.String(required=True, validate=validate.OneOf(UNIT_KINDS))
    parent_id = fields.Integer(allow_none=True, load_default=None, validate=ID)
    head_name = fields.String(allow_none=True, validate=validate.Length(max=64))
    head_title = fields.String(allow_none=True, validate=validate.Length(max=64))
    address = fields.String(allow_none=True, validate=validate.Length(max=255))
    phone = fields.String(allow_none=True, validate=validate.Length(max=32))
    opening_hours = fields.String(allow_none=True, validate=[validate.Length(max=64), valid_opening_hours])
    tags = fields.List(fields.String(validate=[validate.Length(min=1, max=32), not_blank]),
                       validate=[validate.Length(max=20), unique_tags])
    staffing_unit_id = fields.Integer(allow_none=True, validate=ID, metadata={
        "description": "进驻部门: 派驻人员到该窗口并对窗口问题负责的部门 (windows only)"})
    is_active = fields.Boolean(dump_only=True)
    version = fields.Integer(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class UnitUpdateSchema(UnitSchema):
    code = fields.String(validate=CODE)
    name = fields.String(validate=[validate.Length(min=1, max=128), not_blank])
    kind = fields.String(validate=validate.OneOf(UNIT_KINDS))
    parent_id = fields.Integer(allow_none=True, validate=ID)


class UnitQuerySchema(BaseSchema):
    q = fields.String(validate=validate.Length(max=64), metadata={"description": "名称或编码包含"})
    kind = fields.String(validate=validate.OneOf(UNIT_KINDS))
    parent_id = fields.Integer(validate=ID)
    under = fields.Integer(validate=ID, metadata={"description": "只列出该单位及其下级 (subtree)"})
    tag = fields.String()
    include_inactive = fields.Boolean(load_default=False)


class StaffSchema(NormalisedCodes, BaseSchema):
    id = fields.Integer(dump_only=True)
    badge_no = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=[validate.Length(min=1, max=64), not_blank])
    unit_id = fields.Integer(required=True, validate=ID)
    post = fields.String(required=True, validate=[validate.Length(min=1, max=64), not_blank])
    position = fields.String(allow_none=True, validate=validate.Length(max=64))
    window_no = fields.String(allow_none=True, validate=validate.Length(max=16))
    backup_id = fields.Integer(allow_none=True, validate=ID)
    is_active = fields.Boolean(dump_only=True)
    version = fields.Integer(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class StaffUpdateSchema(StaffSchema):
    badge_no = fields.String(validate=CODE)
    name = fields.String(validate=[validate.Length(min=1, max=64), not_blank])
    unit_id = fields.Integer(validate=ID)
    post = fields.String(validate=[validate.Length(min=1, max=64), not_blank])


class StaffQuerySchema(BaseSchema):
    q = fields.String(validate=validate.Length(max=64), metadata={"description": "姓名或工牌号包含"})
    unit_id = fields.Integer(validate=ID)
    under = fields.Integer(validate=ID)
    window_no = fields.String()
    include_inactive = fields.Boolean(load_default=False)


class MaterialSchema(BaseSchema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=16))
    name = fields.String(required=True, validate=[validate.Length(min=1, max=255), not_blank])
    note = fields.String(allow_none=True, validate=validate.Length(max=255))


def _materials_unique(materials) -> None:
    codes = [m["code"] for m in materials]
    if len(codes) != len(set(codes)):
        raise ValidationError("材料编码重复 (duplicate material codes)")


class ServiceItemSchema(NormalisedCodes, BaseSchema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=[validate.Length(min=1, max=255), not_blank])
    unit_id = fields.Integer(required=True, validate=ID)
    materials = fields.List(fields.Nested(MaterialSchema), required=True, validate=_materials_unique)
    statutory_limit_days = fields.Integer(required=True, validate=validate.Range(min=0, max=365))
    committed_limit_days = fields.Integer(required=True, validate=validate.Range(min=0, max=365))
    on_the_spot = fields.Boolean(load_default=False)
    accepting_window_ids = fields.List(fields.Integer(validate=ID), validate=validate.Length(max=200), metadata={
        "description": "受理窗口: 受理该事项的窗口单位 id; 空 = 未登记 (then the unit tree decides)"})
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
    name = fields.String(validate=[validate.Length(min=1, max=255), not_blank])
    unit_id = fields.Integer(validate=ID)
    materials = fields.List(fields.Nested(MaterialSchema), validate=_materials_unique)
    statutory_limit_days = fields.Integer(validate=validate.Range(min=0, max=365))
    committed_limit_days = fields.Integer(validate=validate.Range(min=0, max=365))
    on_the_spot = fields.Boolean()


class ServiceItemQuerySchema(BaseSchema):
    q = fields.String(validate=validate.Length(max=64))
    unit_id = fields.Integer(validate=ID)
    under = fields.Integer(validate=ID)
    include_inactive = fields.Boolean(load_default=False)


class DeltaQuerySchema(BaseSchema):
    since = fields.Integer(load_default=0, validate=SEQ,
                           metadata={"description": "上次同步返回的 cursor; 0 表示全量"})
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=2000))


class DeltaSchema(BaseSchema):
    units = fields.List(fields.Nested(UnitSchema))
    staff = fields.List(fields.Nested(StaffSchema))
    service_items = fields.List(fields.Nested(ServiceItemSchema))
    cursor = fields.Integer(metadata={"description": "下次请求的 since"})
    has_more = fields.Boolean(metadata={"description": "还有更多变更, 立即用新 cursor 再取"})
