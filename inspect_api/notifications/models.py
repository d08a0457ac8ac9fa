"""One notification for one user. `dedupe_key` makes a job that runs twice notify once."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from inspect_api.db import db


class Notification(db.Model):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(64))
    title: Mapped[str] = mapped_column(sa.String(255))
    body: Mapped[str | None] = mapped_column(sa.Text)
    # What it is about, for the app to link to (e.g. {"visit_id": ...}).
    subject: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    dedupe_key: Mapped[str] = mapped_column(sa.String(255), unique=True)
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
    # Mail: set once sent (or once it is clear it never will be: no address, failed for good).
    emailed_at: Mapped[datetime | None]
    email_status: Mapped[str | None] = mapped_column(sa.String(32))

    __table_args__ = (sa.Index("ix_notifications_user_unread", "user_id", "read_at"),)


class ChannelRoute(db.Model):
    """Who gets which notification kinds where, besides the app: set by an admin per user or per unit.

    `target` names what the configuration holds (a robot's name in the channels file) or, for SMS and
    e-mail, the phone number or address itself; webhook URLs and signing secrets never enter the
    database."""

    __tablename__ = "channel_routes"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(sa.String(8))  # user | unit
    scope_id: Mapped[int] = mapped_column(index=True)
    channel: Mapped[str] = mapped_column(sa.String(16))  # wecom | dingtalk | sms | email
    target: Mapped[str] = mapped_column(sa.String(255))
    kinds: Mapped[list] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime]
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    __table_args__ = (sa.UniqueConstraint("scope", "scope_id", "channel", "target"),)


class OutboxMessage(db.Model):
    """One message to one destination outside the app, queued in the transaction that made the
    notification, so it is sent once the scheduler drains the outbox even if the process dies first.

    status: pending (waits for next_attempt_at) → sending (claimed and committed before the request) →
    sent | failed (gave up after the attempt limit) | uncertain (the sender died mid-request: the robot
    may or may not have posted it, so it is not sent again by itself; an admin may resend it)."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(sa.String(255), unique=True)
    notification_id: Mapped[int | None] = mapped_column(sa.ForeignKey("notifications.id"), index=True)
    route_id: Mapped[int | None] = mapped_column(sa.ForeignKey("channel_routes.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(sa.String(16))
    target: Mapped[str] = mapped_column(sa.String(255))
    kind: Mapped[str] = mapped_column(sa.String(64))
    text: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime]

    __table_args__ = (sa.Index("ix_outbox_messages_status_next", "status", "next_attempt_at"),)
