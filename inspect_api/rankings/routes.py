"""Ranking endpoints (排名与末位): units and staff per period, as JSON (paginated) and as CSV (streamed)."""

from __future__ import annotations

from datetime import date

from flask import Response as FlaskResponse
from flask import stream_with_context
from flask.views import MethodView
from marshmallow import fields, validate

from inspect_api.auth.access import current_user, roles
from inspect_api.core.blueprint import Blueprint
from inspect_api.core.schemas import ID_RANGE, BaseSchema
from inspect_api.rankings import services

blp = Blueprint("rankings", __name__, url_prefix="/rankings",
                description="排名与末位 Rankings of units and staff, the bottom named (002 §8)")

# Leaders and the office see everything; a liaison its own units' positions; staff rankings never leave
# the office and the leadership; inspectors nothing aggregated.
UNIT_READERS = ("office", "admin", "leader", "unit_liaison")
STAFF_READERS = ("office", "admin", "leader")
DATES = validate.Range(min=date(2000, 1, 1), max=date(2099, 12, 31))


class RankingQuerySchema(BaseSchema):
    period = fields.String(validate=validate.Length(max=7), metadata={
        "description": "2026-11 月 | 2026-Q4 季度 | 2026 年; 与 from/to 二选一 / a month, quarter or year; "
                       "not together with from/to"})
    start = fields.Date(data_key="from", validate=DATES, metadata={
        "description": "首日(含), 默认结束日所在月的1日 / first local day, included; default: the 1st of the "
                       "month of `to`"})
    end = fields.Date(data_key="to", validate=DATES, metadata={
        "description": "末日(含), 默认今天 / last local day, included; default: today"})
    under = fields.Integer(validate=ID_RANGE, metadata={
        "description": "只在该单位及其下级中排名 / rank within this unit's subtree (a liaison: within its own)"})


class UnitRankingQuerySchema(RankingQuerySchema):
    status = fields.String(validate=validate.OneOf(["ranked", "no_data"]), metadata={
        "description": "只列参与排名的 (ranked) 或无数据的 (no_data) 单位 / only ranked or only no-data rows"})
    rollup = fields.String(validate=validate.OneOf(list(services.ROLLUPS)), metadata={
        "description": "staffing: 进驻部门负责, 有进驻部门的窗口计入其进驻部门一起排名, 窗口本身的数字列在 "
                       "staffed_windows / a window staffed by a department is ranked with it, the window's own "
                       "figures listed in `staffed_windows`; without it every unit is ranked on its own figures"})


class PeriodSchema(BaseSchema):
    start = fields.Date(data_key="from")
    end = fields.Date(data_key="to")
    days = fields.Integer()
    key = fields.String(allow_none=True, metadata={"description": "2026-11 | 2026-Q4 | 2026; null for other spans"})
    label = fields.String(metadata={"description": "2026年11月 …"})


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
    rank = fields.Integer(allow_none=True, metadata={"description": "并列同名次 (1, 2, 2, 4); 无数据为 null"})
    status = fields.String(metadata={"description": "ranked | no_data"})
    score = fields.Float(allow_none=True, metadata={"description": "综合得分, 一位小数 / the score"})
    previous_rank = fields.Integer(allow_none=True, metadata={"description": "对比区间的名次 / rank in the "
                                                                             "compared period"})
    change = fields.Integer(allow_none=True, metadata={"description": "上升为正 / positive: moved up"})
    bottom = fields.Boolean(metadata={"description": "是否被点名末位 / named at the bottom"})
    visits = fields.Integer(allow_none=True, metadata={"description": "检查次数; 单位联络员为 null"})
    findings = fields.Integer(metadata={"description": "已确认问题 / confirmed findings"})
    by_severity = fields.Dict(keys=fields.String(), values=fields.Integer())
    deduction = fields.Float(metadata={"description": "扣分 / deduction points"})
    complaints = fields.Integer(metadata={"description": "经核实的投诉 / confirmed complaint findings"})
    ratings = fields.Integer(metadata={"description": "群众评价条数 / ratings"})
    rating_mean = fields.Float(allow_none=True)
    satisfaction_rate = fields.Float(allow_none=True, metadata={"description": "满意率 (≥3 分), 0–1"})
    dissatisfaction_rate = fields.Float(allow_none=True, metadata={"description": "差评率 (≤2 分), 0–1"})
    explanation = fields.Nested(ExplanationSchema)


class StaffedWindowSchema(BaseSchema):
    unit_id = fields.Integer()
    code = fields.String()
    name = fields.String()
    label = fields.String(metadata={"description": "这些数字的口径 / what the figures are"})
    visits = fields.Integer(allow_none=True, metadata={"description": "单位联络员为 null / null for a liaison"})
    findings = fields.Integer(metadata={"description": "已确认问题 / confirmed findings"})
    by_severity = fields.Dict(keys=fields.String(), values=fields.Integer())
    points = fields.Integer(metadata={"description": "检查表分值 / checklist points"})
    ratings = fields.Integer()


class UnitRowSchema(FiguresSchema):
    basis = fields.String(metadata={"description": "unit: 本单位的数字 / the unit's own figures; staffing: 本单位与"
                                                   "其进驻窗口合计 (rollup=staffing) / with the windows it staffs"})
    basis_label = fields.String(metadata={"description": "口径说明 / the figures' basis, in words"})
    staffed_windows = fields.List(fields.Nested(StaffedWindowSchema), metadata={
        "description": "rollup=staffing: 计入本行的进驻窗口及其本身的数字 / the windows counted in this row, each "
                       "with its own figures; otherwise empty"})
    unit_id = fields.Integer()
    code = fields.String()
    name = fields.String()
    kind = fields.String()
    parent_id = fields.Integer(allow_none=True)
    special_supervision = fields.List(fields.Nested(ReasonSchema), metadata={
        "description": "专项督查的理由; 空表示不是候选 / why a candidate for special supervision"})


class StaffRowSchema(FiguresSchema):
    staff_id = fields.Integer()
    badge_no = fields.String()
    name = fields.String()
    unit_id = fields.Integer()
    unit_name = fields.String()
    window_no = fields.String(allow_none=True)
    post = fields.String()


class BottomRuleSchema(BaseSchema):
    count = fields.Integer(allow_none=True)
    share = fields.Float(allow_none=True)
    min_count = fields.Integer()
    min_ranked = fields.Integer()
    below_score = fields.Float(allow_none=True)
    require_problem = fields.Boolean()


class RulesSchema(BaseSchema):
    weights = fields.Dict(keys=fields.String(), values=fields.Float())
    min_ratings = fields.Integer()
    tie_break = fields.List(fields.String())
    bottom = fields.Nested(BottomRuleSchema)


class NamedUnitSchema(BaseSchema):
    unit_id = fields.Integer()
    code = fields.String()
    name = fields.String()
    rank = fields.Integer()
    score = fields.Float()


class NamedStaffSchema(BaseSchema):
    staff_id = fields.Integer()
    badge_no = fields.String()
    name = fields.String()
    unit_name = fields.String()
    rank = fields.Integer()
    score = fields.Float()


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
    period = fields.Nested(PeriodSchema)
    compared_with = fields.Nested(PeriodSchema, metadata={"description": "名次变化的对比区间 / the period "
                                                                         "`change` compares with"})
    under = fields.Integer(allow_none=True)
    method = fields.String(metadata={"description": "计分与排名方法 / how scores and ranks are made"})
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


def _page(view: dict, pagination_parameters) -> list:
    """This page of the ranking's rows; the total goes to `X-Pagination` as in every other list."""
    rows = view.pop("_rows")
    pagination_parameters.item_count = len(rows)
    first = (pagination_parameters.page - 1) * pagination_parameters.page_size
    return rows[first:first + pagination_parameters.page_size]


def _summary(view: dict) -> dict:
    view.pop("_rows")
    return view


def _csv_response(lines, filename: str) -> FlaskResponse:
    resp = FlaskResponse(stream_with_context(lines), mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return resp


NOT_FOUND = "单位不存在或不在本单位范围内 / unknown unit, or outside the caller's subtree"


@blp.route("/units")
class Units(MethodView):
    @blp.arguments(UnitRankingQuerySchema, location="query")
    @blp.response(200, UnitRowSchema(many=True))
    @blp.alt_response(404, description=NOT_FOUND)
    @blp.paginate(page_size=100, max_page_size=500)
    @roles(*UNIT_READERS)
    def get(self, args, pagination_parameters):
        """Units ranked for a period: the rows, as every list (单位排名)

        每个单位的综合得分由明查暗访 (已确认问题扣分) 和群众评价 (好差评) 按政策权重计算, 每行附得分说明;
        无检查、无足够评价的单位列为“无数据”, 不参与排名. 末位按政策点名; 差评率高或投诉多的单位列为专项督查候选.

        Each unit's score comes from its confirmed findings and its citizen ratings, weighted as
        `checklists/policy/rankings.yaml` says; every row explains its score. Units with neither are
        listed after the ranked ones as `no_data`. Ties: the policy's tie-break keys, then the same rank.
        A unit's liaison gets only its own units' rows (their rank among all ranked units), never
        another unit's name, no visit counts, and only months, quarters or years that have ended
        (default: last month). An array of rows, paginated (`X-Pagination`) like every other list; the
        period, the method, the policy, the bottom named and the special-supervision candidates are
        at `GET /rankings/units/summary` with the same query. With `rollup=staffing` (进驻部门负责) a
        window staffed by a department is ranked with that department: its visits, confirmed findings
        and ratings count in the department's row, whose `staffed_windows` lists each window with its own
        figures; every row says its basis (`basis`, `basis_label`).
        """
        return _page(services.units_view(current_user(), args), pagination_parameters)


@blp.route("/units/summary")
class UnitsSummary(MethodView):
    @blp.arguments(UnitRankingQuerySchema, location="query")
    @blp.response(200, UnitRankingSchema)
    @blp.alt_response(404, description=NOT_FOUND)
    @roles(*UNIT_READERS)
    def get(self, args):
        """The unit ranking's period, method, policy, counts, bottom named and special-supervision candidates

        The same query as `GET /rankings/units` (`status`, `page` and `page_size` play no part); for a
        liaison the bottom and the candidates name only its own units, as the rows do.
        """
        return _summary(services.units_view(current_user(), args))


@blp.route("/units.csv")
class UnitsCsv(MethodView):
    @blp.arguments(UnitRankingQuerySchema, location="query")
    @blp.response(200, description="CSV (UTF-8 with BOM), every row")
    @blp.alt_response(404, description=NOT_FOUND)
    @roles(*UNIT_READERS)
    def get(self, args):
        """The unit ranking as CSV, streamed (the same rows as the JSON, unpaginated)"""
        view = services.units_view(current_user(), args)
        return _csv_response(services.units_csv(view), services.csv_filename("units", view))


@blp.route("/staff")
class StaffRanking(MethodView):
    @blp.arguments(RankingQuerySchema, location="query")
    @blp.response(200, StaffRowSchema(many=True))
    @blp.alt_response(404, description=NOT_FOUND)
    @blp.paginate(page_size=100, max_page_size=500)
    @roles(*STAFF_READERS)
    def get(self, args, pagination_parameters):
        """Staff ranked for a period: the rows, as every list (工作人员排名)

        按点名该工作人员的已确认问题和 (窗口可唯一对应时) 群众评价计分; 只列本期有检查、问题或评价的工作人员.

        Staff are scored by the confirmed findings naming them and, where a window is held by exactly
        one active member of staff of the unit, that window's ratings (see `method`). Only staff with
        figures in the period are listed; staff with none are never named at the bottom. An array,
        paginated (`X-Pagination`); the period, method, policy and the bottom named are at
        `GET /rankings/staff/summary`.
        """
        return _page(services.staff_view(current_user(), args), pagination_parameters)


@blp.route("/staff/summary")
class StaffSummary(MethodView):
    @blp.arguments(RankingQuerySchema, location="query")
    @blp.response(200, StaffRankingSchema)
    @blp.alt_response(404, description=NOT_FOUND)
    @roles(*STAFF_READERS)
    def get(self, args):
        """The staff ranking's period, method, policy, counts and the bottom named (工作人员末位)"""
        return _summary(services.staff_view(current_user(), args))


@blp.route("/staff.csv")
class StaffCsv(MethodView):
    @blp.arguments(RankingQuerySchema, location="query")
    @blp.response(200, description="CSV (UTF-8 with BOM), every row")
    @blp.alt_response(404, description=NOT_FOUND)
    @roles(*STAFF_READERS)
    def get(self, args):
        """The staff ranking as CSV, streamed"""
        view = services.staff_view(current_user(), args)
        return _csv_response(services.staff_csv(view), services.csv_filename("staff", view))
