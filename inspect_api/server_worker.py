"""gunicorn's threaded worker, with each request read in full before a thread is given to it.

gunicorn 27's `gthread` worker hands a connection to a thread as soon as its first bytes arrive; the
thread then reads the request line, headers and body with blocking reads and no deadline. A client
that trickles its body (a phone on a bad network, or forty strangers on purpose) holds one of the
worker's few threads for as long as it likes, and once every thread is held, nothing else is answered,
health checks included.

`BufferingThreadWorker` reads every request on the worker's event loop instead, as nginx does in front
of an application server: the request line and headers, then the body (of a known length, or chunked),
without a thread, into memory up to 256 KiB and into a temporary file beyond. Only a complete request is
given to a thread, and gunicorn's own parser then reads it from that buffer, so its checks (limits,
framing, 414/431 answers) are unchanged. A slow client costs a socket and its buffer, not a thread.

Deadlines (environment, seconds):
- INSPECT_HEADER_TIMEOUT (10): the request line and headers must arrive within it (nginx's
  client_header_timeout); otherwise 408 and the connection closes.
- INSPECT_BODY_TIMEOUT (30): the longest pause between two reads of the body (client_body_timeout).
- INSPECT_BODY_MIN_RATE (2048, bytes per second): the body as a whole must arrive within
  INSPECT_BODY_TIMEOUT + its length / this rate, so a client sending a byte every few seconds is cut
  off too (a 25 MB photo may take 3.5 hours at that rate; a phone on 2G sends it in minutes).
A body longer than the application's MAX_CONTENT_LENGTH is answered 413 before it is read.

Connections are also spread over the workers (see `BufferingThreadWorker.load`): a kept-alive
connection stays with the worker that accepted it, so a busy worker, or one holding more connections
than the least-connected one (`Tally`, in memory shared by the workers), leaves a waiting connection to
the others for ACCEPT_LAG_S before it takes it itself.

TLS connections (gunicorn's own certfile) are left to the stock worker's handling: terminate TLS in
the front end (see the README's nginx recipe).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import mmap
import os
import re
import select
import selectors
import tempfile
import time
from functools import partial

from gunicorn.http.unreader import SocketUnreader
from gunicorn.workers.gthread import ThreadWorker

# Per connection: a worker holds at most worker_connections (1000) of them, so at most ~256 MB in memory.
SPOOL_IN_MEMORY = 256 * 1024
RECV_SIZE = 256 * 1024
# What gunicorn's parser is handed from the buffer at a time (see `SpoolUnreader.chunk`).
SPOOL_CHUNK = 64 * 1024
# A request head longer than this is refused with 431 before gunicorn's parser sees it (gunicorn's
# default limits allow a request line of 4094 bytes and 100 fields of 8190).
MAX_HEAD = 64 * 1024
# A worker without a free thread leaves a waiting connection to the others for ACCEPT_LAG_S, and counts a
# connection it accepted as work until its first request is complete, FRESH_S at most (see
# `BufferingThreadWorker.load`).
ACCEPT_LAG_S = 0.01
FRESH_S = 0.02
STALE_S = 0.05  # a lag ended this long ago belonged to a connection another worker took
# A worker holding more connections than this beyond the least-connected live worker leaves a waiting
# connection to the others too, free threads or not: a kept-alive connection is work to come.
CONNECTIONS_SLACK = 1


def _env_float(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


def deadlines() -> tuple[float, float, float]:
    return (_env_float("INSPECT_HEADER_TIMEOUT", 10), _env_float("INSPECT_BODY_TIMEOUT", 30),
            _env_float("INSPECT_BODY_MIN_RATE", 2048))


def _readable(sockets) -> bool:
    """Whether a connection waits on any of these listeners now."""
    poller = select.poll()
    for sock in sockets:
        poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class Tally:
    """How many connections each worker holds, in memory the master maps before it forks them, so every
    worker sees the others' counts: SLOTS cells of (pid, connections). A worker claims a cell when it
    starts (one whose worker is gone, under a lock) and writes its count as it changes."""

    SLOTS = 64

    def __init__(self):
        self.cells = memoryview(mmap.mmap(-1, self.SLOTS * 16)).cast("q")  # shared with forked children
        self.lock = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the server)
        self.slot: int | None = None

    def claim(self, pid: int) -> None:
        fcntl.lockf(self.lock, fcntl.LOCK_EX)  # a process's own lock: the workers exclude each other
        try:
            for i in range(self.SLOTS):
                holder = self.cells[2 * i]
                if holder == 0 or not _alive(holder):
                    self.cells[2 * i], self.cells[2 * i + 1], self.slot = pid, 0, i
                    return
        finally:
            fcntl.lockf(self.lock, fcntl.LOCK_UN)

    def set(self, connections: int) -> None:
        if self.slot is not None:
            self.cells[2 * self.slot + 1] = connections

    def fewest_elsewhere(self) -> int | None:
        """The fewest connections another live worker holds (None: no other worker)."""
        while True:
            others = [i for i in range(self.SLOTS) if i != self.slot and self.cells[2 * i]]
            if not others:
                return None
            best = min(others, key=lambda i: self.cells[2 * i + 1])
            if _alive(self.cells[2 * best]):
                return self.cells[2 * best + 1]
            self.cells[2 * best] = 0  # its worker died without a word: its cell is free

    def release(self) -> None:
        if self.slot is not None:
            self.cells[2 * self.slot] = 0
            self.slot = None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Incomplete(Exception):
    """The framing is not one this front can follow: let gunicorn's parser judge the bytes held."""


class ChunkedScanner:
    """Follows chunked framing (RFC 9112 section 7.1) only far enough to know where the body ends."""

    def __init__(self):
        self.state = "size"
        self.line = bytearray()
        self.left = 0
        self.done = False

    def feed(self, data: bytes | memoryview) -> int:
        """Consume bytes; returns how many belong to the body (the rest is the next request)."""
        data = memoryview(data)
        i = 0
        while i < len(data) and not self.done:
            if self.state == "data":
                step = min(self.left, len(data) - i)
                self.left -= step
                i += step
                if self.left == 0:
                    self.state = "crlf"
                    self.line.clear()
                continue
            byte = data[i]
            i += 1
            self.line.append(byte)
            if len(self.line) > 8192:
                raise Incomplete("chunk line too long")
            if not self.line.endswith(b"\r\n"):
                continue
            line = bytes(self.line[:-2])
            self.line.clear()
            if self.state == "size":
                size = line.split(b";", 1)[0].strip()
                if not size or not re.fullmatch(rb"[0-9A-Fa-f]{1,16}", size):
                    raise Incomplete("bad chunk size")
                self.left = int(size, 16)
                self.state = "data" if self.left else "trailer"
            elif self.state == "crlf":
                if line:
                    raise Incomplete("chunk not followed by CRLF")
                self.state = "size"
            elif self.state == "trailer" and not line:
                self.done = True
        return i


class PendingRequest:
    """The bytes of one request as they arrive, and what remains to be read."""

    def __init__(self, now: float, header_timeout: float):
        self.spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 (closed by its reader)
        self.head = bytearray()
        self.head_done = False
        self.body_left: int | None = None  # bytes of a known-length body still to come
        self.chunked: ChunkedScanner | None = None
        self.complete = False
        self.continue_sent = False
        self.deadline = now + header_timeout  # for the whole head, then for the whole body
        self.idle_deadline = float("inf")  # the next piece of body must arrive by then
        self.received = 0
        self.extra = b""  # read past the end of this request: the start of the next one

    def close(self) -> None:
        self.spool.close()


def _parse_head(head: bytes):
    """(content_length, chunked, expect_continue, ok) from a request head; ok False for anything odd."""
    lines = head.split(b"\r\n")
    request_line = lines[0] if lines else b""
    lengths, codings, expect = [], [], False
    for raw in lines[1:]:
        if b":" not in raw:
            continue
        name, value = raw.split(b":", 1)
        name = name.strip().lower()
        value = value.strip()
        if name == b"content-length":
            lengths.append(value)
        elif name == b"transfer-encoding":
            codings.append(value.lower())
        elif name == b"expect" and value.lower() == b"100-continue":
            expect = True
    http11 = request_line.rstrip().endswith(b"HTTP/1.1")
    if codings:
        if lengths or codings != [b"chunked"]:
            return 0, False, False, False
        return 0, True, expect and http11, True
    if not lengths:
        return 0, False, False, True
    if len(set(lengths)) != 1 or not lengths[0].isdigit() or len(lengths[0]) > 18:
        return 0, False, False, False
    return int(lengths[0]), False, expect and http11, True


class SpoolUnreader(SocketUnreader):
    """gunicorn's socket reader, served from the buffered request first."""

    def __init__(self, sock, spool):
        super().__init__(sock)
        self.spool = spool

    def chunk(self, size_hint=None):
        if self.spool is not None:
            # SPOOL_CHUNK at a time, however much the caller may consume: gunicorn's Unreader copies
            # what it holds beyond each read, twice, and werkzeug reads a body 64 KiB at a time, so
            # a 3.7 MB photo handed over at once was copied some 60 times (a quarter of its upload's
            # CPU); reading the buffer waits on no socket, so smaller reads cost little here.
            data = self.spool.read(SPOOL_CHUNK)
            if data:
                return data
            self.spool.close()
            self.spool = None
        return super().chunk(size_hint)

    def release(self) -> None:
        """Move what is left of the buffer (a next request sent early) to where gunicorn looks for it."""
        if self.spool is None:
            return
        rest = self.spool.read()
        self.spool.close()
        self.spool = None
        if rest:
            self.buf.seek(0, os.SEEK_END)
            self.buf.write(rest)


class BufferingThreadWorker(ThreadWorker):
    """A gthread worker whose threads only ever see requests already received in full."""

    tally: Tally | None = None

    @classmethod
    def setup(cls):
        """Run by gunicorn's master when it loads the worker class, before it forks the workers."""
        cls.tally = Tally()

    def init_process(self):
        if self.tally is not None:
            self.tally.claim(os.getpid())
        try:
            super().init_process()
        finally:
            if self.tally is not None:
                self.tally.release()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.buffering: dict = {}  # conn -> PendingRequest
        self.header_timeout, self.body_timeout, self.body_min_rate = deadlines()
        self.in_threads = 0  # requests given to the thread pool and not finished: running or queued
        self.fresh: dict = {}  # conn -> when accepted, until its first request is complete (FRESH_S at most)
        self.waiting_since: float | None = None  # when this busy worker saw a connection waiting

    # Spreading connections over the workers. gthread accepts whenever its listener is readable, so
    # the worker that happens to be on a core when clients connect takes most of them, and a
    # kept-alive connection stays with the worker that accepted it: 50 phones connecting at once were
    # held 30/15/3/2 by four workers, and the busiest one's requests waited behind each other while
    # another worker idled. Here a worker whose threads are all spoken for (its requests running or
    # queued, and the connections it accepted whose first request is on its way, for FRESH_S at most),
    # or that holds more than CONNECTIONS_SLACK connections beyond the least-connected worker (`Tally`),
    # leaves a waiting connection to the others for ACCEPT_LAG_S: an idle, less-connected worker takes
    # it first, and when every worker is busy each still takes its share after its lag, so nobody
    # waits long in the listen queue. A connection still sending its first request (slow, or idle on
    # purpose) counts only while fresh. (A lag that grew with the worker's queue, up to 50 ms, spread
    # no better and held the morning's first connections back: their p99 went from about 0.5 to
    # 0.8 s.)
    def load(self, now: float) -> int:
        for conn, accepted in list(self.fresh.items()):
            if accepted < now - FRESH_S:
                del self.fresh[conn]
        return self.in_threads + len(self.fresh)

    def lag(self, now: float) -> float:
        """How long this worker leaves a waiting connection to the others (0: it takes it now)."""
        if self.load(now) >= self.cfg.threads:
            return ACCEPT_LAG_S
        fewest = self.tally.fewest_elsewhere() if self.tally is not None else None
        return ACCEPT_LAG_S if fewest is not None and self.nr_conns > fewest + CONNECTIONS_SLACK else 0.0

    def lag_over(self, now: float) -> bool:
        return self.waiting_since is None or now >= self.waiting_since + self.lag(now)

    def set_accept_enabled(self, enabled):
        if enabled and not self._accepting:
            now = time.monotonic()
            if not self.lag_over(now):
                enabled = False
            elif self.waiting_since is not None and not _readable(self.sockets):
                self.waiting_since = None  # its lag is over and nothing waits: another worker took it
        super().set_accept_enabled(enabled and self.alive)

    def update_accepting(self) -> None:
        if self.alive and self.nr_conns < self.worker_connections:
            self.set_accept_enabled(True)

    def accept(self, listener):
        now = time.monotonic()
        lag = self.lag(now)
        if lag:
            if self.waiting_since is None or now > self.waiting_since + lag + STALE_S:
                self.waiting_since = now  # a connection waits: the others have `lag` to take it
            if now < self.waiting_since + lag:
                super().set_accept_enabled(False)
                return
        self.waiting_since = None
        super().accept(listener)
        if self.tally is not None:
            self.tally.set(self.nr_conns)

    def wait_for_and_dispatch_events(self, timeout):
        if self.alive and self.nr_conns < self.worker_connections and not self._accepting:
            now = time.monotonic()
            self.update_accepting()
            if not self._accepting and self.waiting_since is not None:  # back when its lag is over
                timeout = min(timeout, max(0.0, self.waiting_since + self.lag(now) - now) + 0.0005)
        super().wait_for_and_dispatch_events(timeout)
        if self.tally is not None:
            self.tally.set(self.nr_conns)

    def to_thread(self, conn) -> None:
        self.fresh.pop(conn, None)  # its request is complete: counted as running or queued now
        self.in_threads += 1
        super().enqueue_req(conn)

    def finish_request(self, conn, fs):
        self.in_threads -= 1
        super().finish_request(conn, fs)
        self.update_accepting()

    # connections come to a thread through enqueue_req: from accept, a kept-alive connection becoming
    # readable, or bytes of a next request already read. Each goes through the buffer first.
    def enqueue_req(self, conn):
        if not conn.initialized and conn.parser is None:  # just accepted
            self.fresh[conn] = time.monotonic()
        if self.cfg.is_ssl or getattr(conn, "buffered_request", None) is not None:
            self.to_thread(conn)
            return
        initial = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        self.start_buffering(conn, initial)

    def start_buffering(self, conn, initial: bytes) -> None:
        pending = PendingRequest(time.monotonic(), self.header_timeout)
        conn.sock.setblocking(False)
        self.buffering[conn] = pending
        if initial:
            self.take_bytes(conn, pending, initial)
            if conn not in self.buffering:
                return
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_buffer_readable, conn))

    def on_buffer_readable(self, conn, _sock) -> None:
        pending = self.buffering.get(conn)
        if pending is None:
            return
        try:
            data = conn.sock.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.drop(conn)
            return
        if not data:  # the client hung up before its request was complete
            self.drop(conn)
            return
        self.take_bytes(conn, pending, data)

    def take_bytes(self, conn, pending: PendingRequest, data: bytes) -> None:
        now = time.monotonic()
        pending.received += len(data)
        if not pending.head_done:
            start = max(0, len(pending.head) - 3)
            pending.head += data
            end = pending.head.find(b"\r\n\r\n", start)
            if end < 0:
                if len(pending.head) > MAX_HEAD:
                    self.refuse(conn, 431, "Request Header Fields Too Large")
                return
            head, rest = bytes(pending.head[:end + 4]), bytes(pending.head[end + 4:])
            pending.head = bytearray()
            pending.head_done = True
            pending.spool.write(head)
            length, chunked, expect, ok = _parse_head(head.lstrip(b"\r\n"))
            if not ok:  # framing gunicorn refuses (400, 501): let its parser say so
                pending.spool.write(rest)
                self.hand_over(conn, pending)
                return
            if length > self.max_body():
                self.refuse(conn, 413, "Payload Too Large")
                return
            if chunked:
                pending.chunked = ChunkedScanner()
            else:
                pending.body_left = length
            rate_time = (length / self.body_min_rate) if not chunked else 0
            pending.deadline = now + self.body_timeout + rate_time
            pending.idle_deadline = now + self.body_timeout
            if expect and (chunked or length) and not rest:
                self.send_continue(conn, pending)
            data = rest
        else:
            pending.idle_deadline = now + self.body_timeout
        self.take_body(conn, pending, data)

    def take_body(self, conn, pending: PendingRequest, data: bytes) -> None:
        if pending.chunked is not None:
            try:
                used = pending.chunked.feed(data)
            except Incomplete:  # malformed chunks: gunicorn's parser refuses them
                pending.spool.write(data)
                self.hand_over(conn, pending)
                return
            pending.spool.write(data[:used])
            if pending.chunked.done:
                pending.extra = data[used:]
                self.hand_over(conn, pending)
            elif pending.received > self.max_body() + MAX_HEAD:
                self.refuse(conn, 413, "Payload Too Large")
            return
        used = min(pending.body_left, len(data))
        pending.spool.write(data[:used])
        pending.body_left -= used
        if pending.body_left == 0:
            pending.extra = data[used:]
            self.hand_over(conn, pending)

    def max_body(self) -> int:
        """The application's MAX_CONTENT_LENGTH (INSPECT_MAX_UPLOAD_MB)."""
        config = getattr(self.wsgi, "config", None) or {}
        return config.get("MAX_CONTENT_LENGTH") or 2**62

    def send_continue(self, conn, pending: PendingRequest) -> None:
        try:
            conn.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
            pending.continue_sent = True
        except OSError:
            pass

    def hand_over(self, conn, pending: PendingRequest) -> None:
        """The request is complete (or for gunicorn to refuse): give it to a thread."""
        self.forget(conn)
        pending.spool.write(pending.extra)  # the next request's start, after this one
        pending.spool.seek(0)
        conn.buffered_request = pending
        conn.data_ready = True
        self.to_thread(conn)

    def handle(self, conn):
        pending = getattr(conn, "buffered_request", None)
        if pending is not None:
            conn.buffered_request = None
            conn.continue_sent = pending.continue_sent
            conn.sock.setblocking(True)
            conn.init()
            conn.parser.unreader = SpoolUnreader(conn.sock, pending.spool)
        result = super().handle(conn)
        unreader = conn.parser.unreader if conn.parser is not None else None
        if isinstance(unreader, SpoolUnreader):
            unreader.release()
        return result

    def handle_request(self, req, conn):
        if getattr(conn, "continue_sent", False):
            req._expected_100_continue = False  # already answered by the front
            conn.continue_sent = False
        return super().handle_request(req, conn)

    def forget(self, conn) -> None:
        self.buffering.pop(conn, None)
        self.fresh.pop(conn, None)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(conn.sock)

    def drop(self, conn) -> None:
        pending = self.buffering.get(conn)
        self.forget(conn)
        if pending is not None:
            pending.close()
        self.nr_conns -= 1
        conn.close()

    def refuse(self, conn, status: int, reason: str) -> None:
        """Answer a request this front will not read further, and close the connection."""
        from gunicorn import util

        try:
            conn.sock.setblocking(True)
            conn.sock.settimeout(1.0)
            util.write_error(conn.sock, status, reason, "")
        except OSError as exc:
            if exc.errno not in (errno.EPIPE, errno.ECONNRESET, None):
                self.log.debug("could not answer %s: %s", status, exc)
        self.drop(conn)

    def murder_pending(self):
        super().murder_pending()
        now = time.monotonic()
        for conn, pending in list(self.buffering.items()):
            if not self.alive:
                self.drop(conn)
            elif pending.received == 0 and now > pending.deadline:
                self.drop(conn)  # opened and never used (a browser's preconnect): closed without a word
            elif now > pending.deadline or now > pending.idle_deadline:  # idle: inf until the body
                self.refuse(conn, 408, "Request Timeout")
