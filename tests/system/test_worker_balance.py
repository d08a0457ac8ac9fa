"""gunicorn's workers share the connections (inspect_api/server_worker.py): a worker whose threads are
all taken leaves a new connection to a worker with a free thread, instead of taking it and making it
wait behind the request it is busy with."""

from __future__ import annotations

import contextlib
import fcntl
import http.client
import os
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.system.server import LiveServer, server_database_url

pytestmark = pytest.mark.slow


@contextlib.contextmanager
def writes_held(server: LiveServer):
    """Hold back every write the server tries: SQLite's writer queue (the lock file its writers take
    before BEGIN IMMEDIATE), or on PostgreSQL a lock on the table a login writes its session to."""
    url = sa.make_url(server.database_url)
    if url.get_backend_name() == "sqlite":
        fd = os.open(f"{url.database}.writer-lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        return
    engine = server.engine()
    try:
        with engine.connect() as conn, conn.begin():
            conn.exec_driver_sql("LOCK TABLE auth_sessions IN SHARE MODE")  # reads go on, inserts wait
            yield
    finally:
        engine.dispose()


def test_a_worker_whose_only_thread_is_held_leaves_new_connections_to_the_other(tmp_path):
    url = server_database_url(os.environ.get("INSPECT_TEST_DATABASE_URL"), tmp_path)
    server = LiveServer(url, tmp_path / "instance", workers=2, env={"THREADS": "1"})
    server.prepare()
    server.start()
    try:
        with writes_held(server):
            login: dict = {}

            def log_in():  # its worker's one thread waits for the write
                login["answer"] = server.request("POST", "/api/v1/auth/token",
                                                 {"username": "inspector1", "password": "inspect-demo"},
                                                 timeout=60)[0]

            held = threading.Thread(target=log_in)
            held.start()
            time.sleep(1.0)
            assert "answer" not in login, "the login was not held back"
            # Each on a new connection. A worker that takes one while its thread waits answers it
            # only when the write goes through: the stock gthread worker took about half of them.
            # Each once the other worker's one thread is free again: right after an answer it may
            # still be ending that request, and with both workers busy either may take the next
            # connection after its ACCEPT_LAG_S (that is how the spreading works when all are busy).
            waits = []
            for _ in range(12):
                time.sleep(0.05)
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
                t0 = time.perf_counter()
                try:
                    conn.request("GET", "/api/v1/health")
                    status = conn.getresponse().status
                except TimeoutError:
                    status = None
                finally:
                    conn.close()
                waits.append((status, round(time.perf_counter() - t0, 3)))
            assert all(status == 200 for status, _ in waits), waits
            assert "answer" not in login  # still held: every health check was answered beside it
        held.join(timeout=60)
        assert login["answer"] == 200  # and it went through once the write could
    finally:
        server.stop()


def _connections(pids: list[int], port: int) -> list[int]:
    """How many established connections to `port` each of these processes holds: the sockets in
    /proc/net/tcp with that local port, counted in each process's descriptors (its listener, its
    database connections and the connections it is closing are not)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":  # 01: ESTABLISHED
            inodes.add(f"socket:[{fields[9]}]")
    counts = []
    for pid in pids:
        count = 0
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                count += os.readlink(fd) in inodes
        counts.append(count)
    return counts


def test_fifty_phones_connecting_at_once_are_shared_by_the_four_workers(tmp_path):
    """Each kept-alive connection stays with the worker that accepted it; the stock worker left them
    29/13/10/2 (and 31/16/4/3) on four workers, this one 9-17 each in 33 rounds (20/12/9/9 once, in
    CI)."""
    url = server_database_url(os.environ.get("INSPECT_TEST_DATABASE_URL"), tmp_path)
    server = LiveServer(url, tmp_path / "instance", workers=4, env={"THREADS": "2"})
    server.prepare()
    server.start()
    try:
        headers, _ = server.token("inspector1")
        # `start` waited until each worker had loaded the app: one still loading it takes nothing (on
        # PostgreSQL, 28/24/0/0 in a first round before it did)
        workers = server.ready_workers()
        assert _connections(workers, server.port) == [0, 0, 0, 0]
        for _ in range(3):
            go, done = threading.Event(), threading.Barrier(51)
            conns = []

            def phone(go, done, conns):
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
                go.wait()
                for _ in range(5):
                    conn.request("GET", "/api/v1/me/notifications?unread=true", headers=headers)
                    assert conn.getresponse().read()
                conns.append(conn)
                done.wait()

            phones = [threading.Thread(target=phone, args=(go, done, conns)) for _ in range(50)]
            for t in phones:
                t.start()
            time.sleep(0.5)
            go.set()
            done.wait(timeout=60)
            held = sorted(_connections(workers, server.port), reverse=True)
            for conn in conns:
                conn.close()
            for t in phones:
                t.join()
            # 12.5 each would be fair; the stock worker's busiest held 23-31 and its idlest 1-3. This one
            # held 9-17 in 33 rounds, on a busy machine too (two processes spinning on both cores), and
            # 20/12/9/9 once in CI: the bounds sit between the two, where a round of either falls on
            # its own side (tightened to 19/6 they failed that CI run).
            assert sum(held) == 50 and held[0] <= 22 and held[-1] >= 5, held
            time.sleep(2.5)  # the server closes the kept-alive connections (keepalive 2 s)
    finally:
        server.stop()
