"""The compiled fast loader of request bodies gives marshmallow's own result, or steps aside."""

from __future__ import annotations

import copy
import math
import uuid

import marshmallow as ma
import pytest

from inspect_api.core.fastload import SLOW, fast_load
from inspect_api.visits.schemas import SyncRequestSchema, VisitContentSchema


def visit(**over) -> dict:
    body = {
        "mode": "covert", "unit_id": 3, "window_no": "3", "staff_id": None,
        "checklist": {"code": "sanxiang_covert", "version": 1}, "team": [1, 2],
        "started_at": "2026-11-23T09:30:00+08:00", "ended_at": "2026-11-23T10:05:00+08:00",
        "device_time": "2026-11-23T10:06:00+08:00", "gps": {"lat": 30.1, "lng": 104, "accuracy_m": 15.0},
        "notes": "暗访记录",
        "responses": [{"item_code": "A1", "answer": "yes", "note": "好"}, {"item_code": "A2", "answer": 3},
                      {"item_code": "A3", "answer": None, "answered_at": "2026-11-23T09:40:00Z"}],
        "findings": [{"id": str(uuid.UUID(int=7, version=4)), "category": "poor_attitude", "severity": "minor",
                      "badge_no": "QC-0001", "observed_at": "2026-11-23T09:41:00+08:00", "description": "玩手机"}],
    }
    body.update(over)
    return body


def shopper() -> dict:
    return {"scenario_id": 4, "attitude": "warm", "materials_told": ["M1"], "promised_date": "2026-11-30",
            "sent_elsewhere": False, "queue_minutes": 5}


VALID = [
    visit(), visit(responses=[], findings=[]), visit(gps=None), visit(mode="mystery_shopper", shopper=shopper()),
    {k: v for k, v in visit().items() if k not in ("window_no", "staff_id", "gps", "notes", "responses")},
]
# taken by marshmallow, but not in the plain JSON form the fast path knows: marshmallow loads them
UNUSUAL = [visit(unit_id="3"), visit(team=[1, "2"]), visit(gps={"lat": "30.1", "lng": 104})]
INVALID = [
    visit(unit_id=True), visit(unit_id=0), visit(unit_id=2**31), visit(mode="other"),
    visit(team=[]), visit(started_at="2026-11-23T09:30:00"), visit(started_at="yesterday"),
    visit(ended_at="2026-11-23T08:00:00+08:00"), visit(gps={"lat": 91, "lng": 0}), visit(gps={"lat": math.nan, "lng": 0}),
    visit(gps={}), visit(extra=1), visit(notes=5), visit(notes="x" * 8001), visit(checklist=None),
    visit(findings=[{"id": "not-a-uuid", "category": "poor_attitude", "severity": "minor"}]),
    visit(findings=[{"id": str(uuid.uuid4()), "category": "poor_attitude", "severity": "minor", "points": 3}]),
    visit(responses=[{"item_code": "", "answer": "yes"}]), visit(responses={"A1": "yes"}),
    visit(mode="mystery_shopper", shopper={**shopper(), "sent_elsewhere": 1}),
    visit(mode="mystery_shopper", shopper={**shopper(), "attitude": None}),
    [visit()], "visit", None,
]
DUPLICATE = str(uuid.uuid4())
INVALID.append(visit(findings=[{"id": DUPLICATE, "category": "poor_attitude", "severity": "minor"}] * 2))


def marshmallow_load(schema, data):
    try:
        return ma.Schema.load(schema, copy.deepcopy(data))
    except ma.ValidationError as exc:
        return exc


@pytest.mark.parametrize("body", VALID)
def test_a_well_formed_visit_loads_fast_to_what_marshmallow_gives(body):
    schema = VisitContentSchema()
    fast = fast_load(schema, copy.deepcopy(body))
    assert fast is not SLOW
    assert fast == marshmallow_load(schema, body)
    batch = {"visits": [{**body, "id": str(uuid.uuid4()), "submit": True}, {**body, "id": str(uuid.uuid4())}]}
    assert fast_load(SyncRequestSchema(), copy.deepcopy(batch)) == marshmallow_load(SyncRequestSchema(), batch)


@pytest.mark.parametrize("body", INVALID)
def test_anything_marshmallow_refuses_is_left_to_it(body):
    schema = VisitContentSchema()
    assert isinstance(marshmallow_load(schema, body), ma.ValidationError)
    assert fast_load(schema, copy.deepcopy(body)) is SLOW
    with pytest.raises(ma.ValidationError):  # the schema's own load still answers with marshmallow's errors
        schema.load(copy.deepcopy(body))


@pytest.mark.parametrize("body", UNUSUAL)
def test_an_unusual_but_valid_form_is_loaded_by_marshmallow(body):
    schema = VisitContentSchema()
    assert fast_load(schema, copy.deepcopy(body)) is SLOW
    assert schema.load(copy.deepcopy(body)) == marshmallow_load(schema, body)


def test_a_batch_naming_a_visit_twice_is_left_to_marshmallow():
    one = {**visit(), "id": str(uuid.uuid4())}
    assert fast_load(SyncRequestSchema(), {"visits": [one, one]}) is SLOW
    assert fast_load(SyncRequestSchema(), {"visits": []}) is SLOW
