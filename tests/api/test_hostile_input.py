"""What a careless or hostile client sends that once slipped through or became a 500: page numbers
past 2**63, 0 and 1 as booleans, a PATCH that names no field."""

from __future__ import annotations

import pytest

from inspect_api.core.blueprint import MAX_PAGE
from tests.api.test_roles_table import _endpoints, _url
from tests.helpers import field_errors, headers_for, make_unit

HUGE_PAGE = "9223372036854775808"  # 2**63


@pytest.fixture()
def office(client):
    return headers_for(client, "office")


def test_a_page_past_the_bound_is_422_naming_page_on_every_paginated_list(app, client, office):
    paginated = []
    for method, rule in _endpoints(app):
        url = _url(rule)
        if method != "GET" or "<" in rule.rule or url.startswith("/api/v1/unit/"):
            continue
        resp = client.get(f"{url}?page={HUGE_PAGE}", headers=office)
        assert resp.status_code < 500, (url, resp.get_data(as_text=True)[:200])
        if resp.status_code == 422 and "page" in field_errors(resp):
            paginated.append(url)
    assert "/api/v1/visits" in paginated and "/api/v1/org/units" in paginated and len(paginated) >= 10
    assert client.get(f"/api/v1/org/units?page={MAX_PAGE}", headers=office).get_json() == []  # past the end: empty


def test_the_page_bound_and_the_pagination_header_are_described_as_sent(client, office):
    spec = client.get("/api/v1/openapi.json").get_json()
    params = spec["paths"]["/api/v1/org/units"]["get"]["parameters"]
    [page] = [p for p in params if p["name"] == "page"]
    assert page["schema"]["maximum"] == MAX_PAGE
    header = spec["components"]["headers"]["PAGINATION"]
    assert header["schema"]["type"] == "string"
    sent = client.get("/api/v1/org/units", headers=office).headers["X-Pagination"]
    assert isinstance(sent, str) and sent.startswith("{")


@pytest.mark.parametrize("value", ["1", "0", "yes", "on"])
def test_query_booleans_are_true_or_false_only(client, office, value):
    resp = client.get(f"/api/v1/org/units?include_inactive={value}", headers=office)
    assert resp.status_code == 422 and "include_inactive" in field_errors(resp)


def test_json_booleans_are_true_or_false_only(client, office):
    assert client.get("/api/v1/org/units?include_inactive=true", headers=office).status_code == 200
    admin = headers_for(client, "admin")
    me = client.get("/api/v1/auth/me", headers=office).get_json()
    for junk in (1, 0, "1", "yes"):
        resp = client.patch(f"/api/v1/users/{me['id']}", json={"is_active": junk}, headers=admin)
        assert resp.status_code == 422 and "is_active" in field_errors(resp), junk
    assert client.get("/api/v1/auth/me", headers=office).status_code == 200  # still active


@pytest.mark.parametrize("body", [None, b"", b"{}"])
def test_a_patch_naming_no_field_is_422_and_changes_nothing(client, office, body):
    unit = make_unit()
    created = client.post("/api/v1/documents", headers=office, json={
        "kind": "commendation", "selection": {"entries": [{"unit_id": unit.id, "reason": "表现突出"}]}})
    assert created.status_code == 201, created.get_json()
    doc = created.get_json()
    kwargs = {} if body is None else {"data": body, "content_type": "application/json"}
    resp = client.patch(f"/api/v1/documents/{doc['id']}", headers={**office, "If-Match": f'"v{doc["version"]}"'},
                        **kwargs)
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "empty_patch"
    assert client.get(f"/api/v1/documents/{doc['id']}", headers=office).get_json()["version"] == doc["version"]


def test_every_api_blueprint_bounds_its_pages(app):
    from flask_smorest import Blueprint as SmorestBlueprint

    from inspect_api.core.blueprint import Blueprint

    smorest = [b for b in app.blueprints.values() if isinstance(b, SmorestBlueprint)]
    assert len(smorest) >= 15 and all(isinstance(b, Blueprint) for b in smorest)
