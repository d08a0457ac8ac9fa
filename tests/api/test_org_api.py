"""The org registry over HTTP: units, staff, service items; validation, conflicts, versions, history,
search and pagination; the liaison's scope; the delta feed with its cursor and ETag."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from inspect_api.audit import services as audit
from inspect_api.audit.models import AuditEvent
from inspect_api.org import services as org
from tests.helpers import field_errors, headers_for, make_service_item, make_staff, make_unit

API = "/api/v1/org"


@pytest.fixture()
def admin(client):
    return headers_for(client, "admin")


def unit_body(code="U100", **fields):
    return {"code": code, "name": f"单位{code}", "kind": "department", **fields}


def staff_body(unit_id, badge_no="B100", **fields):
    return {"badge_no": badge_no, "name": "张三", "unit_id": unit_id, "post": "综合窗口", **fields}


def item_body(unit_id, code="S100", **fields):
    return {"code": code, "name": "营业执照办理", "unit_id": unit_id,
            "materials": [{"code": "M1", "name": "身份证"}, {"code": "M2", "name": "申请表", "note": "原件"}],
            "statutory_limit_days": 20, "committed_limit_days": 5, **fields}


def post(client, headers, path, body):
    return client.post(f"{API}/{path}", json=body, headers=headers)


def codes(resp, key="code") -> list[str]:
    assert resp.status_code == 200, resp.get_json()
    return [row[key] for row in resp.get_json()]


def error(resp) -> dict:
    return resp.get_json()["error"]


def trail_length(dbsession) -> int:
    return dbsession.scalar(sa.select(sa.func.count()).select_from(AuditEvent))


# --- units: create and validate -------------------------------------------------------------------

def test_creating_a_unit_answers_201_with_the_stored_unit(client, admin):
    resp = post(client, admin, "units", unit_body(
        "HALL1", kind="hall", name="政务服务大厅", address="人民路1号", phone="0571-1234567",
        opening_hours="09:00-12:00,13:30-17:30", tags=["便民", "示范"]))
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["id"] > 0 and body["version"] == 1 and body["is_active"] is True
    assert (body["code"], body["name"], body["kind"]) == ("HALL1", "政务服务大厅", "hall")
    assert body["tags"] == ["便民", "示范"] and body["parent_id"] is None
    assert client.get(f"{API}/units/{body['id']}", headers=admin).get_json() == body


@pytest.mark.parametrize("body,field", [
    (unit_body(colour="red"), "colour"),
    (unit_body(is_active=False), "is_active"),  # dump-only: set through /active, not here
    (unit_body(version=7), "version"),
    (unit_body(kind="bureau"), "kind"),
    (unit_body(code="有中文"), "code"),
    (unit_body(code="U1\n"), "code"),
    (unit_body(code="X" * 33), "code"),
    (unit_body(name="   "), "name"),
    (unit_body(name=""), "name"),
    (unit_body(opening_hours="9:00-12:00"), "opening_hours"),
    (unit_body(opening_hours="25:00-26:00"), "opening_hours"),
    (unit_body(opening_hours="09:70-12:00"), "opening_hours"),
    (unit_body(opening_hours="17:00-09:00"), "opening_hours"),
    (unit_body(opening_hours="13:00-17:00,09:00-12:00"), "opening_hours"),
    (unit_body(opening_hours="09:00-12:00\n"), "opening_hours"),
    (unit_body(opening_hours="０９:００-12:00"), "opening_hours"),
    (unit_body(opening_hours=",".join(["08:00-08:01"] * 6)), "opening_hours"),
    (unit_body(tags=["便民", "便民"]), "tags"),
    (unit_body(tags=[""]), "tags"),
    (unit_body(parent_id="abc"), "parent_id"),
    ({"name": "缺编码", "kind": "hall"}, "code"),
])
def test_an_invalid_unit_is_422_naming_the_field(client, admin, body, field):
    resp = post(client, admin, "units", body)
    assert resp.status_code == 422, resp.get_json()
    assert error(resp)["code"] == "validation_error"
    assert field in field_errors(resp)


@pytest.mark.parametrize("hours", ["09:00-12:00", "08:30-12:00,13:30-17:30", "00:00-24:00", None])
def test_good_opening_hours_are_accepted(client, admin, hours):
    resp = post(client, admin, "units", unit_body(opening_hours=hours))
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["opening_hours"] == hours


def test_a_duplicate_unit_code_is_409_naming_code(client, admin):
    assert post(client, admin, "units", unit_body("DUP")).status_code == 201
    resp = post(client, admin, "units", unit_body("DUP", name="另一个"))
    assert resp.status_code == 409
    assert error(resp)["code"] == "duplicate" and "code" in field_errors(resp)


def test_an_unknown_parent_is_422_naming_parent_id(client, admin):
    resp = post(client, admin, "units", unit_body(parent_id=999_999))
    assert resp.status_code == 422 and "parent_id" in field_errors(resp)


def test_an_id_beyond_the_integer_range_is_refused_not_a_500(client, admin):
    resp = post(client, admin, "units", unit_body(parent_id=2**70))
    assert resp.status_code == 422 and "parent_id" in field_errors(resp)
    assert client.get(f"{API}/units", query_string={"under": 2**70}, headers=admin).status_code == 422
    assert client.get(f"{API}/delta", query_string={"since": 2**70}, headers=admin).status_code == 422


def test_a_child_unit_is_created_under_its_parent(client, admin):
    parent = post(client, admin, "units", unit_body("P")).get_json()
    child = post(client, admin, "units", unit_body("C", parent_id=parent["id"], kind="window"))
    assert child.status_code == 201 and child.get_json()["parent_id"] == parent["id"]
    assert codes(client.get(f"{API}/units", query_string={"under": parent["id"]}, headers=admin)) == ["P", "C"]
    # a PATCH without parent_id leaves the unit where it is
    renamed = client.patch(f"{API}/units/{child.get_json()['id']}", json={"name": "改名"}, headers=admin)
    assert renamed.get_json()["parent_id"] == parent["id"]
    assert codes(client.get(f"{API}/units", query_string={"under": parent["id"]}, headers=admin)) == ["P", "C"]


def test_an_error_never_carries_a_stack_trace(client, admin):
    resp = client.post(f"{API}/units", data="{not json", headers={**admin, "Content-Type": "application/json"})
    assert resp.status_code in (400, 422)
    assert "Traceback" not in resp.get_data(as_text=True)


# --- units: read, change, versions ----------------------------------------------------------------

def test_getting_an_unknown_unit_is_404_with_error_json(client, admin):
    resp = client.get(f"{API}/units/999999", headers=admin)
    assert resp.status_code == 404 and error(resp)["code"] == "not_found"


def test_patch_changes_fields_and_bumps_the_version(client, admin):
    unit = post(client, admin, "units", unit_body("P1")).get_json()
    resp = client.patch(f"{API}/units/{unit['id']}", json={"name": "新名称", "phone": "12345"}, headers=admin)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert (body["name"], body["phone"], body["version"], body["code"]) == ("新名称", "12345", 2, "P1")
    assert client.get(f"{API}/units/{unit['id']}", headers=admin).get_json()["name"] == "新名称"


def test_patch_validates_like_create_and_rejects_unknown_fields(client, admin):
    unit = post(client, admin, "units", unit_body("P2")).get_json()
    for body, field in (({"kind": "x"}, "kind"), ({"name": None}, "name"), ({"path": "/1/"}, "path"),
                        ({"opening_hours": "18:00-08:00"}, "opening_hours")):
        resp = client.patch(f"{API}/units/{unit['id']}", json=body, headers=admin)
        assert resp.status_code == 422 and field in field_errors(resp), body
    assert client.get(f"{API}/units/{unit['id']}", headers=admin).get_json()["version"] == 1


def test_patch_to_another_units_code_is_409(client, admin):
    post(client, admin, "units", unit_body("TAKEN"))
    unit = post(client, admin, "units", unit_body("MINE")).get_json()
    resp = client.patch(f"{API}/units/{unit['id']}", json={"code": "TAKEN"}, headers=admin)
    assert resp.status_code == 409 and "code" in field_errors(resp)
    # keeping its own code is no conflict
    assert client.patch(f"{API}/units/{unit['id']}", json={"code": "MINE"}, headers=admin).status_code == 200


def test_patch_with_a_stale_if_match_is_412_with_the_current_version(client, admin):
    unit = post(client, admin, "units", unit_body("V1")).get_json()
    url = f"{API}/units/{unit['id']}"
    assert client.patch(url, json={"name": "第一次"}, headers={**admin, "If-Match": '"1"'}).status_code == 200
    stale = client.patch(url, json={"name": "第二次"}, headers={**admin, "If-Match": '"1"'})
    assert stale.status_code == 412
    assert error(stale)["code"] == "precondition_failed" and error(stale)["details"]["current_version"] == 2
    assert client.get(url, headers=admin).get_json()["name"] == "第一次"
    fresh = client.patch(url, json={"name": "第二次"}, headers={**admin, "If-Match": 'W/"2"'})
    assert fresh.status_code == 200 and fresh.get_json()["version"] == 3


@pytest.fixture()
def statements(app, dbsession):
    from inspect_api.db import db

    seen: list[str] = []

    def listen(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))

    sa.event.listen(db.engine, "before_cursor_execute", listen)
    yield seen
    sa.event.remove(db.engine, "before_cursor_execute", listen)


@pytest.mark.parametrize("path,body", [("", {"name": "x"}), ("/active", {"is_active": False})])
def test_a_write_locks_the_row_before_checking_it(client, admin, dbsession, statements, path, body):
    """Two editors with the same If-Match must not both pass: the check runs on a locked, fresh row."""
    if dbsession.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers with BEGIN IMMEDIATE and has no FOR UPDATE")
    unit = post(client, admin, "units", unit_body("LOCK")).get_json()
    statements.clear()
    method = client.patch if not path else client.post
    assert method(f"{API}/units/{unit['id']}{path}", json=body, headers=admin).status_code == 200
    assert any(s.startswith("SELECT") and "FROM units" in s and s.endswith("FOR UPDATE") for s in statements)


def test_an_if_match_that_is_not_a_version_is_412(client, admin):
    unit = post(client, admin, "units", unit_body("V2")).get_json()
    resp = client.patch(f"{API}/units/{unit['id']}", json={"name": "x"}, headers={**admin, "If-Match": '"abc"'})
    assert resp.status_code == 412


def test_a_patch_that_changes_nothing_keeps_the_version_and_writes_no_event(client, admin, dbsession):
    unit = post(client, admin, "units", unit_body("SAME", tags=["a"], phone="1")).get_json()
    events = trail_length(dbsession)
    for body in ({"name": unit["name"]}, {"code": "SAME", "tags": ["a"], "phone": "1", "parent_id": None}):
        resp = client.patch(f"{API}/units/{unit['id']}", json=body, headers=admin)
        assert resp.status_code == 200 and resp.get_json()["version"] == 1
    # naming no field at all is a client bug: 422, and still nothing changes
    assert client.patch(f"{API}/units/{unit['id']}", json={}, headers=admin).status_code == 422
    assert trail_length(dbsession) == events
    history = client.get(f"{API}/units/{unit['id']}/history", headers=admin).get_json()
    assert [h["action"] for h in history] == ["unit.create"]


def test_history_lists_changes_newest_first_with_before_and_after(client, admin):
    editor = headers_for(client, "office")
    unit = post(client, admin, "units", unit_body("H1", name="旧名")).get_json()
    url = f"{API}/units/{unit['id']}"
    client.patch(url, json={"name": "新名"}, headers=editor)
    client.patch(url, json={"phone": "110"}, headers=admin)
    client.post(f"{url}/active", json={"is_active": False}, headers=admin)
    resp = client.get(f"{url}/history", headers=admin)
    assert resp.status_code == 200
    history = resp.get_json()
    assert [h["action"] for h in history] == ["unit.deactivate", "unit.update", "unit.update", "unit.create"]
    seqs = [h["seq"] for h in history]
    assert seqs == sorted(seqs, reverse=True)
    create, rename = history[3], history[2]
    assert create["before"] is None and create["after"]["name"] == "旧名"
    assert (rename["before"]["name"], rename["after"]["name"]) == ("旧名", "新名")
    assert rename["actor_role"] == "office" and history[0]["actor_role"] == "admin"
    assert history[0]["before"]["is_active"] is True and history[0]["after"]["is_active"] is False
    assert json.loads(resp.headers["X-Pagination"])["total"] == 4


def test_history_is_only_the_entitys_own(client, admin):
    a = post(client, admin, "units", unit_body("HA")).get_json()
    b = post(client, admin, "units", unit_body("HB")).get_json()
    client.patch(f"{API}/units/{b['id']}", json={"name": "改"}, headers=admin)
    history = client.get(f"{API}/units/{a['id']}/history", headers=admin).get_json()
    assert [h["action"] for h in history] == ["unit.create"]
    assert client.get(f"{API}/units/999999/history", headers=admin).status_code == 404


# --- units: deactivate, reactivate, move ---------------------------------------------------------

def test_deactivating_and_reactivating_a_unit(client, admin):
    unit = post(client, admin, "units", unit_body("ACT")).get_json()
    url = f"{API}/units/{unit['id']}"
    off = client.post(f"{url}/active", json={"is_active": False}, headers=admin)
    assert off.status_code == 200 and off.get_json()["is_active"] is False and off.get_json()["version"] == 2
    assert "ACT" not in codes(client.get(f"{API}/units", headers=admin))
    assert "ACT" in codes(client.get(f"{API}/units", query_string={"include_inactive": "true"}, headers=admin))
    assert client.get(url, headers=admin).status_code == 200  # still readable: visits refer to it
    again = client.post(f"{url}/active", json={"is_active": False}, headers=admin)
    assert again.status_code == 200 and again.get_json()["version"] == 2  # no change, no new version
    on = client.post(f"{url}/active", json={"is_active": True}, headers=admin)
    assert on.status_code == 200 and on.get_json()["is_active"] is True and on.get_json()["version"] == 3


def test_the_active_endpoint_needs_is_active(client, admin):
    unit = post(client, admin, "units", unit_body("ACT2")).get_json()
    resp = client.post(f"{API}/units/{unit['id']}/active", json={}, headers=admin)
    assert resp.status_code == 422 and "is_active" in field_errors(resp)


def test_deactivating_a_unit_with_active_children_is_409(client, admin):
    parent = post(client, admin, "units", unit_body("PAR")).get_json()
    child = post(client, admin, "units", unit_body("KID", parent_id=parent["id"])).get_json()
    resp = client.post(f"{API}/units/{parent['id']}/active", json={"is_active": False}, headers=admin)
    assert resp.status_code == 409
    assert error(resp)["code"] == "unit_has_children" and error(resp)["details"]["active_children"] == 1
    assert client.post(f"{API}/units/{child['id']}/active", json={"is_active": False}, headers=admin).status_code == 200
    assert client.post(f"{API}/units/{parent['id']}/active", json={"is_active": False}, headers=admin).status_code == 200


def test_no_active_unit_is_placed_under_an_inactive_one(client, admin):
    parent = post(client, admin, "units", unit_body("OFF")).get_json()
    child = post(client, admin, "units", unit_body("OFFKID", parent_id=parent["id"])).get_json()
    client.post(f"{API}/units/{child['id']}/active", json={"is_active": False}, headers=admin)
    client.post(f"{API}/units/{parent['id']}/active", json={"is_active": False}, headers=admin)
    created = post(client, admin, "units", unit_body("NEWKID", parent_id=parent["id"]))
    assert created.status_code == 422 and "parent_id" in field_errors(created)
    other = post(client, admin, "units", unit_body("OTHER")).get_json()
    moved = client.patch(f"{API}/units/{other['id']}", json={"parent_id": parent["id"]}, headers=admin)
    assert moved.status_code == 422 and "parent_id" in field_errors(moved)
    revived = client.post(f"{API}/units/{child['id']}/active", json={"is_active": True}, headers=admin)
    assert revived.status_code == 409 and error(revived)["code"] == "parent_inactive"
    # parent first, then the child
    assert client.post(f"{API}/units/{parent['id']}/active", json={"is_active": True}, headers=admin).status_code == 200
    assert client.post(f"{API}/units/{child['id']}/active", json={"is_active": True}, headers=admin).status_code == 200


@pytest.fixture()
def tree(dbsession):
    """COUNTY > A > A1 > A11 (window) and COUNTY > B; one staff member in A11."""
    county = make_unit("COUNTY", kind="county")
    a = make_unit("A", parent=county)
    a1 = make_unit("A1", parent=a, kind="hall")
    a11 = make_unit("A11", parent=a1, kind="window")
    b = make_unit("B", parent=county)
    make_staff(a11, badge_no="S-A11")
    dbsession.commit()  # requests roll back what they find uncommitted
    return {"county": county, "a": a, "a1": a1, "a11": a11, "b": b}


def under(client, headers, unit, path="units", key="code"):
    return sorted(codes(client.get(f"{API}/{path}", query_string={"under": unit.id}, headers=headers), key))


def test_moving_a_unit_moves_its_whole_subtree(client, admin, tree):
    a, a1, b = tree["a"], tree["a1"], tree["b"]
    assert under(client, admin, a) == ["A", "A1", "A11"]
    assert under(client, admin, b) == ["B"]
    assert under(client, admin, b, "staff", "badge_no") == []
    resp = client.patch(f"{API}/units/{a1.id}", json={"parent_id": b.id}, headers=admin)
    assert resp.status_code == 200 and resp.get_json()["parent_id"] == b.id and resp.get_json()["version"] == 2
    assert under(client, admin, a) == ["A"]
    assert under(client, admin, b) == ["A1", "A11", "B"]
    assert under(client, admin, b, "staff", "badge_no") == ["S-A11"]
    assert under(client, admin, tree["county"]) == ["A", "A1", "A11", "B", "COUNTY"]
    # and back to the top
    client.patch(f"{API}/units/{a1.id}", json={"parent_id": None}, headers=admin)
    assert under(client, admin, tree["county"]) == ["A", "B", "COUNTY"]
    assert under(client, admin, a1) == ["A1", "A11"]


@pytest.mark.parametrize("target", ["a", "a1", "a11"])
def test_moving_a_unit_under_itself_or_its_descendant_is_422(client, admin, tree, target):
    resp = client.patch(f"{API}/units/{tree['a'].id}", json={"parent_id": tree[target].id}, headers=admin)
    assert resp.status_code == 422 and "parent_id" in field_errors(resp)
    assert under(client, admin, tree["a"]) == ["A", "A1", "A11"]


def test_moving_under_an_unknown_unit_is_422(client, admin, tree):
    resp = client.patch(f"{API}/units/{tree['a'].id}", json={"parent_id": 999_999}, headers=admin)
    assert resp.status_code == 422 and "parent_id" in field_errors(resp)


# --- units: search and pagination ----------------------------------------------------------------

def test_unit_search_by_q_kind_under_tag_parent_and_inactive(client, admin, tree, dbsession):
    org.update_unit(tree["a1"], {"tags": ["便民", "示范窗口"], "name": "市民之家"})
    org.update_unit(tree["b"], {"tags": ["示范"]})
    org.set_active(tree["a11"], False)
    dbsession.commit()

    def search(**query):
        return sorted(codes(client.get(f"{API}/units", query_string=query, headers=admin)))

    assert search(q="市民") == ["A1"]
    assert search(q="a1") == ["A1"]  # codes, case-insensitive
    assert search(q="%") == [] and search(q="_") == []  # literal, not wildcards
    assert search(kind="hall") == ["A1"]
    assert search(kind="window") == []
    assert search(kind="window", include_inactive="true") == ["A11"]
    assert search(tag="便民") == ["A1"]
    assert search(tag="示范") == ["B"]  # a whole tag, not a prefix of 示范窗口
    assert search(tag="窗口") == []
    assert search(parent_id=tree["county"].id) == ["A", "B"]
    assert search(under=tree["a"].id) == ["A", "A1"]
    assert search(under=tree["a"].id, include_inactive="true") == ["A", "A1", "A11"]
    assert search(under=999_999) == []
    assert client.get(f"{API}/units", query_string={"kind": "bureau"}, headers=admin).status_code == 422


def test_units_are_paginated_with_x_pagination(client, admin, dbsession):
    for i in range(7):
        make_unit(f"PG{i}")
    dbsession.commit()
    seen = []
    for page in (1, 2, 3):
        resp = client.get(f"{API}/units", query_string={"q": "PG", "page": page, "page_size": 3}, headers=admin)
        meta = json.loads(resp.headers["X-Pagination"])
        assert meta["total"] == 7 and meta["total_pages"] == 3 and meta["page"] == page
        seen += codes(resp)
    assert len(seen) == 7 and sorted(seen) == [f"PG{i}" for i in range(7)]
    assert len(codes(client.get(f"{API}/units", query_string={"q": "PG"}, headers=admin))) == 7  # default 50
    too_big = client.get(f"{API}/units", query_string={"page_size": 501}, headers=admin)
    assert too_big.status_code == 422 and "page_size" in json.dumps(error(too_big)["details"])
    assert client.get(f"{API}/units", query_string={"page_size": 500}, headers=admin).status_code == 200
    assert client.get(f"{API}/units", query_string={"page": 0}, headers=admin).status_code == 422


# --- staff ---------------------------------------------------------------------------------------

def test_staff_create_read_patch_deactivate(client, admin, tree):
    resp = post(client, admin, "staff", staff_body(tree["a11"].id, window_no="3", position="科员"))
    assert resp.status_code == 201, resp.get_json()
    staff = resp.get_json()
    assert (staff["unit_id"], staff["window_no"], staff["version"]) == (tree["a11"].id, "3", 1)
    url = f"{API}/staff/{staff['id']}"
    assert client.get(url, headers=admin).get_json() == staff
    moved = client.patch(url, json={"unit_id": tree["b"].id, "window_no": "5"}, headers=admin)
    assert moved.status_code == 200 and moved.get_json()["unit_id"] == tree["b"].id
    assert moved.get_json()["version"] == 2
    assert client.patch(url, json={"window_no": "5"}, headers=admin).get_json()["version"] == 2
    off = client.post(f"{url}/active", json={"is_active": False}, headers=admin)
    assert off.status_code == 200 and off.get_json()["is_active"] is False
    history = client.get(f"{url}/history", headers=admin).get_json()
    assert [h["action"] for h in history] == ["staff.deactivate", "staff.update", "staff.create"]
    assert history[1]["before"]["unit_id"] == tree["a11"].id and history[1]["after"]["unit_id"] == tree["b"].id


@pytest.mark.parametrize("changes,field", [
    ({"unit_id": 999_999}, "unit_id"),
    ({"backup_id": 999_999}, "backup_id"),
    ({"post": " "}, "post"),
    ({"salary": 1}, "salary"),
    ({"window_no": "x" * 17}, "window_no"),
    ({"unit_id": 0}, "unit_id"),
    ({"badge_no": "工号1"}, "badge_no"),
])
def test_invalid_staff_is_422_naming_the_field(client, admin, tree, changes, field):
    resp = post(client, admin, "staff", {**staff_body(tree["a"].id), **changes})
    assert resp.status_code == 422 and field in field_errors(resp)


def test_staff_badge_numbers_are_unique_and_backup_is_another_person(client, admin, tree):
    first = post(client, admin, "staff", staff_body(tree["a"].id, "BADGE1")).get_json()
    dup = post(client, admin, "staff", staff_body(tree["b"].id, "BADGE1"))
    assert dup.status_code == 409 and "badge_no" in field_errors(dup)
    second = post(client, admin, "staff", staff_body(tree["a"].id, "BADGE2", backup_id=first["id"]))
    assert second.status_code == 201 and second.get_json()["backup_id"] == first["id"]
    self_backup = client.patch(f"{API}/staff/{first['id']}", json={"backup_id": first["id"]}, headers=admin)
    assert self_backup.status_code == 422 and "backup_id" in field_errors(self_backup)


def test_staff_search(client, admin, tree, dbsession):
    make_staff(tree["a"], badge_no="Z-1", name="李四", window_no="1")
    make_staff(tree["b"], badge_no="Z-2", name="王五", window_no="1")
    gone = make_staff(tree["b"], badge_no="Z-3", name="李六")
    org.set_active(gone, False)
    dbsession.commit()

    def search(**query):
        return sorted(codes(client.get(f"{API}/staff", query_string=query, headers=admin), "badge_no"))

    assert search(q="李") == ["Z-1"]
    assert search(q="李", include_inactive="true") == ["Z-1", "Z-3"]
    assert search(unit_id=tree["b"].id) == ["Z-2"]
    assert search(window_no="1") == ["Z-1", "Z-2"]
    assert search(under=tree["a"].id) == ["S-A11", "Z-1"]


# --- service items -----------------------------------------------------------------------------

def test_service_item_create_read_patch_deactivate(client, admin, tree):
    resp = post(client, admin, "service-items", item_body(tree["a1"].id, on_the_spot=False))
    assert resp.status_code == 201, resp.get_json()
    item = resp.get_json()
    assert item["materials"][1] == {"code": "M2", "name": "申请表", "note": "原件"}
    assert (item["statutory_limit_days"], item["committed_limit_days"], item["version"]) == (20, 5, 1)
    url = f"{API}/service-items/{item['id']}"
    changed = client.patch(url, json={"committed_limit_days": 3, "name": "营业执照变更"}, headers=admin)
    assert changed.status_code == 200 and changed.get_json()["committed_limit_days"] == 3
    assert changed.get_json()["version"] == 2
    off = client.post(f"{url}/active", json={"is_active": False}, headers=admin)
    assert off.status_code == 200 and off.get_json()["is_active"] is False
    assert item["code"] not in codes(client.get(f"{API}/service-items", headers=admin))


@pytest.mark.parametrize("changes,field", [
    ({"committed_limit_days": 21}, "committed_limit_days"),
    ({"statutory_limit_days": -1}, "statutory_limit_days"),
    ({"materials": [{"code": "M1", "name": "a"}, {"code": "M1", "name": "b"}]}, "materials"),
    ({"materials": [{"code": "M1"}]}, "materials"),
    ({"materials": [{"code": "M1", "name": "a", "pages": 2}]}, "materials"),
    ({"unit_id": 999_999}, "unit_id"),
    ({"fee": 10}, "fee"),
])
def test_an_invalid_service_item_is_422_naming_the_field(client, admin, tree, changes, field):
    resp = post(client, admin, "service-items", {**item_body(tree["a"].id), **changes})
    assert resp.status_code == 422, resp.get_json()
    assert field in field_errors(resp)


def test_patching_limits_checks_them_against_the_stored_other_limit(client, admin, tree):
    item = post(client, admin, "service-items", item_body(tree["a"].id)).get_json()  # 20 / 5
    url = f"{API}/service-items/{item['id']}"
    above = client.patch(url, json={"committed_limit_days": 21}, headers=admin)
    assert above.status_code == 422 and "committed_limit_days" in field_errors(above)
    below = client.patch(url, json={"statutory_limit_days": 4}, headers=admin)
    assert below.status_code == 422 and "committed_limit_days" in field_errors(below)
    both = client.patch(url, json={"statutory_limit_days": 4, "committed_limit_days": 4}, headers=admin)
    assert both.status_code == 200 and both.get_json()["statutory_limit_days"] == 4


def test_a_duplicate_service_item_code_is_409(client, admin, tree):
    assert post(client, admin, "service-items", item_body(tree["a"].id, "SAME")).status_code == 201
    resp = post(client, admin, "service-items", item_body(tree["b"].id, "SAME"))
    assert resp.status_code == 409 and "code" in field_errors(resp)


def test_service_item_search(client, admin, tree, dbsession):
    make_service_item(tree["a1"], code="IT-1", name="户籍迁移")
    make_service_item(tree["b"], code="IT-2", name="社保登记")
    dbsession.commit()

    def search(**query):
        return sorted(codes(client.get(f"{API}/service-items", query_string=query, headers=admin)))

    assert search(q="户籍") == ["IT-1"]
    assert search(unit_id=tree["b"].id) == ["IT-2"]
    assert search(under=tree["a"].id) == ["IT-1"]


# --- roles and the liaison's scope ---------------------------------------------------------------

@pytest.fixture()
def scoped(tree, dbsession):
    """A liaison of unit A; rows in A's subtree and outside it."""
    t = dict(tree)
    t["staff_a1"] = make_staff(t["a1"], badge_no="IN-1")
    t["staff_b"] = make_staff(t["b"], badge_no="OUT-1")
    t["item_a11"] = make_service_item(t["a11"], code="IN-ITEM")
    t["item_b"] = make_service_item(t["b"], code="OUT-ITEM")
    dbsession.commit()
    return t


def test_a_liaison_lists_only_its_units_subtree(client, scoped):
    liaison = headers_for(client, "unit_liaison", scoped["a"])
    assert sorted(codes(client.get(f"{API}/units", headers=liaison))) == ["A", "A1", "A11"]
    assert sorted(codes(client.get(f"{API}/staff", headers=liaison), "badge_no")) == ["IN-1", "S-A11"]
    assert codes(client.get(f"{API}/service-items", headers=liaison)) == ["IN-ITEM"]
    # asking for another subtree gives nothing, not the other rows
    assert codes(client.get(f"{API}/units", query_string={"under": scoped["b"].id}, headers=liaison)) == []
    assert codes(client.get(f"{API}/staff", query_string={"unit_id": scoped["b"].id}, headers=liaison),
                 "badge_no") == []
    assert codes(client.get(f"{API}/units", query_string={"q": "B"}, headers=liaison)) == []
    resp = client.get(f"{API}/units", headers=liaison)
    assert json.loads(resp.headers["X-Pagination"])["total"] == 3


def test_a_liaison_gets_404_not_403_for_rows_outside_its_subtree(client, scoped):
    liaison = headers_for(client, "unit_liaison", scoped["a"])
    for path in (f"units/{scoped['b'].id}", f"units/{scoped['county'].id}", f"staff/{scoped['staff_b'].id}",
                 f"service-items/{scoped['item_b'].id}"):
        resp = client.get(f"{API}/{path}", headers=liaison)
        assert resp.status_code == 404, path
        assert error(resp)["code"] == "not_found" and error(resp)["details"] == {}
    for path in (f"units/{scoped['a11'].id}", f"staff/{scoped['staff_a1'].id}",
                 f"service-items/{scoped['item_a11'].id}"):
        assert client.get(f"{API}/{path}", headers=liaison).status_code == 200, path


def test_a_liaison_of_a_leaf_sees_only_that_leaf(client, scoped):
    liaison = headers_for(client, "unit_liaison", scoped["a11"])
    assert codes(client.get(f"{API}/units", headers=liaison)) == ["A11"]
    assert client.get(f"{API}/units/{scoped['a'].id}", headers=liaison).status_code == 404


@pytest.mark.parametrize("role", ["inspector", "leader"])
def test_other_readers_see_every_unit(client, scoped, role):
    headers = headers_for(client, role)
    assert sorted(codes(client.get(f"{API}/units", headers=headers))) == ["A", "A1", "A11", "B", "COUNTY"]
    assert client.get(f"{API}/staff/{scoped['staff_b'].id}", headers=headers).status_code == 200


@pytest.mark.parametrize("role", ["unit_liaison", "inspector", "leader"])
def test_only_editors_write(client, scoped, role):
    headers = headers_for(client, role, scoped["a"] if role == "unit_liaison" else None)
    own = scoped["a1"]  # even inside the liaison's own subtree
    attempts = [
        post(client, headers, "units", unit_body("NOPE", parent_id=own.id)),
        client.patch(f"{API}/units/{own.id}", json={"name": "x"}, headers=headers),
        client.post(f"{API}/units/{own.id}/active", json={"is_active": False}, headers=headers),
        post(client, headers, "staff", staff_body(own.id)),
        client.patch(f"{API}/staff/{scoped['staff_a1'].id}", json={"name": "x"}, headers=headers),
        post(client, headers, "service-items", item_body(own.id)),
        client.patch(f"{API}/service-items/{scoped['item_a11'].id}", json={"name": "x"}, headers=headers),
        client.get(f"{API}/units/{own.id}/history", headers=headers),
    ]
    assert [r.status_code for r in attempts] == [403] * len(attempts)
    assert all(error(r)["code"] == "forbidden" for r in attempts)
    admin = headers_for(client, "admin")
    assert client.get(f"{API}/units/{own.id}", headers=admin).get_json()["version"] == 1


@pytest.mark.parametrize("role", ["admin", "office"])
def test_editors_write(client, tree, role):
    headers = headers_for(client, role)
    assert post(client, headers, "units", unit_body("ED", parent_id=tree["a"].id)).status_code == 201
    assert post(client, headers, "staff", staff_body(tree["a"].id)).status_code == 201
    assert post(client, headers, "service-items", item_body(tree["a"].id)).status_code == 201
    assert client.patch(f"{API}/units/{tree['b'].id}", json={"name": "改"}, headers=headers).status_code == 200


# --- the delta feed -------------------------------------------------------------------------------

def delta(client, headers, since=0, limit=None, etag=None):
    query = {"since": since} | ({"limit": limit} if limit else {})
    extra = {"If-None-Match": etag} if etag else {}
    return client.get(f"{API}/delta", query_string=query, headers={**headers, **extra})


def ids(body) -> dict[str, set[int]]:
    return {key: {row["id"] for row in body[key]} for key in ("units", "staff", "service_items")}


def test_delta_from_zero_returns_everything_with_a_cursor(client, admin, scoped):
    resp = delta(client, admin)
    assert resp.status_code == 200
    body = resp.get_json()
    assert {u["code"] for u in body["units"]} == {"COUNTY", "A", "A1", "A11", "B"}
    assert {s["badge_no"] for s in body["staff"]} == {"S-A11", "IN-1", "OUT-1"}
    assert {i["code"] for i in body["service_items"]} == {"IN-ITEM", "OUT-ITEM"}
    assert body["has_more"] is False
    assert body["cursor"] == scoped["item_b"].change_seq  # the newest change it holds


def test_a_later_change_and_only_it_comes_after_the_cursor(client, admin, scoped):
    cursor = delta(client, admin).get_json()["cursor"]
    empty = delta(client, admin, cursor).get_json()
    assert ids(empty) == {"units": set(), "staff": set(), "service_items": set()}
    assert empty["cursor"] == cursor and empty["has_more"] is False
    client.patch(f"{API}/staff/{scoped['staff_b'].id}", json={"window_no": "9"}, headers=admin)
    body = delta(client, admin, cursor).get_json()
    assert ids(body) == {"units": set(), "staff": {scoped["staff_b"].id}, "service_items": set()}
    assert body["staff"][0]["window_no"] == "9" and body["cursor"] > cursor


def test_deactivated_rows_come_in_the_delta_with_is_active_false(client, admin, scoped):
    cursor = delta(client, admin).get_json()["cursor"]
    client.post(f"{API}/service-items/{scoped['item_b'].id}/active", json={"is_active": False}, headers=admin)
    client.post(f"{API}/units/{scoped['a11'].id}/active", json={"is_active": False}, headers=admin)
    body = delta(client, admin, cursor).get_json()
    assert [(i["id"], i["is_active"]) for i in body["service_items"]] == [(scoped["item_b"].id, False)]
    assert [(u["id"], u["is_active"]) for u in body["units"]] == [(scoped["a11"].id, False)]


def test_delta_pages_never_skip_or_repeat_rows(client, admin, dbsession):
    root = make_unit("ROOT7")
    made = {"units": {root.id}, "staff": set(), "service_items": set()}
    for i in range(3):
        made["units"].add(make_unit(f"D{i}", parent=root).id)
        made["staff"].add(make_staff(root, badge_no=f"DS{i}").id)
    made["service_items"].add(make_service_item(root, code="DI0").id)
    dbsession.commit()
    assert sum(len(v) for v in made.values()) == 8
    pages, since = [], 0
    while True:
        body = delta(client, admin, since, limit=3).get_json()
        pages.append(body)
        since = body["cursor"]
        if not body["has_more"]:
            break
    sizes = [sum(len(body[k]) for k in made) for body in pages]
    assert sizes == [3, 3, 2]
    got = {k: [row["id"] for body in pages for row in body[k]] for k in made}
    assert {k: set(v) for k, v in got.items()} == made
    assert all(len(v) == len(set(v)) for v in got.values()), "a row came twice"
    cursors = [body["cursor"] for body in pages]
    assert cursors == sorted(cursors) and len(set(cursors)) == 3
    assert delta(client, admin, since, limit=3).get_json()["units"] == []


def test_delta_etag_gives_304_until_something_changes(client, admin, scoped):
    first = delta(client, admin)
    etag = first.headers["ETag"]
    assert etag.startswith('"') and first.headers["Cache-Control"] == "private, no-cache"
    again = delta(client, admin, etag=etag)
    assert again.status_code == 304 and again.get_data() == b"" and again.headers["ETag"] == etag
    weak = delta(client, admin, etag=f'"other", W/{etag}')
    assert weak.status_code == 304
    client.patch(f"{API}/units/{scoped['b'].id}", json={"name": "改名"}, headers=admin)
    changed = delta(client, admin, etag=etag)
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert "改名" in {u["name"] for u in changed.get_json()["units"]}


def test_the_delta_etag_does_not_stick_to_later_answers(client, admin, scoped):
    assert "ETag" in delta(client, admin).headers
    assert "ETag" not in client.get(f"{API}/units", headers=admin).headers
    assert "ETag" not in client.get(f"{API}/units/{scoped['a'].id}", headers=admin).headers


def test_a_liaison_gets_only_its_subtree_in_the_delta(client, admin, scoped):
    liaison = headers_for(client, "unit_liaison", scoped["a"])
    body = delta(client, liaison).get_json()
    assert {u["code"] for u in body["units"]} == {"A", "A1", "A11"}
    assert {s["badge_no"] for s in body["staff"]} == {"S-A11", "IN-1"}
    assert {i["code"] for i in body["service_items"]} == {"IN-ITEM"}
    cursor, etag = body["cursor"], delta(client, liaison).headers["ETag"]
    # a change outside the subtree is invisible: same ETag, nothing after the cursor
    client.patch(f"{API}/staff/{scoped['staff_b'].id}", json={"name": "外单位"}, headers=admin)
    assert delta(client, liaison, etag=etag).status_code == 304
    assert ids(delta(client, liaison, cursor).get_json())["staff"] == set()
    # a liaison's ETag is never an inspector's
    assert delta(client, headers_for(client, "inspector")).headers["ETag"] != etag


def test_a_unit_moved_into_a_liaisons_subtree_arrives_with_everything_under_it(client, admin, scoped, dbsession):
    liaison = headers_for(client, "unit_liaison", scoped["a"])
    cursor = delta(client, liaison).get_json()["cursor"]
    extra = make_unit("MOVEKID", parent=scoped["b"])
    kid_staff = make_staff(extra, badge_no="MOVE-S")
    dbsession.commit()
    assert ids(delta(client, liaison, cursor).get_json())["units"] == set()
    client.patch(f"{API}/units/{scoped['b'].id}", json={"parent_id": scoped["a1"].id}, headers=admin)
    body = delta(client, liaison, cursor).get_json()
    assert {u["code"] for u in body["units"]} == {"B", "MOVEKID"}
    assert {s["badge_no"] for s in body["staff"]} == {"OUT-1", "MOVE-S"}
    assert {i["code"] for i in body["service_items"]} == {"OUT-ITEM"}
    assert kid_staff.id in ids(body)["staff"]


def test_a_moved_subtree_is_never_split_across_delta_pages(client, admin, scoped):
    cursor = delta(client, admin).get_json()["cursor"]
    client.patch(f"{API}/units/{scoped['b'].id}", json={"parent_id": scoped["a"].id}, headers=admin)
    client.patch(f"{API}/units/{scoped['county'].id}", json={"name": "县"}, headers=admin)
    first = delta(client, admin, cursor, limit=1).get_json()
    # B, its staff member and its item share the move's seq: one page holds them all
    assert ids(first) == {"units": {scoped["b"].id}, "staff": {scoped["staff_b"].id},
                          "service_items": {scoped["item_b"].id}}
    assert first["has_more"] is True
    second = delta(client, admin, first["cursor"], limit=1).get_json()
    assert ids(second)["units"] == {scoped["county"].id} and second["has_more"] is False


def test_delta_rejects_bad_arguments(client, admin):
    assert delta(client, admin, since=-1).status_code == 422
    assert delta(client, admin, limit=2001).status_code == 422
    assert client.get(f"{API}/delta", query_string={"since": "x"}, headers=admin).status_code == 422


def test_audit_trail_grows_with_api_writes(client, admin, dbsession):
    before = audit.current_seq()
    unit = post(client, admin, "units", unit_body("TR")).get_json()
    client.patch(f"{API}/units/{unit['id']}", json={"name": "改"}, headers=admin)
    assert audit.current_seq() == before + 2
    assert audit.verify() == []


def test_a_windows_staffing_department_and_an_items_accepting_windows_are_in_the_api_history_and_delta(
        client, admin):
    dept = post(client, admin, "units", unit_body("D1")).get_json()
    window = post(client, admin, "units", unit_body("W1", kind="window", staffing_unit_id=dept["id"]))
    assert window.status_code == 201 and window.get_json()["staffing_unit_id"] == dept["id"]
    assert post(client, admin, "units", unit_body("D2", staffing_unit_id=dept["id"])).status_code == 422
    w2 = post(client, admin, "units", unit_body("W2", kind="window")).get_json()
    moved = client.patch(f"{API}/units/{w2['id']}", json={"staffing_unit_id": dept["id"]}, headers=admin)
    assert moved.status_code == 200
    history = client.get(f"{API}/units/{w2['id']}/history", headers=admin).get_json()
    assert [(h["before"] or {}).get("staffing_unit_id") for h in history if h["action"] == "unit.update"] == [None]
    assert [h["after"]["staffing_unit_id"] for h in history if h["action"] == "unit.update"] == [dept["id"]]
    item = post(client, admin, "service-items", {
        "code": "SI1", "name": "事项", "unit_id": dept["id"], "materials": [{"code": "M1", "name": "申请书"}],
        "statutory_limit_days": 5, "committed_limit_days": 3,
        "accepting_window_ids": [w2["id"], window.get_json()["id"], w2["id"]]})
    assert item.status_code == 201, item.get_json()
    assert item.get_json()["accepting_window_ids"] == sorted([w2["id"], window.get_json()["id"]])
    body = delta(client, admin).get_json()
    assert {u["code"]: u["staffing_unit_id"] for u in body["units"]}["W2"] == dept["id"]
    assert body["service_items"][0]["accepting_window_ids"] == item.get_json()["accepting_window_ids"]


def test_a_full_width_badge_is_the_duplicate_of_the_ascii_one(client, admin):
    unit = post(client, admin, "units", unit_body("Ｄ９\u200b")).get_json()
    assert unit["code"] == "D9"
    assert post(client, admin, "staff", staff_body(unit["id"], "QC-0001")).status_code == 201
    dup = post(client, admin, "staff", staff_body(unit["id"], "ＱＣ－０００１"))
    assert dup.status_code == 409 and dup.get_json()["error"]["code"] == "duplicate"
