"""The loop every queue worker runs (the document render worker, the media worker): claim the next
piece of work, do it, sleep when there is none; an unexpected error is logged and the loop goes on
with a fresh session. The claiming (SKIP LOCKED on PostgreSQL, the write lock on SQLite) and the work
itself are the feature's own."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

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
    """Lower the calling thread's CPU priority by `increment` (nice; 0 leaves it); its niceness now.

    For the heavy part of queued work only (a render's child process, the thread making a photo's
    copies), so that on a machine shared with the app servers the phones' and users' requests are
    served first. Never for a thread that holds database locks: at a lower priority it would hold
    them while the requests waiting on them run (on SQLite, the one write lock). On Linux niceness is
    a thread's own, and a process started from the thread inherits it."""
    tid = threading.get_native_id()
    if increment > 0:
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + increment))
    return os.getpriority(os.PRIO_PROCESS, tid)


class LowPriority:
    """One thread, at INSPECT_WORKER_NICE, running a worker's heavy functions in the app's context
    (Pillow and WeasyPrint release the GIL while they work, so the worker's own thread stays free
    to talk to the database at normal priority)."""

    def __init__(self, increment: int):
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="low-priority",
                                        initializer=lower_priority, initargs=(increment,))

    def run(self, fn: Callable, *args, **kwargs):
        app = current_app._get_current_object()

        def in_app():
            with app.app_context():
                return fn(*args, **kwargs)
        return self._pool.submit(in_app).result()


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
