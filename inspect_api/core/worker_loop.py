"""The loop every queue worker runs (the document render worker, the media worker): claim the next
piece of work, do it, sleep when there is none; an unexpected error is logged and the loop goes on
with a fresh session. The claiming (SKIP LOCKED on PostgreSQL, the write lock on SQLite) and the work
itself are the feature's own."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

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


def run_forever(name: str, claim_next, process, poll_seconds: float) -> None:  # pragma: no cover - the loop
    log.info("%s started", name)
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
