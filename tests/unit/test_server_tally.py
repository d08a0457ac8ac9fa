"""The workers' shared connection counts (inspect_api/server_worker.Tally): made in gunicorn's master,
seen by every worker forked after it."""

from __future__ import annotations

import multiprocessing as mp
import os
import subprocess

from inspect_api.server_worker import Tally


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _worker(tally: Tally, connections: int, ready, leave) -> None:
    tally.claim(os.getpid())
    tally.set(connections)
    ready.set()
    leave.wait(10)
    tally.release()


def test_workers_forked_after_it_see_each_other_s_counts_and_a_stopped_one_leaves():
    tally = Tally()  # as the master makes it, before the fork
    ctx = mp.get_context("fork")
    ready, leave = ctx.Event(), ctx.Event()
    child = ctx.Process(target=_worker, args=(tally, 7, ready, leave))
    child.start()
    try:
        assert ready.wait(10)
        tally.claim(os.getpid())
        tally.set(3)
        assert tally.fewest_elsewhere() == 7  # the child's, written in its own process
        assert tally.slot is not None and tally.cells[2 * tally.slot + 1] == 3
    finally:
        leave.set()
        child.join(10)
    assert tally.fewest_elsewhere() is None  # released when it stopped
    tally.release()
    assert not any(tally.cells[2 * i] for i in range(Tally.SLOTS))


def test_a_worker_that_died_without_a_word_is_passed_over_and_its_cell_reused():
    tally = Tally()
    dead = _dead_pid()
    tally.cells[0], tally.cells[1] = dead, 0  # killed while it held no connection
    tally.cells[2], tally.cells[3] = os.getppid(), 9  # a live one
    tally.claim(os.getpid())
    assert tally.slot == 0  # the dead worker's cell
    tally.cells[4], tally.cells[5] = _dead_pid(), 1
    assert tally.fewest_elsewhere() == 9  # the dead one's 1 is not counted, and its cell is freed
    assert tally.cells[4] == 0


def test_without_other_workers_there_is_nobody_to_leave_a_connection_to():
    tally = Tally()
    tally.claim(os.getpid())
    tally.set(40)
    assert tally.fewest_elsewhere() is None
