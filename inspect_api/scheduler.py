"""The one scheduler process (`inspect-api scheduler`): APScheduler with its jobs persisted in the
database, run apart from the web workers (a scheduler in each gunicorn worker would run every job
once per worker). A lock makes a second scheduler process wait instead of running jobs twice: on
PostgreSQL an advisory lock in the database, so the second may run on another machine.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Callable
from pathlib import Path

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from inspect_api.core.clock import LOCAL_TZ
from inspect_api.core.jobstore import JOBS_TABLE

log = logging.getLogger(__name__)

# job id -> (dotted path of the callable, trigger); the table the scheduler keeps in the database.
JOBS: dict[str, tuple[str, object]] = {
    "sampling.draft_next_plan": ("inspect_api.sampling.jobs:draft_next_plan",
                                 CronTrigger(hour=6, minute=0, timezone=LOCAL_TZ)),
    "sampling.release_assignments": ("inspect_api.sampling.jobs:release_assignments",
                                     IntervalTrigger(minutes=5, timezone=LOCAL_TZ)),
    "visits.remind_unfinished": ("inspect_api.visits.jobs:remind_unfinished_visits",
                                 CronTrigger(hour=17, minute=0, timezone=LOCAL_TZ)),
    "review.flag_overdue_rectifications": ("inspect_api.review.services:flag_overdue_rectifications",
                                           CronTrigger(hour=0, minute=30, timezone=LOCAL_TZ)),
    "ratings.flag_overdue_follow_ups": ("inspect_api.ratings.services:flag_overdue_follow_ups",
                                        CronTrigger(hour=0, minute=40, timezone=LOCAL_TZ)),
    "complaints.flag_overdue": ("inspect_api.complaints.jobs:flag_overdue_complaints",
                                CronTrigger(hour=0, minute=50, timezone=LOCAL_TZ)),
    "matters.remind_due": ("inspect_api.matters.jobs:remind_due_matters",
                           CronTrigger(hour=8, minute=40, timezone=LOCAL_TZ)),
    # 12:05 too: a half-day (急件) deadline ends at noon, and is overdue the same afternoon.
    "matters.flag_overdue": ("inspect_api.matters.jobs:flag_overdue_matters",
                             CronTrigger(hour="0,12", minute=5, timezone=LOCAL_TZ)),
    "documents.draft_monthly_bulletin": ("inspect_api.documents.jobs:draft_monthly_bulletin",
                                         CronTrigger(day=1, hour=7, minute=0, timezone=LOCAL_TZ)),
    "accountability.run_rules": ("inspect_api.accountability.services:nightly",
                                 CronTrigger(hour=1, minute=0, timezone=LOCAL_TZ)),
    "notifications.send_email": ("inspect_api.notifications.mail:send_pending_email",
                                 IntervalTrigger(minutes=2, timezone=LOCAL_TZ)),
    "notifications.drain_outbox": ("inspect_api.notifications.outbox:drain",
                                   IntervalTrigger(minutes=1, timezone=LOCAL_TZ)),
    "review.remind_due_rectifications": ("inspect_api.review.services:remind_due_rectifications",
                                         CronTrigger(hour=8, minute=30, timezone=LOCAL_TZ)),
    "stats.compact_rollup": ("inspect_api.stats.rollup:compact",
                             CronTrigger(hour=2, minute=30, timezone=LOCAL_TZ)),
    "core.clean_scratch": ("inspect_api.core.jobs:clean_scratch",
                           CronTrigger(hour=3, minute=30, timezone=LOCAL_TZ)),
    "visits.sweep_orphan_media": ("inspect_api.visits.jobs:sweep_orphan_media",
                                  CronTrigger(hour=3, minute=45, timezone=LOCAL_TZ)),
}
# Run once when the scheduler starts too (after a crash is when leftovers are likeliest).
AT_START = ("core.clean_scratch",)


def run_job(path: str) -> object:
    """Run one job in a fresh app context: one transaction, committed at the end, rolled back on error."""
    import importlib

    from inspect_api.db import db

    module, name = path.split(":")
    func: Callable = getattr(importlib.import_module(module), name)
    app = _app()
    with app.app_context():
        try:
            result = func()
            db.session.commit()
            log.info("job %s done: %s", path, result)
            return result
        except Exception:
            db.session.rollback()
            log.exception("job %s failed", path)
            raise
        finally:
            db.session.remove()


_APP = None


def _app():
    global _APP
    if _APP is None:
        from inspect_api.app import create_app

        _APP = create_app()
    return _APP


def build_scheduler(database_url: str, scheduler_class=BlockingScheduler):
    scheduler = scheduler_class(
        jobstores={"default": SQLAlchemyJobStore(url=database_url, tablename=JOBS_TABLE)},
        executors={"default": ThreadPoolExecutor(2)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        timezone=LOCAL_TZ,
    )
    for job_id, (path, trigger) in JOBS.items():
        scheduler.add_job(run_job, trigger=trigger, args=[path], id=job_id, replace_existing=True, name=job_id)
    return scheduler


# pg_advisory_lock key of "the one scheduler" (any 64-bit number no other lock of the app uses)
PG_LOCK_KEY = 0x1A5C4ED01E5C4ED0


def pg_lock(database_url: str, *, wait: bool):
    """The scheduler's PostgreSQL advisory lock, held by a connection of its own for as long as the
    process lives (a session lock: it goes when the process or its connection dies, so a waiting
    scheduler on another machine takes over). Returns that connection, or None when `wait` is False
    and another scheduler holds it."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    engine = sa.create_engine(database_url, poolclass=NullPool)
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    if conn.scalar(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": PG_LOCK_KEY}):
        return conn
    if not wait:
        conn.close()
        return None
    log.warning("another scheduler holds the database's scheduler lock; this one stays idle until it stops")
    conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": PG_LOCK_KEY})
    log.info("took over the scheduler lock")
    return conn


def hold_lock(instance_dir: str, database_url: str | None = None):
    """One scheduler per database: on PostgreSQL an advisory lock in the database (schedulers on
    several machines: one runs, the others wait); on SQLite (one machine) a lock file in the
    instance folder. A second one waits here until the first stops."""
    if database_url and database_url.startswith("postgresql"):
        return pg_lock(database_url, wait=True)
    Path(instance_dir).mkdir(parents=True, exist_ok=True)
    fd = os.open(Path(instance_dir) / "scheduler.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log.warning("another scheduler runs for this instance; waiting for it to stop")
        fcntl.flock(fd, fcntl.LOCK_EX)
    return fd
