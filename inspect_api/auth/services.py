"""Login, token rotation, logout, and account administration. Services flush; callers commit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token, get_jti

from inspect_api.audit import services as audit
from inspect_api.auth.access import forget_sessions
from inspect_api.auth.models import AuthSession, LoginThrottle, User
from inspect_api.auth.passwords import hash_password, verify_password
from inspect_api.auth.rules import (
    Role,
    ThrottlePolicy,
    ThrottleState,
    after_failure,
    password_problems,
    retry_after,
    throttle_keys,
)
from inspect_api.core import clock
from inspect_api.db import db
from inspect_api.errors import (
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    Unprocessable,
)


def throttle_policy() -> ThrottlePolicy:
    cfg = current_app.config
    return ThrottlePolicy(
        slow_after=cfg["INSPECT_LOGIN_SLOW_AFTER"],
        lock_after=cfg["INSPECT_LOGIN_LOCK_AFTER"],
        lock_minutes=cfg["INSPECT_LOGIN_LOCK_MINUTES"],
    )


def address_policy() -> ThrottlePolicy:
    cfg = current_app.config
    return ThrottlePolicy(
        slow_after=cfg["INSPECT_LOGIN_ADDRESS_SLOW_AFTER"],
        lock_after=cfg["INSPECT_LOGIN_ADDRESS_LOCK_AFTER"],
        lock_minutes=cfg["INSPECT_LOGIN_LOCK_MINUTES"],
    )


def _known_address(key: str, address: str | None, now) -> bool:
    """Whether this account logged in successfully from this address lately (its usual device)."""
    if not address:
        return False
    since = now - timedelta(days=current_app.config["INSPECT_LOGIN_KNOWN_ADDRESS_DAYS"])
    return db.session.scalar(
        sa.select(AuthSession.id).join(User, AuthSession.user_id == User.id).where(
            sa.func.lower(User.username) == key, AuthSession.client_address == address,
            AuthSession.created_at >= since).limit(1)) is not None


def _throttle(key: str) -> LoginThrottle | None:
    return db.session.execute(
        sa.select(LoginThrottle).where(LoginThrottle.username == key).with_for_update()
    ).scalar_one_or_none()


def _state(throttle: LoginThrottle | None) -> ThrottleState:
    return ThrottleState(throttle.failures, throttle.last_failed_at, throttle.locked_until) if throttle else ThrottleState()


def _count_failure(key: str, throttle: LoginThrottle | None, now, policy: ThrottlePolicy) -> None:
    new = after_failure(_state(throttle), now, policy)
    if throttle is None:
        throttle = LoginThrottle(username=key)
        db.session.add(throttle)
    throttle.failures, throttle.last_failed_at, throttle.locked_until = (
        new.failures, new.last_failed_at, new.locked_until)


@dataclass
class LoginOutcome:
    tokens: dict | None = None
    error: DomainError | None = None  # raised by the route after the failure count is committed


def _issue_tokens(session: AuthSession, *, rotate: bool = True) -> dict:
    """A new access token and a refresh token: a new one (rotate), or again the current one (its jti)
    for a refresh sent twice within the grace window."""
    user = session.user
    # "clk": the instant of issue on the application's clock (core/clock), against which access.py
    # ages the token on a server running on a chosen clock; the library's "exp" is on the wall clock.
    claims = {"sid": session.id, "role": user.role, "clk": int(clock.now().timestamp())}
    access = create_access_token(identity=str(user.id), additional_claims=claims)
    refresh_claims = {"sid": session.id} if rotate else {"sid": session.id, "jti": session.refresh_jti}
    refresh = create_refresh_token(identity=str(user.id), additional_claims=refresh_claims)
    if rotate:
        session.prev_refresh_jti = session.refresh_jti
        session.refresh_jti = get_jti(refresh)
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": int(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds()),
        "user": user,
    }


def login(username: str, password: str, user_agent: str | None, address: str | None = None) -> LoginOutcome:
    """Check a password, throttled per account and per client address (README: login protection).

    Failures from an address the account has logged in from before count on a key of their own, so
    strangers guessing elsewhere cannot lock the user's own device out; the address key bounds what
    one address may try across all names. Success clears the account's (or device's) count, never
    the address's (one valid account must not reset a guesser's budget).
    """
    key = username.strip().lower()
    now = clock.now()
    account_key, address_key = throttle_keys(key, address, _known_address(key, address, now))
    account = _throttle(account_key)
    by_address = _throttle(address_key) if address_key else None
    waits = [(retry_after(_state(account), now, throttle_policy()), _state(account)),
             (retry_after(_state(by_address), now, address_policy()), _state(by_address))]
    wait, state = max(waits, key=lambda w: w[0])
    if wait:
        locked = state.locked_until is not None and now < state.locked_until
        return LoginOutcome(error=TooManyRequests(
            "登录失败次数过多, 已临时锁定 (locked after repeated failures)" if locked
            else "登录失败次数过多, 请稍后再试 (too many failed attempts, wait)",
            {"retry_after_seconds": wait},
            code="login_locked" if locked else "login_throttled",
            headers={"Retry-After": str(wait)},
        ))
    user = db.session.scalar(sa.select(User).where(sa.func.lower(User.username) == key))
    if not verify_password(user.password_hash if user else None, password):
        _count_failure(account_key, account, now, throttle_policy())
        if address_key:
            _count_failure(address_key, by_address, now, address_policy())
        db.session.flush()
        return LoginOutcome(error=Unauthorized("用户名或密码错误 (wrong user name or password)",
                                               code="invalid_credentials"))
    if account is not None:
        db.session.delete(account)
    if not user.is_active:
        return LoginOutcome(error=Forbidden("账号已停用 (account disabled)", code="account_disabled"))
    session = AuthSession(
        id=str(uuid.uuid4()),
        user=user,
        created_at=now,
        expires_at=now + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"],
        refresh_jti="",
        user_agent=(user_agent or "")[:255] or None,
        client_address=(address or "")[:45] or None,
    )
    db.session.add(session)
    tokens = _issue_tokens(session)
    session.prev_refresh_jti = None
    db.session.flush()
    return LoginOutcome(tokens=tokens)


def refresh(session: AuthSession, jti: str) -> LoginOutcome:
    """Rotate the refresh token. The previous token is still taken until the new one is used, so a
    phone that lost the answer to its last refresh on a bad network is not logged out; any older
    token is a replay and ends the session.

    The previous token sent again within INSPECT_REFRESH_GRACE_SECONDS of its rotation (the phone
    had two refreshes in flight) answers that rotation again, the same refresh token, instead of
    rotating once more: otherwise the first answer's token would be older than the newest and
    using it would end the session."""
    now = clock.now()
    grace = timedelta(seconds=current_app.config["INSPECT_REFRESH_GRACE_SECONDS"])
    if (jti == session.prev_refresh_jti and session.last_refreshed_at is not None
            and now - session.last_refreshed_at <= grace):
        return LoginOutcome(tokens=_issue_tokens(session, rotate=False))
    if jti == session.refresh_jti:
        previous = session.refresh_jti
    elif jti == session.prev_refresh_jti:
        previous = session.prev_refresh_jti
    else:
        session.revoked_at, session.revoked_reason = now, "refresh_reuse"
        db.session.flush()
        forget_sessions(sid=session.id)
        return LoginOutcome(error=Unauthorized("刷新令牌已被使用, 登录已失效 (refresh token reused)",
                                               code="refresh_token_reused"))
    session.expires_at = now + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]
    session.last_refreshed_at = now
    tokens = _issue_tokens(session)
    session.prev_refresh_jti = previous
    db.session.flush()
    return LoginOutcome(tokens=tokens)


def logout(session: AuthSession) -> None:
    if session.revoked_at is None:
        session.revoked_at, session.revoked_reason = clock.now(), "logout"
        db.session.flush()
        forget_sessions(sid=session.id)


def revoke_all_sessions(user: User, reason: str) -> None:
    forget_sessions(user_id=user.id)
    db.session.execute(
        sa.update(AuthSession)
        .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=clock.now(), revoked_reason=reason)
    )


# --- account administration -------------------------------------------------------------------

def user_snapshot(user: User) -> dict:
    return {
        "username": user.username,
        "full_name": user.full_name,
        "role": user.role,
        "unit_id": user.unit_id,
        "phone": user.phone,
        "email": user.email,
        "is_active": user.is_active,
    }


def _check_password(password: str) -> None:
    problems = password_problems(password, production=current_app.config["INSPECT_ENV"] == "production")
    if problems:
        raise Unprocessable("密码不符合要求 (password rejected)", {"fields": {"password": problems}})


def _check_role_unit(role: str, unit_id: int | None) -> None:
    if role == Role.UNIT_LIAISON and unit_id is None:
        raise Unprocessable("联络员必须绑定单位 (a liaison needs a unit)", {"fields": {"unit_id": ["required"]}})
    # The units table by name, as users.unit_id's foreign key names it: org sits above auth (its routes
    # need the roles), so auth never imports org.
    units = db.metadata.tables["units"]
    if unit_id is not None and db.session.scalar(sa.select(units.c.id).where(units.c.id == unit_id)) is None:
        raise Unprocessable("单位不存在 (unknown unit)", {"fields": {"unit_id": ["unknown unit"]}})


def create_user(*, username: str, password: str, full_name: str, role: str, unit_id: int | None = None,
                phone: str | None = None, email: str | None = None, actor=None, check_password: bool = True) -> User:
    if check_password:
        _check_password(password)
    _check_role_unit(role, unit_id)
    if db.session.scalar(sa.select(User.id).where(sa.func.lower(User.username) == username.lower())):
        raise Conflict("用户名已存在 (user name taken)", {"fields": {"username": ["taken"]}}, code="username_taken")
    user = User(username=username, full_name=full_name, role=role, unit_id=unit_id, phone=phone, email=email,
                password_hash=hash_password(password), password_changed_at=clock.now())
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", "user", user.id, actor=actor, after=user_snapshot(user))
    return user


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在 (no such user)")
    return user


def find_user(username: str) -> User:
    user = db.session.scalar(sa.select(User).where(sa.func.lower(User.username) == username.lower()))
    if user is None:
        raise NotFound(f"用户 {username} 不存在 (no such user)")
    return user


def update_user(user: User, changes: dict, actor=None) -> User:
    before = user_snapshot(user)
    role = changes.get("role", user.role)
    unit_id = changes.get("unit_id", user.unit_id)
    _check_role_unit(role, unit_id)
    if actor is not None and user.id == actor.id and (changes.get("is_active") is False or role != user.role):
        raise Conflict("不能停用自己或修改自己的角色 (cannot disable yourself or change your own role)",
                       code="self_lockout")
    for key, value in changes.items():
        setattr(user, key, value)
    forget_sessions(user_id=user.id)  # requests read the account as changed at once
    if before["is_active"] and not user.is_active:
        revoke_all_sessions(user, "disabled")
    if before["role"] != user.role or before["unit_id"] != user.unit_id:
        revoke_all_sessions(user, "role_changed")  # tokens carry the role; make them log in again
    db.session.flush()
    after = user_snapshot(user)
    if after != before:
        audit.record("user.update", "user", user.id, actor=actor, before=before, after=after)
    return user


def set_password(user: User, password: str, actor=None) -> None:
    _check_password(password)
    user.password_hash = hash_password(password)
    user.password_changed_at = clock.now()
    revoke_all_sessions(user, "password_changed")
    db.session.flush()
    audit.record("user.set_password", "user", user.id, actor=actor)


def change_own_password(user: User, old: str, new: str) -> None:
    if not verify_password(user.password_hash, old):
        raise Unprocessable("原密码错误 (old password wrong)", {"fields": {"old_password": ["wrong"]}})
    set_password(user, new, actor=user)


def accounts_with_demo_password(demo_usernames, demo_password: str) -> list[str]:
    users = db.session.scalars(sa.select(User).where(User.username.in_(list(demo_usernames)))).all()
    return [u.username for u in users if verify_password(u.password_hash, demo_password)]
