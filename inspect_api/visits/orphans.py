"""Photo files no evidence row names: what an upload refused after its original was moved in, or a
worker killed between the move and the commit, leaves in storage.

A photo's files (`originals/<aa>/<sha>.<ext>`, `derived/<aa>/<sha>/…`) are content-addressed, so
several rows (the same photo in two visits) and several uploads at once may share one. Whoever
removes a file, and whoever is about to write a row naming one, holds the photo's lock
(`lock_photo`: an advisory lock on its SHA-256 on PostgreSQL, the one write lock on SQLite) while
it looks: a remover re-reads the rows under it, and `add_evidence` checks under it that the
original is still there (moving it in again if not) before it writes its row. So a file a row
names, or will name once its transaction commits, is never removed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from inspect_api.core import clock
from inspect_api.core.storage import get_storage
from inspect_api.db import db, read_phase, serialize_on
from inspect_api.visits.models import Evidence

log = logging.getLogger(__name__)

PREFIXES = ("originals/", "derived/")
KEY_COLUMNS = (Evidence.original_key, Evidence.display_key, Evidence.thumbnail_key, Evidence.watermarked_key)
_PHOTO_KEY = re.compile(r"(?:originals/[0-9a-f]{2}/(?P<o>[0-9a-f]{64})\.[a-z0-9]+"
                        r"|derived/[0-9a-f]{2}/(?P<d>[0-9a-f]{64})/[^/]+)")
BATCH = 100  # files removed per transaction (PostgreSQL: advisory locks held at once)


def lock_photo(sha256: str) -> None:
    """Hold the photo's lock until the transaction ends (see the module's first lines)."""
    serialize_on("evidence", sha256)


def photo_sha(key: str) -> str | None:
    """The SHA-256 a photo file's key is named after; None for anything else in the store."""
    m = _PHOTO_KEY.fullmatch(key)
    return (m.group("o") or m.group("d")) if m else None


def named_keys(keys: Iterable[str]) -> set[str]:
    """Those of `keys` some evidence row names (as its original or one of its copies)."""
    wanted = set(keys)
    shas = {photo_sha(k) for k in wanted} - {None}
    if not shas:
        return set()
    # a photo's files are named after its SHA-256: the rows of those photos (indexed), then their keys
    rows = db.session.execute(sa.select(*KEY_COLUMNS).where(Evidence.sha256.in_(shas)))
    return {k for row in rows for k in row if k in wanted}


def remove_unless_named(storage, key: str, sha256: str) -> bool:
    """Remove `key` unless a row names it, under the photo's lock (held until the caller's transaction
    ends, so a concurrent upload of the same bytes waits, then finds the file gone and moves it in
    again). Whether it was removed."""
    lock_photo(sha256)
    if named_keys([key]):
        return False
    storage.delete(key)
    return True


@dataclass
class SweepResult:
    scanned: int = 0  # photo files looked at
    named: int = 0  # kept: a row names them
    young: int = 0  # kept: written within the grace period (an upload may still be committing)
    orphans: int = 0  # older and named by no row
    deleted: int = 0  # of those, removed (0 on a dry run; fewer when a row appeared meanwhile)

    def as_dict(self) -> dict:
        return asdict(self)


def sweep(*, dry_run: bool = False, grace: timedelta | None = None) -> SweepResult:
    """Remove the photo files no evidence row names and older than the grace period
    (INSPECT_ORPHAN_GRACE_HOURS). Commits a transaction per batch removed: on SQLite each holds the
    write lock only for its own re-check and removals.

    Memory: the keys of the stored files older than the grace period that are not yet matched to a
    row (one pass over the store, then one over the evidence table)."""
    if grace is None:
        grace = timedelta(hours=current_app.config["INSPECT_ORPHAN_GRACE_HOURS"])
    storage = get_storage()
    cutoff = clock.now() - grace
    result = SweepResult()
    old: set[str] = set()
    for key, modified in storage.walk(PREFIXES):
        if photo_sha(key) is None:
            continue  # not a photo file: never ours to remove
        result.scanned += 1
        if modified >= cutoff:
            result.young += 1
        else:
            old.add(key)
    with read_phase():  # one pass over the rows, without SQLite's write lock
        rows = db.session.execute(sa.select(*KEY_COLUMNS).execution_options(yield_per=5000))
        named = {k for row in rows for k in row if k in old}
    result.named = len(named)
    orphans = sorted(old - named, key=lambda k: (photo_sha(k), k))  # one lock order for every sweep
    result.orphans = len(orphans)
    if dry_run:
        return result
    for start in range(0, len(orphans), BATCH):
        batch = orphans[start:start + BATCH]
        try:
            for sha in dict.fromkeys(photo_sha(k) for k in batch):
                lock_photo(sha)
            still_named = named_keys(batch)  # re-read under the locks: an upload may have committed a row
            for key in batch:
                if key not in still_named:
                    storage.delete(key)
                    result.deleted += 1
            db.session.commit()  # ends the transaction: releases the locks
        except Exception:
            db.session.rollback()
            raise
    if result.deleted:
        log.info("removed %d photo files no evidence names: %s", result.deleted, result.as_dict())
    return result
