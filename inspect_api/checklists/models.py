"""Published checklist versions. A (code, version) is immutable once published: its hash is kept."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from inspect_api.db import db


class ChecklistVersion(db.Model):
    __tablename__ = "checklist_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(255))
    kind: Mapped[str] = mapped_column(sa.String(32))  # "inspection" | "mystery_shopper"
    # The validated template as canonical JSON text; content_hash is the SHA-256 of exactly this text.
    content: Mapped[str] = mapped_column(sa.Text)
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    source_file: Mapped[str | None] = mapped_column(sa.String(255))
    published_at: Mapped[datetime]
    is_current: Mapped[bool] = mapped_column(default=True)  # the newest version of its code

    __table_args__ = (sa.UniqueConstraint("code", "version", name="uq_checklist_versions_code_version"),)
