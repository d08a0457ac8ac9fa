"""Scheduler jobs of field audits. Safe to run twice: notifications are keyed per visit and day."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from inspect_api.core import clock
from inspect_api.core.clock import local
from inspect_api.db import db
from inspect_api.notifications.services import notify
from inspect_api.visits.models import Visit, VisitInspector

STALE_AFTER = timedelta(hours=24)


def remind_unfinished_visits() -> int:
    """Tell each team member about drafts left unsubmitted for a day (once a day per visit)."""
    now = clock.now()
    today = local(now).date().isoformat()
    rows = db.session.execute(
        sa.select(Visit.id, Visit.code, Visit.updated_at, VisitInspector.user_id)
        .join(VisitInspector, VisitInspector.visit_id == Visit.id)
        .where(Visit.status == "draft", Visit.updated_at <= now - STALE_AFTER)).all()
    sent = 0
    for visit_id, code, updated_at, user_id in rows:
        sent += notify(user_id, "visit.unfinished", f"检查记录 {code} 尚未提交",
                       f"草稿最后修改于 {local(updated_at):%Y-%m-%d %H:%M}，请补齐照片后提交。",
                       {"visit_id": visit_id}, f"visit.unfinished:{visit_id}:{user_id}:{today}")
    db.session.flush()
    return sent


def sweep_orphan_media() -> dict:
    """Remove photo files in storage that no evidence row names, once older than
    INSPECT_ORPHAN_GRACE_HOURS (what a crashed upload leaves); the counts."""
    from inspect_api.visits import orphans

    return orphans.sweep().as_dict()
