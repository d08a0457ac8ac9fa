"""Every endpoint × junk input: whatever arrives — not an object, unknown or wrongly typed fields,
impossible dates, infinite numbers, out-of-range ids and pages — the answer is a JSON 4xx, never a 500
(a 500 is a bug). Run as the roles that get past the role check, so the junk reaches the schemas and
the services behind them."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.api.test_roles_table import _endpoints, _url
from tests.helpers import headers_for, make_unit

BODIES = [
    b"[]",
    b'"text"',
    b"null",
    b"{}",
    b'{"unexpected": 1}',
    b'{"year": "abc", "unit_id": -1, "unit_ids": "x", "id": 1e309, "from": "2026-02-30", "to": "x", '
    b'"score": 99999999999999999999, "status": {"a": []}, "page": 0, "reason": "", "note": null, '
    b'"responses": [1, 2], "finding_ids": ["not-a-uuid"], "level": "nope", "window_no": "../../etc"}',
    b"[" * 100_000 + b"]" * 100_000,  # past the JSON parser's recursion limit
    b'{"id": ' + b"9" * 5000 + b', "note": "\\u0000\\ud800"}',  # past Python's int digits; NUL, a lone surrogate
]
QUERY = ("?page=0&page_size=100000&from=2026-02-30&to=x&unit_id=-5&year=0&period=2026-13&status=zz"
         "&format=zz&under=99999999999999999999&overdue=maybe&sort=zz&run_id=abc&window=%00")


@pytest.fixture()
def callers(client):
    unit = make_unit()  # id 1 exists, so /…/1 paths reach past "not found" where they can
    return {role: headers_for(client, role, unit if role == "unit_liaison" else None)
            for role in ("office", "admin", "unit_liaison", "inspector", "leader")}


def _who(path: str, callers: dict) -> list[dict]:
    if path.startswith("/api/v1/unit/"):
        return [callers["unit_liaison"]]
    if path.startswith(("/api/v1/visits", "/api/v1/me/assignments", "/api/v1/evidence")):
        return [callers["inspector"], callers["office"]]
    return [callers["office"], callers["admin"]]


def test_no_endpoint_answers_junk_with_a_500(app, client, callers):
    failures, seen = [], Counter()
    for method, rule in _endpoints(app):
        url = _url(rule)
        if url == "/api/v1/auth/logout":
            continue  # it would revoke the callers' tokens (and takes no body)
        for headers in _who(url, callers):
            if method == "GET":
                attempts = [client.get(url + QUERY, headers=headers)]
            else:
                attempts = [client.open(url, method=method, data=body, headers=headers,
                                        content_type="application/json") for body in BODIES]
            for resp in attempts:
                seen[resp.status_code] += 1
                if resp.status_code >= 500:
                    failures.append(f"{method} {url}: {resp.status_code} {resp.get_data(as_text=True)[:200]}")
                elif resp.status_code >= 400 and resp.mimetype == "application/json":
                    assert resp.get_json()["error"]["message"], f"{method} {url}: error without a message"
    assert not failures, "\n".join(failures)
    for headers in callers.values():  # every caller still logged in: the sweep really ran as them
        assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    assert seen[422] > 300  # the junk reached the schemas
