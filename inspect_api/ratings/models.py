"""好差评 tables: ratings and the follow-up a 差评 opens. Neither holds an IP address, a user agent or
a device id. The public page's used form tokens and rate-limit counters are core.models' FormToken and
FormThrottle, shared with the complaint form."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from inspect_api.db import db

RATING_SOURCE = sa.Enum("qr", "import", name="rating_source", native_enum=False, create_constraint=True, length=8)
FOLLOW_UP_STATUS = sa.Enum("open", "closed", name="rating_follow_up_status", native_enum=False,
                           create_constraint=True, length=8)


class Rating(db.Model):
    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    window_no: Mapped[str] = mapped_column(sa.String(16))
    score: Mapped[int] = mapped_column(sa.SmallInteger)
    reasons: Mapped[list] = mapped_column(sa.JSON, default=list)
    comment: Mapped[str | None] = mapped_column(sa.String(500))
    source: Mapped[str] = mapped_column(RATING_SOURCE, default="qr")
    external_id: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    rated_on: Mapped[date] = mapped_column(index=True)

    __table_args__ = (
        sa.CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),
        sa.UniqueConstraint("source", "external_id", name="uq_ratings_source_external_id"),
        sa.Index("ix_ratings_unit_window", "unit_id", "window_no"),
    )


class RatingFollowUp(db.Model):
    """差评整改: the unit answers a bad rating by a deadline in working days (policy file)."""

    __tablename__ = "rating_follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    rating_id: Mapped[int] = mapped_column(sa.ForeignKey("ratings.id", ondelete="CASCADE"), unique=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    working_days: Mapped[int]
    due_on: Mapped[date] = mapped_column(index=True)
    provisional: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(FOLLOW_UP_STATUS, default="open", index=True)
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(sa.Text)
    # Set once by the nightly job when the deadline passed while still open (the office and unit are told).
    flagged_overdue_at: Mapped[datetime | None]
