"""SIGKILL the whole gunicorn server during batch syncs and photo uploads, restart it, let the
phones retry: no visit, response, finding or photo is lost or duplicated."""

from __future__ import annotations

import hashlib
import http.client
import random
import threading
import time
import uuid

import pytest
import sqlalchemy as sa

from tests.images import photo
from tests.system.workload import multipart, visit_payload

pytestmark = pytest.mark.slow

N_VISITS, BATCH, KILLS = 24, 4, 4


def test_killed_server_loses_and_duplicates_nothing(live_server):
    headers, a_id = live_server.token("inspector1")
    _, b_id = live_server.token("inspector2")
    status, units, _ = live_server.request("GET", "/api/v1/org/units?kind=window", headers=headers)
    unit_id = units[0]["id"]
    _, template, _ = live_server.request("GET", "/api/v1/checklists/sanxiang_covert/versions/1", headers=headers)

    visits = {str(uuid.uuid4()): visit_payload(template, unit_id=unit_id, team=[a_id, b_id], seed=i)
              for i in range(N_VISITS)}
    photos = {vid: photo(640, 480, seed=i) for i, vid in enumerate(visits)}
    submit_ids = set(list(visits)[::2])
    acked: dict[str, int] = {}
    uploaded: set[str] = set()
    done = threading.Event()
    kills_over = threading.Event()
    errors: list[str] = []
    interrupted = []

    def send(method, path, body=None, extra=None):
        try:
            return live_server.request(method, path, body, {**headers, **(extra or {})}, timeout=10)
        except (OSError, http.client.HTTPException):
            # refused, reset, or cut mid-answer: the server is down; the phone tries again
            interrupted.append(path)
            time.sleep(0.05)
            return None, None, None

    def phone():
        ids = list(visits)
        while not done.is_set():
            pending = [v for v in ids if acked.get(v) != 2]
            if not pending and len(uploaded) == len(ids):
                if kills_over.is_set():
                    done.set()
                    return
                # All stored while the server is still being killed (a fast machine): resend a batch,
                # which changes nothing, so that every kill meets requests in flight.
                pending = ids[:BATCH]
            for start in range(0, len(pending), BATCH):
                chunk = pending[start:start + BATCH]
                # like the app: photos first, then the submit
                items = [{**visits[v], "id": v, "submit": v in uploaded and v in submit_ids} for v in chunk]
                status, body, _ = send("POST", "/api/v1/sync", {"visits": items})
                if status != 200:
                    continue
                for result in body["results"]:
                    if result["status"] not in (200, 201):
                        errors.append(f"{result}")
                        continue
                    v = result["id"]
                    acked[v] = 2 if (v not in submit_ids or result["visit_status"] == "submitted") and v in uploaded \
                        else 1
            for v in [v for v in ids if acked.get(v) and v not in uploaded]:
                data, ctype = multipart({}, "file", f"{v}.jpg", photos[v], "image/jpeg")
                status, body, _ = send("POST", f"/api/v1/visits/{v}/evidence", data, {"Content-Type": ctype})
                if status in (200, 201):
                    uploaded.add(v)
                elif status is not None:
                    errors.append(f"upload {v}: {status} {body}")

    def phone_reporting():
        try:
            phone()
        except Exception as exc:  # a bug in the phone loop must fail the test with its cause, not hang it
            errors.append(f"phone crashed: {exc!r}")

    worker = threading.Thread(target=phone_reporting, daemon=True)
    worker.start()
    rnd = random.Random(42)
    for _ in range(KILLS):
        time.sleep(rnd.uniform(0.2, 0.8))
        live_server.kill()
        time.sleep(rnd.uniform(0.05, 0.3))
        live_server.start()
    kills_over.set()
    worker.join(timeout=180)
    finished = done.is_set()
    done.set()
    assert finished, f"phone did not finish: acked {len(acked)}, uploaded {len(uploaded)}; errors {errors[:3]}"
    assert not errors, errors[:5]
    assert interrupted, "no request was cut by the kills: the test proved nothing"

    engine = live_server.engine()
    with engine.connect() as conn:
        n_items = len(visits[next(iter(visits))]["responses"])
        rows = conn.execute(sa.text(
            "SELECT v.id, v.status, (SELECT count(*) FROM visit_responses r WHERE r.visit_id = v.id),"
            " (SELECT count(*) FROM findings f WHERE f.visit_id = v.id),"
            " (SELECT count(*) FROM evidence e WHERE e.visit_id = v.id) FROM visits v")).all()
        assert sorted(r[0] for r in rows) == sorted(visits)
        for vid, status, n_resp, n_find, n_ev in rows:
            assert n_resp == n_items, vid
            assert n_find == len(visits[vid]["findings"]), vid
            assert n_ev == 1, vid
            assert status == ("submitted" if vid in submit_ids else "draft"), vid
        evidence = conn.execute(sa.text("SELECT visit_id, sha256, original_key FROM evidence")).all()
    engine.dispose()
    storage = live_server.instance / "evidence"
    for vid, sha, key in evidence:
        assert sha == hashlib.sha256(photos[vid]).hexdigest()
        assert hashlib.sha256((storage / key).read_bytes()).hexdigest() == sha
