"""What the API answers about mystery shopping: the recorded visit (模拟办事记录) with its scores."""

from __future__ import annotations

from marshmallow import fields

from inspect_api.core.schemas import BaseSchema, computed
from inspect_api.db import db


class MissingMaterialSchema(BaseSchema):
    code = fields.String()
    name = fields.String()
    told = fields.Boolean(metadata={"description": "the window told the shopper to bring it"})


def _missing_materials(rec) -> list[dict]:
    """The service item's official materials the scenario's shopper did not bring, and whether the
    window told of each."""
    from inspect_api.org.models import ServiceItem
    from inspect_api.shopper.models import Scenario

    item = db.session.get(ServiceItem, rec.service_item_id)
    scenario = db.session.get(Scenario, rec.scenario_id)
    names = {m["code"]: m["name"] for m in item.materials}
    brought, told = set(scenario.materials_brought), set(rec.materials_told)
    return [{"code": c, "name": names[c], "told": c in told} for c in names if c not in brought]


class ShopperRecordSchema(BaseSchema):
    scenario_id = fields.Integer()
    service_item_id = fields.Integer()
    queue_minutes = fields.Integer(allow_none=True)
    wait_minutes = fields.Integer(allow_none=True)
    first_receiver_badge = fields.String(allow_none=True)
    first_receiver_window = fields.String(allow_none=True)
    sent_elsewhere = fields.Boolean()
    sent_to = fields.String(allow_none=True)
    sent_to_unit_id = fields.Integer(allow_none=True)
    materials_told = fields.List(fields.String())
    materials_told_other = fields.List(fields.String())
    done_on_spot = fields.Boolean()
    receipt_given = fields.Boolean(allow_none=True)
    promised_date = fields.Date(allow_none=True)
    attitude = fields.String()
    told_come_back = fields.Boolean()
    notes = fields.String(allow_none=True)
    completeness = fields.Float()
    score = fields.Float()
    promise_provisional = fields.Boolean()
    materials_missing = computed(fields.List(fields.Nested(MissingMaterialSchema)), _missing_materials)
    invented_requirements = computed(fields.List(fields.String()), lambda rec: rec.materials_told_other)
