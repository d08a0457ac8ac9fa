"""Accountability (问责): the escalation policy's versions, the proposals its rules make, and referral
cases from proposal (or the office's own motion) to a recorded outcome."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from inspect_api.db import TimestampMixin, db

PROPOSAL_STATUS = sa.Enum("open", "accepted", "dismissed", name="proposal_status", native_enum=False,
                          create_constraint=True, length=16)
CASE_STATUS = sa.Enum("open", "approved", "sent", "decided", "closed", name="case_status", native_enum=False,
                      create_constraint=True, length=16)
SUBJECT_TYPE = sa.Enum("staff", "unit", name="subject_type", native_enum=False, create_constraint=True, length=8)


class EscalationPolicyVersion(db.Model):
    """Each version the admin saved (the file in checklists/policy is version 1 when the table is empty).
    The newest is in force; proposals keep the version they were made under."""

    __tablename__ = "escalation_policies"

    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    text: Mapped[str] = mapped_column(sa.Text)
    saved_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    saved_at: Mapped[datetime]


class Proposal(db.Model):
    __tablename__ = "accountability_proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[str] = mapped_column(sa.String(64))
    policy_version: Mapped[int]
    subject_type: Mapped[str] = mapped_column(SUBJECT_TYPE)
    subject_id: Mapped[int] = mapped_column(index=True)
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(32))
    fact_ids: Mapped[list] = mapped_column(sa.JSON)
    reason: Mapped[str] = mapped_column(sa.Text)
    # the same rule on the same facts proposes once
    dedupe_key: Mapped[str] = mapped_column(sa.String(128), unique=True)
    status: Mapped[str] = mapped_column(PROPOSAL_STATUS, default="open", index=True)
    created_at: Mapped[datetime]
    decided_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(sa.Text)
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("referral_cases.id"))


class ReferralCase(TimestampMixin, db.Model):
    __tablename__ = "referral_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_type: Mapped[str] = mapped_column(SUBJECT_TYPE)
    subject_id: Mapped[int] = mapped_column(index=True)
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    summary: Mapped[str] = mapped_column(sa.Text)
    finding_ids: Mapped[list] = mapped_column(sa.JSON)
    status: Mapped[str] = mapped_column(CASE_STATUS, default="open", index=True)
    opened_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    approved_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    document_id: Mapped[int | None] = mapped_column(sa.ForeignKey("documents.id"))
    sent_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    outcome_note: Mapped[str | None] = mapped_column(sa.Text)
    outcome_on: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
