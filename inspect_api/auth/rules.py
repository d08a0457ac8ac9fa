"""Pure auth rules: roles, login throttling, password policy."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Role(StrEnum):
    INSPECTOR = "inspector"
    OFFICE = "office"
    UNIT_LIAISON = "unit_liaison"
    LEADER = "leader"
    ADMIN = "admin"


ROLE_LABELS = {
    Role.INSPECTOR: "督查员",
    Role.OFFICE: "效能办",
    Role.UNIT_LIAISON: "被检查单位联络员",
    Role.LEADER: "领导",
    Role.ADMIN: "系统管理员",
}

ALL_ROLES = tuple(Role)


@dataclass(frozen=True)
class ThrottlePolicy:
    slow_after: int = 3  # failures before each further attempt must wait
    lock_after: int = 10  # failures that lock the name
    lock_minutes: int = 15
    max_delay_seconds: int = 60


@dataclass(frozen=True)
class ThrottleState:
    failures: int = 0
    last_failed_at: datetime | None = None
    locked_until: datetime | None = None


def retry_after(state: ThrottleState, now: datetime, policy: ThrottlePolicy) -> int:
    """Seconds the caller must still wait before another login attempt (0: may try now)."""
    if state.locked_until is not None and now < state.locked_until:
        return max(1, int((state.locked_until - now).total_seconds() + 0.999))
    if state.failures >= policy.slow_after and state.last_failed_at is not None:
        delay = min(policy.max_delay_seconds, 2 ** (state.failures - policy.slow_after))
        wait = (state.last_failed_at + timedelta(seconds=delay) - now).total_seconds()
        if wait > 0:
            return max(1, int(wait + 0.999))
    return 0


def after_failure(state: ThrottleState, now: datetime, policy: ThrottlePolicy) -> ThrottleState:
    lock_expired = state.locked_until is not None and now >= state.locked_until
    failures = 1 if lock_expired else state.failures + 1
    locked_until = now + timedelta(minutes=policy.lock_minutes) if failures >= policy.lock_after else None
    return ThrottleState(failures=failures, last_failed_at=now, locked_until=locked_until)


def throttle_keys(account: str, address: str | None, known_address: bool) -> tuple[str, str | None]:
    """The login-throttle rows a login attempt is checked against and its failure counts on:
    (the account's own key, the client address's key).

    From an address this account has logged in from before (its usual device), the account is
    counted apart ("D:" + account and address), so strangers' failures elsewhere, which lock the
    plain account key, never lock that device out. Account keys are lower-case, so the upper-case
    prefixes "A:" and "D:" can never be a user name typed at the login form.
    """
    addr_key = f"A:{address}" if address else None
    if known_address and address:
        return "D:" + hashlib.sha256(f"{account}\n{address}".encode()).hexdigest()[:60], addr_key
    return account, addr_key


WEAK_PASSWORDS = frozenset({"inspect-demo", "password", "12345678", "123456789", "admin123", "qwertyui"})


def password_problems(password: str, *, production: bool) -> list[str]:
    problems = []
    if len(password) < 8:
        problems.append("密码至少 8 位 (at least 8 characters)")
    if production and password.lower() in WEAK_PASSWORDS:
        problems.append("密码过于常见 (too common)")
    return problems
