"""投诉举报: one row per complaint, from receipt to its conclusion.

Nothing here identifies a complainant beyond the contact they chose to leave (no IP address, user agent
or device id); the secret query code is kept only as an HMAC. The public form's used tokens and rate
limits live in the public forms' tables (`rating_tokens`, `rating_throttle`: core.models FormToken and
FormThrottle, through core/public_form.py), which hold hashes only."""

from __future__ import annotations

from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inspect_api.db import TimestampMixin, db

COMPLAINT_CHANNEL = sa.Enum("web", "hotline", "letter", "in_person", name="complaint_channel", native_enum=False,
                            create_constraint=True, length=16)
COMPLAINT_STATUS = sa.Enum("received", "assigned", "investigating", "investigated", "answered", "closed",
                           name="complaint_status", native_enum=False, create_constraint=True, length=16)
COMPLAINT_LEVEL = sa.Enum("citizen_routine", "citizen_heavy", "citizen_multi_department", name="complaint_level",
                          native_enum=False, create_constraint=True, length=32)
COMPLAINT_OUTCOME = sa.Enum("substantiated", "unsubstantiated", name="complaint_outcome", native_enum=False,
                            create_constraint=True, length=16)
ANSWER_CHANNEL = sa.Enum("phone", "sms", "email", "letter", "in_person", "online", name="complaint_answer_channel",
                         native_enum=False, create_constraint=True, length=16)


class Complaint(TimestampMixin, db.Model):
    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    # TS2026-000042: what the complainant quotes; with the query code it opens the public status page.
    tracking_no: Mapped[str] = mapped_column(sa.String(20), unique=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    channel: Mapped[str] = mapped_column(COMPLAINT_CHANNEL)
    # What the complaint is about.
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    window_no: Mapped[str | None] = mapped_column(sa.String(16))
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    category: Mapped[str | None] = mapped_column(sa.String(32))
    content: Mapped[str] = mapped_column(sa.Text)
    occurred_on: Mapped[date | None]  # when it happened, as the complainant says (local day and time)
    occurred_time: Mapped[time | None]
    # The complainant, only as far as they chose to say (office only; never shown to the unit).
    contact_name: Mapped[str | None] = mapped_column(sa.String(32))
    contact_phone: Mapped[str | None] = mapped_column(sa.String(20))
    contact_email: Mapped[str | None] = mapped_column(sa.String(128))
    status: Mapped[str] = mapped_column(COMPLAINT_STATUS, default="received", index=True)
    # The time limit (seed 003 第五篇 三(四)), in working days from the day received.
    level: Mapped[str] = mapped_column(COMPLAINT_LEVEL, default="citizen_routine")
    working_days: Mapped[int]
    received_on: Mapped[date]
    due_on: Mapped[date] = mapped_column(index=True)
    provisional: Mapped[bool] = mapped_column(default=False)  # crossed a year with no loaded calendar
    overdue: Mapped[bool] = mapped_column(default=False)
    flagged_overdue_at: Mapped[datetime | None]
    received_at: Mapped[datetime]
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))  # the office user (hotline)
    # Handling.
    handler_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    assigned_at: Mapped[datetime | None]
    forwarded_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    forwarded_at: Mapped[datetime | None]
    forward_note: Mapped[str | None] = mapped_column(sa.Text)
    # What the unit is shown instead of `content` when the office took out personal details.
    unit_content: Mapped[str | None] = mapped_column(sa.Text)
    unit_report: Mapped[str | None] = mapped_column(sa.Text)
    unit_reported_at: Mapped[datetime | None]
    unit_reported_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    investigation_note: Mapped[str | None] = mapped_column(sa.Text)
    investigated_at: Mapped[datetime | None]
    investigated_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    answer_text: Mapped[str | None] = mapped_column(sa.Text)
    answer_channel: Mapped[str | None] = mapped_column(ANSWER_CHANNEL)
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    outcome: Mapped[str | None] = mapped_column(COMPLAINT_OUTCOME)
    outcome_reason: Mapped[str | None] = mapped_column(sa.Text)
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    __table_args__ = (sa.Index("ix_complaints_outcome_closed_at", "outcome", "closed_at"),)

    # The confirmed finding a substantiated complaint became (findings.complaint_id), if any.
    finding = relationship("Finding", viewonly=True, uselist=False)

    @property
    def has_contact(self) -> bool:
        return bool(self.contact_phone or self.contact_email)
