"""The public forms' one-time tokens and rate-limit keys (the rating page and the complaint form):
HMACs over the server's secret, so nobody can forge a token or learn a device from a stored key.
Pure: the secret and "now" (epoch seconds) are passed in; HMAC and hashing are stdlib."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping

from inspect_api.errors import Unprocessable

_TOKEN_RE = re.compile(r"^([0-9]{1,12})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{22})$")

# The rating page's wording; the complaint form passes its own.
TOKEN_MESSAGES: dict[str, str] = {
    "token_invalid": "评价页面已失效, 请重新扫码 (invalid form token)",
    "token_expired": "评价页面已过期, 请重新扫码 (form token expired)",
    "too_fast": "提交过快, 请稍后再试 (submitted too quickly)",
}


def mac(secret: str, message: str) -> str:
    """A 128-bit HMAC-SHA256, URL-safe base64 without padding (22 characters)."""
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def make_token(secret: str, key: str, issued_at: int, nonce: str | None = None) -> str:
    """`<issued epoch>.<nonce>.<HMAC over key, time and nonce>`: valid for that form key only."""
    nonce = nonce or secrets.token_urlsafe(12)
    return f"{issued_at}.{nonce}.{mac(secret, f'rating-token:{key}:{issued_at}:{nonce}')}"


class TokenRejected(Unprocessable):
    code = "invalid_token_form"


def check_token(secret: str, key: str, token: str, now: int, lifetime_s: int, min_age_s: int = 0,
                messages: Mapping[str, str] = TOKEN_MESSAGES) -> int:
    """The token's issue time, or TokenRejected (forged, another form's, expired, too quick) with the
    message `messages` gives for its code."""
    m = _TOKEN_RE.match(token or "") if isinstance(token, str) else None
    if not m or not hmac.compare_digest(m.group(3), mac(secret, f"rating-token:{key}:{m.group(1)}:{m.group(2)}")):
        raise TokenRejected(messages["token_invalid"], {"fields": {"token": ["无效"]}}, code="token_invalid")
    issued = int(m.group(1))
    if now - issued > lifetime_s or issued - now > 60:
        raise TokenRejected(messages["token_expired"], {"fields": {"token": ["已过期"]}}, code="token_expired")
    if now - issued < min_age_s:
        # a person reads the page before sending it; an instant post is a script
        raise TokenRejected(messages["too_fast"], {"fields": {"token": ["提交过快"]}}, code="too_fast")
    return issued


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def throttle_key(secret: str, kind: str, value: str, bucket: int) -> str:
    """What the throttle table stores: an HMAC, never the device cookie or the window itself."""
    return hmac.new(secret.encode(), f"rating-throttle:{kind}:{value}:{bucket}".encode(), hashlib.sha256).hexdigest()
