"""督查督办: supervised matters (leader-assigned, meeting decisions, key work), the units that do them, their
reports (progress and result, with attached files), and requests to extend."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inspect_api.db import TimestampMixin, db

MATTER_KIND = sa.Enum("leader_assigned", "meeting_decision", "key_work", name="matter_kind", native_enum=False,
                      create_constraint=True, length=20)
MATTER_LEVEL = sa.Enum("urgent", "important", "ordinary", name="matter_level", native_enum=False,
                       create_constraint=True, length=16)
MATTER_STATUS = sa.Enum("open", "result_reported", "closed", name="matter_status", native_enum=False,
                        create_constraint=True, length=16)
MATTER_VERDICT = sa.Enum("done", "done_late", "unfinished", name="matter_verdict", native_enum=False,
                         create_constraint=True, length=16)
DAY_HALF = sa.Enum("am", "pm", name="matter_day_half", native_enum=False, create_constraint=True, length=2)
EXTENSION_STATUS = sa.Enum("pending", "approved", "refused", name="matter_extension_status", native_enum=False,
                           create_constraint=True, length=16)
REPORT_KIND = sa.Enum("progress", "result", name="matter_report_kind", native_enum=False, create_constraint=True,
                      length=16)


class SupervisedMatter(TimestampMixin, db.Model):
    __tablename__ = "supervised_matters"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(MATTER_KIND, index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    # The source: the leader's instruction (批示), the meeting's decision, or the year's target.
    content: Mapped[str] = mapped_column(sa.Text)
    meeting_kind: Mapped[str | None] = mapped_column(sa.String(16))
    meeting_name: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    meeting_on: Mapped[date | None]
    target_year: Mapped[int | None]
    # Who assigned it: a name and title, not necessarily a user; principal (主要领导) matters get their
    # own bulletin from the supervision office (一事一通报).
    leader_name: Mapped[str | None] = mapped_column(sa.String(64))
    leader_title: Mapped[str | None] = mapped_column(sa.String(64))
    principal_leader: Mapped[bool] = mapped_column(default=False)
    lead_unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    lead_duty: Mapped[str | None] = mapped_column(sa.Text)
    # The time limit: a level counted in working days from `assigned_at` (half days for 急件), or a date
    # set outright (a meeting's own deadline, key work), or none.
    level: Mapped[str | None] = mapped_column(MATTER_LEVEL)
    working_days: Mapped[Decimal | None] = mapped_column(sa.Numeric(5, 1))
    statutory_days: Mapped[int | None]
    assigned_at: Mapped[datetime]
    due_on: Mapped[date | None] = mapped_column(index=True)
    due_ends_at: Mapped[str] = mapped_column(DAY_HALF, default="pm")
    original_due_on: Mapped[date | None]
    provisional: Mapped[bool] = mapped_column(default=False)  # crossed a year with no loaded calendar
    status: Mapped[str] = mapped_column(MATTER_STATUS, default="open", index=True)
    overdue: Mapped[bool] = mapped_column(default=False)
    flagged_overdue_at: Mapped[datetime | None]
    reminded_for: Mapped[date | None]  # the due day the last reminder was about (once per day it is due)
    result_at: Mapped[datetime | None]
    verdict: Mapped[str | None] = mapped_column(MATTER_VERDICT)
    verdict_note: Mapped[str | None] = mapped_column(sa.Text)
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    __table_args__ = (sa.Index("ix_supervised_matters_status_due", "status", "due_on"),)


class MatterUnit(db.Model):
    """A co-unit (协办单位) of a matter with its duty; the lead unit is on the matter itself."""

    __tablename__ = "matter_units"

    matter_id: Mapped[int] = mapped_column(sa.ForeignKey("supervised_matters.id", ondelete="CASCADE"),
                                           primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), primary_key=True, index=True)
    duty: Mapped[str | None] = mapped_column(sa.Text)


class MatterReport(db.Model):
    """A unit's progress report (进展情况) or result (办理结果) on a matter."""

    __tablename__ = "matter_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    matter_id: Mapped[int] = mapped_column(sa.ForeignKey("supervised_matters.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    kind: Mapped[str] = mapped_column(REPORT_KIND)
    text: Mapped[str] = mapped_column(sa.Text)
    submitted_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    submitted_at: Mapped[datetime]


class MatterAttachment(db.Model):
    """A file attached to a report (photo or PDF), kept byte for byte like appeal attachments."""

    __tablename__ = "matter_attachments"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("matter_reports.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    media_type: Mapped[str] = mapped_column(sa.String(64))
    filename: Mapped[str | None] = mapped_column(sa.String(255))
    storage_key: Mapped[str] = mapped_column(sa.String(255))
    uploaded_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at: Mapped[datetime]


class MatterExtension(db.Model):
    """A unit's request to extend (延期申请), with its written reason, decided by the office."""

    __tablename__ = "matter_extensions"

    id: Mapped[int] = mapped_column(primary_key=True)
    matter_id: Mapped[int] = mapped_column(sa.ForeignKey("supervised_matters.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    reason: Mapped[str] = mapped_column(sa.Text)
    current_due_on: Mapped[date | None]
    new_due_on: Mapped[date]
    status: Mapped[str] = mapped_column(EXTENSION_STATUS, default="pending", index=True)
    requested_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[datetime]
    decided_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(sa.Text)


# A matter's co-units, and a report's files, in the order they are shown.
SupervisedMatter.co_units = relationship(MatterUnit, viewonly=True, order_by=MatterUnit.unit_id)
MatterReport.attachments = relationship(MatterAttachment, viewonly=True,
                                        order_by=(MatterAttachment.uploaded_at, MatterAttachment.position))
