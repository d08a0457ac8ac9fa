"""The OpenAPI description covers every endpoint with its roles and errors; health reports status."""

from __future__ import annotations

from tests.api.test_roles_table import _endpoints


def test_openapi_documents_every_endpoint_with_roles(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    for method, rule in _endpoints(app):
        if not rule.rule.startswith("/api/v1/"):
            continue  # HTML pages (the public rating page /r/<key>) are not part of the API description
        path = rule.rule
        for conv in ("int:", "string:", "uuid:"):
            path = path.replace(f"<{conv}", "{").replace(">", "}")
        assert path in paths, f"{path} missing from OpenAPI"
        op = paths[path][method.lower()]
        assert op.get("summary"), f"{method} {path} has no summary"
        if path not in ("/api/v1/health", "/api/v1/auth/token", "/api/v1/auth/refresh", "/api/v1/public/ratings",
                        "/api/v1/public/complaints", "/api/v1/public/complaints/{tracking_no}",
                        "/api/v1/public/complaints/status"):
            assert op["x-roles"], f"{method} {path} lists no roles"
            assert op["security"] == [{"bearerAuth": []}]
            assert {"401", "403"} <= set(op["responses"])
    assert "Error" in spec["components"]["schemas"]


def test_docs_page_is_served(client):
    resp = client.get("/api/v1/docs")
    assert resp.status_code == 200 and b"openapi.json" in resp.data


def test_health_reports_database_and_storage(client):
    resp = client.get("/api/v1/health")
    body = resp.get_json()
    assert resp.status_code == 200 and body["status"] == "ok"
    assert body["database"]["status"] == "ok" and body["database"]["revision"]
    assert body["storage"]["status"] == "ok" and body["storage"]["free_bytes"] > 0


def test_health_is_degraded_when_storage_is_not_writable(app, client, tmp_path):
    from inspect_api.core.storage import LocalStorage

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    original = app.extensions.get("inspect_storage")
    app.extensions["inspect_storage"] = LocalStorage(str(blocker / "evidence"))
    try:
        resp = client.get("/api/v1/health")
    finally:
        app.extensions["inspect_storage"] = original
    assert resp.status_code == 503 and resp.get_json()["storage"]["status"] == "error"


def test_a_nullable_nested_field_is_described_as_its_schema_or_null_and_nothing_else(app, client):
    """`"gps": {}` is refused by the API, so the description must not admit it either."""
    from openapi_schema_validator import OAS30Validator

    spec = client.get("/api/v1/openapi.json").get_json()
    nullable_nested = [(name, field, prop) for name, schema in spec["components"]["schemas"].items()
                       for field, prop in schema.get("properties", {}).items() if "anyOf" in prop]
    assert any(field == "gps" for _, field, _ in nullable_nested)
    for name, field, prop in nullable_nested:
        validator = OAS30Validator({**prop, "components": spec["components"]})
        assert validator.is_valid(None), (name, field)
        refs = [b for b in prop["anyOf"] if "$ref" in b]
        own = any(OAS30Validator({**ref, "components": spec["components"]}).is_valid({}) for ref in refs)
        assert validator.is_valid({}) == own, (name, field)  # {} only where the nested schema itself takes it
    gps = OAS30Validator({**spec["components"]["schemas"]["VisitContent"]["properties"]["gps"],
                          "components": spec["components"]})
    assert gps.is_valid({"lat": 30.1, "lng": 104.5}) and not gps.is_valid({}) and not gps.is_valid({"lat": 1})


def test_endpoints_that_answer_csv_say_so(client):
    from tests.helpers import headers_for

    spec = client.get("/api/v1/openapi.json").get_json()
    office = headers_for(client, "office")
    for path in ("/api/v1/shopper/comparison", "/api/v1/assessment/grades"):
        documented = spec["paths"][path]["get"]["responses"]["200"]["content"]
        assert set(documented) == {"application/json", "text/csv"}, path
    resp = client.get("/api/v1/assessment/grades?year=2026&format=csv", headers=office)
    assert resp.status_code == 200 and resp.mimetype == "text/csv"


def test_the_whole_description_is_valid_openapi_3(client):
    """openapi-spec-validator over everything generated: e.g. a multipart body is one requestBody, never
    Swagger 2's `in: formData`, and schemas use OpenAPI 3.0's keywords only."""
    from openapi_spec_validator import OpenAPIV30SpecValidator

    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.0")
    errors = [f"{'/'.join(map(str, e.path))}: {e.message[:200]}"
              for e in OpenAPIV30SpecValidator(spec).iter_errors()]
    assert errors == []
    form_data = [(path, method) for path, ops in spec["paths"].items() for method, op in ops.items()
                 if isinstance(op, dict) and any(p.get("in") == "formData" for p in op.get("parameters", []))]
    assert form_data == []
    upload = spec["paths"]["/api/v1/visits/{visit_id}/evidence"]["post"]["requestBody"]["content"]
    schema = spec["components"]["schemas"][upload["multipart/form-data"]["schema"]["$ref"].split("/")[-1]]
    assert {"file", "item_code", "finding_id"} <= set(schema["properties"])
