"""gunicorn settings for ./scripts/run; every value can be overridden from the environment."""

import os

from inspect_api.core.clock import anchor_from_env

# A chosen clock (INSPECT_CLOCK_START: tests, demos) tells every worker the same time, a respawned one too
anchor_from_env()

# Two workers a core (at least 2, at most 8) with two threads each, by default. On SQLite a write holds
# the database's one write lock, and a thread holding it waits for its worker's interpreter lock while
# the worker's other threads run: fewer threads a worker shorten the turns. Measured with
# scripts/bench.py (full-visit sync against the echo route, 20 clients, 2 cores): 2 workers x 4
# threads 0.126x, 4 x 2 0.151-0.169x. A worker is about 125 MB resident (docs/deploy.md).
DEFAULT_WORKERS = max(2, min(8, 2 * len(os.sched_getaffinity(0))))  # the cores this process may use
DEFAULT_THREADS = 2
workers = int(os.environ.get("WORKERS", str(DEFAULT_WORKERS)))
# gunicorn's threaded worker, with each request read in full on the worker's event loop before a thread
# is given to it, under deadlines for the head and the body (inspect_api/server_worker.py): a phone on a
# slow network, or many strangers trickling bodies on purpose, holds a socket, not a thread.
# WORKER_CLASS=gthread gives the stock worker back (for comparison; it has no read deadline).
worker_class = os.environ.get("WORKER_CLASS", "inspect_api.server_worker.BufferingThreadWorker")
threads = int(os.environ.get("THREADS", str(DEFAULT_THREADS)))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 20
# No gunicorn access log: its lines hold the client's address, user agent and the raw URL with its query.
# The app writes its own (method, route template, status, duration; INSPECT_ACCESS_LOG=0 turns it off).
accesslog = None
# Should someone turn it on anyway (--access-logfile), the format still names no client: method, path
# without the query, status, duration.
access_log_format = "%(m)s %(U)s %(s)s %(M)sms"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# Workers are forked after the app is built only if preload is on; keep it off so each worker
# opens its own database connections.
preload_app = False


# What gunicorn answers itself, before the app sees the request (a request line over
# limit_request_line: 414; too many or too large headers: 431; a malformed request: 400; a head or body
# not sent within the deadlines of inspect_api/server_worker.py: 408; a body declared longer than
# INSPECT_MAX_UPLOAD_MB: 413), is JSON in
# the API's one error shape instead of gunicorn's HTML page.
GUNICORN_ERRORS = {
    400: ("bad_request", "请求格式错误 (malformed request)"),
    403: ("forbidden", "请求被拒绝 (request forbidden)"),
    408: ("request_timeout", "请求发送超时 (request timeout)"),
    413: ("payload_too_large", "上传内容过大 (payload too large)"),
    414: ("uri_too_long", "请求地址过长 (URI too long)"),
    417: ("expectation_failed", "不支持该 Expect 请求头 (expectation failed)"),
    431: ("request_header_fields_too_large", "请求头过多或过大 (request header fields too large)"),
    500: ("internal_error", "服务器内部错误 (internal error)"),
    501: ("not_implemented", "不支持的传输编码 (unsupported transfer coding)"),
}


def json_error(sock, status_int, reason, mesg):
    import json

    from gunicorn.util import write_nonblock

    code, message = GUNICORN_ERRORS.get(status_int, ("bad_request", "请求格式错误 (malformed request)"))
    body = json.dumps({"error": {"code": code, "message": message, "details": {"reason": reason}}},
                      ensure_ascii=False).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode("latin-1")
    write_nonblock(sock, head + body)


def post_worker_init(worker):
    import gunicorn.util

    gunicorn.util.write_error = json_error  # the one function gunicorn's workers write their errors with
    # gunicorn logs a worker's boot before it loads the app, which takes a second or two; this says when
    # it can take requests (the system tests that count what each worker holds wait for it)
    worker.log.info("Worker ready (pid: %s)", worker.pid)
