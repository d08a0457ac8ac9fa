"""The response checker (tests/openapi_check.py) that holds every API test's responses to the OpenAPI
description: it must see drift, or the suite would pass on a description that lies."""

from __future__ import annotations

import json

from tests.openapi_check import ResponseChecker, openapi_path

SPEC = {
    "paths": {"/api/v1/things/{thing_id}": {"get": {"responses": {
        "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}},
                            "text/csv": {"schema": {"type": "string"}}}},
        "304": {"description": "not modified"},
        "default": {"$ref": "#/components/responses/DEFAULT_ERROR"}}}}},
    "components": {
        "schemas": {"Thing": {"type": "object", "required": ["id"], "additionalProperties": False,
                              "properties": {"id": {"type": "integer"}, "name": {"type": "string", "nullable": True}}},
                    "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object"}}}},
        "responses": {"DEFAULT_ERROR": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
    },
}
RULE = "/api/v1/things/<int:thing_id>"


def checked(status, body, mimetype="application/json"):
    c = ResponseChecker(SPEC)
    c.check("GET", RULE, status, mimetype, json.dumps(body).encode() if mimetype == "application/json" else body)
    return c.problems


def test_flask_rules_become_openapi_paths():
    assert openapi_path("/api/v1/visits/<uuid:visit_id>/evidence/<n>") == "/api/v1/visits/{visit_id}/evidence/{n}"


def test_a_body_that_matches_its_schema_passes():
    assert checked(200, {"id": 1, "name": None}) == {}
    assert checked(200, b"a,b\n", "text/csv") == {}
    assert checked(304, b"", "text/html") == {}
    assert checked(404, {"error": {"code": "not_found"}}) == {}  # errors: the default response


def test_drift_is_reported():
    assert "id" in next(iter(checked(200, {"id": "1"}).values()))
    assert "additional" in next(iter(checked(200, {"id": 1, "extra": 2}).values())).lower()
    assert "not documented" in next(iter(checked(201, {"id": 1}).values()))
    assert "text/html" in next(iter(checked(200, b"<p>", "text/html").values()))
    assert "(body)" in next(iter(checked(500, {"message": "boom"}).values()))
