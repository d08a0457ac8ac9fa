"""Who is calling, and may they: the `roles(...)` decorator every endpoint wears.

The decorator both enforces and documents: it records the allowed roles on the view (the
endpoint × role test reads them) and adds them, with 401/403, to the OpenAPI operation.
"""

from __future__ import annotations

import inspect
import threading
import time
from functools import wraps

import sqlalchemy as sa
from flask import current_app, g, request
from flask_jwt_extended import get_jwt, verify_jwt_in_request
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt.exceptions import ExpiredSignatureError, PyJWTError
from sqlalchemy.orm import make_transient_to_detached

from inspect_api.auth.models import AuthSession, User
from inspect_api.auth.rules import ROLE_LABELS, Role
from inspect_api.core import clock
from inspect_api.db import db
from inspect_api.errors import Forbidden, Unauthorized

PUBLIC = "public"

_ERROR_REF = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def _verified_claims(refresh: bool = False) -> dict:
    token = None if refresh else _bearer_token()
    verified = current_app.extensions.setdefault("inspect_verified_tokens", {})  # per app: its own secret
    claims = verified.get(token) if token else None
    if claims is None or claims["exp"] <= clock.wall_timestamp():
        if claims is not None:
            verified.pop(token, None)  # expired: verified again below, and refused
        try:
            verify_jwt_in_request(refresh=refresh)
        except ExpiredSignatureError as exc:
            raise Unauthorized("令牌已过期 (token expired)", code="token_expired") from exc
        except (JWTExtendedException, PyJWTError) as exc:
            raise Unauthorized("未登录或令牌无效 (missing or invalid token)", code="invalid_token") from exc
        claims = get_jwt()
        if token:
            _remember_verified(verified, token, claims)
    if not refresh and _aged_out(claims):
        raise Unauthorized("令牌已过期 (token expired)", code="token_expired")
    return claims


# --- verified access tokens, remembered until they expire ---------------------------------------------
#
# A phone sends the same access token with every request of its 15 minutes. Verifying it (three
# parses of the token, the HMAC, the claims) cost about 0.15 ms a request; the claims of a token that
# passed are remembered, keyed by the whole token, until its own `exp` (on the wall clock, as PyJWT
# checks it). A token is the same bytes or a different key, so nothing is trusted that was not
# verified; the session check, and the age on the application's clock, still run on every request.

_VERIFIED_MAX = 10_000


def _bearer_token() -> str | None:
    """The token of an `Authorization: Bearer <token>` header in its plain form (anything else
    goes to flask-jwt-extended's own parsing)."""
    value = request.headers.get("Authorization", "")
    if not value.startswith("Bearer ") or value.count(" ") != 1 or "," in value:
        return None
    return value[7:] or None


def _remember_verified(verified: dict, token: str, claims: dict) -> None:
    if claims.get("type") != "access" or not isinstance(claims.get("exp"), int | float):
        return
    with _CHECKED_LOCK:
        while len(verified) >= _VERIFIED_MAX:
            verified.pop(next(iter(verified)))  # the oldest
        verified[token] = claims


def _load_session(refresh: bool = False) -> tuple[AuthSession, dict]:
    claims = _verified_claims(refresh)
    sid = claims.get("sid")
    session = db.session.get(AuthSession, sid) if sid else None
    _check_session(session)
    return session, claims


def _check_session(session: AuthSession | None) -> None:
    if session is None or session.revoked_at is not None or session.expires_at <= clock.now():
        raise Unauthorized("登录已失效, 请重新登录 (session ended)", code="session_revoked")
    if not session.user.is_active:
        raise Unauthorized("账号已停用 (account disabled)", code="account_disabled")


# --- the session check, remembered for a few seconds -------------------------------------------------
#
# Every authenticated request checks that its login session is still open (not logged out, not
# revoked by a password change, a disabled account or a role change, not expired). That check is
# remembered per process for INSPECT_SESSION_CHECK_SECONDS (0: every request reads the database).
# Revocations made by this process forget the entries at once (`forget_sessions`); one made by
# another process (the other gunicorn workers, the CLI) takes effect there within that bound. The
# session's own expiry is compared with the clock on every request.

_CHECKED: dict[str, tuple[float, dict, object]] = {}  # sid -> (checked at, user columns, session expires_at)
_CHECKED_LOCK = threading.Lock()


def forget_sessions(*, sid: str | None = None, user_id: int | None = None) -> None:
    """Drop remembered session checks: one session, or every session of a user (also before the
    revoking transaction commits: forgetting too much only costs a query)."""
    with _CHECKED_LOCK:
        if sid is not None:
            _CHECKED.pop(sid, None)
        if user_id is not None:
            for key in [k for k, (_, cols, _) in _CHECKED.items() if cols["id"] == user_id]:
                _CHECKED.pop(key, None)


def _cached_user(sid: str, ttl: float) -> User | None:
    entry = _CHECKED.get(sid)
    if entry is None:
        return None
    checked_at, columns, expires_at = entry
    if time.monotonic() - checked_at > ttl or expires_at <= clock.now():
        forget_sessions(sid=sid)
        return None
    user = User(**columns)
    make_transient_to_detached(user)  # as if just loaded: no pending change, no query
    return db.session.merge(user, load=False)


def _authenticate() -> User:
    claims = _verified_claims()
    sid = claims.get("sid")
    ttl = current_app.config.get("INSPECT_SESSION_CHECK_SECONDS", 0)
    if sid and ttl > 0:
        user = _cached_user(sid, ttl)
        if user is not None:
            g.inspect_session = None  # loaded on demand (current_session)
            return user
    session = db.session.get(AuthSession, sid) if sid else None
    _check_session(session)
    g.inspect_session = session
    if ttl > 0:
        columns = {attr.key: getattr(session.user, attr.key) for attr in User.__mapper__.column_attrs}
        with _CHECKED_LOCK:
            _CHECKED[sid] = (time.monotonic(), columns, session.expires_at)
    return session.user


def _aged_out(claims: dict) -> bool:
    """On a server running on a chosen clock (INSPECT_CLOCK_START: system tests, demos, training), an
    access token older than its lifetime on that clock: a server started again with its clock two
    days on refuses the tokens it gave two days "before". The JWT's own `exp` is on the wall clock,
    and in production (where no clock can be chosen) it alone decides. A refresh token's lifetime is
    its session's `expires_at`, on the application's clock already. (The unit tests swap the clock
    object itself and may reuse a token across simulated days: no INSPECT_CLOCK_START there.)"""
    if not current_app.config.get("INSPECT_CLOCK_START"):
        return False
    issued = claims.get("clk")
    if not isinstance(issued, int | float):
        return False  # issued before the claim existed: the wall-clock `exp` alone decides
    age = clock.now().timestamp() - issued
    return age >= current_app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds()


def current_user() -> User:
    user = getattr(g, "inspect_user", None)
    if user is None:
        user = g.inspect_user = _authenticate()
    return user


def current_session() -> AuthSession:
    """The caller's login session row (read from the database when the check was remembered)."""
    current_user()
    session = g.get("inspect_session")
    if session is None:
        session, _ = _load_session()
        g.inspect_session = session
    return session


def refresh_session() -> tuple[AuthSession, dict]:
    """The session a refresh token belongs to, locked for rotation."""
    session, claims = _load_session(refresh=True)
    db.session.execute(sa.select(AuthSession.id).where(AuthSession.id == session.id).with_for_update())
    db.session.refresh(session)
    if session.revoked_at is not None:
        raise Unauthorized("登录已失效, 请重新登录 (session ended)", code="session_revoked")
    return session, claims


def roles(*allowed: str):
    """Allow only callers with one of `allowed` roles; `roles(PUBLIC)` marks an open endpoint."""
    allowed_set = frozenset(allowed)
    if PUBLIC not in allowed_set:
        unknown = allowed_set - {r.value for r in Role}
        if unknown:
            raise ValueError(f"unknown roles {unknown}")

    def decorator(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            if PUBLIC not in allowed_set:
                user = current_user()
                if user.role not in allowed_set:
                    raise Forbidden("当前角色无权执行此操作 (not allowed for your role)",
                                    details={"role": user.role, "allowed": sorted(allowed_set)})
            return fn(*args, **kwargs)

        wrapper._inspect_roles = allowed_set
        if PUBLIC in allowed_set:
            return wrapper
        labels = "、".join(f"{r} ({ROLE_LABELS[Role(r)]})" for r in sorted(allowed_set))
        apidoc = getattr(wrapper, "_apidoc", {})
        manual = apidoc.setdefault("manual_doc", {})
        manual["security"] = [{"bearerAuth": []}]
        manual["x-roles"] = sorted(allowed_set)
        # dedented, or the body lines of a docstring would render as a Markdown code block
        doc_lines = inspect.cleandoc(fn.__doc__ or "").split("\n", 1)
        rest = doc_lines[1].strip() if len(doc_lines) > 1 else ""
        manual["description"] = (rest + f"\n\n**Roles:** {labels}").strip()
        responses = manual.setdefault("responses", {})
        responses["401"] = {"description": "未登录或令牌无效", "content": _ERROR_REF}
        responses["403"] = {"description": "角色无权访问", "content": _ERROR_REF}
        wrapper._apidoc = apidoc
        return wrapper

    return decorator


PUBLIC_ENDPOINT_PREFIXES = ("api-docs.", "docs-assets.", "static")


def declared_roles(view_func, method: str) -> frozenset | None:
    view_class = getattr(view_func, "view_class", None)
    handler = getattr(view_class, method.lower(), None) if view_class else view_func
    if handler is None and method == "HEAD" and view_class is not None:
        handler = getattr(view_class, "get", None)
    return getattr(handler, "_inspect_roles", None)


def enforce_declared_roles(app) -> None:
    """Check the caller before any argument parsing, so a refused caller gets 401/403, never a 422
    that would describe the endpoint. An endpoint that declares no roles is closed (secure default)."""
    from flask import request

    endpoint = request.endpoint
    if endpoint is None or request.method == "OPTIONS" or endpoint.startswith(PUBLIC_ENDPOINT_PREFIXES):
        return
    allowed = declared_roles(app.view_functions[endpoint], request.method)
    if allowed is None:
        raise Forbidden("该接口未声明允许的角色 (endpoint declares no roles)", code="no_roles_declared")
    if PUBLIC in allowed:
        return
    user = current_user()
    if user.role not in allowed:
        raise Forbidden("当前角色无权执行此操作 (not allowed for your role)",
                        details={"role": user.role, "allowed": sorted(allowed)})
