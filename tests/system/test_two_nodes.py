"""A province beyond one machine: two app nodes (two gunicorns, each with its own instance folder) on one
PostgreSQL database and one S3-compatible bucket (moto's S3 server on loopback standing in for OSS or
MinIO), behind nginx; two schedulers (one runs, the other stays idle until the first stops); two
media workers (no photo's copies made twice).

The same batch, or the same photo, sent to both nodes at once makes one visit or one stored object,
and both nodes then answer alike. Those tests post to the two gunicorns directly (no nginx needed).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
import uuid

import pytest
import sqlalchemy as sa

from tests.system.cluster import NGINX, Cluster, S3Server
from tests.system.workload import multipart, visit_payload

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (os.environ.get("INSPECT_TEST_DATABASE_URL") or "").startswith("postgresql"),
                       reason="two app nodes share a PostgreSQL database (SQLite is one machine's)"),
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("two-nodes")
    s3 = S3Server().start()
    nodes = Cluster(tmp, os.environ["INSPECT_TEST_DATABASE_URL"], s3)
    try:
        nodes.start()
        a, b = nodes.nodes
        headers, a_id = a.token("inspector1")
        _, b_id = b.token("inspector2")
        _, units, _ = a.request("GET", "/api/v1/org/units?kind=window", headers=headers)
        _, template, _ = a.request("GET", "/api/v1/checklists/sanxiang_covert/versions/1", headers=headers)
        nodes.ctx = {"headers": headers, "team": [a_id, b_id], "unit_id": units[0]["id"], "template": template}
        yield nodes
    finally:
        nodes.stop()
        s3.stop()


def at_once(*calls):
    """Run the calls in threads released together; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def _visits(cluster, n: int, seed: int) -> list[dict]:
    c = cluster.ctx
    return [{**visit_payload(c["template"], unit_id=c["unit_id"], team=c["team"], seed=seed + i),
             "id": str(uuid.uuid4()), "submit": i % 2 == 1} for i in range(n)]


def test_the_same_batch_sent_to_both_nodes_at_once_makes_one_visit_each(cluster):
    a, b = cluster.nodes
    headers = cluster.ctx["headers"]
    for round_ in range(4):
        batch = {"visits": _visits(cluster, 3, seed=1000 * round_)}
        (sa_, ra, _), (sb, rb, _) = at_once(*(lambda node=node, batch=batch: node.request(
            "POST", "/api/v1/sync", batch, headers) for node in (a, b)))
        assert sa_ == sb == 200, (ra, rb)
        for v, x, y in zip(batch["visits"], ra["results"], rb["results"], strict=True):
            assert x["id"] == y["id"] and x["error"] is None and y["error"] is None, (x, y)
            assert (x["version"], x["visit_status"]) == (y["version"], y["visit_status"]), (x, y)
            # one node created it (201), the other found it written (200)
            assert sorted([x["status"], y["status"]]) == [200, 201], (x, y)
            if v["submit"]:  # both say it ended submitted (a submit again answers the same)
                assert {x["outcome"], y["outcome"]} <= {"submitted", "unchanged"} and x["visit_status"] == "submitted"
            else:
                assert sorted([x["outcome"], y["outcome"]]) == ["created", "unchanged"], (x, y)
        ids = [v["id"] for v in batch["visits"]]
        with cluster.nodes[0].engine().connect() as conn:
            rows = conn.execute(sa.text("SELECT id, code FROM visits WHERE id = ANY(:ids)"), {"ids": ids}).all()
        assert sorted(r.id for r in rows) == sorted(ids)  # exactly one visit each
        assert len({r.code for r in rows}) == len(ids)
        for vid in ids:  # and both nodes tell the same
            sa_, va, _ = a.request("GET", f"/api/v1/visits/{vid}", headers=headers)
            sb, vb, _ = b.request("GET", f"/api/v1/visits/{vid}", headers=headers)
            assert sa_ == sb == 200 and va == vb


def test_the_same_photo_sent_to_both_nodes_at_once_is_stored_once(cluster):
    from tests.images import photo

    a, b = cluster.nodes
    headers = cluster.ctx["headers"]
    [visit] = _visits(cluster, 1, seed=7)
    visit["submit"] = False
    assert a.request("POST", "/api/v1/sync", {"visits": [visit]}, headers)[0] == 200
    data = photo(1600, 1200, seed=77)
    sha = hashlib.sha256(data).hexdigest()
    body, ctype = multipart({"item_code": "A1"}, "file", "p.jpg", data, "image/jpeg")
    path = f"/api/v1/visits/{visit['id']}/evidence"
    hdrs = {**headers, "Content-Type": ctype}
    (sa_, ea, _), (sb, eb, _) = at_once(lambda: a.request("POST", path, body, hdrs),
                                       lambda: b.request("POST", path, body, hdrs))
    assert sorted([sa_, sb]) == [200, 201], (ea, eb)
    assert ea["id"] == eb["id"] and ea["sha256"] == eb["sha256"] == sha
    with a.engine().connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM evidence WHERE visit_id = :v"), {"v": visit["id"]}) == 1
    assert cluster.s3.keys(f"inspect/originals/{sha[:2]}/{sha}") == [f"inspect/originals/{sha[:2]}/{sha}.jpg"]
    for node in (a, b):  # either node serves the original from the bucket
        status, got, _ = node.request("GET", f"/api/v1/evidence/{ea['id']}/original", headers=headers)
        assert status == 200 and got == data


def _log(cluster, name: str) -> str:
    path = cluster.tmp / name
    return path.read_text(errors="replace") if path.exists() else ""


def _wait_for(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_one_scheduler_runs_and_a_second_stays_idle_until_the_first_stops(cluster):
    first = cluster.spawn("scheduler", log="scheduler-1.log")
    _wait_for(lambda: "scheduler running" in _log(cluster, "scheduler-1.log"), 60, "the first scheduler")
    second = cluster.spawn("scheduler", log="scheduler-2.log")
    _wait_for(lambda: "stays idle" in _log(cluster, "scheduler-2.log"), 60, "the second scheduler to wait")
    time.sleep(2)
    assert "scheduler running" not in _log(cluster, "scheduler-2.log")
    assert second.poll() is None
    first.terminate()
    first.wait(timeout=30)
    _wait_for(lambda: "scheduler running" in _log(cluster, "scheduler-2.log"), 60, "the second to take over")
    second.terminate()
    second.wait(timeout=30)


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx-light); "
                                          "the duplicate tests above need no nginx")
def test_behind_nginx_both_nodes_serve_and_two_media_workers_share_the_photos(cluster):
    from tests.images import photo

    cluster.start_nginx()
    front = cluster.front()
    headers = cluster.ctx["headers"]
    visits = _visits(cluster, 12, seed=5000)
    for v in visits:
        v["submit"] = False
    for i in range(0, len(visits), 2):
        status, out, _ = front.request("POST", "/api/v1/sync", {"visits": visits[i:i + 2]}, headers)
        assert status == 200 and all(r["error"] is None for r in out["results"]), out
    ids = []
    for i, v in enumerate(visits):
        body, ctype = multipart({"item_code": "A1"}, "file", "p.jpg", photo(1200, 900, seed=900 + i), "image/jpeg")
        status, ev, _ = front.request("POST", f"/api/v1/visits/{v['id']}/evidence", body,
                                      {**headers, "Content-Type": ctype})
        assert status == 201 and ev["derivatives"] == "pending", ev
        ids.append(ev["id"])
    # nginx spread the requests over both nodes (each node's access log names the route)
    for node in cluster.nodes:
        assert re.search(r"POST /api/v1/visits/<uuid:visit_id>/evidence 201", node.log.read_text()), node.log
    for n in (1, 2):
        cluster.spawn("media", "worker", "--poll", "0.2", log=f"media-{n}.log")

    def all_ready():
        with cluster.nodes[0].engine().connect() as conn:
            return conn.scalar(sa.text("SELECT count(*) FROM evidence WHERE id = ANY(:ids) AND derivatives = 'ready'"),
                               {"ids": ids}) == len(ids)

    _wait_for(all_ready, 120, "the media workers")
    with cluster.nodes[0].engine().connect() as conn:
        attempts = conn.execute(sa.text("SELECT derivatives_attempts FROM evidence WHERE id = ANY(:ids)"),
                                {"ids": ids}).scalars().all()
    assert attempts == [1] * len(ids)  # no photo was taken by both workers
    status, got, _ = front.request("GET", f"/api/v1/evidence/{ids[0]}/watermarked", headers=headers)
    assert status == 200 and got[:2] == b"\xff\xd8"
