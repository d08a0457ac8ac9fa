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


def fingerprint(user) -> tuple[int, int, int]:
    """What every list of the user's notifications depends on: how many there are, how many are
    read, the newest id. Notifications are only ever added and marked read once (read_at goes from
    NULL to a time and stays), so every change to any of the lists (all, unread, any page) moves one
    of these on and none ever comes back; anything that deletes notifications must keep it so. One
    statement on the (user_id, read_at) index, for a phone's poll answered 304."""
    total, read, newest = db.session.execute(
        sa.select(sa.func.count(), sa.func.count(Notification.read_at), sa.func.coalesce(sa.func.max(Notification.id), 0))
        .where(Notification.user_id == user.id)).one()
    return total, read, newest


def mark_read(user, notification_id: int) -> Notification:
    n = db.session.get(Notification, notification_id)
    if n is None or n.user_id != user.id:
        raise NotFound("通知不存在 (no such notification)")
    if n.read_at is None:
        n.read_at = clock.now()
    return n
