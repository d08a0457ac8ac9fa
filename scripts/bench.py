"""Benchmarks of inspect_api against baselines measured in the same run (see ./scripts/bench).

- sync: full-visit batch sync (every checklist item answered, 5 findings, token auth) on a real
  gunicorn, against a bare JSON echo route on the same server, 20 concurrent clients; p50/p99.
- rejected: a refused request (412 stale write, 422 bad answer, 409 frozen) against a successful one.
- photo: ingest of a 12-megapixel JPEG over HTTP against one full Pillow decode of that file (the copies
  are made afterwards by the media worker, timed apart).
- notices: a phone's poll of its unread notices (20 held) revalidated by its ETag (a bodiless 304)
  against the full list read on the same server; and what an idle phone costs an hour, reading them
  every 30 s that way against every 3 s in full as the app did before.
- --county-year [--scale S] [--phones N[,N...]] [--camera-photos]: a county's year built on SQLite and a peak morning
  replayed on it, one for each phone count (scripts/bench_county.py); p99 of every phone request kind,
  throughput and requests in flight, CPU by process, build time, disk used.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORES = len(os.sched_getaffinity(0))  # the cores this process may use (`taskset` narrows them)
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from PIL import Image  # noqa: E402

from inspect_api.gunicorn_conf import DEFAULT_THREADS, DEFAULT_WORKERS  # noqa: E402
from tests.images import photo  # noqa: E402
from tests.system.server import LiveServer, server_database_url  # noqa: E402
from tests.system.workload import multipart, visit_payload  # noqa: E402


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def _client(args):
    """One load process: `threads` keep-alive connections, each sending requests back to back."""
    import http.client
    import threading

    port, kind, headers, template, unit_id, team, seconds, threads, seed = args
    latencies, errors = [], []
    stop = time.monotonic() + seconds

    def loop(n):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        i = 0
        while time.monotonic() < stop:
            i += 1
            payload = visit_payload(template, unit_id=unit_id, team=team, seed=seed * 100_000 + n * 10_000 + i)
            body = {"visits": [{**payload, "id": str(uuid.uuid4())}]}
            path = "/api/v1/sync" if kind == "sync" else "/api/v1/_bench/echo"
            data = json.dumps(body).encode()
            t0 = time.perf_counter()
            try:
                conn.request("POST", path, body=data, headers={**headers, "Content-Type": "application/json"})
                resp = conn.getresponse()
                raw = resp.read()
            except OSError as exc:
                errors.append(repr(exc))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                continue
            latencies.append(time.perf_counter() - t0)
            if resp.status != 200 or (kind == "sync" and json.loads(raw)["results"][0]["status"] != 201):
                errors.append(f"{resp.status} {raw[:200]!r}")
        conn.close()

    ts = [threading.Thread(target=loop, args=(n,)) for n in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return latencies, errors


def load(server, kind, headers, template, unit_id, team, seconds, clients=20, processes=4, seed_base=0):
    """`clients` connections sending `kind` requests back to back for `seconds`; `seed_base` gives
    each phase visits (and phone-made finding ids) of its own, so that later rounds on the same
    database are new visits too, never refused resends."""
    per = clients // processes
    jobs = [(server.port, kind, headers, template, unit_id, team, seconds, per, seed_base + p)
            for p in range(processes)]
    t0 = time.perf_counter()
    with mp.get_context("spawn").Pool(processes) as pool:
        parts = pool.map(_client, jobs)
    elapsed = time.perf_counter() - t0
    latencies = [x for lat, _ in parts for x in lat]
    errors = [e for _, err in parts for e in err]
    return {"requests": len(latencies), "rps": len(latencies) / seconds, "elapsed_s": elapsed, "seconds": seconds,
            "p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000,
            "errors": len(errors), "first_error": errors[0] if errors else None, "latencies": latencies}


def merge_rounds(parts: list[dict]) -> dict:
    latencies = [x for p in parts for x in p.pop("latencies")]
    seconds = sum(p["seconds"] for p in parts)
    errors = [p["first_error"] for p in parts if p["first_error"]]
    return {"requests": len(latencies), "rps": len(latencies) / seconds, "seconds": seconds,
            "p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000,
            "errors": sum(p["errors"] for p in parts), "first_error": errors[0] if errors else None}


def analyze(server) -> None:
    """ANALYZE the PostgreSQL database of a server (or cluster): fresh statistics, and the plans
    prepared before are made again."""
    import sqlalchemy as sa

    engine = sa.create_engine(server.database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def timed(fn, n):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_rejected(server, headers, template, unit_id, team, n=40):
    payloads = {str(uuid.uuid4()): visit_payload(template, unit_id=unit_id, team=team, seed=10_000_000 + i)
                for i in range(n)}
    for vid, payload in payloads.items():
        status, _, _ = server.request("PUT", f"/api/v1/visits/{vid}", payload, headers)
        assert status == 201, status
    vids = list(payloads)
    bad = visit_payload(template, unit_id=unit_id, team=team, findings=0)
    bad["responses"][0]["answer"] = "not-an-answer"

    def write(note, expect):
        it = iter(vids)

        def one():
            vid = next(it)
            status, _, _ = server.request("PUT", f"/api/v1/visits/{vid}", {**payloads[vid], "notes": note},
                                          {**headers, "If-Match": '"v1"'})
            assert status == expect, status
        return one

    ok = timed(write("changed", 200), n)
    stale = timed(write("changed again", 412), n)
    def invalid_one():
        status, _, _ = server.request("PUT", f"/api/v1/visits/{uuid.uuid4()}", bad, headers)
        assert status == 422, status

    invalid = timed(invalid_one, n)
    return {"success_ms": ok * 1000, "stale_412_ms": stale * 1000, "invalid_422_ms": invalid * 1000,
            "ratio_412": stale / ok, "ratio_422": invalid / ok}


def _ingest_against_decode(server, headers, vid, pictures) -> tuple[list[float], list[float], list[str]]:
    """Each picture decoded in full here and uploaded, interleaved, so that both see the same load on a
    shared machine: (decode seconds, ingest seconds, evidence ids)."""
    decode, ingest, ids = [], [], []
    for data in pictures:
        t0 = time.perf_counter()
        with Image.open(io.BytesIO(data)) as img:
            img.load()
        decode.append(time.perf_counter() - t0)
        body, ctype = multipart({}, "file", "p.jpg", data, "image/jpeg")
        t0 = time.perf_counter()
        status, resp, _ = server.request("POST", f"/api/v1/visits/{vid}/evidence", body,
                                         {**headers, "Content-Type": ctype})
        ingest.append(time.perf_counter() - t0)
        assert status == 201, resp
        assert resp["derivatives"] == "pending", resp
        ids.append(resp["id"])
    return decode, ingest, ids


def bench_photo(server, headers, template, unit_id, team, n=12):
    """A 12 MP JPEG's ingest over HTTP (stored, hashed, fsynced, checked; the answer) against one full
    Pillow decode of the same file: a smooth picture of about 240 KB, and a camera-like one of about
    3.7 MB (what a phone's camera makes, sent byte for byte by the phone app); in the same process, the
    request's image work before and after the copies moved to the media worker; then how long a media
    worker takes to make the copies of both."""
    import subprocess

    from bench_county import CAMERA_POOL, _unique, camera_jpeg

    from inspect_api.core import images

    vid = str(uuid.uuid4())
    server.request("PUT", f"/api/v1/visits/{vid}", visit_payload(template, unit_id=unit_id, team=team), headers)
    pictures = [photo(4000, 3000, seed=i) for i in range(n)]
    scenes = [camera_jpeg(100 + k) for k in range(CAMERA_POOL)]
    camera = [_unique(scenes[k % len(scenes)], f"bench {k}") for k in range(n)]
    decode, ingest, ids = _ingest_against_decode(server, headers, vid, pictures)
    camera_decode, camera_ingest, camera_ids = _ingest_against_decode(server, headers, vid, camera)
    ids += camera_ids
    # the image work alone, in this process: the check the request does now, and what it did before
    # (a half-scale decode, three copies resized, one stamped, three JPEGs written)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.jpg"
        path.write_bytes(pictures[0])

        def old_request_path():
            info, img = images.open_image(path, declared="JPEG", max_pixels=50_000_000, work_px=1024)
            display = images.display_copy(img, 2048)
            thumb = images.display_copy(display, 320)
            stamped = images.watermark(display, ["拍摄时间 2026-11-23 09:41", "地点 某单位", "检查编号 V2026-000001"],
                                       "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
            for i, pic in enumerate((display, thumb, stamped)):
                images.save_jpeg(pic, Path(tmp) / f"c{i}.jpg")

        check = timed(lambda: images.check_image(path, declared="JPEG", max_pixels=50_000_000), n)
        old = timed(old_request_path, 3)
    # a media worker started now makes the copies of the photos just uploaded
    t0 = time.perf_counter()
    worker = subprocess.Popen([str(Path(sys.executable).parent / "inspect-api"), "media", "worker", "--poll", "0.1"],
                              env=server.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            _, visit, _ = server.request("GET", f"/api/v1/visits/{vid}", headers=headers)
            states = {e["id"]: e["derivatives"] for e in visit["evidence"]}
            if all(states[i] != "pending" for i in ids) or time.perf_counter() - t0 > 120:
                break
            time.sleep(0.1)
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    ready_s = time.perf_counter() - t0
    d, i = statistics.median(decode), statistics.median(ingest)
    cd, ci = statistics.median(camera_decode), statistics.median(camera_ingest)
    return {"megapixels": 12, "bytes": len(pictures[0]), "pillow_full_decode_ms": d * 1000,
            "ingest_ms": i * 1000, "ratio": i / d, "best_ratio": min(ingest) / min(decode),
            "camera": {"bytes": len(camera[0]), "pillow_full_decode_ms": cd * 1000, "ingest_ms": ci * 1000,
                       "ratio": ci / cd, "best_ratio": min(camera_ingest) / min(camera_decode)},
            "check_ms": check * 1000, "check_ratio": check / d,
            "old_request_image_work_ms": old * 1000, "old_request_image_work_ratio": old / d,
            "worker_all_ready_s": ready_s, "worker_ready": sum(1 for i in ids if states[i] == "ready"),
            "photos": len(ids)}


NOTICES_HELD = 20  # unread notices of the polling phone: a few weeks of assignments and send-backs


def bench_notices(server, rounds: int = 4, n: int = 300) -> dict:
    """An inspector's phone polling its unread notices over one kept-alive connection: rounds of
    `n` full reads (no If-None-Match) alternated with rounds of `n` revalidated by the ETag, the
    server's CPU (its workers', from /proc) and the client's time per request for each."""
    import http.client

    from bench_county import _children, _cpu_s

    from inspect_api.app import create_app
    from inspect_api.config import Config
    from inspect_api.db import db
    from inspect_api.notifications.services import notify

    headers, user_id = server.token("inspector4")
    app = create_app(Config(env={**server.env, "INSPECT_ACCESS_LOG": "0"}))
    with app.app_context():
        for i in range(NOTICES_HELD):
            notify(user_id, "finding.returned", f"检查记录 V2026-{i + 1:06d} 的问题被退回",
                   "照片看不清工牌位置，请补拍。", {"visit_id": str(uuid.UUID(int=i, version=4)),
                                                   "finding_id": str(uuid.UUID(int=10_000 + i, version=4))},
                   f"bench-notices:{i}")
        db.session.commit()
        db.engine.dispose()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)

    def read(tag=None):
        conn.request("GET", "/api/v1/me/notifications?unread=true",
                     headers={**headers, **({"If-None-Match": tag} if tag else {})})
        resp = conn.getresponse()
        return resp.status, len(resp.read()), resp.getheader("ETag")

    status, body_bytes, tag = read()
    if status != 200 or not tag:
        raise RuntimeError(f"the notices answered {status} without an ETag")
    workers = _children(server.proc.pid)

    def server_cpu():
        return sum(_cpu_s(p) or 0.0 for p in workers)

    out = {"full": {"cpu_ms": [], "ms": []}, "revalidated": {"cpu_ms": [], "ms": []}}
    for _ in range(50):  # warm: both paths' statements compiled in the worker that holds the connection
        read(), read(tag)
    for _ in range(rounds):
        for kind, send in (("full", None), ("revalidated", tag)):
            cpu0, t0 = server_cpu(), time.perf_counter()
            statuses = {read(send)[0] for _ in range(n)}
            if statuses != ({200} if send is None else {304}):
                raise RuntimeError(f"{kind} reads answered {statuses}")
            out[kind]["ms"].append((time.perf_counter() - t0) / n * 1000)
            out[kind]["cpu_ms"].append((server_cpu() - cpu0) / n * 1000)
    conn.close()
    full, reval = (statistics.median(out[k]["cpu_ms"]) for k in ("full", "revalidated"))
    every_before, every_after = 3.0, 30.0  # web/apps/phone/src/sender.ts, before and after NOTICES_EVERY_MS
    hour = {"before": {"requests": 3600 / every_before, "cpu_s": 3600 / every_before * full / 1000,
                       "bytes": 3600 / every_before * body_bytes},
            "after": {"requests": 3600 / every_after, "cpu_s": 3600 / every_after * reval / 1000, "bytes": 0}}
    return {"notices": NOTICES_HELD, "body_bytes": body_bytes, "rounds": out,
            "full_cpu_ms": full, "revalidated_cpu_ms": reval, "cpu_ratio": reval / full,
            "full_ms": statistics.median(out["full"]["ms"]), "revalidated_ms": statistics.median(out["revalidated"]["ms"]),
            "idle_phone_hour": hour, "idle_phone_hour_cpu_ratio": hour["after"]["cpu_s"] / hour["before"]["cpu_s"]}


def _cpu_busy():
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def _load_seeded(server, kind, headers, template, unit_id, team, seconds, seed_base, clients=20, processes=4):
    """load(), with the clients' payload seeds offset by `seed_base`: each phase sends visits (and
    phone-made finding ids) of its own, so repeated phases on one database do not collide."""
    per = clients // processes
    jobs = [(server.port, kind, headers, template, unit_id, team, seconds, per, seed_base + p) for p in range(processes)]
    with mp.get_context("spawn").Pool(processes) as pool:
        parts = pool.map(_client, jobs)
    latencies = [x for lat, _ in parts for x in lat]
    errors = [e for _, err in parts for e in err]
    return {"requests": len(latencies), "rps": len(latencies) / seconds,
            "p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000,
            "errors": len(errors), "first_error": errors[0] if errors else None}


def bench_two_nodes(seconds: float, rounds: int = 2) -> dict:
    """Throughput of one app node against two behind nginx, on PostgreSQL and S3 (moto's server on
    loopback): full-visit sync and the echo route, 20 clients, phases alternated (1, 2, 1, 2 …) so the
    growing database and the machine's other load fall on both alike; with how busy the cores were.
    A control phase serves from one node with as many gunicorn workers as the two nodes have together:
    what more processes alone give on the same cores."""
    from tests.system.cluster import NGINX, Cluster, S3Server

    if NGINX is None:
        raise SystemExit("--two-nodes needs nginx (apt-get install nginx-light)")
    pg = os.environ.get("INSPECT_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    tmp = Path(tempfile.mkdtemp(prefix="inspect-bench-nodes-"))
    s3 = S3Server().start()
    # node 0 and 1: 2 workers each; node 2, the control: one node with as many workers as the two together
    cluster = Cluster(tmp, pg, s3, workers=[2, 2, 4], env={"INSPECT_BENCH_ECHO": "1"})
    phases: dict[str, list] = {"1": [], "2": [], "1x4": []}
    fronts = {"1": [0], "2": [0, 1], "1x4": [2]}
    try:
        cluster.start()
        a = cluster.nodes[0]
        headers, team, units, template = a.field_team()
        unit_id = units[0]["id"]
        seed = 1000
        cluster.start_nginx()
        print("two-nodes: warming the nodes up ...", flush=True)
        _load_seeded(cluster.front(), "sync", headers, template, unit_id, team, max(3.0, seconds / 2), seed)
        analyze(cluster)  # as autovacuum would by now (see the sync bench)
        for _ in range(rounds):
            for n in ("1", "2", "1x4"):
                cluster.start_nginx([cluster.nodes[i] for i in fronts[n]])
                front = cluster.front()
                print(f"two-nodes: {n} behind nginx, echo and sync, {seconds:.0f} s each ...", flush=True)
                busy0, total0 = _cpu_busy()
                seed += 10
                echo = _load_seeded(front, "echo", headers, template, unit_id, team, seconds, seed)
                sync = _load_seeded(front, "sync", headers, template, unit_id, team, seconds, seed)
                busy1, total1 = _cpu_busy()
                phases[n].append({"echo": echo, "sync": sync, "cpu_busy": (busy1 - busy0) / max(1, total1 - total0)})
    finally:
        cluster.stop()
        s3.stop()

    def mean(n, kind, key):
        return statistics.mean(p[kind][key] for p in phases[n])

    out = {"cores": CORES, "workers_per_node": 2, "threads_per_worker": 4, "clients": 20, "phases": phases}
    for kind in ("echo", "sync"):
        one, two, four = mean("1", kind, "rps"), mean("2", kind, "rps"), mean("1x4", kind, "rps")
        out[kind] = {"one_node_rps": one, "two_nodes_rps": two, "ratio": two / one,
                     "one_node_4_workers_rps": four, "ratio_4_workers": four / one,
                     "one_node_p99_ms": mean("1", kind, "p99_ms"), "two_nodes_p99_ms": mean("2", kind, "p99_ms"),
                     "errors": sum(p[kind]["errors"] for n in phases for p in phases[n])}
    out["cpu_busy"] = {n: statistics.mean(p["cpu_busy"] for p in phases[n]) for n in phases}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", action="store_true", help="use INSPECT_TEST_DATABASE_URL (PostgreSQL)")
    parser.add_argument("--seconds", type=float, default=10, help="duration of each load phase")
    parser.add_argument("--rounds", type=int, default=2, help="sync: alternating echo and sync phases")
    parser.add_argument("--county-year", action="store_true",
                        help="build a county's year on SQLite (--postgres: on PostgreSQL) and replay a peak "
                             "morning (alone)")
    parser.add_argument("--scale", type=float, default=1.0, help="--county-year: multiply every count")
    parser.add_argument("--phones", type=_phone_counts, metavar="N[,N...]",
                        help="--county-year: phones in the morning (default 50 x scale); several (15,20,30,50) "
                             "replay one morning each on the same county, fewest first")
    parser.add_argument("--camera-photos", action="store_true",
                        help="--county-year: the phones send 12-megapixel camera JPEGs (about 3.7 MB, as the "
                             "phone app sends the camera's file) instead of 1280x960 pictures of a few tens of KB")
    parser.add_argument("--server-cores", type=int, metavar="K",
                        help="--county-year: the server, its media worker and the render on K cores, the phones "
                             "and the office on the others (what the server's cores bound, the phones' CPU apart)")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                        help="sync/rejected/photo: gunicorn worker processes (the server's default: 2 a core)")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                        help="sync/rejected/photo: threads per worker (the server's default)")
    parser.add_argument("--out", type=Path, help="where to write the JSON results (bench-results/bench.json)")
    parser.add_argument("--only", choices=["sync", "rejected", "photo", "notices", "draw", "documents", "stats", "phone"],
                        action="append", help="stats (PostgreSQL, a million findings, minutes) runs only when named")
    parser.add_argument("--phone", action="store_true",
                        help="also the phone app in Chromium (scripts/bench_phone.py: first load, checklist, backlog; minutes)")
    parser.add_argument("--stats-findings", type=int, default=1_000_000,
                        help="findings generated for `--only stats` (e.g. 100000 for a quicker run)")
    parser.add_argument("--two-nodes", action="store_true",
                        help="only: one app node against two behind nginx, on PostgreSQL (INSPECT_TEST_DATABASE_URL) "
                             "and S3 (moto on loopback)")
    args = parser.parse_args()
    if not args.county_year and (args.phones or args.camera_photos or args.server_cores is not None):
        parser.error("--phones, --camera-photos and --server-cores go with --county-year")
    if args.server_cores is not None and not 1 <= args.server_cores < CORES:
        parser.error(f"--server-cores takes 1 to {CORES - 1} here ({CORES} cores): the phones need one of their own")
    pg = os.environ.get("INSPECT_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    if args.postgres or args.two_nodes:
        problem = _unreachable(pg)
        if problem:
            try:
                shown = sa.make_url(pg).render_as_string(hide_password=True)
            except sa.exc.ArgumentError:
                shown = repr(pg)
            parser.error(f"PostgreSQL at INSPECT_TEST_DATABASE_URL ({shown}) cannot be used: {problem}")
    if args.two_nodes:
        return report({"database": "postgresql", "cores": CORES, "two_nodes": bench_two_nodes(args.seconds)})
    only = set(args.only or ["sync", "rejected", "photo", "notices", "draw", "documents"]) | ({"phone"} if args.phone else set())
    if args.county_year:
        from bench_county import bench_county_year

        return report({"database": "postgresql" if args.postgres else "sqlite", "cores": CORES,
                       "county_year": bench_county_year(args.scale, phones=args.phones,
                                                        camera_photos=args.camera_photos,
                                                        server_cores=args.server_cores,
                                                        database_url=pg if args.postgres else None)}, args.out)

    results = {"database": "postgresql" if args.postgres else "sqlite", "cores": CORES}
    if "draw" in only:
        from inspect_api.sampling.bench import bench_draw

        print("draw: 1,000 and 10,000 units, 500 inspectors, all constraints ...", flush=True)
        results["draw"] = {str(n): bench_draw(n, 500, seed=1) for n in (1_000, 10_000)}
    if "documents" in only:
        from bench_documents import bench_documents

        print("documents: a bulletin with 300 cases and 300 photos, worker vs WeasyPrint alone ...", flush=True)
        results["documents"] = bench_documents(300)
    if "stats" in only:
        from bench_stats import bench_stats

        print(f"stats: summary, dashboard and review queue over {args.stats_findings:,} findings on PostgreSQL "
              "vs hand-written SQL ...", flush=True)
        results["stats"] = bench_stats(os.environ.get("INSPECT_BENCH_STATS_SERVER", "postgresql://postgres@127.0.0.1:5432/postgres"),
                                       args.stats_findings, runs=5)
    if "phone" in only:
        from bench_phone import bench_phone

        print("phone: first load, a full checklist opened, 50 visits with 150 photos sent (Chromium) ...", flush=True)
        results["phone"] = bench_phone()
    if not only & {"sync", "rejected", "photo", "notices"}:
        return report(results, args.out)

    tmp = Path(tempfile.mkdtemp(prefix="inspect-bench-"))
    url = server_database_url(pg if args.postgres else None, tmp)
    server = LiveServer(url, tmp / "instance", workers=args.workers)
    server.env.update({"INSPECT_BENCH_ECHO": "1", "THREADS": str(args.threads)})
    results.update(workers=args.workers, threads=args.threads)
    server.prepare()
    server.start()
    try:
        headers, team, units, template = server.field_team()
        unit_id = units[0]["id"]
        n_items = sum(len(s["items"]) for s in template["systems"])
        if "sync" in only:
            print(f"sync: {n_items} responses + 5 findings per visit, 20 clients, {args.rounds} rounds of "
                  f"{args.seconds:.0f} s echo then {args.seconds:.0f} s sync ...", flush=True)
            # A warm-up, not counted: the workers' connections, caches and prepared statements. Then, on
            # PostgreSQL, ANALYZE, as autovacuum does on a live database within its minute: the bench grows
            # the tables from empty to thousands of rows in seconds, and a plan psycopg prepared on a
            # near-empty table (a sequential scan of `findings` for the phone's finding-id check) would
            # stay until the next analyze, scanning a growing table on every sync (PostgreSQL's backends
            # 2.1 ms a sync after ANALYZE; 4.0 then 5.5 ms in two phases without it).
            load(server, "sync", headers, template, unit_id, team, 3, seed_base=900)
            if args.postgres:
                analyze(server)
            # Echo and sync phases alternate, so a machine whose load changes meanwhile (other jobs)
            # weighs on both sides of the ratio alike.
            rounds = [(load(server, "echo", headers, template, unit_id, team, args.seconds, seed_base=10 * r),
                       load(server, "sync", headers, template, unit_id, team, args.seconds, seed_base=10 * r))
                      for r in range(args.rounds)]
            echo, sync = merge_rounds([e for e, _ in rounds]), merge_rounds([s for _, s in rounds])
            results["sync"] = {"echo": echo, "sync": sync, "ratio": sync["rps"] / echo["rps"],
                               "round_ratios": [s["rps"] / e["rps"] for e, s in rounds],
                               "responses_per_visit": n_items, "findings_per_visit": 5}
        if "rejected" in only:
            results["rejected"] = bench_rejected(server, headers, template, unit_id, team)
        if "photo" in only:
            results["photo"] = bench_photo(server, headers, template, unit_id, team)
        if "notices" in only:
            print(f"notices: a phone's poll of {NOTICES_HELD} unread notices, revalidated (304) vs read in full ...",
                  flush=True)
            results["notices"] = bench_notices(server)
    finally:
        server.stop()
    return report(results, args.out)


def report(results: dict, path: Path | None = None) -> int:
    path = path or ROOT / "bench-results" / "bench.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"\ninspect_api bench ({results['database']}, {results['cores']} cores)")
    if "sync" in results:
        s = results["sync"]
        print(f"  echo baseline     {s['echo']['rps']:8.1f} req/s  p50 {s['echo']['p50_ms']:7.1f} ms  "
              f"p99 {s['echo']['p99_ms']:7.1f} ms  errors {s['echo']['errors']}")
        print(f"  full-visit sync   {s['sync']['rps']:8.1f} req/s  p50 {s['sync']['p50_ms']:7.1f} ms  "
              f"p99 {s['sync']['p99_ms']:7.1f} ms  errors {s['sync']['errors']}")
        print(f"  sync / echo       {s['ratio']:8.3f}x   (target >= 0.15x; rounds "
              f"{', '.join(f'{r:.3f}' for r in s['round_ratios'])})")
    if "rejected" in results:
        r = results["rejected"]
        print(f"  rejected vs ok    412 {r['ratio_412']:.2f}x, 422 {r['ratio_422']:.2f}x of a successful write "
              f"({r['success_ms']:.1f} ms)   (target <= 1.5x)")
    if "photo" in results:
        p = results["photo"]
        print(f"  12 MP photo       ingest {p['ingest_ms']:.0f} ms vs full decode {p['pillow_full_decode_ms']:.0f} ms"
              f" = {p['ratio']:.2f}x (medians; best of each {p['best_ratio']:.2f}x)   (target <= 1.0x)")
        c = p["camera"]
        print(f"    camera's, {c['bytes'] / 1e6:.1f} MB ingest {c['ingest_ms']:.0f} ms vs full decode "
              f"{c['pillow_full_decode_ms']:.0f} ms = {c['ratio']:.2f}x (medians; best of each {c['best_ratio']:.2f}x)")
        print(f"    image work      check {p['check_ms']:.1f} ms = {p['check_ratio']:.2f}x decode; the old request path's"
              f" {p['old_request_image_work_ms']:.0f} ms = {p['old_request_image_work_ratio']:.2f}x")
        print(f"    media worker    {p['worker_ready']}/{p['photos']} photos' copies ready "
              f"{p['worker_all_ready_s']:.1f} s after it was started (start-up included)")
    if "notices" in results:
        n = results["notices"]
        h = n["idle_phone_hour"]
        print(f"  notices poll      revalidated {n['revalidated_cpu_ms']:.2f} ms of server CPU vs the full list "
              f"{n['full_cpu_ms']:.2f} ms ({n['notices']} notices, {n['body_bytes']:,} B) = {n['cpu_ratio']:.2f}x;"
              f" client {n['revalidated_ms']:.2f} vs {n['full_ms']:.2f} ms")
        print(f"    an idle phone's hour: {h['after']['requests']:.0f} polls, {h['after']['cpu_s']:.2f} s of server CPU,"
              f" no body, against {h['before']['requests']:.0f} polls, {h['before']['cpu_s']:.2f} s,"
              f" {h['before']['bytes'] / 1e6:.1f} MB every 3 s in full = {n['idle_phone_hour_cpu_ratio']:.3f}x")
    if "two_nodes" in results:
        t = results["two_nodes"]
        for kind in ("echo", "sync"):
            k = t[kind]
            print(f"  {kind:<5} 1 node {k['one_node_rps']:7.1f} req/s (p99 {k['one_node_p99_ms']:.0f} ms), 2 nodes "
                  f"{k['two_nodes_rps']:7.1f} req/s (p99 {k['two_nodes_p99_ms']:.0f} ms) = {k['ratio']:.2f}x;"
                  f" control, 1 node with 4 workers {k['one_node_4_workers_rps']:.1f} req/s = {k['ratio_4_workers']:.2f}x"
                  f"   errors {k['errors']}")
        print(f"  cores busy: {t['cpu_busy']['1']:.0%} with one node, {t['cpu_busy']['2']:.0%} with two "
              f"({t['cores']} cores; load generator, nginx, PostgreSQL and moto share them)")
    if "county_year" in results:
        report_county(results["county_year"])
    for n, d in results.get("draw", {}).items():
        print(f"  draw {int(n):>6,} units  {d['draw_ms']:7.1f} ms vs Random.sample {d['baseline_ms']:.2f} ms"
              f" = {d['ratio']:.0f}x")
    if "documents" in results:
        d = results["documents"]
        w, b = min(d["worker"], key=lambda r: r["wall_s"]), min(d["weasyprint_alone"], key=lambda r: r["wall_s"])
        print(f"  bulletin {d['cases']} cases  worker {w['wall_s']:.1f} s, peak {w['peak_rss_mb']:.0f} MB, "
              f"{w['pages']} pages, {w['pdf_mb']:.1f} MB PDF")
        print(f"  WeasyPrint alone  {b['wall_s']:.1f} s, peak {b['peak_rss_mb']:.0f} MB  -> time "
              f"{d['time_ratio']:.2f}x, memory {d['memory_ratio']:.2f}x")
    if "phone" in results:
        f, o, b = results["phone"]["first_load"], results["phone"]["open_checklist_ms"], results["phone"]["backlog"]
        print(f"  phone first load  {f['gzip_kb']:.0f} KB gzipped JS + CSS ({f['raw_kb']:.0f} KB raw)   (aim <= 300 KB)")
        print(f"  phone checklist   {o['items']} items opened in {o['median']:.0f} ms median, {o['max']:.0f} ms max"
              "   (aim <= 100 ms)")
        done = "" if b.get("finished", True) else \
            f" (unfinished: {b['visits_sent_on_the_page']} visits sent, {b['visits_refused']} refused)"
        print(f"  phone backlog     {b['visits']} visits + {b['photos']} photos in {b['seconds']:.0f} s{done}, longest task "
              f"{b['longest_task_ms']:.0f} ms ({b['long_tasks']} over 50 ms); server holds {b['server_visits']} visits, "
              f"{b['server_evidence']} photos")
    if results.get("stats"):
        print("  stats (always on PostgreSQL)")
    for sc in results.get("stats", {}).get("scenarios", []):
        print(f"  stats {sc['scenario']:<44} HTTP {sc['http_ms']:7.1f} ms vs hand SQL {sc['hand_sql_ms']:7.1f} ms"
              f" = {sc['http_ratio']:.2f}x  same answers: {sc['same_figures']}")
    return 0


def _unreachable(url: str) -> str | None:
    """Why the PostgreSQL server of `url` cannot be used, in one line; None when it answers."""
    try:
        engine = sa.create_engine(url)
    except (sa.exc.SQLAlchemyError, ValueError) as exc:
        return str(exc).splitlines()[0]
    try:
        with engine.connect():
            return None
    except sa.exc.SQLAlchemyError as exc:
        return str(getattr(exc, "orig", None) or exc).splitlines()[0]
    finally:
        engine.dispose()


def _phone_counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of phone counts: {text!r} (say 50, or 15,20,30,50)") from None
    if not counts or min(counts) < 2:
        raise argparse.ArgumentTypeError(f"phone counts must be 2 or more (a team is two inspectors): {text!r}")
    return counts


def report_county(c: dict) -> None:
    print(f"  county year x{c['scale']}: requested {c['requested']}, stored {c['stored']} "
          f"({'match' if c['counts_match'] else 'MISMATCH'})")
    print(f"  built in {c['build_s']} s; disk {c['disk']['total_mb']} MB (database {c['disk']['database_mb']} MB, "
          f"photos {c['disk']['evidence_mb']} MB)")
    r = c["replay"]
    size = f"{r['phone_photo_kb'] / 1000:.1f} MB" if r.get("phone_photo_kb") else "small"
    print(f"  peak morning: {r['phones']} phones x {r['visits_per_phone']} visits x {r['photos_per_visit']} photos "
          f"({r['phone_photo_px'][0]}x{r['phone_photo_px'][1]}, {size}) in {r['phones_wall_s']} s")
    for title, kinds in (("phone", r["phone_kinds"]), ("office", r["office_kinds"])):
        for name, k in kinds.items():
            print(f"    {title} {name:<13} n={k['requests']:<5} p50 {k['p50_ms']} ms  p99 {k['p99_ms']} ms"
                  f"  errors {k['errors']}")
    print(f"  phone p99 worst {r['phone_p99_max_ms']} ms   (aim < {c['aim_phone_p99_ms']} ms)")
    print(f"  {r['phone_requests']} phone requests, {r['requests_per_s']} a second, {r['mean_ms']} ms on average: "
          f"{r['in_flight']} in flight for {r['phones']} phones (Little's law: each waits about phones / throughput)")
    cpu = r["cpu"]
    print(f"  CPU in the morning: app {cpu['app_s']} s (workers {', '.join(map(str, cpu['app_workers_s']))}), "
          f"media worker {cpu['media_worker_s']} s, phones {cpu['phones_s']} s; "
          + (f"the server's cores {c['server_cores']} were busy " if c.get("server_cores") else "the machine was busy ")
          + f"{cpu['machine_busy_s']} s of the {cpu['cores_s']} its {cpu['cores']} cores had")
    if len(c.get("sweep", [])) > 1:
        print("  mornings on the same county:")
        print("    phones  morning  req/s  mean ms  worst p99 ms  app CPU s  "
              + ("server cores busy" if c.get("server_cores") else "machine busy"))
        for m in c["sweep"]:
            print(f"    {m['phones']:>6}  {m['phones_wall_s']:>5} s  {m['requests_per_s']:>5}  {m['mean_ms']:>7}  "
                  f"{m['phone_p99_max_ms']:>12}  {m['cpu']['app_s']:>9}  "
                  f"{100 * m['cpu']['machine_busy_s'] / m['cpu']['cores_s']:>10.0f} %")
    if r.get("bulletin"):
        b = r["bulletin"]
        print(f"  bulletin {b.get('cases')} cases rendered meanwhile in {b.get('wall_s')} s, {b.get('pages')} pages, "
              f"{b.get('cpu_s')} s of CPU")
    if r.get("media_worker"):
        m = r["media_worker"]
        print(f"  media worker: {m['pending_when_phones_done']} photos still waited for copies when the phones were done,"
              f" all made {m['drained_s']} s later ({m['still_pending']} still pending, {m['failed']} failed)")


if __name__ == "__main__":
    sys.exit(main())
