"""Importing a year's holiday table: stored by core, recorded in the audit trail, then announced so
the features that keep deadlines counted on an assumed week count them again."""

from __future__ import annotations

from inspect_api.audit import services as audit
from inspect_api.core import calendar_store, events
from inspect_api.db import db


def import_calendar(text: str, *, source: str, actor=None) -> dict:
    """Replace the imported schedule of every year in the file (see calendar_store.store_tables); flushes,
    the caller commits."""
    summary = calendar_store.store_tables(text, source=source, actor=actor)
    for year, held in summary.items():
        audit.record("calendar.import", "calendar_year", year, actor=actor, after={"source": source, **held})
    db.session.flush()
    sent = events.calendar_imported.send(None, years=sorted(summary), actor=actor)
    return {"years": summary, "deadlines_changed": sum(events.results(sent))}
