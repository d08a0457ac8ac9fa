"""gunicorn settings for ./scripts/run; every value can be overridden from the environment."""

import os

workers = int(os.environ.get("WORKERS", "2"))
# Threads so one phone on a slow network does not hold a whole worker while it sends its body.
worker_class = "gthread"
threads = int(os.environ.get("THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 20
accesslog = "-"
errorlog = "-"
# Workers are forked after the app is built only if preload is on; keep it off so each worker
# opens its own database connections.
preload_app = False
