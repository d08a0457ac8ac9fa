"""Scheduler jobs of the core: clean-up of scratch files a killed process left in the evidence store.
Safe to run twice and at any time: only files untouched for a day are removed."""

from __future__ import annotations

import logging
from datetime import timedelta

from inspect_api.core import clock
from inspect_api.core.storage import get_storage, remove_stale

log = logging.getLogger(__name__)

SCRATCH_MAX_AGE = timedelta(days=1)  # no upload or copy in the making takes a day


def clean_scratch() -> int:
    """Remove `.incoming/*.part`, `*.tmp` and unfinished copies older than a day; the count removed."""
    removed = remove_stale(get_storage().stale_scratch(), (clock.now() - SCRATCH_MAX_AGE).timestamp())
    if removed:
        log.info("removed %d stale scratch files from the evidence store", removed)
    return removed
