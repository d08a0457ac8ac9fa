"""The queue workers' heavy work (a photo's copies, a document's render) runs at a lower CPU priority
than the app servers, so on a shared machine a backlog of copies or renders does not slow the phones'
requests; their database work does not (a low-priority thread holding SQLite's one write lock would
hold it while the requests waiting on it run)."""

from __future__ import annotations

import os
import threading

from inspect_api.core import worker_loop


def _nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_low_priority_runs_in_a_thread_of_its_own_below_the_caller():
    base = _nice()
    low = worker_loop.LowPriority(5)
    from flask import Flask

    with Flask("t").app_context():
        seen = low.run(lambda: (_nice(), threading.get_native_id()))
    assert seen[0] == min(19, base + 5) and seen[1] != threading.get_native_id()
    assert _nice() == base  # the caller keeps its priority


def test_a_zero_setting_keeps_the_priority():
    base = _nice()
    box = []
    t = threading.Thread(target=lambda: box.append(worker_loop.lower_priority(0)))
    t.start()
    t.join()
    assert box == [base]
