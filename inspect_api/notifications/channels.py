"""Channels outside the app, behind one interface: `deliver(channel, target, text, ...)` sends one
message and says whether the other side took it. 企业微信 and 钉钉 group robots (webhooks; 钉钉 with its
signed timestamp), a generic SMS gateway described by an HTTP template, and e-mail over SMTP.

Where the robots and the gateway are, and their keys, is the deployment's channels file
(INSPECT_CHANNELS_FILE, YAML), read at start-up and never shown: the API names robots only. Errors
are reported without URLs, so no webhook key reaches a log line or a response.
"""

from __future__ import annotations

import http.client
import json
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import yaml

from inspect_api.core.policy_file import PolicyError
from inspect_api.notifications import rules


@dataclass(frozen=True)
class Robot:
    name: str
    type: str  # wecom | dingtalk
    url: str = field(repr=False)
    secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class SmsGateway:
    url: str = field(repr=False)
    method: str = "POST"
    content_type: str = "application/json"
    headers: dict = field(default_factory=dict, repr=False)
    body: str = '{"phone": "{phone}", "text": "{text}"}'


@dataclass(frozen=True)
class ChannelsConfig:
    robots: dict[str, Robot] = field(default_factory=dict)
    sms: SmsGateway | None = None

    def public(self) -> dict:
        """What an admin may see: robot names and kinds, whether SMS is set up; no URL, no key."""
        return {"robots": [{"name": r.name, "type": r.type, "type_label": rules.CHANNEL_LABELS[r.type],
                            "signed": bool(r.secret)} for r in self.robots.values()],
                "sms": self.sms is not None}


def parse_config(text: str, source: str) -> ChannelsConfig:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise PolicyError(f"{source}: YAML 格式错误: {exc}") from exc
    problems = []
    if not isinstance(data, dict) or set(data) - {"robots", "sms"}:
        raise PolicyError(f"{source}: 只能有 robots 和 sms 两项")
    robots = {}
    for name, spec in (data.get("robots") or {}).items():
        if not isinstance(spec, dict) or spec.get("type") not in rules.ROBOT_CHANNELS \
                or not str(spec.get("url", "")).startswith(("http://", "https://")) \
                or set(spec) - {"type", "url", "secret"}:
            problems.append(f"robots.{name}: 须有 type（wecom 或 dingtalk）和 http(s) 的 url，可有 secret")
            continue
        robots[str(name)] = Robot(str(name), spec["type"], spec["url"], spec.get("secret") or None)
    sms = None
    if data.get("sms") is not None:
        spec = data["sms"]
        if not isinstance(spec, dict) or not str(spec.get("url", "")).startswith(("http://", "https://")) \
                or set(spec) - {"url", "method", "content_type", "headers", "body"} \
                or spec.get("method", "POST") not in ("POST", "GET", "PUT") \
                or not isinstance(spec.get("headers", {}), dict):
            problems.append("sms: 须有 http(s) 的 url，可有 method (POST/GET/PUT)、content_type、headers、body")
        else:
            sms = SmsGateway(url=spec["url"], method=spec.get("method", "POST"),
                             content_type=spec.get("content_type", "application/json"),
                             headers={str(k): str(v) for k, v in (spec.get("headers") or {}).items()},
                             body=spec.get("body", SmsGateway.body))
    if problems:
        raise PolicyError(f"{source}: " + "; ".join(problems))
    return ChannelsConfig(robots, sms)


def load_config(path: str) -> ChannelsConfig:
    """The channels file, or no channels when the deployment has none."""
    p = Path(path)
    if not p.exists():
        return ChannelsConfig()
    return parse_config(p.read_text(encoding="utf-8"), str(p))


@dataclass(frozen=True)
class Delivery:
    ok: bool
    detail: str
    # False: the request may have reached the other side (a lost answer); the sender must not assume
    # it did not
    certain: bool = True


def _http(method: str, url: str, body: bytes | None, headers: dict, timeout: float) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read(64 * 1024)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(64 * 1024) if exc.fp else b""


def deliver(channel: str, target: str, text: str, *, subject: str, config: ChannelsConfig, app_config: dict,
            timeout: float, timestamp_ms: int) -> Delivery:
    """Send one message; a Delivery says whether the other side took it."""
    try:
        if channel in rules.ROBOT_CHANNELS:
            robot = config.robots.get(target)
            if robot is None or robot.type != channel:
                return Delivery(False, f"未配置的机器人 {target} (no such {channel} robot in the channels file)")
            url = rules.dingtalk_url(robot.url, robot.secret, timestamp_ms) if channel == "dingtalk" else robot.url
            status, raw = _http("POST", url, json.dumps(rules.robot_payload(text), ensure_ascii=False).encode(),
                                {"Content-Type": "application/json; charset=utf-8"}, timeout)
            try:
                answer = json.loads(raw or b"null")
            except ValueError:
                answer = None
            ok, detail = rules.robot_answer_ok(status, answer)
            return Delivery(ok, detail)
        if channel == "sms":
            gw = config.sms
            if gw is None:
                return Delivery(False, "未配置短信网关 (no SMS gateway in the channels file)")
            body = rules.sms_fields(gw.body, target, text, "json" in gw.content_type)
            status, _ = _http(gw.method, gw.url, body.encode() if gw.method != "GET" else None,
                              {"Content-Type": f"{gw.content_type}; charset=utf-8", **gw.headers}, timeout)
            return Delivery(200 <= status < 300, f"HTTP {status}")
        if channel == "email":
            if not app_config.get("INSPECT_SMTP_HOST"):
                return Delivery(False, "未配置邮件服务器 (INSPECT_SMTP_HOST)")
            msg = EmailMessage()
            msg["Subject"], msg["From"], msg["To"] = subject, app_config["INSPECT_MAIL_FROM"], target
            msg.set_content(text)
            with smtplib.SMTP(app_config["INSPECT_SMTP_HOST"], app_config["INSPECT_SMTP_PORT"], timeout=timeout) as s:
                if app_config.get("INSPECT_SMTP_STARTTLS"):
                    s.starttls()
                if app_config.get("INSPECT_SMTP_USER"):
                    s.login(app_config["INSPECT_SMTP_USER"], app_config["INSPECT_SMTP_PASSWORD"])
                s.send_message(msg)
            return Delivery(True, "ok")
        return Delivery(False, f"unknown channel {channel}")
    except TimeoutError:
        return Delivery(False, "无应答 (timed out)", certain=False)
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            return Delivery(False, "无应答 (timed out)", certain=False)
        return Delivery(False, f"连接失败 ({type(exc.reason).__name__})")
    except (OSError, smtplib.SMTPException, http.client.HTTPException) as exc:
        return Delivery(False, f"发送失败 ({type(exc).__name__})", certain=False)
