"""Clients that trickle their requests (a phone on a bad network, or strangers doing it on purpose) do
not take the API down: 200 of them, on a public and an authenticated endpoint, while health checks and
logins are still answered; and a head or body not sent within its deadline is answered 408.

The figures (how long health and login took with the slow clients connected) are printed and recorded
as test properties (`pytest -s` or `--junitxml`), not asserted against a tight bound: the machines that
run this suite are small and shared.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid

import pytest

from tests.system.server import LiveServer, server_database_url

pytestmark = pytest.mark.slow

SLOW_CLIENTS = 200


def _server(tmp_path, **env) -> LiveServer:
    url = server_database_url(os.environ.get("INSPECT_TEST_DATABASE_URL"), tmp_path)
    server = LiveServer(url, tmp_path / "instance", env={k: str(v) for k, v in env.items()})
    server.prepare()
    server.start()
    return server


@pytest.fixture()
def server(tmp_path):
    server = _server(tmp_path)
    yield server
    server.stop()


class Tricklers:
    """Many connections that send their head, then their body a byte at a time, round after round."""

    def __init__(self, port: int, requests: list[tuple[str, dict, bytes]], interval: float = 0.5):
        self.port, self.requests, self.interval = port, requests, interval
        self.socks: list[socket.socket] = []
        self.sent: list[int] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.cut_off = 0  # connections the server closed on them

    def open(self) -> None:
        for path, headers, body in self.requests:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
            sock.sendall(head.encode() + body[:1])
            self.socks.append(sock)
            self.sent.append(1)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(self.interval):
            for i, sock in enumerate(self.socks):
                body = self.requests[i][2]
                if sock is None or self.sent[i] >= len(body) - 1:  # never quite finish
                    continue
                try:
                    sock.send(body[self.sent[i]:self.sent[i] + 1])
                    self.sent[i] += 1
                except OSError:
                    self.socks[i] = None
                    self.cut_off += 1

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        for sock in self.socks:
            if sock is not None:
                sock.close()


def timed(server: LiveServer, method: str, path: str, body=None, headers=None) -> tuple[int, float]:
    start = time.perf_counter()
    try:
        status = server.request(method, path, body, headers, timeout=15)[0]
    except OSError:
        status = 0  # no answer within the client's timeout
    return status, time.perf_counter() - start


def measure_under_slow_clients(server: LiveServer, clients: int = SLOW_CLIENTS, rounds: int = 5) -> dict:
    """Connect `clients` tricklers (half anonymous complaints, half authenticated syncs), then time
    health checks and logins while they trickle."""
    headers, _ = server.token("inspector1")
    complaint = json.dumps({"window_key": "x" * 40, "token": "t" * 40, "content": "窗口" * 2000}).encode()
    sync = json.dumps({"visits": [{"id": str(uuid.uuid4()), "note": "慢" * 4000}]}).encode()
    requests = []
    for i in range(clients):
        if i % 2:
            requests.append(("/api/v1/sync", {**headers, "Content-Type": "application/json"}, sync))
        else:
            requests.append(("/api/v1/public/complaints", {"Content-Type": "application/json"}, complaint))
    tricklers = Tricklers(server.port, requests)
    tricklers.open()
    try:
        time.sleep(2)  # every slow client has its connection and is sending
        health, login = [], []
        for _ in range(rounds):
            health.append(timed(server, "GET", "/api/v1/health"))
            login.append(timed(server, "POST", "/api/v1/auth/token",
                               {"username": "inspector2", "password": "inspect-demo"}))
            time.sleep(0.3)
        still_sending = sum(1 for s in tricklers.socks if s is not None)
    finally:
        tricklers.close()
    return {"clients": clients, "still_connected": still_sending, "health": health, "login": login}


def test_two_hundred_slow_clients_leave_health_and_login_answered(server, record_property):
    figures = measure_under_slow_clients(server)
    print("\nslow clients:", figures)
    record_property("slow_clients", json.dumps(figures))
    assert figures["still_connected"] == SLOW_CLIENTS  # the slow clients were really there, all along
    assert [s for s, _ in figures["health"]] == [200] * len(figures["health"])
    assert [s for s, _ in figures["login"]] == [200] * len(figures["login"])
    # generous: every answer came, well before the client's 15 s timeout (typically in milliseconds)
    assert max(t for _, t in figures["health"] + figures["login"]) < 10
    assert server.request("GET", "/api/v1/health")[0] == 200  # and it serves on once they are gone


def _raw(port: int, data: bytes, wait: float = 10.0, then: bytes = b"", pause: float = 0.0) -> bytes:
    sock = socket.create_connection(("127.0.0.1", port), timeout=wait)
    try:
        sock.sendall(data)
        if then:
            time.sleep(pause)
            sock.sendall(then)
        answer = b""
        while True:
            piece = sock.recv(65536)
            if not piece:
                return answer
            answer += piece
    except TimeoutError:
        return answer
    finally:
        sock.close()


def test_heads_and_bodies_not_sent_in_time_are_answered_408_and_complete_ones_are_served(tmp_path):
    server = _server(tmp_path, INSPECT_HEADER_TIMEOUT=2, INSPECT_BODY_TIMEOUT=2, INSPECT_BODY_MIN_RATE=1000,
                     INSPECT_MAX_UPLOAD_MB=1)
    try:
        port = server.port
        # a head never finished
        start = time.perf_counter()
        answer = _raw(port, b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
        waited = time.perf_counter() - start
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "request_timeout"
        assert 1.5 < waited < 8
        # a connection that never sends anything is closed without a word (a browser's preconnect)
        start = time.perf_counter()
        assert _raw(port, b"") == b""
        assert time.perf_counter() - start < 8
        # a body that stops coming
        answer = _raw(port, b"POST /api/v1/public/complaints HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                            b"Content-Type: application/json\r\n\r\n{\"a\":")
        assert answer.startswith(b"HTTP/1.1 408"), answer
        # a body longer than the upload limit is refused before it is read
        answer = _raw(port, b"POST /api/v1/public/complaints HTTP/1.1\r\nHost: x\r\n"
                            b"Content-Length: 5000000\r\n\r\n", wait=5)
        assert answer.startswith(b"HTTP/1.1 413"), answer
        assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "payload_too_large"

        # a slow but complete request is served: head and body in pieces, within the deadlines
        body = json.dumps({"username": "inspector1", "password": "inspect-demo"}).encode()
        head = (f"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
        answer = _raw(port, head + body[:10], then=body[10:], pause=1.0)
        assert answer.startswith(b"HTTP/1.1 200"), answer
        # chunked, and with Expect: 100-continue (one interim answer, then the final one)
        chunked = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 7]), body[i:i + 7]) for i in range(0, len(body), 7))
        answer = _raw(port, b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunked[:20],
                      then=chunked[20:] + b"0\r\n\r\n", pause=0.5)
        assert answer.startswith(b"HTTP/1.1 200"), answer
        answer = _raw(port, head.replace(b"Connection", b"Expect: 100-continue\r\nConnection"), then=body,
                      pause=0.3)
        assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200"), answer
        assert answer.count(b"100 Continue") == 1
        # two requests on one kept-alive connection, the second sent in the same packet as the first
        get = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
        answer = _raw(port, get + get.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        assert answer.count(b"HTTP/1.1 200") == 2, answer
        assert server.request("GET", "/api/v1/health")[0] == 200
    finally:
        server.stop()
