"""A real gunicorn serving the real app on a throwaway database, for crash and broken-client tests.

The server gets its own database (a SQLite file, or the PostgreSQL database `<test db>_server`), set
up with the same commands as ./scripts/run, and runs in its own process group so a test can
SIGKILL the master and every worker at once, the way a power cut or OOM kill would.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from inspect_api.config import PROJECT_ROOT
from inspect_api.core.clock import wall_timestamp
from tests.helpers import TEST_INSTANT

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_database_url(test_url: str | None, tmp: Path) -> str:
    if not test_url:
        return f"sqlite:///{tmp / 'server.db'}"
    url = sa.make_url(test_url)
    name = f"{url.database}_server"
    admin = sa.create_engine(test_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    server_url = url.set(database=name).render_as_string(hide_password=False)
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    return server_url


class LiveServer:
    def __init__(self, database_url: str, instance: Path, workers: int = 2, env: dict | None = None,
                 own_session: bool = True):
        """`own_session=False`: gunicorn stays in this process's session (a process group of its own,
        still stopped as one), where the processes this one starts run too, as `./scripts/run`
        starts the server and its workers: with the kernel's autogroup scheduling, niceness only
        ranks processes of one session, so only then do the workers' lower priority yield to it."""
        self.own_session = own_session
        self.database_url = database_url
        self.instance = instance
        instance.mkdir(parents=True, exist_ok=True)
        self.workers = workers
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.env = {
            **os.environ,
            "INSPECT_ENV": "development",
            "INSPECT_DATABASE_URL": database_url,
            "INSPECT_INSTANCE_DIR": str(instance),
            "INSPECT_SECRET_KEY": "system-test-secret-key-0123456789abcdef",
            "INSPECT_ARGON2_MEMORY_KIB": "1024",
            "INSPECT_ARGON2_TIME_COST": "1",
            "WORKERS": str(workers),
            "PYTHONUNBUFFERED": "1",
            # the server's clock starts at the suite's instant, so what it dates does not depend on the day
            "INSPECT_CLOCK_START": TEST_INSTANT.isoformat(),
            **(env or {}),
        }
        self.log = instance / "gunicorn.log"
        self._started: float | None = None

    def prepare(self) -> None:
        for args in (["db", "upgrade"], ["checklists", "publish"], ["demo", "load"]):
            subprocess.run([str(BIN / "inspect-api"), *args], env=self.env, cwd=PROJECT_ROOT, check=True,
                           capture_output=True)

    def clock_now(self) -> datetime:
        """Where the running server's clock (INSPECT_CLOCK_START at INSPECT_CLOCK_ANCHOR, then running
        on) is now: the time every process of this server tells."""
        assert self._started is not None, "the server is not running"
        return datetime.fromisoformat(self.env["INSPECT_CLOCK_START"]) + timedelta(
            seconds=wall_timestamp() - float(self.env["INSPECT_CLOCK_ANCHOR"]))

    def restart_with_clock_moved(self, delta: timedelta) -> None:
        """Stop the server and start it again with its clock `delta` further on (or back), the way a
        phone sees time pass while it is offline: it never sees the server in between."""
        at = self.clock_now() + delta
        self.stop()
        self.env["INSPECT_CLOCK_START"] = at.isoformat()
        self.start()

    def start(self) -> None:
        self._started = time.monotonic()
        # the instant INSPECT_CLOCK_START holds, the same for gunicorn's workers and the workers the
        # tests start beside them with this env
        self.env["INSPECT_CLOCK_ANCHOR"] = repr(wall_timestamp())
        with open(self.log, "ab") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                [str(BIN / "gunicorn"), "--config", str(PROJECT_ROOT / "inspect_api" / "gunicorn_conf.py"),
                 "--bind", f"127.0.0.1:{self.port}", "inspect_api.wsgi:app"],
                env=self.env, cwd=PROJECT_ROOT, stdout=log, stderr=log,
                **({"start_new_session": True} if self.own_session else {"process_group": 0}))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/api/v1/health")[0] == 200:
                    self.ready_workers(timeout=max(1.0, deadline - time.monotonic()))
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start; see {self.log}")

    def ready_workers(self, timeout: float = 30) -> list[int]:
        """The pids of the server's workers once every one of them has loaded the app (gunicorn_conf's
        post_worker_init logs it). One worker answers the first health check while the others may still
        be loading it, and those take no connection meanwhile; `start` waits for them all."""
        assert self.proc is not None, "the server is not running"
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        deadline = time.monotonic() + timeout
        while True:
            pids = [int(c) for c in children.read_text().split()]
            ready = {int(m) for m in re.findall(r"Worker ready \(pid: (\d+)\)", self.log.read_text(errors="replace"))}
            if len(pids) == self.workers and ready.issuperset(pids):
                return pids
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(ready.intersection(pids))} of {self.workers} workers ready; see {self.log}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the master and all workers at once."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
            self.proc = None

    def request(self, method: str, path: str, body=None, headers=None, timeout: float = 30):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = body
            hdrs = dict(headers or {})
            if body is not None and not isinstance(body, bytes | bytearray):
                data = json.dumps(body).encode()
                hdrs.setdefault("Content-Type", "application/json")
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
            ctype = resp.getheader("Content-Type", "")
            return resp.status, (json.loads(raw) if raw and "json" in ctype else raw), dict(resp.getheaders())
        finally:
            conn.close()

    def token(self, username: str, password: str = "inspect-demo") -> dict:
        status, body, _ = self.request("POST", "/api/v1/auth/token", {"username": username, "password": password})
        assert status == 200, body
        return {"Authorization": f"Bearer {body['access_token']}"}, body["user"]["id"]

    def engine(self) -> sa.Engine:
        return sa.create_engine(self.database_url)

    def field_team(self) -> tuple[dict, list, list[dict], dict]:
        """What a phone needs to send visits: inspector1's headers, the team (inspector1, inspector2),
        the demo county's windows and the covert-visit checklist."""
        headers, a_id = self.token("inspector1")
        _, b_id = self.token("inspector2")
        _, units, _ = self.request("GET", "/api/v1/org/units?kind=window", headers=headers)
        _, template, _ = self.request("GET", "/api/v1/checklists/sanxiang_covert/versions/1", headers=headers)
        return headers, [a_id, b_id], units, template


def at_test_instant(context):
    """A browser context whose clock starts where the servers' does (TEST_INSTANT) and runs on: pages
    date what they make (a visit's start, a photo's time) on the server's calendar, not the real day's
    (the API refuses a visit dated after its own now)."""
    context.clock.install(time=TEST_INSTANT)
    return context
