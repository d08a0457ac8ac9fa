"""gunicorn settings for ./scripts/run; every value can be overridden from the environment."""

import os

workers = int(os.environ.get("WORKERS", "2"))
# Threads so one phone on a slow network does not hold a whole worker while it sends its body.
worker_class = "gthread"
threads = int(os.environ.get("THREADS", "4"))
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
