"""Accounts, login sessions (one per device login; refresh tokens rotate within it), throttling."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inspect_api.db import TimestampMixin, db

ROLE_ENUM = sa.Enum("inspector", "office", "unit_liaison", "leader", "admin", name="user_role",
                    native_enum=False, create_constraint=True, length=32)


class User(TimestampMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(64))
    role: Mapped[str] = mapped_column(ROLE_ENUM)
    # A liaison's unit (required); for inspectors the unit they work in (conflict-of-interest checks).
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    # Optional: notifications are also mailed here when SMTP is configured.
    email: Mapped[str | None] = mapped_column(sa.String(254))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    password_changed_at: Mapped[datetime | None]

    unit = relationship("Unit", lazy="select")


class AuthSession(db.Model):
    """One login on one device. Logout or a reused refresh token revokes it, and with it every token."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    last_refreshed_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]
    refresh_jti: Mapped[str] = mapped_column(sa.String(36))
    # The token this one replaced: still taken until the current one is used (lost answers).
    prev_refresh_jti: Mapped[str | None] = mapped_column(sa.String(36))
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(32))
    user_agent: Mapped[str | None] = mapped_column(sa.String(255))
    # where the login came from: an address the account logged in from is its usual device's
    client_address: Mapped[str | None] = mapped_column(sa.String(45))

    user = relationship(User, lazy="joined", innerjoin=True)


class LoginThrottle(db.Model):
    """Failed logins per key: a user name (existing or not, so throttling reveals no account),
    "A:<address>" per client address, "D:<hash>" per account on its usual address (auth.rules)."""

    __tablename__ = "login_throttle"

    username: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failed_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
