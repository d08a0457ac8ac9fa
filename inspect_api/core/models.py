"""Named counters (gap-free, one row per name) and the imported holiday table."""

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
