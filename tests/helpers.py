"""Test helpers: accounts for every role, logged in through the real token endpoint."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from inspect_api.auth import services as auth
from inspect_api.org import services as org

PASSWORD = "secret-pass-1"
# Where every test starts unless it chooses another moment: Monday 2026-11-23, 10:00 in Asia/Shanghai
# (the injectable clock in-process, INSPECT_CLOCK_START for servers the tests start).
TEST_INSTANT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
ROLES = ("inspector", "office", "unit_liaison", "leader", "admin")
_seq = itertools.count(1)


def make_unit(code: str | None = None, parent=None, kind: str = "department", name: str | None = None):
    n = next(_seq)
    return org.create_unit({"code": code or f"U{n}", "name": name or f"测试单位{n}", "kind": kind,
                            "parent_id": parent.id if parent else None})


def make_user(role: str, unit=None, username: str | None = None, password: str = PASSWORD):
    if role == "unit_liaison" and unit is None:
        unit = make_unit()
    return auth.create_user(username=username or f"{role}{next(_seq)}", password=password,
                            full_name=f"测试{role}", role=role, unit_id=unit.id if unit else None)


def login(client, username: str, password: str = PASSWORD) -> dict:
    resp = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def headers_for(client, role: str, unit=None) -> dict:
    user = make_user(role, unit)
    return bearer(login(client, user.username)["access_token"])


def make_staff(unit, badge_no: str | None = None, **fields):
    n = next(_seq)
    data = {"badge_no": badge_no or f"B{n}", "name": f"工作人员{n}", "unit_id": unit.id, "post": "窗口受理"}
    return org.create_staff({**data, **fields})


def make_service_item(unit, code: str | None = None, **fields):
    n = next(_seq)
    data = {"code": code or f"S{n}", "name": f"服务事项{n}", "unit_id": unit.id,
            "materials": [{"code": "M1", "name": "身份证"}], "statutory_limit_days": 20,
            "committed_limit_days": 5}
    return org.create_service_item({**data, **fields})


LOCATIONS = ("json", "query", "form", "files", "headers")


def field_errors(resp) -> dict:
    """The per-field messages of an error answer: `error.details.fields`, with the schema errors'
    location level (`fields.json.<field>`) folded into the services' flat `fields.<field>`."""
    body = resp.get_json()
    assert body and "error" in body, body
    found = dict(body["error"]["details"].get("fields", {}))
    for location in LOCATIONS:
        if isinstance(found.get(location), dict):
            found.update(found.pop(location))
    return found


def copy_v1_templates(target):
    """The first versions of the shipped templates, copied to `target` (tests that count what gets
    published stay true when later versions are shipped)."""
    import shutil
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1] / "checklists"
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    for name in ("sanxiang_covert.yaml", "mystery_shopper.yaml"):
        shutil.copy(repo / name, target / name)
    return target


def make_photo_copies() -> int:
    """Run the media worker's loop in this process until no photo waits for its copies (display,
    thumbnail, watermarked); how many it processed. Call inside the test's app context."""
    from inspect_api.visits import media

    done = 0
    while media.run_once():
        done += 1
    return done
