"""Scratch files a killed server left in the evidence store are removed once a day old: at the
scheduler's start and by its daily job; stored evidence and fresh uploads in progress are kept."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from apscheduler.triggers.cron import CronTrigger

from inspect_api.core import jobs
from inspect_api.scheduler import AT_START, JOBS


def _file(path: Path, age: timedelta, now) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * 10)
    stamp = (now - age).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def test_scratch_older_than_a_day_is_removed_and_nothing_else(app, dbsession, clock):
    root = Path(app.config["INSPECT_STORAGE_DIR"])
    now = clock.now()
    old = [_file(root / ".incoming" / "upload-abc.part", timedelta(days=2), now),
           _file(root / ".incoming" / "0f3a.jpg", timedelta(hours=25), now),
           _file(root / "originals" / "ab" / ".abcd.jpg.0123.tmp", timedelta(days=3), now)]
    kept = [_file(root / ".incoming" / "upload-new.part", timedelta(minutes=5), now),  # an upload in progress
            _file(root / "originals" / "ab" / "abcd.jpg", timedelta(days=30), now),  # stored evidence
            _file(root / "derived" / "ab" / "abcd" / "display.jpg", timedelta(days=30), now)]
    with app.app_context():
        assert jobs.clean_scratch() == 3
        assert jobs.clean_scratch() == 0  # safe to run twice
    assert [p.exists() for p in old] == [False] * 3
    assert [p.exists() for p in kept] == [True] * 3
    for p in kept:
        p.unlink()


def test_the_clean_up_runs_at_scheduler_start_and_daily():
    path, trigger = JOBS["core.clean_scratch"]
    assert path == "inspect_api.core.jobs:clean_scratch" and "core.clean_scratch" in AT_START
    assert isinstance(trigger, CronTrigger) and str(trigger.fields[trigger.FIELD_NAMES.index("day")]) == "*"
