"""Scheduler job: draft last month's supervision bulletin (督查通报) on the first of the month."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from inspect_api.core import clock
from inspect_api.db import db
from inspect_api.documents import services
from inspect_api.documents.models import Document
from inspect_api.org.recipients import office_ids


def draft_monthly_bulletin() -> int | None:
    """Create the draft for the previous calendar month unless one exists; the office edits, approves
    and issues it. Returns the new document's id, or None (a second run changes nothing)."""
    from inspect_api.notifications.services import notify

    today = clock.today()
    end = date(today.year, today.month, 1) - timedelta(days=1)
    start = date(end.year, end.month, 1)
    for selection in db.session.scalars(sa.select(Document.selection).where(Document.kind == "bulletin")):
        if selection.get("period_start") == start.isoformat() and selection.get("period_end") == end.isoformat() \
                and not selection.get("under"):
            return None
    doc = services.create("bulletin", {"period_start": start.isoformat(), "period_end": end.isoformat()}, None,
                          actor=None)
    for user_id in office_ids():
        notify(user_id, "document.drafted", f"已起草{start.year}年{start.month}月督查通报", doc.title,
               {"document_id": doc.id}, f"document.drafted:{doc.id}:{user_id}")
    return doc.id
