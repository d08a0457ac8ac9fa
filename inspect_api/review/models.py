"""The unit's side of a confirmed finding: the rectification it asks for (with its deadline in working
days), appeals (申辩) against it, rectification reports, and the files attached to those."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from inspect_api.db import db

RECTIFICATION_STATUS = sa.Enum("open", "reported", "accepted", "overdue", "cancelled", name="rectification_status",
                               native_enum=False, create_constraint=True, length=16)
APPEAL_STATUS = sa.Enum("pending", "upheld", "rejected", name="appeal_status", native_enum=False,
                        create_constraint=True, length=16)
REPORT_STATUS = sa.Enum("submitted", "accepted", "returned", name="report_status", native_enum=False,
                        create_constraint=True, length=16)
ATTACHMENT_OWNER = sa.Enum("appeal", "report", name="attachment_owner", native_enum=False,
                           create_constraint=True, length=16)


class Rectification(db.Model):
    __tablename__ = "rectifications"

    finding_id: Mapped[str] = mapped_column(sa.ForeignKey("findings.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    # Working days the policy gave when the finding was confirmed (kept, so a later policy change or a
    # holiday table import recomputes the same count, never a new one).
    working_days: Mapped[int | None]
    due_on: Mapped[date] = mapped_column(index=True)
    # True when the count crossed a year with no loaded calendar (Monday–Friday assumed).
    provisional: Mapped[bool] = mapped_column(default=False)
    appeal_days: Mapped[int | None]
    appeal_due_on: Mapped[date | None]
    appeal_provisional: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    status: Mapped[str] = mapped_column(RECTIFICATION_STATUS, default="open", index=True)
    set_at: Mapped[datetime]
    flagged_overdue_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class Appeal(db.Model):
    """申辩: the unit disputes a confirmed finding within the policy window; the office upholds it
    (the finding is withdrawn) or rejects it, with reasons."""

    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[str] = mapped_column(sa.ForeignKey("findings.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(APPEAL_STATUS, default="pending", index=True)
    filed_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    filed_at: Mapped[datetime]
    decided_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(sa.Text)


class RectificationReport(db.Model):
    """整改报告: what the unit did about a confirmed finding; the office accepts it or returns it."""

    __tablename__ = "rectification_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[str] = mapped_column(sa.ForeignKey("findings.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(REPORT_STATUS, default="submitted", index=True)
    submitted_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    submitted_at: Mapped[datetime]
    decided_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(sa.Text)


class Attachment(db.Model):
    """A file the unit attached to an appeal or a report (photo or PDF), kept byte for byte."""

    __tablename__ = "attachments"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    owner_type: Mapped[str] = mapped_column(ATTACHMENT_OWNER)
    owner_id: Mapped[int]
    position: Mapped[int] = mapped_column(default=0)  # the order the files were sent in
    sha256: Mapped[str] = mapped_column(sa.String(64))
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    media_type: Mapped[str] = mapped_column(sa.String(64))
    filename: Mapped[str | None] = mapped_column(sa.String(255))
    storage_key: Mapped[str] = mapped_column(sa.String(255))
    uploaded_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at: Mapped[datetime]

    __table_args__ = (sa.Index("ix_attachments_owner", "owner_type", "owner_id"),)


# The files of an appeal and of a report, in the order sent (an attachment names its owner by type and
# id, so there is no foreign key to follow).
def _files_of(owner_type: str, owner):
    return relationship(Attachment, viewonly=True, order_by=(Attachment.uploaded_at, Attachment.position),
                        primaryjoin=sa.and_(Attachment.owner_type == owner_type, foreign(Attachment.owner_id) == owner.id))


Appeal.attachments = _files_of("appeal", Appeal)
RectificationReport.attachments = _files_of("report", RectificationReport)
