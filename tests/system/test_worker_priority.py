"""The queue workers (document renders, photo copies) run at a lower CPU priority than the app
servers, so on a shared machine a backlog of renders or copies does not slow the phones' requests."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from tests.system.server import BIN, LiveServer, server_database_url


def _niceness_once_running(proc: subprocess.Popen, base: int, timeout: float = 30) -> int:
    """The worker's niceness once it has changed it (or the timeout passed)."""
    deadline = time.monotonic() + timeout
    value = base
    while time.monotonic() < deadline and proc.poll() is None:
        value = os.getpriority(os.PRIO_PROCESS, proc.pid)
        if value != base:
            break
        time.sleep(0.1)
    return value


@pytest.mark.parametrize("kind", ["media", "documents"])
def test_a_queue_worker_lowers_its_priority_by_the_setting(tmp_path, kind):
    server = LiveServer(server_database_url(os.environ.get("INSPECT_TEST_DATABASE_URL"), tmp_path),
                        tmp_path / "instance")
    server.prepare()
    base = os.getpriority(os.PRIO_PROCESS, 0)
    if base + 7 > 19:
        pytest.skip("this test runs at a niceness too high to lower further")
    for setting, expected in (("7", base + 7), ("0", base)):
        proc = subprocess.Popen([str(BIN / "inspect-api"), kind, "worker", "--poll", "0.2"],
                                env={**server.env, "INSPECT_WORKER_NICE": setting},
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            got = _niceness_once_running(proc, base, timeout=30 if expected != base else 5)
            assert proc.poll() is None, proc.stderr.read()
            assert got == expected
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    assert os.getpriority(os.PRIO_PROCESS, 0) == base  # the test itself was not lowered
