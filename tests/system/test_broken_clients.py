"""Clients that send half a body and hang up, many times over: the server stays healthy, stores
nothing, leaves no temporary file and no connection idle in a transaction."""

from __future__ import annotations

import json
import socket
import time
import uuid

import pytest
import sqlalchemy as sa

from tests.images import photo
from tests.system.workload import multipart, visit_payload

pytestmark = pytest.mark.slow

ROUNDS = 40


def half_send(port: int, path: str, headers: dict, body: bytes, fraction: float = 0.5) -> None:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        sock.sendall(head.encode() + body[: int(len(body) * fraction)])
    finally:
        sock.close()  # hang up with the rest of the body unsent


def test_half_sent_bodies_leave_nothing_behind(live_server):
    headers, a_id = live_server.token("inspector1")
    _, b_id = live_server.token("inspector2")
    _, units, _ = live_server.request("GET", "/api/v1/org/units?kind=window", headers=headers)
    _, template, _ = live_server.request("GET", "/api/v1/checklists/sanxiang_covert/versions/1", headers=headers)
    unit_id = units[0]["id"]

    # one visit that exists, to aim half-sent photo uploads at
    target = str(uuid.uuid4())
    status, _, _ = live_server.request("PUT", f"/api/v1/visits/{target}",
                                       visit_payload(template, unit_id=unit_id, team=[a_id, b_id]), headers)
    assert status == 201
    picture = photo(1600, 1200, seed=1)
    upload, ctype = multipart({}, "file", "p.jpg", picture, "image/jpeg")

    lost_ids = []
    for i in range(ROUNDS):
        vid = str(uuid.uuid4())
        lost_ids.append(vid)
        body = json.dumps({"visits": [{**visit_payload(template, unit_id=unit_id, team=[a_id, b_id], seed=i),
                                       "id": vid}]}).encode()
        half_send(live_server.port, "/api/v1/sync", {**headers, "Content-Type": "application/json"}, body,
                  fraction=0.2 + (i % 7) / 10)
        half_send(live_server.port, f"/api/v1/visits/{target}/evidence", {**headers, "Content-Type": ctype}, upload,
                  fraction=0.1 + (i % 9) / 10)

    # everyone else is still served
    assert live_server.request("GET", "/api/v1/health")[0] == 200
    ok_id = str(uuid.uuid4())
    status, body, _ = live_server.request(
        "POST", "/api/v1/sync", {"visits": [{**visit_payload(template, unit_id=unit_id, team=[a_id, b_id], seed=999),
                                             "id": ok_id}]}, headers)
    assert status == 200 and body["results"][0]["status"] == 201

    engine = live_server.engine()
    with engine.connect() as conn:
        stored = set(conn.scalars(sa.text("SELECT id FROM visits")))
        assert stored == {target, ok_id}
        assert conn.scalar(sa.text("SELECT count(*) FROM evidence")) == 0
    if engine.dialect.name == "postgresql":
        assert idle_in_transaction(engine) == []
    engine.dispose()
    evidence_dir = live_server.instance / "evidence"
    leftovers = [p for p in evidence_dir.rglob("*") if p.is_file()] if evidence_dir.exists() else []
    assert leftovers == []


def idle_in_transaction(engine, wait: float = 3.0) -> list:
    """Server connections idle inside a transaction, after giving requests still in flight a moment."""
    deadline = time.monotonic() + wait
    while True:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT pid, state, left(query, 80) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()")).all()
        if not rows or time.monotonic() > deadline:
            return [tuple(r) for r in rows]
        time.sleep(0.2)
