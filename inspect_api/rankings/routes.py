"""Ranking endpoints (排名与末位): units and staff per period, as JSON (paginated) and as CSV (streamed)."""

from __future__ import annotations

from flask import Response as FlaskResponse
from flask import stream_with_context
from flask.views import MethodView
from marshmallow import fields, validate

from inspect_api.auth.access import current_user, roles
from inspect_api.core.blueprint import Blueprint
from inspect_api.core.schemas import ID_RANGE, BaseSchema
from inspect_api.rankings import services
from inspect_api.rankings.schemas import StaffRankingSchema, StaffRowSchema, UnitRankingSchema, UnitRowSchema

blp = Blueprint("rankings", __name__, url_prefix="/rankings",
                description="排名与末位 Rankings of units and staff, the bottom named (002 §8)")

# Leaders and the office see everything; a liaison its own units' positions; staff rankings never leave
# the office and the leadership; inspectors nothing aggregated.
UNIT_READERS = ("office", "admin", "leader", "unit_liaison")
STAFF_READERS = ("office", "admin", "leader")


class RankingQuerySchema(BaseSchema):
    period = fields.String(validate=validate.Length(max=7), metadata={
        "description": "2026-11 月 | 2026-Q4 季度 | 2026 年; 与 from/to 二选一 / a month, quarter or year; "
                       "not together with from/to"})
    start = fields.Date(data_key="from", metadata={
        "description": "首日(含), 默认结束日所在月的1日 / first local day, included; default: the 1st of the "
                       "month of `to`"})
    end = fields.Date(data_key="to", metadata={
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


def _page(shown, pagination_parameters) -> list:
    """This page of the ranking's rows; the total goes to `X-Pagination` as in every other list."""
    pagination_parameters.item_count = len(shown.rows)
    first = (pagination_parameters.page - 1) * pagination_parameters.page_size
    return shown.rows[first:first + pagination_parameters.page_size]


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
        return _page(services.units_shown(current_user(), args), pagination_parameters)


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
        return services.units_shown(current_user(), args)


@blp.route("/units.csv")
class UnitsCsv(MethodView):
    @blp.arguments(UnitRankingQuerySchema, location="query")
    @blp.response(200, description="CSV (UTF-8 with BOM), every row")
    @blp.alt_response(404, description=NOT_FOUND)
    @roles(*UNIT_READERS)
    def get(self, args):
        """The unit ranking as CSV, streamed (the same rows as the JSON, unpaginated)"""
        shown = services.units_shown(current_user(), args)
        return _csv_response(services.units_csv(shown), services.csv_filename("units", shown))


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
        return _page(services.staff_shown(current_user(), args), pagination_parameters)


@blp.route("/staff/summary")
class StaffSummary(MethodView):
    @blp.arguments(RankingQuerySchema, location="query")
    @blp.response(200, StaffRankingSchema)
    @blp.alt_response(404, description=NOT_FOUND)
    @roles(*STAFF_READERS)
    def get(self, args):
        """The staff ranking's period, method, policy, counts and the bottom named (工作人员末位)"""
        return services.staff_shown(current_user(), args)


@blp.route("/staff.csv")
class StaffCsv(MethodView):
    @blp.arguments(RankingQuerySchema, location="query")
    @blp.response(200, description="CSV (UTF-8 with BOM), every row")
    @blp.alt_response(404, description=NOT_FOUND)
    @roles(*STAFF_READERS)
    def get(self, args):
        """The staff ranking as CSV, streamed"""
        shown = services.staff_shown(current_user(), args)
        return _csv_response(services.staff_csv(shown), services.csv_filename("staff", shown))
