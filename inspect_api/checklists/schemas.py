"""Schemas of the checklist endpoints: the summary of a published version and the full template."""

from __future__ import annotations

from marshmallow import fields

from inspect_api.checklists.rules import ANSWER_TYPES, KINDS, SYSTEMS
from inspect_api.core.categories import CATEGORIES, SEVERITIES
from inspect_api.core.schemas import BaseSchema

NUMBER = {"type": "number"}


class ChoiceSchema(BaseSchema):
    code = fields.String()
    label = fields.String(metadata={"description": "选项 (中文)"})


class ItemSchema(BaseSchema):
    code = fields.String(metadata={"description": "题目编码, 在本检查表内唯一"})
    question = fields.String(metadata={"description": "检查内容 (中文)"})
    answer_type = fields.String(metadata={"enum": list(ANSWER_TYPES)})
    hint = fields.String(metadata={"description": "给督查员的提示"})
    seed = fields.String(metadata={"description": "制度依据, 如 002 §1"})
    fail_answer = fields.String(metadata={"enum": ["yes", "no"], "description": "yes_no: 此答案判为不合格"})
    choices = fields.List(fields.Nested(ChoiceSchema), metadata={"description": "choice: 可选项"})
    fail_choices = fields.List(fields.String(), metadata={"description": "choice: 判为不合格的选项编码"})
    unit = fields.String(metadata={"description": "number: 单位, 如 分钟"})
    min = fields.Raw(metadata=NUMBER)
    max = fields.Raw(metadata=NUMBER)
    fail_above = fields.Raw(metadata={**NUMBER, "description": "number: 大于此值判为不合格"})
    fail_below = fields.Raw(metadata={**NUMBER, "description": "number: 小于此值判为不合格"})
    category = fields.String(metadata={"enum": list(CATEGORIES), "description": "不合格时记录的问题类别"})
    category_label = fields.String()
    severity = fields.String(metadata={"enum": list(SEVERITIES)})
    severity_label = fields.String()
    points = fields.Raw(metadata={**NUMBER, "description": "不合格时扣分"})
    photo_required = fields.Boolean(dump_default=False, metadata={"description": "不合格时须拍照取证"})


class SystemSchema(BaseSchema):
    code = fields.String(metadata={"enum": list(SYSTEMS)})
    label = fields.String()
    items = fields.List(fields.Nested(ItemSchema))


class ChecklistSummarySchema(BaseSchema):
    code = fields.String()
    version = fields.Integer()
    title = fields.String()
    kind = fields.String(metadata={"enum": list(KINDS)})
    content_hash = fields.String(metadata={"description": "SHA-256 of the canonical content; the ETag"})
    item_count = fields.Integer()
    is_current = fields.Boolean(metadata={"description": "本代码的最新版本"})
    published_at = fields.DateTime()


class ChecklistSchema(ChecklistSummarySchema):
    description = fields.String()
    systems = fields.List(fields.Nested(SystemSchema))
    scoring = fields.Dict(metadata={"description": "评分规则 (mystery_shopper, 尚未使用)"})
