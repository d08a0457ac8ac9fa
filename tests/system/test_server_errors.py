"""What gunicorn answers itself, before the app sees a request, is JSON in the API's error shape."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_a_too_long_uri_and_too_large_headers_answer_json(live_server):
    status, body, headers = live_server.request("GET", "/api/v1/org/units?q=" + "x" * 9000)
    assert status == 414 and headers["Content-Type"] == "application/json"
    assert body["error"]["code"] == "uri_too_long" and body["error"]["message"]
    status, body, headers = live_server.request("GET", "/api/v1/health", headers={"X-Big": "y" * 9000})
    assert status == 431 and body["error"]["code"] == "request_header_fields_too_large"
    many = {f"X-H{i}": "1" for i in range(150)}
    status, body, _ = live_server.request("GET", "/api/v1/health", headers=many)
    assert status == 431 and body["error"]["code"] == "request_header_fields_too_large"
    assert live_server.request("GET", "/api/v1/health")[0] == 200  # and the server serves on
