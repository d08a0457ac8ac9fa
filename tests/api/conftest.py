"""Fixtures for visit tests: a unit with staff, a two-inspector team, published checklists."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass

import pytest

from inspect_api.checklists.services import publish_all
from inspect_api.config import PROJECT_ROOT
from inspect_api.org import services as org
from tests.helpers import bearer, login, make_unit, make_user
from tests.images import photo


@dataclass
class Field:
    unit: object
    staff: object
    a: object
    b: object
    ha: dict
    hb: dict

    def visit(self, **overrides) -> dict:
        body = {
            "mode": "covert",
            "unit_id": self.unit.id,
            "window_no": "3",
            "staff_id": self.staff.id,
            "checklist": {"code": "sanxiang_covert", "version": 1},
            "team": [self.a.id, self.b.id],
            "started_at": "2026-11-23T09:30:00+08:00",
            "ended_at": "2026-11-23T10:05:00+08:00",
            "device_time": "2026-11-23T10:06:00+08:00",
            "gps": {"lat": 30.12345, "lng": 104.54321, "accuracy_m": 12.5},
            "responses": [
                {"item_code": "A1", "answer": "no", "note": "3号窗口未佩戴工牌"},
                {"item_code": "A2", "answer": "yes"},
                {"item_code": "E1", "answer": "cold"},
            ],
            "findings": [],
        }
        body.update(overrides)
        return body


@pytest.fixture()
def field(client, dbsession):
    publish_all(PROJECT_ROOT / "checklists")
    county = make_unit(kind="county", name="示范县")
    unit = make_unit(parent=county, name="县政务服务中心", kind="hall")
    staff = org.create_staff({"badge_no": "QC-0301", "name": "周敏", "unit_id": unit.id, "post": "综合受理",
                              "window_no": "3"})
    a, b = make_user("inspector"), make_user("inspector")
    return Field(unit, staff, a, b, bearer(login(client, a.username)["access_token"]),
                 bearer(login(client, b.username)["access_token"]))


def new_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture()
def submitted(client, field):
    vid = new_id()
    body = field.visit()  # A1 failed (badge, photo required), E1 cold (attitude)
    assert client.put(f"/api/v1/visits/{vid}", json=body, headers=field.ha).status_code == 201
    up = client.post(f"/api/v1/visits/{vid}/evidence", headers=field.ha, content_type="multipart/form-data",
                     data={"file": (io.BytesIO(photo(seed=41)), "a1.jpg", "image/jpeg"), "item_code": "A1"})
    assert up.status_code == 201
    v = client.post(f"/api/v1/visits/{vid}/submit", headers=field.ha).get_json()
    findings = {f["category"]: f["id"] for f in v["findings"]}
    return {"visit_id": vid, "body": body, "badge": findings["badge_missing"],
            "attitude": findings["poor_attitude"], "evidence": up.get_json()}


def decide(client, headers, fid, action, **extra):
    return client.post(f"/api/v1/review/findings/{fid}/decision", json={"action": action, **extra}, headers=headers)
