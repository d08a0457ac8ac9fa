"""What a careless or hostile client sends that once slipped through or became a 500: page numbers
past 2**63, 0 and 1 as booleans, a PATCH that names no field or fills in what it left out, text no
database stores (NUL, lone surrogates), JSON nested too deep or with numbers too long, integers past
32 bits, days and instants far outside 2000–2099."""

from __future__ import annotations

import json

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


def test_no_patch_fills_in_a_field_the_body_left_out(app):
    """A PATCH body's schema loads what the body names and nothing else: a default filled in for a
    field left out overwrites the stored value (a sampling plan's PATCH naming its sample size reset
    its team size, hours and weights; one naming neither size nor rate was refused)."""
    import marshmallow as ma

    patched = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        method = getattr(getattr(view, "view_class", None), "patch", None)
        for param in getattr(method, "_apidoc", {}).get("arguments", {}).get("parameters", []):
            if param.get("location", "json") != "json":
                continue
            schema = param["schema"]() if isinstance(param["schema"], type) else param["schema"]
            assert schema.load({}) == {}, (rule.rule, schema.load({}))
            for name, field in schema.fields.items():
                if not field.dump_only and field.load_default is not ma.missing and not schema.partial:
                    pytest.fail(f"{rule.rule}: {name} has a default ({field.load_default!r})")
            patched.append(rule.rule)
    assert len(patched) >= 7 and "/api/v1/sampling/plans/<int:plan_id>" in patched, patched


def test_every_api_blueprint_bounds_its_pages(app):
    from flask_smorest import Blueprint as SmorestBlueprint

    from inspect_api.core.blueprint import Blueprint

    smorest = [b for b in app.blueprints.values() if isinstance(b, SmorestBlueprint)]
    assert len(smorest) >= 15 and all(isinstance(b, Blueprint) for b in smorest)


# --- characters no database stores: U+0000 and lone surrogates -----------------------------------
# PostgreSQL's text cannot hold NUL, and neither database takes a lone UTF-16 surrogate (JSON spells
# one "\ud800"): a visit note with either failed the sync with a 503 "try again" that a phone would
# retry for ever, a response note or a user name at login with a 500, a checklist code with NUL in the
# path with a 500. They are refused before anything is read or written, on both databases alike.

NUL = "\u0000"
LONE = "\ud800"  # a high surrogate with no low one after it


def _visit_counts(dbsession):
    import sqlalchemy as sa

    from inspect_api.visits.models import Evidence, Finding, Response, Visit

    return tuple(dbsession.scalar(sa.select(sa.func.count()).select_from(m)) for m in (Visit, Response, Finding, Evidence))


@pytest.mark.parametrize("bad", [NUL, LONE], ids=["nul", "lone-surrogate"])
@pytest.mark.parametrize("where", ["visit notes", "response note", "finding description"])
def test_an_unstorable_character_in_a_synced_visit_refuses_that_visit_alone(client, field, dbsession, where, bad):
    from tests.api.conftest import new_id

    visit, good = field.visit(id=new_id()), field.visit(id=new_id())
    finding = {"id": new_id(), "item_code": "A1", "category": "badge_missing", "severity": "minor",
               "description": "未佩戴工牌"}
    if where == "visit notes":
        visit["notes"] = f"备注{bad}尾"
    elif where == "response note":
        visit["responses"][0]["note"] = f"3号窗口{bad}"
    else:
        visit["findings"] = [{**finding, "description": bad}]
    before = _visit_counts(dbsession)
    # json.dumps escapes what is not ASCII, as a phone's JSON.stringify escapes a lone surrogate
    resp = client.post("/api/v1/sync", data=json.dumps({"visits": [visit, good]}), headers=field.ha,
                       content_type="application/json")
    assert resp.status_code == 200, resp.get_json()
    refused, saved = resp.get_json()["results"]
    assert refused["status"] == 422 and refused["error"]["code"] == "invalid_character"
    assert refused["error"]["details"] == {"location": "json", "id": visit["id"]}
    assert saved["status"] == 201  # one bad visit does not sink the batch
    assert _visit_counts(dbsession)[0] == before[0] + 1
    assert client.get(f"/api/v1/visits/{visit['id']}", headers=field.ha).status_code == 404


@pytest.mark.parametrize("bad", [NUL, LONE], ids=["nul", "lone-surrogate"])
def test_an_unstorable_character_in_a_visit_put_is_422_and_stores_nothing(client, field, dbsession, bad):
    from tests.api.conftest import new_id

    before = _visit_counts(dbsession)
    resp = client.put(f"/api/v1/visits/{new_id()}", data=json.dumps(field.visit(notes=f"备注{bad}")),
                      headers=field.ha, content_type="application/json")
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "invalid_character"
    assert resp.get_json()["error"]["details"] == {"location": "json"}
    assert _visit_counts(dbsession) == before


def test_escapes_that_only_look_alike_and_surrogate_pairs_are_kept(client, field, dbsession):
    from tests.api.conftest import new_id

    vid = new_id()
    # a backslash, then the six characters \u0000 (the raw body holds \\u0000, and \\ud800 likewise),
    # and an emoji, which JSON may spell as a surrogate pair
    note = "路径 C:\\u0000\\ud800\\ 照抄 \U0001F600"
    body = json.dumps({"visits": [field.visit(id=vid, notes=note)]})  # ensure_ascii: "\\ud83d\\ude00"
    assert "\\ud83d\\ude00" in body
    resp = client.post("/api/v1/sync", data=body, headers=field.ha, content_type="application/json")
    assert resp.get_json()["results"][0]["status"] == 201
    assert client.get(f"/api/v1/visits/{vid}", headers=field.ha).get_json()["notes"] == note


@pytest.mark.parametrize("bad", [NUL, LONE], ids=["nul", "lone-surrogate"])
def test_an_unstorable_character_in_a_login_name_is_422_not_a_500(client, bad):
    resp = client.post("/api/v1/auth/token", data=json.dumps({"username": f"admin{bad}", "password": "x"}),
                       content_type="application/json")
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "invalid_character"


def test_a_nul_in_a_photo_form_field_or_file_name_is_422_and_stores_nothing(app, client, field, dbsession):
    import io

    from tests.api.conftest import new_id
    from tests.images import photo

    vid = new_id()
    assert client.put(f"/api/v1/visits/{vid}", json=field.visit(), headers=field.ha).status_code == 201
    before = _visit_counts(dbsession)
    for name, form in ((f"p{NUL}.jpg", {}), ("p.jpg", {"item_code": f"A1{NUL}"})):
        resp = client.post(f"/api/v1/visits/{vid}/evidence", headers=field.ha, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(photo(320, 240)), name, "image/jpeg"), **form})
        assert resp.status_code == 422, resp.get_json()
        assert resp.get_json()["error"]["details"] == {"location": "form"}
    assert _visit_counts(dbsession) == before


def test_a_nul_in_any_path_or_query_is_a_4xx_never_a_500(app, client, office):
    from tests.api.test_roles_table import _endpoints, _url

    failures, refused = [], 0
    spec = client.get("/api/v1/openapi.json").get_json()
    for method, rule in _endpoints(app):
        if method != "GET":
            continue
        url = _url(rule)
        params = [p["name"] for p in spec["paths"].get(url, {}).get("get", {}).get("parameters", [])
                  if p["in"] == "query"]
        for attempt in ([rule.rule.split("<", 1)[0] + "%00"] if "<" in rule.rule else []) + \
                ([f"{url}?{'&'.join(f'{p}=a%00' for p in params)}"] if params else []):
            resp = client.get(attempt, headers=office)
            if resp.status_code >= 500:
                failures.append(f"{attempt}: {resp.status_code}")
            elif "?" in attempt and resp.status_code == 422:
                refused += resp.get_json()["error"]["code"] == "invalid_character"
    assert not failures, failures
    assert refused >= 20  # the query check ran on every list with parameters
    assert client.get("/api/v1/checklists/%00", headers=office).status_code == 404
    assert client.get("/api/v1/checklists/sanxiang%00/versions", headers=office).status_code == 404


# --- JSON the parser cannot take: nested past its recursion limit, or an integer of 5,000 digits ------
# (Python's int refuses more than 4,300): both were a 500 from every JSON endpoint.

@pytest.mark.parametrize("body", [
    "[" * 100_000 + "]" * 100_000,
    '{"visits": [' + "[" * 100_000 + "]" * 100_000 + "]}",
    '{"visits": [{"id": ' + "9" * 5000 + "}]}",
    '{"username": ' + "9" * 5000 + ', "password": "x"}',
], ids=["deep", "deep-inside", "long-int", "long-int-login"])
def test_json_too_deep_or_with_a_too_long_number_is_400_malformed(client, field, dbsession, body):
    before = _visit_counts(dbsession)
    for path, headers in (("/api/v1/sync", field.ha), ("/api/v1/auth/token", {})):
        resp = client.post(path, data=body, headers=headers, content_type="application/json")
        assert resp.status_code == 400, (path, resp.get_data(as_text=True)[:200])
        assert resp.get_json()["error"]["code"] == "bad_request"
    admin = headers_for(client, "admin")
    me = client.get("/api/v1/auth/me", headers=headers_for(client, "office")).get_json()
    resp = client.patch(f"/api/v1/users/{me['id']}", data=body, headers=admin, content_type="application/json")
    assert resp.status_code == 400
    assert _visit_counts(dbsession) == before


def test_a_nul_deep_inside_a_body_the_parser_takes_is_still_found(client, field, dbsession):
    from tests.api.conftest import new_id

    visit = field.visit(id=new_id())
    deep = "[" * 900 + '"\\u0000"' + "]" * 900  # within the parser's limit, past a recursive walk's
    body = json.dumps({"visits": [visit]}).replace('"answer": "yes"', '"answer": ' + deep, 1)
    assert deep in body
    resp = client.post("/api/v1/sync", data=body, headers=field.ha, content_type="application/json")
    assert resp.get_json()["results"][0]["error"]["code"] == "invalid_character"  # the sync's own check
    one = json.dumps(visit).replace('"answer": "yes"', '"answer": ' + deep, 1)
    resp = client.put(f"/api/v1/visits/{visit['id']}", data=one, headers=field.ha, content_type="application/json")
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "invalid_character"  # the hook's


# --- integers past the database's range ---------------------------------------------------------------
# A number bound to an INTEGER column on PostgreSQL must fit 32 bits: a user's unit_id of 2**40 was a
# 500 (create, update and the list's filter), a sync naming checklist version 2**40 a 503 try_again
# for ever. Every integer a request takes is bounded in its schema, but for the allowed exceptions.

INTEGERS_CHECKED_ELSEWHERE = {
    "ComplaintCreateSchema.days", "ComplaintAssignSchema.days",  # against the level's range (rules.deadline)
    "SyncItemSchema.base_version",  # compared with the stored version, never sent to the database
}


def _request_fields(app):
    """(schema, field name, field) of every field a route's arguments load, nested schemas included."""
    import marshmallow as ma

    seen = set()

    def walk(schema):
        if type(schema) in seen:
            return
        seen.add(type(schema))
        for name, field in schema.fields.items():
            inner = field.inner if isinstance(field, ma.fields.List) else field
            if field.dump_only:
                continue
            if isinstance(inner, ma.fields.Nested):
                yield from walk(inner.schema)
            else:
                yield type(schema).__name__, name, inner

    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        cls = getattr(view, "view_class", None)
        for method in [getattr(cls, m, None) for m in ("get", "post", "put", "patch", "delete")] if cls else [view]:
            for param in getattr(method, "_apidoc", {}).get("arguments", {}).get("parameters", []):
                yield from walk(param["schema"]() if isinstance(param["schema"], type) else param["schema"])


def test_every_integer_a_request_takes_is_bounded(app):
    import marshmallow as ma

    def bounded(field):
        return any(isinstance(v, ma.validate.OneOf) or (isinstance(v, ma.validate.Range) and v.min is not None
                                                         and v.max is not None) for v in field.validators)

    fields = list(_request_fields(app))
    integers = {f"{schema}.{name}": field for schema, name, field in fields if isinstance(field, ma.fields.Integer)}
    assert len(fields) > 300 and len(integers) > 40
    assert {name for name, field in integers.items() if not bounded(field)} - INTEGERS_CHECKED_ELSEWHERE == set()


def test_ids_past_32_bits_are_422_not_500(client, field):
    from tests.api.conftest import new_id

    big = 2**40
    admin = headers_for(client, "admin")
    resp = client.post("/api/v1/users", headers=admin, json={
        "username": "big-unit", "password": "secret-pass-123456", "full_name": "大号", "role": "unit_liaison",
        "unit_id": big})
    assert resp.status_code == 422 and "unit_id" in field_errors(resp)
    assert client.get(f"/api/v1/users?unit_id={big}", headers=admin).status_code == 422
    visit = field.visit(id=new_id(), checklist={"code": "sanxiang_covert", "version": big})
    resp = client.post("/api/v1/sync", json={"visits": [visit]}, headers=field.ha)
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "validation_error"


# --- days and instants far out ------------------------------------------------------------------------
# 0001-01-01T00:00+08:00 is before datetime's first UTC instant and 9999-12-31T23:59-08:00 after its
# last: a sync sending either was a 500; a plan ending 9999-12-31 failed its draw. Every date and
# date-time a request takes lies in 2000–2099 (core.schemas.WithinYears, added to every such field).

def test_every_date_a_request_takes_is_bounded(app):
    import marshmallow as ma

    days = {f"{schema}.{name}": field for schema, name, field in _request_fields(app)
            if isinstance(field, ma.fields.Date | ma.fields.DateTime)}
    assert {"SyncItemSchema.started_at", "PlanSchema.period_start", "ComplaintCreateSchema.occurred_on"} <= set(days)
    assert {name for name, field in days.items()
            if not any(isinstance(v, ma.validate.Range) for v in field.validators)} == set()


@pytest.mark.parametrize(("key", "value"), [("started_at", "0001-01-01T00:00:00+08:00"),
                                            ("ended_at", "9999-12-31T23:59:59-08:00"),
                                            ("device_time", "1999-12-31T23:59:59+08:00")])
def test_instants_far_out_are_422_not_500(client, field, dbsession, key, value):
    from tests.api.conftest import new_id

    before = _visit_counts(dbsession)
    resp = client.post("/api/v1/sync", json={"visits": [field.visit(id=new_id(), **{key: value})]}, headers=field.ha)
    assert resp.status_code == 422, resp.get_json()
    assert key in str(resp.get_json()["error"]["details"]["fields"])
    assert _visit_counts(dbsession) == before
