"""Benchmarks of inspect_api against baselines measured in the same run (see ./scripts/bench).

- sync: full-visit batch sync (every checklist item answered, 5 findings, token auth) on a real
  gunicorn, against a bare JSON echo route on the same server, 20 concurrent clients; p50/p99.
- rejected: a refused request (412 stale write, 422 bad answer, 409 frozen) against a successful one.
- photo: ingest of a 12-megapixel JPEG over HTTP against one full Pillow decode of that file.
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
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

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


def load(server, kind, headers, template, unit_id, team, seconds, clients=20, processes=4):
    per = clients // processes
    jobs = [(server.port, kind, headers, template, unit_id, team, seconds, per, p) for p in range(processes)]
    t0 = time.perf_counter()
    with mp.get_context("spawn").Pool(processes) as pool:
        parts = pool.map(_client, jobs)
    elapsed = time.perf_counter() - t0
    latencies = [x for lat, _ in parts for x in lat]
    errors = [e for _, err in parts for e in err]
    return {"requests": len(latencies), "rps": len(latencies) / seconds, "elapsed_s": elapsed,
            "p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000,
            "errors": len(errors), "first_error": errors[0] if errors else None}


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


def bench_photo(server, headers, template, unit_id, team, n=6):
    vid = str(uuid.uuid4())
    server.request("PUT", f"/api/v1/visits/{vid}", visit_payload(template, unit_id=unit_id, team=team), headers)
    pictures = [photo(4000, 3000, seed=i) for i in range(n)]
    decode = []
    for data in pictures:
        t0 = time.perf_counter()
        with Image.open(io.BytesIO(data)) as img:
            img.load()
        decode.append(time.perf_counter() - t0)
    ingest = []
    for data in pictures:
        body, ctype = multipart({}, "file", "p.jpg", data, "image/jpeg")
        t0 = time.perf_counter()
        status, resp, _ = server.request("POST", f"/api/v1/visits/{vid}/evidence", body,
                                         {**headers, "Content-Type": ctype})
        ingest.append(time.perf_counter() - t0)
        assert status == 201, resp
    d, i = statistics.median(decode), statistics.median(ingest)
    return {"megapixels": 12, "bytes": len(pictures[0]), "pillow_full_decode_ms": d * 1000,
            "ingest_ms": i * 1000, "ratio": i / d}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", action="store_true", help="use INSPECT_TEST_DATABASE_URL (PostgreSQL)")
    parser.add_argument("--seconds", type=float, default=10, help="duration of each load phase")
    parser.add_argument("--only", choices=["sync", "rejected", "photo", "draw", "documents", "stats", "phone"],
                        action="append", help="stats (PostgreSQL, a million findings, minutes) runs only when named")
    parser.add_argument("--phone", action="store_true",
                        help="also the phone app in Chromium (scripts/bench_phone.py: first load, checklist, backlog; minutes)")
    args = parser.parse_args()
    only = set(args.only or ["sync", "rejected", "photo", "draw", "documents"]) | ({"phone"} if args.phone else set())

    results = {"database": "postgresql" if args.postgres else "sqlite", "cores": os.cpu_count()}
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

        print("stats: summary over 1,000,000 findings on PostgreSQL vs hand-written SQL ...", flush=True)
        results["stats"] = bench_stats(os.environ.get("INSPECT_BENCH_STATS_SERVER", "postgresql://postgres@127.0.0.1:5432/postgres"),
                                       explain=False)
    if "phone" in only:
        from bench_phone import bench_phone

        print("phone: first load, a full checklist opened, 50 visits with 150 photos sent (Chromium) ...", flush=True)
        results["phone"] = bench_phone()
    if not only & {"sync", "rejected", "photo"}:
        return report(results)

    tmp = Path(tempfile.mkdtemp(prefix="inspect-bench-"))
    pg = os.environ.get("INSPECT_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    url = server_database_url(pg if args.postgres else None, tmp)
    server = LiveServer(url, tmp / "instance")
    server.env["INSPECT_BENCH_ECHO"] = "1"
    server.prepare()
    server.start()
    try:
        headers, a_id = server.token("inspector1")
        _, b_id = server.token("inspector2")
        _, units, _ = server.request("GET", "/api/v1/org/units?kind=window", headers=headers)
        _, template, _ = server.request("GET", "/api/v1/checklists/sanxiang_covert/versions/1", headers=headers)
        unit_id, team = units[0]["id"], [a_id, b_id]
        n_items = sum(len(s["items"]) for s in template["systems"])
        if "sync" in only:
            print(f"sync: {n_items} responses + 5 findings per visit, 20 clients, {args.seconds:.0f} s each ...",
                  flush=True)
            echo = load(server, "echo", headers, template, unit_id, team, args.seconds)
            sync = load(server, "sync", headers, template, unit_id, team, args.seconds)
            results["sync"] = {"echo": echo, "sync": sync, "ratio": sync["rps"] / echo["rps"],
                               "responses_per_visit": n_items, "findings_per_visit": 5}
        if "rejected" in only:
            results["rejected"] = bench_rejected(server, headers, template, unit_id, team)
        if "photo" in only:
            results["photo"] = bench_photo(server, headers, template, unit_id, team)
    finally:
        server.stop()
    return report(results)


def report(results: dict) -> int:
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "bench.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"\ninspect_api bench ({results['database']}, {results['cores']} cores)")
    if "sync" in results:
        s = results["sync"]
        print(f"  echo baseline     {s['echo']['rps']:8.1f} req/s  p50 {s['echo']['p50_ms']:7.1f} ms  "
              f"p99 {s['echo']['p99_ms']:7.1f} ms  errors {s['echo']['errors']}")
        print(f"  full-visit sync   {s['sync']['rps']:8.1f} req/s  p50 {s['sync']['p50_ms']:7.1f} ms  "
              f"p99 {s['sync']['p99_ms']:7.1f} ms  errors {s['sync']['errors']}")
        print(f"  sync / echo       {s['ratio']:8.3f}x   (target >= 0.15x)")
    if "rejected" in results:
        r = results["rejected"]
        print(f"  rejected vs ok    412 {r['ratio_412']:.2f}x, 422 {r['ratio_422']:.2f}x of a successful write "
              f"({r['success_ms']:.1f} ms)   (target <= 1.5x)")
    if "photo" in results:
        p = results["photo"]
        print(f"  12 MP photo       ingest {p['ingest_ms']:.0f} ms vs full decode {p['pillow_full_decode_ms']:.0f} ms"
              f" = {p['ratio']:.2f}x")
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
    for variant in ("without_proposed_indexes", "with_proposed_indexes"):
        for sc in results.get("stats", {}).get(variant, {}).get("scenarios", []):
            if "hand_sql_ms" in sc:
                print(f"  stats {sc['scenario']:<26} {sc['service_ms']:7.1f} ms vs hand SQL {sc['hand_sql_ms']:7.1f} ms"
                      f" = {sc['ratio']:.2f}x  ({variant.replace('_', ' ')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
