"""Test helpers: accounts for every role, logged in through the real token endpoint."""

from __future__ import annotations

import itertools

from inspect_api.auth import services as auth
from inspect_api.org import services as org

PASSWORD = "secret-pass-1"
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
