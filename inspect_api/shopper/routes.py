"""Mystery-shopper endpoints: scenarios (office), and comparisons across units, windows and items."""

from __future__ import annotations

import sqlalchemy as sa
from flask.views import MethodView
from marshmallow import fields, validate

from inspect_api.auth.access import current_user, roles
from inspect_api.core.blueprint import Blueprint
from inspect_api.core.http import if_match_version
from inspect_api.core.schemas import BaseSchema, computed, paginate_select
from inspect_api.db import db
from inspect_api.errors import PreconditionFailed
from inspect_api.shopper import services
from inspect_api.shopper.models import Scenario

blp = Blueprint("shopper", __name__, url_prefix="/shopper", description="模拟办事 Mystery-shopper audits")

WRITERS = ("office", "admin")
# Scenarios are confidential: a unit that learnt them would know what the shopper will ask.
READERS = ("office", "admin", "inspector", "leader")


class ScenarioSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]{1,32}$"))
    title = fields.String(required=True, validate=validate.Length(min=1, max=128))
    service_item_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    persona = fields.String(required=True, validate=validate.Length(min=1, max=2000),
                            metadata={"description": "身份, 如 个体工商户, 办理营业执照变更"})
    ask = fields.String(required=True, validate=validate.Length(min=1, max=2000), metadata={"description": "要问什么"})
    materials_brought = fields.List(fields.String(validate=validate.Length(min=1, max=16)), load_default=list,
                                    metadata={"description": "带去的材料编码 (故意不全)"})
    notes = fields.String(allow_none=True, validate=validate.Length(max=4000))
    is_active = fields.Boolean(load_default=True)
    version = fields.Integer(dump_only=True)
    expectations = computed(fields.Dict(dump_only=True, metadata={
        "description": "正确的答复: 应一次性告知的材料、承诺时限、回执"}), lambda scenario: services.expectations(scenario))


class ScenarioUpdateSchema(ScenarioSchema):
    code = fields.String(validate=validate.Regexp(r"^[A-Za-z0-9_.-]{1,32}$"))
    title = fields.String(validate=validate.Length(min=1, max=128))
    service_item_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    persona = fields.String(validate=validate.Length(min=1, max=2000))
    ask = fields.String(validate=validate.Length(min=1, max=2000))
    materials_brought = fields.List(fields.String(validate=validate.Length(min=1, max=16)))
    is_active = fields.Boolean()


class ScenarioQuerySchema(BaseSchema):
    include_inactive = fields.Boolean(load_default=False)


@blp.route("/scenarios")
class Scenarios(MethodView):
    @blp.arguments(ScenarioQuerySchema, location="query")
    @blp.response(200, ScenarioSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=200)
    @roles(*READERS)
    def get(self, args, pagination_parameters):
        """List mystery-shopper scenarios with what a correct answer would be"""
        stmt = sa.select(Scenario).order_by(Scenario.code)
        if not args["include_inactive"]:
            stmt = stmt.where(Scenario.is_active.is_(True))
        return paginate_select(stmt, pagination_parameters)

    @blp.arguments(ScenarioSchema)
    @blp.response(201, ScenarioSchema)
    @blp.alt_response(409, description="编码已存在")
    @roles(*WRITERS)
    def post(self, body):
        """Create a scenario: service item, persona, what to ask, which materials the shopper brings"""
        scenario = services.create_scenario(body, current_user())
        db.session.commit()
        return scenario


@blp.route("/scenarios/<int:scenario_id>")
class ScenarioById(MethodView):
    @blp.response(200, ScenarioSchema)
    @roles(*READERS)
    def get(self, scenario_id):
        """One scenario"""
        return services.get_scenario(scenario_id)

    @blp.arguments(ScenarioUpdateSchema)
    @blp.response(200, ScenarioSchema)
    @blp.alt_response(412, description="If-Match 版本已过期")
    @roles(*WRITERS)
    def patch(self, body, scenario_id):
        """Change a scenario (optional If-Match: version); visits already recorded keep their scores"""
        scenario = services.get_scenario(scenario_id, lock=True)  # a second PATCH waits, then sees v+1
        wanted = if_match_version()
        if wanted is not None and wanted != scenario.version:
            raise PreconditionFailed("情景已被修改 (stale version)", {"current_version": scenario.version})
        services.update_scenario(scenario, body, current_user())
        db.session.commit()
        return scenario
