"""Named counters (gap-free, one row per name), the imported holiday table, and the public forms'
used tokens and rate-limit counters (core/public_form.py)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from inspect_api.db import db


class Counter(db.Model):
    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), default=0)


class HolidayDay(db.Model):
    """One day of an imported holiday table (a year the calendar library does not know yet)."""

    __tablename__ = "holiday_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))  # "holiday" 放假 | "workday" 调休上班
    name: Mapped[str | None] = mapped_column(sa.String(64))
    source: Mapped[str] = mapped_column(sa.String(255))
    imported_at: Mapped[datetime]
    imported_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class FormToken(db.Model):
    """A public form's token that was used (replay protection): only its hash, kept until it would
    expire. The table keeps the name it had when only the rating page used it."""

    __tablename__ = "rating_tokens"

    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class FormThrottle(db.Model):
    """Accepted public submissions (or failed lookups) per rate-limit bucket; the key is an HMAC of
    (kind, device or window, period), never the device cookie itself."""

    __tablename__ = "rating_throttle"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[datetime] = mapped_column(index=True)
