"""Visits, their team, checklist responses, findings and photo evidence.

Ids of visits, manual findings and responses come from the phone (UUIDs), so a resend names the
same rows; findings the server derives get deterministic UUIDs for the same reason.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inspect_api.db import TimestampMixin, db

VISIT_MODE = sa.Enum("covert", "overt", "mystery_shopper", name="visit_mode", native_enum=False,
                     create_constraint=True, length=16)
VISIT_STATUS = sa.Enum("draft", "submitted", name="visit_status", native_enum=False, create_constraint=True,
                       length=16)
SEVERITY = sa.Enum("minor", "serious", "severe", name="severity", native_enum=False, create_constraint=True,
                   length=16)
DERIVATIVES_STATUS = sa.Enum("pending", "ready", "failed", name="derivatives_status", native_enum=False,
                             create_constraint=True, length=16)
FINDING_SOURCE = sa.Enum("item", "manual", "badge", "shopper", "complaint", name="finding_source", native_enum=False,
                         create_constraint=True, length=16)


class VisitInspector(db.Model):
    __tablename__ = "visit_inspectors"

    visit_id: Mapped[str] = mapped_column(sa.ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True, index=True)


class Visit(TimestampMixin, db.Model):
    __tablename__ = "visits"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    # Human-readable number for documents and watermarks, e.g. V2026-000042.
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    status: Mapped[str] = mapped_column(VISIT_STATUS, default="draft", index=True)
    mode: Mapped[str] = mapped_column(VISIT_MODE)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    window_no: Mapped[str | None] = mapped_column(sa.String(16))
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    checklist_code: Mapped[str] = mapped_column(sa.String(64))
    checklist_version: Mapped[int]
    checklist_hash: Mapped[str] = mapped_column(sa.String(64))
    # the sampling assignment it fulfils; one visit per assignment (sampling_assignments.visit_id is
    # the claim; sampling keeps the two in step, answering core.events.visit_assignment_changed)
    assignment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sampling_assignments.id"), unique=True)
    allow_single_inspector: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    device_time: Mapped[datetime | None]  # the phone's clock when it sent the visit
    received_at: Mapped[datetime]  # the server's clock then
    clock_skew_seconds: Mapped[int | None]
    gps_lat: Mapped[float | None]
    gps_lng: Mapped[float | None]
    gps_accuracy_m: Mapped[float | None]
    notes: Mapped[str | None] = mapped_column(sa.Text)
    version: Mapped[int] = mapped_column(default=1)
    # SHA-256 of the content last written, so an identical resend is recognised and answered as is.
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    submitted_at: Mapped[datetime | None]
    submitted_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    inspectors = relationship(VisitInspector, cascade="all, delete-orphan", lazy="selectin")
    responses = relationship("Response", cascade="all, delete-orphan", lazy="selectin",
                             order_by="Response.item_code")
    findings = relationship("Finding", cascade="all, delete-orphan", lazy="selectin",
                            order_by="Finding.created_at, Finding.id")
    evidence = relationship("Evidence", lazy="selectin", order_by="Evidence.uploaded_at, Evidence.id")

    # Statistics and bulletins count visits by when they were submitted (PostgreSQL reads it index-only).
    __table_args__ = (sa.Index("ix_visits_submitted_at", "submitted_at",
                               postgresql_include=["id", "unit_id", "mode"]),)

    @property
    def team(self) -> list[int]:
        return sorted(i.user_id for i in self.inspectors)


class Response(db.Model):
    __tablename__ = "visit_responses"

    visit_id: Mapped[str] = mapped_column(sa.ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True)
    item_code: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    answer: Mapped[object | None] = mapped_column(sa.JSON)
    note: Mapped[str | None] = mapped_column(sa.Text)
    answered_at: Mapped[datetime | None]
    failed: Mapped[bool] = mapped_column(default=False)


class Finding(TimestampMixin, db.Model):
    __tablename__ = "findings"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    # Where the finding comes from: a visit, or a substantiated complaint (投诉查实), never both.
    visit_id: Mapped[str | None] = mapped_column(sa.ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    complaint_id: Mapped[int | None] = mapped_column(sa.ForeignKey("complaints.id"), index=True)
    source: Mapped[str] = mapped_column(FINDING_SOURCE)
    item_code: Mapped[str | None] = mapped_column(sa.String(32))
    category: Mapped[str] = mapped_column(sa.String(32), index=True)
    severity: Mapped[str] = mapped_column(SEVERITY)
    points: Mapped[int] = mapped_column(default=0)
    # Denormalised from the visit so per-unit queries need no join.
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"), index=True)
    badge_no: Mapped[str | None] = mapped_column(sa.String(32))
    window_no: Mapped[str | None] = mapped_column(sa.String(16))
    position: Mapped[str | None] = mapped_column(sa.String(64))
    observed_at: Mapped[datetime | None]
    description: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16), default="draft", index=True)

    __table_args__ = (sa.CheckConstraint("(visit_id IS NULL) <> (complaint_id IS NULL)", name="finding_origin"),)


class Evidence(db.Model):
    """A photo, kept byte for byte under its SHA-256; derived copies are separate files.

    A visit's photos are only ever added, never removed or moved to another finding: a submit checks
    them before its write lock and relies on that (`visits.services.submit_visit`). Anything that
    removes one must move the visit's version on.
    """

    __tablename__ = "evidence"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    visit_id: Mapped[str] = mapped_column(sa.ForeignKey("visits.id"), index=True)
    finding_id: Mapped[str | None] = mapped_column(sa.String(36), index=True)
    item_code: Mapped[str | None] = mapped_column(sa.String(32))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    media_type: Mapped[str] = mapped_column(sa.String(32))
    width: Mapped[int]
    height: Mapped[int]
    original_key: Mapped[str] = mapped_column(sa.String(255))
    display_key: Mapped[str] = mapped_column(sa.String(255))
    thumbnail_key: Mapped[str] = mapped_column(sa.String(255))
    watermarked_key: Mapped[str] = mapped_column(sa.String(255))
    captured_at: Mapped[datetime | None]  # from EXIF
    gps_lat: Mapped[float | None]
    gps_lng: Mapped[float | None]
    original_filename: Mapped[str | None] = mapped_column(sa.String(255))
    uploaded_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at: Mapped[datetime]
    # The display copy, thumbnail and watermarked copy are made by the media worker after the upload
    # answered (inspect_api/visits/media.py): pending -> ready, or failed after MAX_ATTEMPTS tries.
    derivatives: Mapped[str] = mapped_column(DERIVATIVES_STATUS, default="pending", server_default="ready")
    derivatives_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    # when a worker took the job (a lease: a worker that died is replaced once it runs out)
    derivatives_claimed_at: Mapped[datetime | None]
    derivatives_error: Mapped[str | None] = mapped_column(sa.String(500))

    __table_args__ = (sa.UniqueConstraint("visit_id", "sha256", name="uq_evidence_visit_sha256"),
                      sa.Index("ix_evidence_derivatives_queue", "derivatives", "uploaded_at"),
                      sa.Index("ix_evidence_sha256", "sha256"))  # a photo's files are named after it
