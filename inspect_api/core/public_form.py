"""The handling every public form shares (the rating page, the complaint form and its status page):
the one-time form token and its replay check, the honeypot, the per-device and global rate limits
answered with 429 and Retry-After, and the device cookie those limits count by.

Nothing here reads an IP address or a user agent; the device cookie is a random value of which the
server keeps only HMACs, in the expiring throttle table. The caller commits (a refusal rolls back, so
only accepted submissions are counted)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, request
from sqlalchemy.dialects import postgresql, sqlite

from inspect_api.core import clock, form_tokens
from inspect_api.core.models import FormThrottle, FormToken
from inspect_api.db import db
from inspect_api.errors import Conflict, TooManyRequests, Unprocessable

DEVICE_COOKIE_DAYS = 365


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


def _insert(table):
    return (postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)


def new_token(form_key: str) -> str:
    """A one-time token for a form bound to `form_key` (one window's page, the general page, …)."""
    return form_tokens.make_token(_secret(), form_key, int(clock.now().timestamp()))


def check_token(form_key: str, token, now: datetime, *, minutes: int, min_fill_seconds: int,
                messages: Mapping[str, str] = form_tokens.TOKEN_MESSAGES) -> int:
    """The token's issue time, or 422 (forged, another form's, expired, sent too quickly)."""
    return form_tokens.check_token(_secret(), form_key, token, int(now.timestamp()), minutes * 60,
                                   min_fill_seconds, messages)


def check_honeypot(value) -> None:
    """The hidden field a person never fills: a filled one is a script's post, refused as invalid."""
    if value:
        raise Unprocessable("提交被拒绝 (rejected as spam)", {"fields": {"website": ["须为空"]}}, code="spam")


def use_token(token: str, issued: int, minutes: int, now: datetime, message: str) -> None:
    """Spend a one-time form token: 409 `replayed` when it was used before. Only its hash is kept, until
    it would have expired anyway; expired tokens and rate-limit buckets are purged on the way."""
    table = FormToken.__table__
    db.session.execute(sa.delete(table).where(table.c.expires_at < now))
    db.session.execute(sa.delete(FormThrottle.__table__).where(FormThrottle.__table__.c.expires_at < now))
    fresh = db.session.execute(
        _insert(table).values(token_hash=form_tokens.token_hash(token),
                              expires_at=datetime.fromtimestamp(issued, now.tzinfo)
                              + timedelta(minutes=minutes, seconds=60))
        .on_conflict_do_nothing(index_elements=["token_hash"]).returning(table.c.token_hash)).scalar_one_or_none()
    if fresh is None:
        raise Conflict(message, code="replayed")


def _too_many(message: str, kind: str, bucket: int, period_s: int, epoch: int) -> TooManyRequests:
    retry = (bucket + 1) * period_s - epoch
    return TooManyRequests(message, {"retry_after": retry, "limit": kind}, headers={"Retry-After": str(max(retry, 1))})


def throttle(kind: str, value: str, period_s: int, limit: int, now: datetime, message: str) -> str:
    """Count one more in the bucket of (`kind`, `value`) for this period; 429 with Retry-After when it
    already held `limit`."""
    epoch = int(now.timestamp())
    bucket = epoch // period_s
    key = form_tokens.throttle_key(_secret(), kind, value, bucket)
    table = FormThrottle.__table__
    count = db.session.execute(
        _insert(table).values(key=key, count=1, expires_at=now + timedelta(seconds=period_s))
        .on_conflict_do_update(index_elements=["key"], set_={"count": table.c.count + 1})
        .returning(table.c.count)).scalar_one()
    if count > limit:
        raise _too_many(message, kind, bucket, period_s, epoch)
    return key


def refuse_if_spent(kind: str, value: str, period_s: int, limit: int, now: datetime, message: str) -> None:
    """429 while the bucket is full, without counting (checked before a guess is judged, so a guesser
    who ignored the 429s would not still learn the answer from a 200)."""
    epoch = int(now.timestamp())
    bucket = epoch // period_s
    key = form_tokens.throttle_key(_secret(), kind, value, bucket)
    count = db.session.scalar(sa.select(FormThrottle.count).where(FormThrottle.key == key,
                                                                  FormThrottle.expires_at > now))
    if count is not None and count >= limit:
        raise _too_many(message, kind, bucket, period_s, epoch)


def device(cookie: str) -> str | None:
    """The device cookie's value sent with this request (None on a first visit)."""
    return request.cookies.get(cookie)


def with_device_cookie(resp, cookie: str, present: str | None):
    """Give a browser without one its device cookie: a random value that only tells its submissions
    apart for the rate limits."""
    if not present:
        resp.set_cookie(cookie, secrets.token_urlsafe(16), max_age=DEVICE_COOKIE_DAYS * 86400,
                        httponly=True, samesite="Lax", secure=request.is_secure)
    return resp


def form_body(*, lists: tuple[str, ...] = (), empty_is_none: tuple[str, ...] = ()) -> tuple[dict, bool]:
    """The posted fields and whether they came from the page's own no-JS form (multipart) rather
    than as a JSON object: `lists` are the repeated form fields, `empty_is_none` the ones an empty
    choice sends as ""."""
    if request.mimetype == "multipart/form-data":
        form = request.form
        raw = {k: form.get(k) for k in form if k not in lists}
        raw.update({k: form.getlist(k) for k in lists})
        raw.update({k: None for k in empty_is_none if raw.get(k) == ""})
        return raw, True
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Unprocessable("请求体须为 JSON 对象 (JSON object expected)", {"fields": {"_schema": ["JSON object"]}})
    return body, False


def load(schema, raw: dict, message: str) -> dict:
    """The fields loaded by `schema` (422 with `message` and each field's problem), the honeypot
    `website` checked."""
    import marshmallow as ma

    try:
        body = schema.load(raw)
    except ma.ValidationError as exc:
        raise Unprocessable(message, {"fields": exc.messages}) from exc
    check_honeypot(body.get("website"))
    return body
