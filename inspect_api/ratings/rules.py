"""好差评 rules: score labels, the fixed reason list, validation, 差评, window keys and one-time tokens.

Pure: the secret key and "now" (epoch seconds) are passed in; HMAC and hashing are stdlib.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from inspect_api.errors import Unprocessable

SCORE_LABELS: dict[int, str] = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
# The fixed reasons a rater may tick (codes stored; labels shown). Imports may use either.
REASONS: dict[str, str] = {
    "attitude": "服务态度差",
    "slow": "办理效率低、等候时间长",
    "unclear": "未一次性告知所需材料",
    "runaround": "让群众多次跑动",
    "irregular": "不按规定程序办理",
    "facilities": "环境设施不便",
    "good_attitude": "服务热情周到",
    "efficient": "办事高效便捷",
    "other": "其他",
}
BAD_SCORE_MAX = 2  # 差评: 不满意 or 非常不满意
SATISFIED_MIN = 3  # 满意率 counts 基本满意 and above, as the 好差评 system does
COMMENT_MAX = 500
MAX_REASONS = len(REASONS)
WINDOW_NO_RE = re.compile(r"^[A-Za-z0-9-]{1,16}$")
_KEY_RE = re.compile(r"^([1-9][0-9]{0,9})\.([A-Za-z0-9-]{1,16})\.([A-Za-z0-9_-]{22})$")
_TOKEN_RE = re.compile(r"^([0-9]{1,12})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{22})$")
_LINK_RE = re.compile(r"(https?://|www\.|\.com\b|\.cn\b)", re.IGNORECASE)


@dataclass(frozen=True)
class RatingInput:
    score: int
    reasons: tuple[str, ...]
    comment: str | None


def is_bad(score: int) -> bool:
    """差评: a rating of 不满意 (2) or 非常不满意 (1)."""
    return score <= BAD_SCORE_MAX


def reason_code(text: str) -> str | None:
    """A reason given as a code or as its Chinese label; None when it is not on the list."""
    text = text.strip()
    if text in REASONS:
        return text
    return next((code for code, label in REASONS.items() if label == text), None)


def validate(score, reasons, comment) -> RatingInput:
    """Check one rating; Unprocessable with `details.fields` naming every bad field."""
    errors: dict[str, list[str]] = {}
    if isinstance(score, str) and score.strip().isdigit():
        score = int(score.strip())
    if isinstance(score, bool) or not isinstance(score, int) or score not in SCORE_LABELS:
        errors["score"] = ["评分须为 1–5 的整数 (1 非常不满意 … 5 非常满意)"]
    if reasons is None:
        reasons = []
    if isinstance(reasons, str):
        reasons = [r for r in reasons.split(",") if r.strip()] if reasons.strip() else []
    codes: list[str] = []
    if not isinstance(reasons, list | tuple) or len(reasons) > MAX_REASONS:
        errors["reasons"] = ["原因须为列表"]
    else:
        unknown = [r for r in reasons if not isinstance(r, str) or reason_code(r) is None]
        if unknown:
            errors["reasons"] = [f"未知的原因 {unknown!r}, 可选: {', '.join(REASONS)}"]
        else:
            codes = list(dict.fromkeys(reason_code(r) for r in reasons))
    if comment is not None and not isinstance(comment, str):
        errors["comment"] = ["评价内容须为文字"]
    else:
        comment = (comment or "").strip() or None
        if comment and len(comment) > COMMENT_MAX:
            errors["comment"] = [f"评价内容不能超过 {COMMENT_MAX} 字"]
        elif comment and _LINK_RE.search(comment):
            errors["comment"] = ["评价内容不能包含网址"]
    if errors:
        raise Unprocessable("评价内容有误 (invalid rating)", {"fields": errors})
    return RatingInput(score=score, reasons=tuple(codes), comment=comment)


def satisfaction(scores: list[int]) -> dict:
    """count, average (2 decimals), 满意率 (share scoring ≥ 3, 0–1) and 差评 count."""
    n = len(scores)
    if not n:
        return {"count": 0, "average": None, "satisfaction_rate": None, "bad_count": 0}
    return {"count": n, "average": round(sum(scores) / n, 2),
            "satisfaction_rate": round(sum(1 for s in scores if s >= SATISFIED_MIN) / n, 4),
            "bad_count": sum(1 for s in scores if is_bad(s))}


# --- window keys and one-time form tokens -----------------------------------------------------------

def _mac(secret: str, message: str) -> str:
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")  # 128 bits, 22 chars


def window_key(secret: str, unit_id: int, window_no: str) -> str:
    """`<unit id>.<window no>.<HMAC>`: readable, but nobody without the secret can make one."""
    if not WINDOW_NO_RE.match(window_no):
        raise Unprocessable("窗口号只能包含字母、数字和 -, 最多 16 位", {"fields": {"window_no": ["格式不正确"]}})
    return f"{unit_id}.{window_no}.{_mac(secret, f'rating-window:{unit_id}:{window_no}')}"


def parse_window_key(secret: str, key: str) -> tuple[int, str] | None:
    """(unit id, window no) of a genuine key; None for anything else."""
    m = _KEY_RE.match(key or "")
    if not m:
        return None
    unit_id, window_no = int(m.group(1)), m.group(2)
    if not hmac.compare_digest(m.group(3), _mac(secret, f"rating-window:{unit_id}:{window_no}")):
        return None
    return unit_id, window_no


def make_token(secret: str, key: str, issued_at: int, nonce: str | None = None) -> str:
    """`<issued epoch>.<nonce>.<HMAC over key, time and nonce>`: valid for that window only."""
    nonce = nonce or secrets.token_urlsafe(12)
    return f"{issued_at}.{nonce}.{_mac(secret, f'rating-token:{key}:{issued_at}:{nonce}')}"


class TokenRejected(Unprocessable):
    code = "invalid_token_form"


def check_token(secret: str, key: str, token: str, now: int, lifetime_s: int, min_age_s: int = 0) -> int:
    """The token's issue time, or TokenRejected (forged, another window's, expired, too quick)."""
    m = _TOKEN_RE.match(token or "") if isinstance(token, str) else None
    if not m or not hmac.compare_digest(m.group(3), _mac(secret, f"rating-token:{key}:{m.group(1)}:{m.group(2)}")):
        raise TokenRejected("评价页面已失效, 请重新扫码 (invalid form token)", {"fields": {"token": ["无效"]}},
                            code="token_invalid")
    issued = int(m.group(1))
    if now - issued > lifetime_s or issued - now > 60:
        raise TokenRejected("评价页面已过期, 请重新扫码 (form token expired)", {"fields": {"token": ["已过期"]}},
                            code="token_expired")
    if now - issued < min_age_s:
        # a person reads the page before rating; an instant post is a script
        raise TokenRejected("提交过快, 请稍后再试 (submitted too quickly)", {"fields": {"token": ["提交过快"]}},
                            code="too_fast")
    return issued


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def throttle_key(secret: str, kind: str, value: str, bucket: int) -> str:
    """What the throttle table stores: an HMAC, never the device cookie or the window itself."""
    return hmac.new(secret.encode(), f"rating-throttle:{kind}:{value}:{bucket}".encode(), hashlib.sha256).hexdigest()
