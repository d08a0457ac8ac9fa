"""Every error is JSON {"error": {code, message, details}} with the right status, and nothing leaks."""

from __future__ import annotations

import pytest

from inspect_api.app import create_app
from inspect_api.config import make_test_config
from tests.helpers import headers_for


def error_of(resp, status):
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"])
    return body["error"]


def test_malformed_json_is_400(client):
    resp = client.post("/api/v1/auth/token", data='{"username": "a",', content_type="application/json")
    err = error_of(resp, 400)
    assert "JSON" in err["message"]


def test_wrong_content_type_is_415(client):
    resp = client.post("/api/v1/auth/token", data="username=a&password=b", content_type="text/plain")
    err = error_of(resp, 415)
    assert err["details"]["content_type"] == "text/plain"


def test_missing_and_unknown_fields_are_422_naming_each_field(client):
    resp = client.post("/api/v1/auth/token", json={"username": "a", "admin": True})
    err = error_of(resp, 422)
    assert set(err["details"]["fields"]) == {"password", "admin"} and err["details"]["location"] == "json"


def test_unknown_route_is_json_404(client):
    error_of(client.get("/api/v1/nothing-here"), 404)


def test_id_beyond_the_integer_range_is_404_not_500(client):
    headers = headers_for(client, "admin")
    error_of(client.get("/api/v1/org/units/99999999999999999999", headers=headers), 404)
    error_of(client.get("/api/v1/users/2147483648", headers=headers), 404)


def test_method_not_allowed_is_405_with_allow_header(client):
    resp = client.delete("/api/v1/health")
    error_of(resp, 405)
    assert set(resp.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "HEAD"}


def test_body_over_the_limit_is_json_413(app, client):
    headers = headers_for(client, "admin")
    big = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    resp = client.post("/api/v1/org/imports/units", data=big, headers=headers,
                       content_type="multipart/form-data; boundary=zzz")
    error_of(resp, 413)


def test_missing_token_is_401(client):
    err = error_of(client.get("/api/v1/auth/me"), 401)
    assert err["code"] == "invalid_token"


def test_unexpected_failure_is_a_json_500_without_a_trace(tmp_path, database_url):
    app = create_app(make_test_config(database_url, str(tmp_path)))

    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals /etc/passwd")

    app.view_functions["boom"]._inspect_roles = frozenset({"public"})
    resp = app.test_client().get("/boom")
    err = error_of(resp, 500)
    text = resp.get_data(as_text=True)
    assert err["code"] == "internal_error"
    assert "secret internals" not in text and "Traceback" not in text


@pytest.mark.parametrize("path", ["/api/v1/health", "/api/v1/openapi.json"])
def test_public_documents_answer_without_login(client, path):
    assert client.get(path).status_code == 200
