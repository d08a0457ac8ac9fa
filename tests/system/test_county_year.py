"""`scripts/bench.py --county-year` end to end at a tiny scale: it builds what it was asked to build and
reports every part of the replayed morning (timings are not judged here, only their presence)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from inspect_api.config import PROJECT_ROOT

pytestmark = pytest.mark.slow


def test_a_tiny_county_year_stores_the_counts_asked_for_and_reports_every_request_kind(tmp_path):
    out = tmp_path / "bench.json"
    run = subprocess.run([sys.executable, str(PROJECT_ROOT / "scripts" / "bench.py"), "--county-year",
                          "--scale", "0.004", "--out", str(out)], cwd=PROJECT_ROOT, capture_output=True, text=True,
                         timeout=900, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    assert run.returncode == 0, run.stderr[-3000:]
    c = json.loads(out.read_text())["county_year"]
    assert c["requested"] == {"units": 2, "inspectors": 2, "visits": 24, "photos": 120}
    assert {k: c["stored"][k] for k in c["requested"]} == c["requested"] and c["counts_match"]
    assert c["stored"]["findings"] == 5 * c["requested"]["visits"]  # five findings a visit, all kept
    assert c["build_s"] > 0 and c["disk"]["database_mb"] > 0 and c["disk"]["evidence_mb"] > 0
    r = c["replay"]
    assert r["phones"] == 2
    per_phone = r["phones"] * r["visits_per_phone"]
    # what the phone app's outbox sends for each visit (web/apps/phone/src/sender.ts)
    expected = {"sync": per_phone, "evidence": per_phone * r["photos_per_visit"], "sync_submit": per_phone}
    sent = {k: v["requests"] for k, v in r["phone_kinds"].items()}
    notices = sent.pop("notifications")
    assert sent == expected
    # once a visit, and again when the app's 3 s tick came during its run (at most once a tick)
    assert per_phone <= notices <= per_phone + r["phones"] * (1 + r["phones_wall_s"] / 3)
    for kind in r["phone_kinds"].values():
        assert kind["errors"] == 0, kind["first_error"]
        assert kind["p50_ms"] > 0 and kind["p99_ms"] >= kind["p50_ms"]
    assert r["phone_p99_max_ms"] == max(k["p99_ms"] for k in r["phone_kinds"].values())
    assert r["office_kinds"]["review_page"]["requests"] >= 1
    assert all(k["errors"] == 0 for k in r["office_kinds"].values())
    assert r["bulletin"]["pages"] >= 1 and r["bulletin"]["wall_s"] > 0
    # the media worker beside the server made every photo's copies (none left pending, none failed)
    assert r["media_worker"]["still_pending"] == 0 and r["media_worker"]["failed"] == 0
    assert "county year x0.004" in run.stdout and "phone p99 worst" in run.stdout
