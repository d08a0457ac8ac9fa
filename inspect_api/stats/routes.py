"""Statistics endpoints for the supervision bulletin and the dashboards: summary, trend, per unit."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from inspect_api.auth.access import current_user, roles
from inspect_api.core.blueprint import Blueprint
from inspect_api.core.categories import CATEGORIES, SEVERITIES
from inspect_api.core.schemas import ID_RANGE, BaseSchema
from inspect_api.stats import rules, services

blp = Blueprint("stats", __name__, url_prefix="/stats",
                description="统计 Statistics behind the supervision bulletin and the dashboards")

# Leaders and the office see every unit; a liaison its own subtree; inspectors nothing aggregated.
READERS = ("leader", "office", "admin", "unit_liaison")
COUNT = {"description": "单位联络员为 null (null for a unit's liaison)"}


class StatsQuerySchema(BaseSchema):
    start = fields.Date(data_key="from", metadata={
        "description": "首日(含), 本地日期 YYYY-MM-DD, 默认结束日所在月的1日 / first local day, included; "
                       "default: the 1st of the month of `to`"})
    end = fields.Date(data_key="to", metadata={
        "description": "末日(含), 本地日期, 默认今天; 区间不超过5年 / last local day, included; default: "
                       "today; at most 5 years after `from`"})
    under = fields.Integer(validate=ID_RANGE, metadata={
        "description": "只统计该单位及其下级 / only this unit and its subtree (a liaison: within its own)"})
    category = fields.String(validate=validate.OneOf(list(CATEGORIES)), metadata={
        "description": "问题类别, 只筛选问题与整改 / finding category; filters findings and rectifications"})
    severity = fields.String(validate=validate.OneOf(list(SEVERITIES)), metadata={
        "description": "严重程度, 只筛选问题与整改 / severity; filters findings and rectifications"})
    mode = fields.String(validate=validate.OneOf(["covert", "overt", "mystery_shopper"]), metadata={
        "description": "检查方式 / visit mode: covert 暗访, overt 明查, mystery_shopper 模拟办事"})


class StatsSummaryQuerySchema(StatsQuerySchema):
    compare = fields.String(load_default="previous", validate=validate.OneOf(rules.COMPARISONS), metadata={
        "description": "previous 环比: 之前等长的区间(整月则为之前同样多的整月) / the period of equal length "
                       "before (whole months: as many whole months before); year_ago 同比: 上年同期 / a year "
                       "before"})


class StatsTrendQuerySchema(StatsQuerySchema):
    start = fields.Date(data_key="from", metadata={
        "description": "首日(含), 默认为包含结束日在内的12个月之首 / first local day, included; default: "
                       "the 1st of the month eleven months before the month of `to`"})
    granularity = fields.String(load_default="month", validate=validate.OneOf(rules.GRANULARITIES), metadata={
        "description": "week 周 (ISO, 周一起) | month 月 | quarter 季度"})


class StatsUnitsQuerySchema(StatsQuerySchema):
    rollup = fields.Boolean(load_default=False, metadata={
        "description": "每行含该单位全部下级 / each row counts its unit's whole subtree"})
    depth = fields.Integer(validate=validate.Range(min=0, max=20), metadata={
        "description": "只列 under 以下第几级 (0 = under 本身; 无 under 时 0 = 顶级单位) / only units this many "
                       "levels below `under` (without `under`: below the top)"})
    sort = fields.String(load_default="points", validate=validate.OneOf(services.UNIT_SORTS), metadata={
        "description": "排序字段, 默认扣分 / sort key; default: deduction points"})
    order = fields.String(validate=validate.OneOf(["asc", "desc"]), metadata={
        "description": "默认数值降序, 编码与名称升序 / default: numbers descending, code and name ascending"})


class StatsPeriodSchema(BaseSchema):
    start = fields.Date(data_key="from")
    end = fields.Date(data_key="to")
    days = fields.Integer()


class StatsFiltersSchema(BaseSchema):
    under = fields.Integer(allow_none=True, metadata={"description": "统计的子树根 / the subtree counted"})
    category = fields.String(allow_none=True)
    severity = fields.String(allow_none=True)
    mode = fields.String(allow_none=True)


class StatsFindingFiguresSchema(BaseSchema):
    total = fields.Integer()
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer(allow_none=True), metadata={
        "description": "按审核状态 / by review status (pending_review, confirmed, dismissed, returned, "
                       "withdrawn); 单位联络员只见 confirmed 与 withdrawn, 其余为 null"})


class StatsConfirmedFiguresSchema(BaseSchema):
    total = fields.Integer()
    points = fields.Integer(metadata={"description": "扣分合计 / deduction points"})
    by_category = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_severity = fields.Dict(keys=fields.String(), values=fields.Integer())


class StatsFiguresSchema(BaseSchema):
    visits = fields.Integer(allow_none=True, metadata={"description": "提交的检查次数 / visits submitted; " +
                                                       COUNT["description"]})
    units_visited = fields.Integer(allow_none=True, metadata={"description": "被检查单位数 / units visited; " +
                                                              COUNT["description"]})
    findings = fields.Nested(StatsFindingFiguresSchema, metadata={"description": "问题 / findings (never drafts)"})
    confirmed = fields.Nested(StatsConfirmedFiguresSchema, metadata={"description": "已确认问题 / confirmed findings"})
    rectifications = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "这些问题的整改, 按今天的状态 / their rectifications by state today (open, reported, "
                       "accepted, overdue (包括已过期未标记的 open), cancelled)"})


class StatsDeltaSchema(BaseSchema):
    absolute = fields.Integer()
    percent = fields.Float(allow_none=True, metadata={"description": "上期为0时为 null / null when it was 0"})


class StatsFindingChangeSchema(BaseSchema):
    total = fields.Nested(StatsDeltaSchema)
    by_status = fields.Dict(keys=fields.String(), values=fields.Nested(StatsDeltaSchema, allow_none=True))


class StatsConfirmedChangeSchema(BaseSchema):
    total = fields.Nested(StatsDeltaSchema)
    points = fields.Nested(StatsDeltaSchema)
    by_category = fields.Dict(keys=fields.String(), values=fields.Nested(StatsDeltaSchema))
    by_severity = fields.Dict(keys=fields.String(), values=fields.Nested(StatsDeltaSchema))


class StatsChangeSchema(BaseSchema):
    visits = fields.Nested(StatsDeltaSchema, allow_none=True)
    units_visited = fields.Nested(StatsDeltaSchema, allow_none=True)
    findings = fields.Nested(StatsFindingChangeSchema)
    confirmed = fields.Nested(StatsConfirmedChangeSchema)
    rectifications = fields.Dict(keys=fields.String(), values=fields.Nested(StatsDeltaSchema))


class StatsRatingFiguresSchema(BaseSchema):
    count = fields.Integer()
    average = fields.Float(allow_none=True)
    satisfaction_rate = fields.Float(allow_none=True, metadata={"description": "满意率: share of scores ≥ 3"})
    bad_count = fields.Integer(metadata={"description": "差评: scores ≤ 2"})


class StatsRatingsSchema(BaseSchema):
    current = fields.Nested(StatsRatingFiguresSchema)
    previous = fields.Nested(StatsRatingFiguresSchema)


class StatsWindowFiguresSchema(BaseSchema):
    unit_id = fields.Integer()
    code = fields.String()
    name = fields.String()
    label = fields.String(metadata={"description": "这些数字的口径 / what the figures are"})
    findings = fields.Integer(metadata={"description": "问题 (不含草稿) / findings (never drafts)"})
    confirmed = fields.Integer()
    points = fields.Integer(metadata={"description": "已确认问题扣分 / points of confirmed findings"})
    rectifications_open = fields.Integer()
    rectifications_overdue = fields.Integer()


class StatsStaffingUnitSchema(StatsWindowFiguresSchema):
    windows = fields.List(fields.Nested(StatsWindowFiguresSchema), metadata={
        "description": "该部门进驻的窗口, 各自的数字 / the windows it staffs, each with its own figures"})


class StatsUnstaffedSchema(BaseSchema):
    label = fields.String()
    findings = fields.Integer()
    confirmed = fields.Integer()
    points = fields.Integer()
    rectifications_open = fields.Integer()
    rectifications_overdue = fields.Integer()
    windows = fields.List(fields.Nested(StatsWindowFiguresSchema))


class StatsByStaffingUnitSchema(BaseSchema):
    basis = fields.String(metadata={"description": "汇总口径 / how the roll-up counts"})
    departments = fields.List(fields.Nested(StatsStaffingUnitSchema), metadata={
        "description": "进驻部门负责: 每个进驻部门一行, 其进驻窗口的问题合计, 按扣分降序 / one row per staffing "
                       "department: its staffed windows' findings, highest points first"})
    unstaffed_windows = fields.Nested(StatsUnstaffedSchema, metadata={
        "description": "未登记进驻部门的窗口 / windows that name no staffing department"})


class StatsSummarySchema(BaseSchema):
    period = fields.Nested(StatsPeriodSchema)
    compared_with = fields.Nested(StatsPeriodSchema, metadata={"description": "对比区间 / the compared period"})
    comparison = fields.String()
    as_of = fields.Date(metadata={"description": "整改状态的基准日 / the day rectification states are as of"})
    filters = fields.Nested(StatsFiltersSchema)
    current = fields.Nested(StatsFiguresSchema)
    previous = fields.Nested(StatsFiguresSchema)
    change = fields.Nested(StatsChangeSchema, metadata={"description": "本期减上期 / current minus previous"})
    ratings = fields.Nested(StatsRatingsSchema, metadata={
        "description": "好差评 by rating day in the same scope, both periods (category/severity/mode filters "
                       "do not apply)"})
    by_staffing_unit = fields.Nested(StatsByStaffingUnitSchema, metadata={
        "description": "本期窗口的问题按进驻部门汇总 (进驻部门负责), 与窗口本身的数字并列 / the period's findings at "
                       "windows rolled up to the departments that staff them, beside the windows' own figures"})


class StatsTrendPointSchema(BaseSchema):
    key = fields.String(metadata={"description": "2026-W48 | 2026-11 | 2026-Q4"})
    start = fields.Date(metadata={"description": "首日, 首尾桶截至统计区间 / first day, clipped to the period"})
    end = fields.Date()
    visits = fields.Integer(allow_none=True, metadata=COUNT)
    findings = fields.Integer()
    confirmed = fields.Integer()
    points = fields.Integer()
    rectifications_open = fields.Integer()
    rectifications_overdue = fields.Integer()


class StatsTrendSchema(BaseSchema):
    period = fields.Nested(StatsPeriodSchema)
    granularity = fields.String()
    as_of = fields.Date()
    filters = fields.Nested(StatsFiltersSchema)
    buckets = fields.List(fields.Nested(StatsTrendPointSchema))


class StatsUnitRowSchema(BaseSchema):
    unit_id = fields.Integer()
    code = fields.String()
    name = fields.String()
    kind = fields.String()
    parent_id = fields.Integer(allow_none=True)
    visits = fields.Integer(allow_none=True, metadata=COUNT)
    findings = fields.Integer()
    confirmed = fields.Integer()
    points = fields.Integer(metadata={"description": "已确认问题扣分 / points of confirmed findings"})
    rectifications_open = fields.Integer()
    rectifications_overdue = fields.Integer()


@blp.route("/summary")
class Summary(MethodView):
    @blp.arguments(StatsSummaryQuerySchema, location="query")
    @blp.response(200, StatsSummarySchema)
    @blp.alt_response(404, description="单位不存在或不在本单位范围内 / unknown unit, or outside the caller's subtree")
    @roles(*READERS)
    def get(self, args):
        """Totals for a period, with the compared period and the change (督查通报汇总)

        按检查记录的提交时间(本地日期)统计: 检查次数、被检查单位数、问题按状态、已确认问题按类别与严重程度及扣分、
        这些问题的整改按今天的状态; 与环比(或同比)区间对比, 给出增减数与百分比(上期为0时为 null).

        Figures of visits submitted in the period (local days), their findings by status, confirmed
        findings by category and severity with deduction points, and those findings' rectifications in
        their state today; the same for the compared period, and the change (absolute, and percent,
        null when the earlier figure is 0). A unit's liaison gets its own subtree only, confirmed and
        withdrawn findings only, and no visit counts. No figure names an inspector. `ratings` gives the
        period's citizen ratings (好差评) of the same units. `by_staffing_unit` rolls the period's
        findings at windows up to the department that staffs each window (进驻部门负责), each window's
        own figures listed beside its department's total; the other figures are unchanged.
        """
        return services.summary(current_user(), args)


@blp.route("/trend")
class Trend(MethodView):
    @blp.arguments(StatsTrendQuerySchema, location="query")
    @blp.response(200, StatsTrendSchema)
    @blp.alt_response(404, description="单位不存在或不在本单位范围内 / unknown unit, or outside the caller's subtree")
    @roles(*READERS)
    def get(self, args):
        """A series by week, month or quarter (趋势)

        每个周期一个点: 检查次数、问题数、已确认问题数与扣分、未到期和逾期的整改; 无数据的周期为0. 首尾周期截至统计区间.

        One point per ISO week, month or quarter the period touches (zeros included; the first and last
        clipped to the period): visits, findings, confirmed findings and their points, open and overdue
        rectifications. Buckets are local (Asia/Shanghai) weeks, months and quarters.
        """
        return services.trend(current_user(), args)


@blp.route("/units")
class Units(MethodView):
    @blp.arguments(StatsUnitsQuerySchema, location="query")
    @blp.response(200, StatsUnitRowSchema(many=True))
    @blp.alt_response(404, description="单位不存在或不在本单位范围内 / unknown unit, or outside the caller's subtree")
    @blp.paginate(page_size=50, max_page_size=500)
    @roles(*READERS)
    def get(self, args, pagination_parameters):
        """Figures per unit, sorted and paginated (单位排名)

        每个单位一行: 检查次数、问题数、已确认问题数、扣分、未到期和逾期的整改; 默认按扣分降序. rollup=true 时每行含其全部下级,
        配合 depth 可得各部门合计.

        One row per unit of the scope that is active or has figures in the period: visits, findings,
        confirmed findings, deduction points, open and overdue rectifications; by default sorted by
        points, highest first. With `rollup=true` each row counts its unit's whole subtree; with `depth`
        only the units that many levels below `under` are listed (`under=<county>&depth=1&rollup=true`:
        one row per department with its totals).
        """
        rows, count = services.page_of_units(current_user(), args, pagination_parameters.page,
                                             pagination_parameters.page_size)
        pagination_parameters.item_count = count
        return rows
