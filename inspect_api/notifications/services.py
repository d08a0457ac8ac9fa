"""Create notifications (idempotently) and read them."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from inspect_api.core import clock
from inspect_api.db import db
from inspect_api.errors import NotFound
from inspect_api.notifications.models import Notification


def notify(user_id: int, kind: str, title: str, body: str | None, subject: dict, dedupe_key: str) -> bool:
    """Add a notification unless one with the same key exists, and queue the messages the channel
    routes ask for (企业微信, 钉钉, SMS, mail) in the same transaction; True when one was added."""
    from inspect_api.notifications.outbox import enqueue

    dialect = db.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Notification.__table__)
    added = db.session.execute(insert.values(
        user_id=user_id, kind=kind, title=title, body=body, subject=subject, dedupe_key=dedupe_key,
        created_at=clock.now()).on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Notification.__table__.c.id)).scalar_one_or_none()
    if added is not None:
        enqueue(added, user_id, kind, title, body, subject)
    return added is not None


def for_user(user, unread_only: bool) -> sa.Select:
    stmt = sa.select(Notification).where(Notification.user_id == user.id).order_by(
        Notification.created_at.desc(), Notification.id.desc())
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return stmt


def mark_read(user, notification_id: int) -> Notification:
    n = db.session.get(Notification, notification_id)
    if n is None or n.user_id != user.id:
        raise NotFound("通知不存在 (no such notification)")
    if n.read_at is None:
        n.read_at = clock.now()
    return n
