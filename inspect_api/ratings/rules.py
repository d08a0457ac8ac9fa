"""好差评 rules: score labels, the fixed reason list, validation, 差评 and window keys.

Pure: the secret key and "now" (epoch seconds) are passed in; HMAC and hashing are stdlib.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass

from inspect_api.core.form_tokens import mac
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


# --- window keys (the form tokens are core.form_tokens') -----------------------------------------------------------

def window_key(secret: str, unit_id: int, window_no: str) -> str:
    """`<unit id>.<window no>.<HMAC>`: readable, but nobody without the secret can make one."""
    if not WINDOW_NO_RE.match(window_no):
        raise Unprocessable("窗口号只能包含字母、数字和 -, 最多 16 位", {"fields": {"window_no": ["格式不正确"]}})
    return f"{unit_id}.{window_no}.{mac(secret, f'rating-window:{unit_id}:{window_no}')}"


def parse_window_key(secret: str, key: str) -> tuple[int, str] | None:
    """(unit id, window no) of a genuine key; None for anything else."""
    m = _KEY_RE.match(key or "")
    if not m:
        return None
    unit_id, window_no = int(m.group(1)), m.group(2)
    if not hmac.compare_digest(m.group(3), mac(secret, f"rating-window:{unit_id}:{window_no}")):
        return None
    return unit_id, window_no
