"""Documents the office issues: draft → approved → issued, the number allocated at issue, the PDF frozen.

A render job is a row: the API queues it (202) and `inspect-api documents worker` renders it in a
child process, so a 300-finding bulletin never sits in a web worker's memory.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from inspect_api.db import TimestampMixin, db

DOCUMENT_KIND = sa.Enum("criticism", "bulletin", "rectification", "commendation", "referral", "matter_bulletin",
                        "meeting_bulletin", "keywork_summary", name="document_kind",
                        native_enum=False, create_constraint=True, length=16)
DOCUMENT_STATUS = sa.Enum("draft", "approved", "issuing", "issued", name="document_status", native_enum=False,
                          create_constraint=True, length=16)
RENDER_STATUS = sa.Enum("queued", "rendering", "done", "failed", name="render_status", native_enum=False,
                        create_constraint=True, length=16)


class Document(TimestampMixin, db.Model):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(DOCUMENT_KIND, index=True)
    status: Mapped[str] = mapped_column(DOCUMENT_STATUS, default="draft", index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    # What the document is about (finding ids, unit, period, entries) and its editable wording.
    selection: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    wording: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    version: Mapped[int] = mapped_column(default=1)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))  # None: drafted by the scheduler
    approved_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    issued_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    issued_at: Mapped[datetime | None]
    # The number: 代字〔year〕sequence号, allocated at issue, per issuer code and year, without gaps.
    issuer_short: Mapped[str | None] = mapped_column(sa.String(16))
    number_year: Mapped[int | None]
    number_seq: Mapped[int | None]
    number: Mapped[str | None] = mapped_column(sa.String(40), unique=True)
    # The issued PDF, frozen: never rendered again.
    pdf_key: Mapped[str | None] = mapped_column(sa.String(255))
    pdf_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    pdf_size: Mapped[int | None] = mapped_column(sa.BigInteger)
    page_count: Mapped[int | None]
    # The issued context, as rendered (what the document says, for the record and the exports).
    issued_context: Mapped[dict | None] = mapped_column(sa.JSON)

    __table_args__ = (sa.UniqueConstraint("issuer_short", "number_year", "number_seq",
                                          name="uq_documents_number_seq"),)


class DocumentUnit(db.Model):
    """A unit a document names: its liaisons see the document once it is issued."""

    __tablename__ = "document_units"

    document_id: Mapped[int] = mapped_column(sa.ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), primary_key=True, index=True)


class RenderJob(db.Model):
    __tablename__ = "render_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(sa.ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    # preview: a draft's watermarked PDF (re-renderable); final: the issued record (once).
    purpose: Mapped[str] = mapped_column(sa.String(16))
    document_version: Mapped[int]
    status: Mapped[str] = mapped_column(RENDER_STATUS, default="queued", index=True)
    requested_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.Text)
    pdf_key: Mapped[str | None] = mapped_column(sa.String(255))
    pdf_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    page_count: Mapped[int | None]
    seconds: Mapped[float | None]
    peak_rss_mb: Mapped[float | None]
