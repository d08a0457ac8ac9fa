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
