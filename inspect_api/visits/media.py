"""The media worker (`inspect-api media worker`): makes each uploaded photo's display copy, thumbnail
and watermarked copy after the upload has answered.

The upload request only stores the original (hashed while it streamed to disk, fsynced) and checks it
cheaply (core/images.check_image); its evidence row says `derivatives: pending`. A worker claims one
pending photo at a time (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so several workers on several machines
never take the same photo; SQLite: the claim runs under the one write lock), leases it for
`LEASE` (a worker that died mid-job is replaced when the lease runs out), makes the copies,
stores them under their content-derived keys and marks the row `ready`. A photo that fails
`MAX_ATTEMPTS` times is `failed`, with the reason. Making the copies twice (a lease that ran out
while the first worker was still busy) stores the same keys again: harmless.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from inspect_api.core import clock, images, worker_loop
from inspect_api.core.storage import get_storage
from inspect_api.db import db, read_phase
from inspect_api.visits.models import Evidence, Visit

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # no photo takes this long; a claim older than this was a dead worker's
MAX_ATTEMPTS = 3
RETRY_AFTER_S = 2  # what the API tells a client asking for a copy still being made


def _claimable(now):
    return sa.and_(Evidence.derivatives == "pending",
                   sa.or_(Evidence.derivatives_claimed_at.is_(None), Evidence.derivatives_claimed_at < now - LEASE))


def claim_next() -> str | None:
    """Take the oldest pending photo nobody holds, lease it, commit; its id, or None."""
    now = clock.now()
    stmt = (sa.select(Evidence).where(_claimable(now))
            .order_by(Evidence.uploaded_at, Evidence.id).limit(1))
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    ev = db.session.scalar(stmt)
    if ev is None:
        db.session.rollback()
        return None
    ev.derivatives_claimed_at, ev.derivatives_attempts = now, ev.derivatives_attempts + 1
    db.session.commit()
    return ev.id


@contextlib.contextmanager
def _original_file(storage, key: str):
    """A local path to the original: the stored file itself, or a scratch copy from object storage."""
    if hasattr(storage, "path"):
        yield storage.path(key)
        return
    tmp = storage.scratch_dir() / f"{uuid.uuid4().hex}.part"
    try:
        with storage.open(key) as src, open(tmp, "wb") as out:
            shutil.copyfileobj(src, out, 1024 * 1024)
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def make_copies(ev: Evidence, stamp: list[str]) -> None:
    """Make and store the three copies of one photo, `stamp` the watermark's lines (no database work:
    this runs in the low-priority thread)."""
    cfg = current_app.config
    storage = get_storage()
    with _original_file(storage, ev.original_key) as path:
        img = images.upright_rgb(path, max_pixels=cfg["INSPECT_MAX_IMAGE_PIXELS"],
                                 work_px=cfg["INSPECT_DISPLAY_MAX_PX"] // 2)
    display = images.display_copy(img, cfg["INSPECT_DISPLAY_MAX_PX"])
    thumb = images.display_copy(display, cfg["INSPECT_THUMBNAIL_PX"])
    stamped = images.watermark(display, stamp, cfg["INSPECT_CJK_FONT"])
    with tempfile.TemporaryDirectory(dir=storage.scratch_dir(), prefix="copies-") as tmp:
        for key, picture, quality in ((ev.display_key, display, 85), (ev.thumbnail_key, thumb, 80),
                                      (ev.watermarked_key, stamped, 85)):
            out = Path(tmp) / f"{uuid.uuid4().hex}.jpg"
            images.save_jpeg(picture, out, quality)
            storage.put(key, out)


_LOW: dict[int, worker_loop.LowPriority] = {}


def _low_priority() -> worker_loop.LowPriority:
    """The thread copies are made in, at the workers' lower priority (one per process and setting)."""
    increment = current_app.config["INSPECT_WORKER_NICE"]
    if increment not in _LOW:
        _LOW[increment] = worker_loop.LowPriority(increment)
    return _LOW[increment]


def process(evidence_id: str) -> str:
    """Make the copies of one claimed photo and record the outcome; the row's final state.

    The image work runs outside any write transaction (on SQLite a write transaction holds the one
    write lock: copies made under it, ~40 ms a photo, held every upload and sync behind them)."""
    from inspect_api.visits.services import watermark_lines

    with read_phase():
        ev = db.session.get(Evidence, evidence_id)
        if ev is None or ev.derivatives == "ready":
            return "ready"
        stamp = watermark_lines(db.session.get(Visit, ev.visit_id), ev.captured_at, ev.gps_lat, ev.gps_lng)
    try:
        _low_priority().run(make_copies, ev, stamp)
    except Exception as exc:
        db.session.rollback()
        ev = db.session.get(Evidence, evidence_id)
        message = f"{type(exc).__name__}: {exc}"[:500]
        if ev.derivatives_attempts >= MAX_ATTEMPTS:
            ev.derivatives, ev.derivatives_error = "failed", message
        else:
            ev.derivatives_claimed_at, ev.derivatives_error = None, message  # another try, soon
        db.session.commit()
        log.warning("photo %s: copies not made (attempt %d): %s", evidence_id, ev.derivatives_attempts, message)
        return ev.derivatives
    ev = db.session.get(Evidence, evidence_id)
    ev.derivatives, ev.derivatives_error, ev.derivatives_claimed_at = "ready", None, None
    db.session.commit()
    return "ready"


def ensure_ready(evidence_ids) -> dict[str, str]:
    """Make the copies of these photos now, in this process, where a worker has not yet (the document
    render worker needs watermarked copies before it renders); their states by id."""
    states = {}
    for ev in db.session.scalars(sa.select(Evidence).where(Evidence.id.in_(list(evidence_ids)))).all():
        if ev.derivatives == "ready":
            states[ev.id] = "ready"
            continue
        ev.derivatives_attempts = ev.derivatives_attempts + 1
        ev.derivatives_claimed_at = clock.now()
        db.session.commit()
        states[ev.id] = process(ev.id)
    return states


def run_once() -> bool:
    """Process one if there is one; True when one was processed."""
    return worker_loop.run_once(claim_next, process)


def drain() -> int:
    """Process everything waiting now; how many."""
    return worker_loop.drain(claim_next, process)


def run_forever(poll_seconds: float) -> None:  # pragma: no cover - the loop of core.worker_loop
    worker_loop.run_forever("media worker", claim_next, process, poll_seconds)
