"""What the ranking endpoints answer: a ranking as the caller may see it (`services.Shown`) and its rows
(`services.RankedRow`), dumped by these schemas; the CSV exports dump the rows with them too."""

from __future__ import annotations

from marshmallow import fields

from inspect_api.core.schemas import BaseSchema, computed
from inspect_api.rankings import rules


class PeriodSchema(BaseSchema):
    start = fields.Date(data_key="from")
    end = fields.Date(data_key="to")
    days = fields.Integer()
    key = computed(fields.String(allow_none=True, metadata={"description": "2026-11 | 2026-Q4 | 2026; null for other "
                                                                          "spans"}), rules.period_key)
    label = computed(fields.String(metadata={"description": "2026年11月 …"}), rules.period_label)


class ComponentSchema(BaseSchema):
    code = fields.String(metadata={"description": "inspection 明查暗访 | ratings 群众评价"})
    label = fields.String()
    counted = fields.Boolean(metadata={"description": "是否计入综合得分 / whether it counts"})
    score = fields.Float(allow_none=True, metadata={"description": "0–100"})
    weight = fields.Float(metadata={"description": "政策权重 / the policy's weight"})
    share = fields.Float(metadata={"description": "在综合得分中的占比 / its share of the score (counted weights "
                                                  "renormalised)"})
    note = fields.String(metadata={"description": "得分由来或不计入的原因 / how it came about, or why not counted"})


class TieValueSchema(BaseSchema):
    key = fields.String()
    label = fields.String()
    value = fields.Float()


class ExplanationSchema(BaseSchema):
    text = fields.String(metadata={"description": "得分说明 / the score explained in one sentence"})
    components = fields.List(fields.Nested(ComponentSchema))
    tie_break = fields.List(fields.Nested(TieValueSchema), metadata={
        "description": "同分时依次比较的值 / the values equal scores are compared by, in order"})


class ReasonSchema(BaseSchema):
    code = fields.String(metadata={"description": "dissatisfaction 差评率 | complaints 投诉"})
    label = fields.String()


class FiguresSchema(BaseSchema):
    """A RankedRow's figures, score, rank and their explanation (rankings/services.py)."""

    rank = fields.Integer(attribute="row.rank", allow_none=True, metadata={"description": "并列同名次 (1, 2, 2, 4); 无数据为 null"})
    status = fields.String(metadata={"description": "ranked | no_data"})
    score = fields.Float(attribute="row.score.value", allow_none=True,
                         metadata={"description": "综合得分, 一位小数 / the score"})
    previous_rank = fields.Integer(allow_none=True, metadata={"description": "对比区间的名次 / rank in the "
                                                                             "compared period"})
    change = fields.Integer(allow_none=True, metadata={"description": "上升为正 / positive: moved up"})
    bottom = fields.Boolean(metadata={"description": "是否被点名末位 / named at the bottom"})
    visits = fields.Integer(allow_none=True, metadata={"description": "检查次数; 单位联络员为 null"})
    findings = fields.Integer(attribute="row.figures.findings", metadata={"description": "已确认问题 / confirmed findings"})
    by_severity = fields.Dict(keys=fields.String(), values=fields.Integer())
    deduction = fields.Float(attribute="row.score.deduction", metadata={"description": "扣分 / deduction points"})
    complaints = fields.Integer(attribute="row.figures.complaints",
                                metadata={"description": "经核实的投诉 / confirmed complaint findings"})
    ratings = fields.Integer(attribute="row.figures.ratings", metadata={"description": "群众评价条数 / ratings"})
    rating_mean = fields.Float(attribute="row.figures.rating_mean", allow_none=True)
    satisfaction_rate = fields.Float(attribute="row.figures.satisfaction_rate", allow_none=True,
                                     metadata={"description": "满意率 (≥3 分), 0–1"})
    dissatisfaction_rate = fields.Float(attribute="row.figures.dissatisfaction_rate", allow_none=True,
                                        metadata={"description": "差评率 (≤2 分), 0–1"})
    explanation = fields.Nested(ExplanationSchema)


class StaffedWindowSchema(BaseSchema):
    unit_id = fields.Integer()
    code = fields.String(attribute="info.code")
    name = fields.String(attribute="info.name")
    label = fields.String(metadata={"description": "这些数字的口径 / what the figures are"})
    visits = fields.Integer(allow_none=True, metadata={"description": "单位联络员为 null / null for a liaison"})
    findings = fields.Integer(attribute="figures.findings", metadata={"description": "已确认问题 / confirmed findings"})
    by_severity = fields.Dict(keys=fields.String(), values=fields.Integer())
    points = fields.Integer(attribute="figures.points", metadata={"description": "检查表分值 / checklist points"})
    ratings = fields.Integer(attribute="figures.ratings")


class UnitRowSchema(FiguresSchema):
    basis = fields.String(metadata={"description": "unit: 本单位的数字 / the unit's own figures; staffing: 本单位与"
                                                   "其进驻窗口合计 (rollup=staffing) / with the windows it staffs"})
    basis_label = fields.String(metadata={"description": "口径说明 / the figures' basis, in words"})
    staffed_windows = fields.List(fields.Nested(StaffedWindowSchema), metadata={
        "description": "rollup=staffing: 计入本行的进驻窗口及其本身的数字 / the windows counted in this row, each "
                       "with its own figures; otherwise empty"})
    unit_id = fields.Integer(attribute="row.key")
    code = fields.String(attribute="info.code")
    name = fields.String(attribute="info.name")
    kind = fields.String(attribute="info.kind")
    parent_id = fields.Integer(attribute="info.parent_id", allow_none=True)
    special_supervision = fields.List(fields.Nested(ReasonSchema), metadata={
        "description": "专项督查的理由; 空表示不是候选 / why a candidate for special supervision"})


class StaffRowSchema(FiguresSchema):
    staff_id = fields.Integer(attribute="row.key")
    badge_no = fields.String(attribute="info.badge_no")
    name = fields.String(attribute="info.name")
    unit_id = fields.Integer(attribute="info.unit_id")
    unit_name = fields.String(attribute="info.unit_name")
    window_no = fields.String(attribute="info.window_no", allow_none=True)
    post = fields.String(attribute="info.post")


class BottomRuleSchema(BaseSchema):
    count = fields.Integer(allow_none=True)
    share = fields.Float(allow_none=True)
    min_count = fields.Integer()
    min_ranked = fields.Integer()
    below_score = fields.Float(allow_none=True)
    require_problem = fields.Boolean()


class RulesSchema(BaseSchema):
    weights = computed(fields.Dict(keys=fields.String(), values=fields.Float()), lambda sp: dict(sp.weights))
    min_ratings = fields.Integer()
    tie_break = fields.List(fields.String())
    bottom = fields.Nested(BottomRuleSchema)


class NamedUnitSchema(BaseSchema):
    unit_id = fields.Integer(attribute="row.key")
    code = fields.String(attribute="info.code")
    name = fields.String(attribute="info.name")
    rank = fields.Integer(attribute="row.rank")
    score = fields.Float(attribute="row.score.value")


class NamedStaffSchema(BaseSchema):
    staff_id = fields.Integer(attribute="row.key")
    badge_no = fields.String(attribute="info.badge_no")
    name = fields.String(attribute="info.name")
    unit_name = fields.String(attribute="info.unit_name")
    rank = fields.Integer(attribute="row.rank")
    score = fields.Float(attribute="row.score.value")


class UnitBottomSchema(BaseSchema):
    note = fields.String(metadata={"description": "规则及未点名的原因 / the rule as applied, or why nobody is named"})
    size = fields.Integer()
    named = fields.List(fields.Nested(NamedUnitSchema), metadata={"description": "最差者在前 / worst first"})


class StaffBottomSchema(UnitBottomSchema):
    named = fields.List(fields.Nested(NamedStaffSchema))


class SpecialSchema(BaseSchema):
    unit_id = fields.Integer()
    code = fields.String()
    name = fields.String()
    reasons = fields.List(fields.Nested(ReasonSchema))


class RankingCommonSchema(BaseSchema):
    """Dumps a `Shown` ranking (rankings/services.py)."""

    period = fields.Nested(PeriodSchema, attribute="ranking.period")
    compared_with = fields.Nested(PeriodSchema, attribute="ranking.compared", metadata={
        "description": "名次变化的对比区间 / the period `change` compares with"})
    under = fields.Integer(allow_none=True)
    method = fields.String(attribute="ranking.method", metadata={"description": "计分与排名方法 / how scores and ranks "
                                                                                "are made"})
    policy = fields.Nested(RulesSchema)
    ranked_count = fields.Integer(metadata={"description": "参与排名数 / how many are ranked"})
    no_data_count = fields.Integer(metadata={"description": "无数据数 / how many have no data"})


class UnitRankingSchema(RankingCommonSchema):
    """Everything about a unit ranking but its rows (GET /rankings/units/summary)."""

    rollup = fields.String(allow_none=True, metadata={"description": "staffing 或 null / the roll-up asked for"})
    rollup_basis = fields.String(allow_none=True, metadata={"description": "汇总口径 / how the roll-up counts"})
    restricted_to_unit = fields.Integer(allow_none=True, metadata={
        "description": "单位联络员: 只列本单位及下级 / a liaison's unit: only its subtree's rows are listed"})
    bottom = fields.Nested(UnitBottomSchema)
    special_supervision = fields.List(fields.Nested(SpecialSchema), metadata={
        "description": "专项督查候选单位 / candidates for special supervision"})


class StaffRankingSchema(RankingCommonSchema):
    """Everything about a staff ranking but its rows (GET /rankings/staff/summary)."""

    bottom = fields.Nested(StaffBottomSchema)
