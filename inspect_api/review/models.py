"""The rectification a confirmed finding asks of its unit, with its deadline in working days."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from inspect_api.db import db

RECTIFICATION_STATUS = sa.Enum("open", "overdue", "cancelled", name="rectification_status", native_enum=False,
                               create_constraint=True, length=16)


class Rectification(db.Model):
    __tablename__ = "rectifications"

    finding_id: Mapped[str] = mapped_column(sa.ForeignKey("findings.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    due_on: Mapped[date] = mapped_column(index=True)
    # True when the count crossed a year with no loaded calendar (Monday–Friday assumed).
    provisional: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(RECTIFICATION_STATUS, default="open", index=True)
    set_at: Mapped[datetime]
    flagged_overdue_at: Mapped[datetime | None]
