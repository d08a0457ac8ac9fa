"""The loop every queue worker runs (the document render worker, the media worker): claim the next
piece of work, do it, sleep when there is none; an unexpected error is logged and the loop goes on
with a fresh session. The claiming (SKIP LOCKED on PostgreSQL, the write lock on SQLite) and the work
itself are the feature's own."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from flask import current_app

from inspect_api.db import db

log = logging.getLogger(__name__)


def run_once(claim_next: Callable[[], object | None], process: Callable[[object], object]) -> bool:
    """Do one piece of work if there is one; True when one was done."""
    claimed = claim_next()
    if claimed is None:
        return False
    process(claimed)
    return True


def drain(claim_next, process) -> int:
    """Do everything waiting now (`worker --once`); how many were done."""
    n = 0
    while run_once(claim_next, process):
        n += 1
    db.session.remove()
    return n


def lower_priority(increment: int) -> int:
    """Lower this process's CPU priority by `increment` (nice; 0 leaves it), so that on a machine it
    shares with the app servers the phones' and users' requests are served first and the work
    queued behind them (renders, photo copies) takes what CPU is left. A render's child process
    inherits it. Returns the niceness now."""
    if increment > 0:
        return os.nice(increment)
    return os.nice(0)


def run_forever(name: str, claim_next, process, poll_seconds: float) -> None:  # pragma: no cover - the loop
    niceness = lower_priority(current_app.config["INSPECT_WORKER_NICE"])
    log.info("%s started (nice %d)", name, niceness)
    while True:
        try:
            if not run_once(claim_next, process):
                time.sleep(poll_seconds)
        except Exception:
            db.session.rollback()
            log.exception("%s: unexpected error", name)
            time.sleep(poll_seconds)
        finally:
            db.session.remove()
