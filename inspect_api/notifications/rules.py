"""Pure rules of notifications outside the app: robot payloads and signatures, message texts, retry
backoff, and what may go where. No Flask, no database, no clock, no I/O."""

from __future__ import annotations

import base64
import hashlib
import hmac
import string
import urllib.parse
from dataclasses import dataclass, field

CHANNELS = ("wecom", "dingtalk", "sms", "email")
CHANNEL_LABELS = {"wecom": "企业微信群机器人", "dingtalk": "钉钉群机器人", "sms": "短信", "email": "电子邮件"}
ROBOT_CHANNELS = ("wecom", "dingtalk")
SCOPES = ("user", "unit")


class RuleError(ValueError):
    """A route or a policy that cannot be."""


@dataclass(frozen=True)
class KindPolicy:
    label: str
    # who may subscribe: inspectors' kinds never go to a unit's channel (the draw and the visitors stay
    # secret from the units)
    unit_allowed: bool


@dataclass(frozen=True)
class MessagePolicy:
    kinds: dict[str, KindPolicy]
    robot: str
    sms: str
    email_subject: str
    max_attempts: int = 6
    backoff_seconds: tuple[int, ...] = (60, 300, 900, 3600, 3600 * 3)
    fields: frozenset[str] = field(default=frozenset({"label", "title", "body"}))


def backoff(policy: MessagePolicy, attempts: int) -> int | None:
    """Seconds to wait after the `attempts`-th failed attempt, or None: give up (failed)."""
    if attempts >= policy.max_attempts:
        return None
    steps = policy.backoff_seconds
    return steps[min(attempts, len(steps)) - 1] if attempts >= 1 else 0


def check_template(text: str, allowed: frozenset[str], name: str) -> None:
    for _, fname, _, _ in string.Formatter().parse(text):
        if fname is not None and fname not in allowed:
            raise RuleError(f"{name}: 未知占位符 {{{fname}}} (allowed: {sorted(allowed)})")


def render(template: str, **values: str) -> str:
    return template.format_map({k: (v or "") for k, v in values.items()}).strip()


def message_text(policy: MessagePolicy, channel: str, kind: str, title: str, body: str | None) -> str:
    label = policy.kinds[kind].label if kind in policy.kinds else "通知"
    template = policy.sms if channel == "sms" else policy.robot
    return render(template, label=label, title=title, body=body or "")


def check_route(policy: MessagePolicy, scope: str, channel: str, kinds: list[str]) -> None:
    """A route names known kinds, and a unit's route none that only inspectors may receive."""
    if scope not in SCOPES:
        raise RuleError(f"scope 须为 {SCOPES}")
    if channel not in CHANNELS:
        raise RuleError(f"channel 须为 {CHANNELS}")
    unknown = sorted(set(kinds) - set(policy.kinds) - {"*"})
    if unknown:
        raise RuleError(f"未知的通知类别 (unknown kinds): {unknown}")
    if scope == "unit":
        secret = sorted(k for k in kinds if k in policy.kinds and not policy.kinds[k].unit_allowed)
        if secret:
            raise RuleError(f"这些通知只发给督查人员本人，不能发到单位的渠道 (inspector-only kinds): {secret}")


def route_matches(policy: MessagePolicy, scope: str, kinds: list[str], kind: str) -> bool:
    if kind not in policy.kinds:
        return False
    if scope == "unit" and not policy.kinds[kind].unit_allowed:
        return False
    return "*" in kinds or kind in kinds


# --- robot APIs --------------------------------------------------------------------------------------


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """钉钉 custom robot signature: Base64(HMAC-SHA256(secret, "{timestamp}\\n{secret}")), URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest).decode())


def dingtalk_url(url: str, secret: str | None, timestamp_ms: int) -> str:
    if not secret:
        return url
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}timestamp={timestamp_ms}&sign={dingtalk_sign(secret, timestamp_ms)}"


def robot_payload(text: str) -> dict:
    """The text message both robots take (企业微信 and 钉钉 share this shape)."""
    return {"msgtype": "text", "text": {"content": text}}


def robot_answer_ok(status: int, body: object) -> tuple[bool, str]:
    """Both robots answer HTTP 200 with {"errcode": 0, "errmsg": "ok"} on success; anything else fails."""
    if status != 200:
        return False, f"HTTP {status}"
    if not isinstance(body, dict) or "errcode" not in body:
        return False, "answer is not the robot's JSON"
    if body.get("errcode") != 0:
        return False, f"errcode {body.get('errcode')}: {str(body.get('errmsg', ''))[:200]}"
    return True, "ok"


def sms_fields(template: str, phone: str, text: str, json_body: bool) -> str:
    """The gateway's body with {phone} and {text} filled in (JSON-escaped when the body is JSON)."""
    import json

    if json_body:
        phone, text = json.dumps(phone)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]
    return template.replace("{phone}", phone).replace("{text}", text)
