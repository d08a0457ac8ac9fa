"""`scripts/bench.py --county-year` end to end at a tiny scale: it builds what it was asked to build and
reports every part of the replayed morning (timings are not judged here, only their presence)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest

from inspect_api.config import PROJECT_ROOT

pytestmark = pytest.mark.slow


def test_a_tiny_county_year_stores_the_counts_asked_for_and_reports_every_request_kind(tmp_path):
    """On the suite's database: SQLite, or with `--postgres` PostgreSQL."""
    out = tmp_path / "bench.json"
    postgres = bool(os.environ.get("INSPECT_TEST_DATABASE_URL"))
    run = subprocess.run([sys.executable, str(PROJECT_ROOT / "scripts" / "bench.py"), "--county-year",
                          "--scale", "0.004", "--phones", "3,2", "--out", str(out), *(["--postgres"] if postgres else [])],
                         cwd=PROJECT_ROOT, capture_output=True, text=True,
                         timeout=900, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    assert run.returncode == 0, run.stderr[-3000:]
    c = json.loads(out.read_text())["county_year"]
    assert c["database"] == ("postgresql" if postgres else "sqlite")
    assert f"inspect_api bench ({c['database']}, " in run.stdout
    assert c["requested"] == {"units": 2, "inspectors": 2, "visits": 24, "photos": 120}
    assert {k: c["stored"][k] for k in c["requested"]} == c["requested"] and c["counts_match"]
    assert c["stored"]["findings"] == 5 * c["requested"]["visits"]  # five findings a visit, all kept
    assert c["build_s"] > 0 and c["disk"]["database_mb"] > 0 and c["disk"]["evidence_mb"] > 0
    r = c["replay"]
    assert r["phones"] == 3  # the morning with the most phones; both ran, fewest first
    assert [m["phones"] for m in c["sweep"]] == [2, 3] and c["sweep"][-1]["mean_ms"] == r["mean_ms"]
    per_phone = r["phones"] * r["visits_per_phone"]
    # what the phone app's outbox sends for each visit (web/apps/phone/src/sender.ts)
    expected = {"sync": per_phone, "evidence": per_phone * r["photos_per_visit"], "sync_submit": per_phone}
    sent = {k: v["requests"] for k, v in r["phone_kinds"].items()}
    notices = sent.pop("notifications")
    assert sent == expected
    # once a visit, after its send; a 3 s tick reads them again only 30 s after the last read
    assert per_phone <= notices <= per_phone + r["phones"] * int(r["phones_wall_s"] / 30)
    for kind in r["phone_kinds"].values():
        assert kind["errors"] == 0, kind["first_error"]
        assert kind["p50_ms"] > 0 and kind["p99_ms"] >= kind["p50_ms"]
    assert r["phone_p99_max_ms"] == max(k["p99_ms"] for k in r["phone_kinds"].values())
    assert r["phone_requests"] == sum(k["requests"] for k in r["phone_kinds"].values())
    assert abs(r["requests_per_s"] - r["phone_requests"] / r["phones_wall_s"]) < 0.05 * r["requests_per_s"] + 0.1
    # each phone waits for one answer before it asks again: never more requests in flight than phones
    assert 0 < r["in_flight"] <= r["phones"] + 0.05
    cpu = r["cpu"]
    assert cpu["app_s"] > 0 and len(cpu["app_workers_s"]) >= 1 and cpu["app_workers_restarted"] == 0
    assert cpu["media_worker_s"] >= 0 and cpu["phones_s"] > 0 and r["bulletin"]["cpu_s"] > 0
    # the machine's count holds every process's: the meter reads the same clock ticks for all
    assert cpu["machine_busy_s"] >= cpu["app_s"] + cpu["media_worker_s"] + cpu["phones_s"] - 0.1
    assert cpu["cores_s"] == pytest.approx(cpu["cores"] * r["phones_wall_s"], abs=0.01 * cpu["cores"] + 0.01)
    assert r["office_kinds"]["review_page"]["requests"] >= 1
    assert all(k["errors"] == 0 for k in r["office_kinds"].values())
    assert r["bulletin"]["pages"] >= 1 and r["bulletin"]["wall_s"] > 0
    # the media worker beside the server made every photo's copies (none left pending, none failed)
    assert r["media_worker"]["still_pending"] == 0 and r["media_worker"]["failed"] == 0
    assert "county year x0.004" in run.stdout and "phone p99 worst" in run.stdout
    assert "in flight for 3 phones" in run.stdout and "mornings on the same county" in run.stdout


def test_a_morning_of_camera_photos_sends_twelve_megapixel_jpegs_and_the_media_worker_copies_them(tmp_path):
    out = tmp_path / "bench.json"
    run = subprocess.run([sys.executable, str(PROJECT_ROOT / "scripts" / "bench.py"), "--county-year",
                          "--scale", "0.004", "--phones", "2", "--camera-photos", "--out", str(out)], cwd=PROJECT_ROOT,
                         capture_output=True, text=True, timeout=900, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    assert run.returncode == 0, run.stderr[-3000:]
    r = json.loads(out.read_text())["county_year"]["replay"]
    assert r["phone_photo_px"] == [4000, 3000] and r["phone_photo_kb"] > 2500  # a phone camera's file, not a thumbnail
    assert r["phone_kinds"]["evidence"]["requests"] == 2 * r["visits_per_phone"] * r["photos_per_visit"]
    assert all(k["errors"] == 0 for k in r["phone_kinds"].values()), r["phone_kinds"]
    assert r["media_worker"]["still_pending"] == 0 and r["media_worker"]["failed"] == 0
    assert "(4000x3000, " in run.stdout


def test_a_camera_photo_made_unique_is_another_file_of_the_same_picture(tmp_path):
    sys.path.insert(0, str(PROJECT_ROOT / "scripts"))
    from bench_county import _unique, camera_jpeg

    from inspect_api.core import images

    base = camera_jpeg(1)
    one, two = _unique(base, "photo 1"), _unique(base, "photo 2")
    assert len({base, one, two}) == 3
    for i, data in enumerate((one, two)):
        path = tmp_path / f"{i}.jpg"
        path.write_bytes(data)
        info = images.check_image(path, declared="JPEG", max_pixels=50_000_000)  # the upload's own check
        assert (info.width, info.height) == (4000, 3000)
    from PIL import Image
    with Image.open(tmp_path / "0.jpg") as a, Image.open(io.BytesIO(base)) as b:
        assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("phones", ["1", "abc", "20,,50"])
def test_phone_counts_that_are_not_counts_are_refused_before_anything_is_built(phones):
    run = subprocess.run([sys.executable, str(PROJECT_ROOT / "scripts" / "bench.py"), "--county-year",
                          "--phones", phones], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    assert run.returncode == 2 and "--phones" in run.stderr and "phone counts" in run.stderr
    assert "county year" not in run.stdout


@pytest.mark.parametrize("args", [["--camera-photos"], ["--phones", "20"], ["--server-cores", "1"]])
def test_the_county_s_options_are_refused_without_the_county(args):
    run = subprocess.run([sys.executable, str(PROJECT_ROOT / "scripts" / "bench.py"), *args], cwd=PROJECT_ROOT,
                         capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    assert run.returncode == 2 and "go with --county-year" in run.stderr
    assert "inspect_api bench" not in run.stdout


@pytest.mark.parametrize("cores", ["0", str(len(os.sched_getaffinity(0))), "x"])
def test_server_cores_that_leave_the_phones_none_are_refused(cores):
    run = subprocess.run([sys.executable, str(PROJECT_ROOT / "scripts" / "bench.py"), "--county-year",
                          "--server-cores", cores], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    assert run.returncode == 2 and "--server-cores" in run.stderr
    assert "county year" not in run.stdout


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="the phones need a core the server does not use")
def test_a_morning_with_the_server_on_its_own_core_counts_that_core_s_time(tmp_path):
    out = tmp_path / "bench.json"
    run = subprocess.run([sys.executable, str(PROJECT_ROOT / "scripts" / "bench.py"), "--county-year",
                          "--scale", "0.004", "--phones", "3", "--server-cores", "1", "--out", str(out)],
                         cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900,
                         env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    assert run.returncode == 0, run.stderr[-3000:]
    first = min(os.sched_getaffinity(0))
    c = json.loads(out.read_text())["county_year"]
    assert c["server_cores"] == [first]
    r = c["replay"]
    assert all(k["errors"] == 0 for k in r["phone_kinds"].values())
    assert r["media_worker"]["still_pending"] == 0 and r["bulletin"]["pages"] >= 1
    cpu = r["cpu"]
    assert cpu["cores"] == 1
    assert cpu["server_threads_elsewhere"] == 0  # every thread, those started in the morning too
    assert cpu["cores_s"] == pytest.approx(r["phones_wall_s"], abs=0.02)
    # the busy time is that one core's: no more than it had, and it holds the app's and the media
    # worker's (pinned there), but not the phones' (on the other cores)
    assert cpu["app_s"] + cpu["media_worker_s"] - 0.1 <= cpu["machine_busy_s"] <= cpu["cores_s"] + 0.1
    assert f"the server's cores [{first}] were busy" in run.stdout


@pytest.mark.parametrize("url", ["postgresql+psycopg://postgres:secret@127.0.0.1:1/test", "not a url"])
def test_a_postgresql_that_cannot_be_used_is_named_before_anything_is_built(url):
    run = subprocess.run([sys.executable, str(PROJECT_ROOT / "scripts" / "bench.py"), "--county-year", "--postgres"],
                         cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "INSPECT_TEST_DATABASE_URL": url})
    assert run.returncode == 2 and "INSPECT_TEST_DATABASE_URL" in run.stderr and "cannot be used" in run.stderr
    assert "Traceback" not in run.stderr and "secret" not in run.stderr
    assert "county year" not in run.stdout
