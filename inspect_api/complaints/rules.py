"""投诉举报 rules: the complaint's life, its deadline level (seed 003 第五篇 三(四)), what a complaint must
contain, tracking numbers and the secret query code.

    received ──assign──▶ assigned ──forward──▶ investigating ──unit_report──▶ investigated
        ▲ (reassign)       │   ▲                                               │   │
        └──────────────────┘   └─────────forward (the unit's report falls short)┘   │
                           └──investigate (the office's own finding)──▶ investigated ─┤
                                                  investigated ──answer──▶ answered    │
                   investigated (no contact left) / answered ──close──▶ closed (成立 | 不成立)

`overdue` is a flag beside the status, set once by the nightly job when the deadline has passed.
A complainant who left a contact is answered before the complaint is closed.

Pure: plain values in, values out or a DomainError; "now" and the secret are arguments.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import date, time

from inspect_api.core.calendar import Deadline, WorkingCalendar
from inspect_api.core.categories import CATEGORIES, SEVERITIES
from inspect_api.core.deadlines import MatterLevel, assigned_matter_deadline
from inspect_api.errors import Conflict, InvalidTransition, Unprocessable
from inspect_api.ratings.rules import _LINK_RE, WINDOW_NO_RE

CHANNELS = {
    "web": "网上投诉",
    "hotline": "投诉电话（12345 / 效能投诉电话）",
    "letter": "来信",
    "in_person": "来访",
}
STATUS_LABELS = {
    "received": "已受理，待分办",
    "assigned": "已分办",
    "investigating": "已转单位调查核实",
    "investigated": "调查核实完毕",
    "answered": "已答复投诉人",
    "closed": "已办结",
}
# What the complainant reads on the public status page: the office's inner steps are not shown.
PUBLIC_STATUS = {
    "received": ("received", "已受理"),
    "assigned": ("processing", "办理中"),
    "investigating": ("processing", "办理中"),
    "investigated": ("processing", "办理中"),
    "answered": ("answered", "已答复"),
    "closed": ("closed", "已办结"),
}
OUTCOMES = {"substantiated": "投诉成立", "unsubstantiated": "投诉不成立"}
ANSWER_CHANNELS = {
    "phone": "电话",
    "sms": "短信",
    "email": "电子邮件",
    "letter": "书面",
    "in_person": "当面",
    "online": "网上查询（凭查询码查看）",
}
LEVELS = (MatterLevel.CITIZEN_ROUTINE, MatterLevel.CITIZEN_HEAVY, MatterLevel.CITIZEN_MULTI_DEPARTMENT)
DEFAULT_LEVEL = MatterLevel.CITIZEN_ROUTINE
# The problems a citizen can pick from (codes of DOMAIN.md, plain labels); "other" is stored as none.
CITIZEN_CATEGORIES = {
    "poor_attitude": "服务态度差（门难进、脸难看、事难办）",
    "shirking": "推诿扯皮、首问不负责",
    "incomplete_notice": "未一次性告知，让群众来回跑",
    "overdue": "超过承诺时限未办结",
    "no_receipt": "不能当场办理又不出具回执",
    "off_post": "工作时间擅自离岗、串岗",
    "unrelated_activity": "上班做与工作无关的事",
    "late_or_early": "迟到早退",
    "unequal_treatment": "区别对待",
    "other": "其他",
}

# action -> {from status: to status}
TRANSITIONS: dict[str, dict[str, str]] = {
    "assign": {"received": "assigned", "assigned": "assigned"},
    "forward": {"assigned": "investigating", "investigated": "investigating"},
    "unit_report": {"investigating": "investigated"},
    "investigate": {"assigned": "investigated", "investigating": "investigated", "investigated": "investigated"},
    "answer": {"investigated": "answered"},
    "close": {"investigated": "closed", "answered": "closed"},
}
ACTION_LABELS = {"assign": "分办", "forward": "转办单位调查", "unit_report": "报送调查情况",
                 "investigate": "登记调查结果", "answer": "答复投诉人", "close": "办结"}

CONTENT_MIN, CONTENT_MAX = 5, 2000
NAME_MAX = 32
_PHONE_RE = re.compile(r"^[0-9+\-() ]{5,20}$")
_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,63}\.[^@\s]{1,20}$")
TRACKING_RE = re.compile(r"^TS([0-9]{4})-([0-9]{6})$")
# No 0/O, 1/I/L: the code is read out over the telephone to hotline callers.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10  # ≈ 50 bits, and lookups are rate-limited


def next_status(status: str, action: str) -> str:
    """The status after `action`, or 409 naming the states the action is allowed from."""
    allowed = TRANSITIONS[action]
    if status not in allowed:
        names = "、".join(f"“{STATUS_LABELS[s]}”" for s in allowed)
        raise InvalidTransition(
            f"投诉当前为“{STATUS_LABELS.get(status, status)}”，不能{ACTION_LABELS[action]}；"
            f"只能在 {names} 时{ACTION_LABELS[action]} (not allowed from {status})",
            {"status": status, "action": action, "allowed_from": sorted(allowed)})
    return allowed[status]


def check_close(status: str, has_contact: bool) -> str:
    """Closing needs the investigation done and, when the complainant left a contact, the answer given."""
    new = next_status(status, "close")
    if has_contact and status != "answered":
        raise InvalidTransition("投诉人留有联系方式，须先答复投诉人再办结 (answer the complainant first)",
                                {"status": status, "action": "close", "allowed_from": ["answered"]},
                                code="answer_required")
    return new


def check_answer_channel(channel: str, phone: str | None, email: str | None) -> None:
    """An answer goes by a way the complainant can be reached: phone and SMS need the phone number left,
    e-mail the address; anyone may read an answer published for the status page (online)."""
    need = {"phone": phone, "sms": phone, "email": email}
    if channel in need and not need[channel]:
        raise Unprocessable(f"投诉人未留下可用于{ANSWER_CHANNELS[channel]}答复的联系方式",
                            {"fields": {"channel": ["投诉人未留下该联系方式"]}})


# --- what a complaint contains -------------------------------------------------------------------------

@dataclass(frozen=True)
class ComplaintInput:
    content: str
    category: str | None
    window_no: str | None
    occurred_on: date | None
    occurred_time: time | None
    contact_name: str | None
    contact_phone: str | None
    contact_email: str | None

    @property
    def has_contact(self) -> bool:
        return bool(self.contact_phone or self.contact_email)


def _text(value, field: str, errors: dict, max_len: int, label: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors[field] = [f"{label}须为文字"]
        return None
    value = value.strip()
    if len(value) > max_len:
        errors[field] = [f"{label}不能超过 {max_len} 字"]
        return None
    return value or None


def validate(*, content, category=None, window_no=None, occurred_on=None, occurred_time=None, contact_name=None,
             contact_phone=None, contact_email=None, today: date, allow_links: bool = False) -> ComplaintInput:
    """Check one complaint; Unprocessable with `details.fields` naming every bad field.

    Links are refused on the public form (spam), allowed when the office types a complaint in."""
    errors: dict[str, list[str]] = {}
    text = _text(content, "content", errors, CONTENT_MAX, "投诉内容")
    if "content" not in errors:
        if not text or len(text) < CONTENT_MIN:
            errors["content"] = [f"请写明反映的问题（至少 {CONTENT_MIN} 个字）"]
        elif not allow_links and _LINK_RE.search(text):
            errors["content"] = ["投诉内容不能包含网址"]
    code = _text(category, "category", errors, 32, "问题类型")
    if code is not None and code not in CITIZEN_CATEGORIES and code not in CATEGORIES:
        errors["category"] = [f"未知的问题类型，可选: {', '.join(CITIZEN_CATEGORIES)}"]
    window = _text(window_no, "window_no", errors, 16, "窗口号")
    if window is not None and not WINDOW_NO_RE.match(window):
        errors["window_no"] = ["窗口号只能包含字母、数字和 -，最多 16 位"]
    day = _date(occurred_on, errors)
    if day is not None and day > today:
        errors["occurred_on"] = ["发生日期不能晚于今天"]
    at = _time(occurred_time, errors)
    if at is not None and day is None and "occurred_on" not in errors:
        errors["occurred_on"] = ["填写了时间须同时填写日期"]
    name = _text(contact_name, "contact_name", errors, NAME_MAX, "姓名")
    phone = _text(contact_phone, "contact_phone", errors, 20, "联系电话")
    if phone is not None and (not _PHONE_RE.match(phone) or sum(c.isdigit() for c in phone) < 5):
        errors["contact_phone"] = ["联系电话格式不正确"]
    email = _text(contact_email, "contact_email", errors, 128, "电子邮箱")
    if email is not None and not _EMAIL_RE.match(email):
        errors["contact_email"] = ["电子邮箱格式不正确"]
    if errors:
        raise Unprocessable("投诉内容有误 (invalid complaint)", {"fields": errors})
    return ComplaintInput(content=text, category=None if code == "other" else code, window_no=window,
                          occurred_on=day, occurred_time=at, contact_name=name, contact_phone=phone,
                          contact_email=email)


def _date(value, errors: dict) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        errors["occurred_on"] = ["日期格式应为 YYYY-MM-DD"]
        return None


def _time(value, errors: dict) -> time | None:
    if value in (None, ""):
        return None
    if isinstance(value, time):
        return value
    m = re.fullmatch(r"([01]?[0-9]|2[0-3]):([0-5][0-9])", str(value).strip())
    if not m:
        errors["occurred_time"] = ["时间格式应为 HH:MM"]
        return None
    return time(int(m.group(1)), int(m.group(2)))


def check_conclusion(outcome: str, category: str | None, severity: str | None, reason: str | None) -> None:
    """A substantiated complaint names the finding it becomes (category and severity); an
    unsubstantiated one names none. Both give the reason."""
    errors: dict[str, list[str]] = {}
    if outcome not in OUTCOMES:
        errors["outcome"] = [f"可选: {', '.join(OUTCOMES)}"]
    if not (reason or "").strip():
        errors["reason"] = ["须写明办结意见"]
    if outcome == "substantiated":
        if category not in CATEGORIES:
            errors["category"] = [f"投诉成立须给出问题类别: {', '.join(CATEGORIES)}"]
        if severity not in SEVERITIES:
            errors["severity"] = [f"投诉成立须给出严重程度: {', '.join(SEVERITIES)}"]
    elif outcome == "unsubstantiated":
        for name, value in (("category", category), ("severity", severity)):
            if value is not None:
                errors[name] = ["投诉不成立时不生成问题，不填此项"]
    if errors:
        raise Unprocessable("办结内容有误 (invalid conclusion)", {"fields": errors})


# --- deadlines ------------------------------------------------------------------------------------------

def deadline(calendar: WorkingCalendar, level, received_on: date, requested_days=None) -> tuple[int, Deadline]:
    """(working days, deadline) of a complaint: seed 003 第五篇 三(四) counted from the day it was received
    (1–5 working days; heavy 5–10; several departments 30)."""
    try:
        level = MatterLevel(level)
    except ValueError:
        level = None
    if level not in LEVELS:
        raise Unprocessable("办理时限等级只能是群众反映问题的三档", {"fields": {"level": [str(v) for v in LEVELS]}})
    found = assigned_matter_deadline(calendar, level, received_on, requested_days)
    return int(found.days), found.deadline


def is_overdue(status: str, due_on: date, today: date) -> bool:
    return status != "closed" and today > due_on


# --- tracking numbers and query codes -------------------------------------------------------------------

def tracking_no(year: int, seq: int) -> str:
    if not 0 < seq < 1_000_000:
        raise Conflict("本年度投诉编号已用完 (tracking numbers exhausted)", code="tracking_exhausted")
    return f"TS{year}-{seq:06d}"


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").upper()


def code_hash(secret: str, tracking: str, code: str) -> str:
    """What is stored of the query code: an HMAC bound to the complaint, never the code itself."""
    message = f"complaint-code:{tracking}:{normalise_code(code)}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def code_matches(secret: str, tracking: str, code: str, stored_hash: str) -> bool:
    return hmac.compare_digest(code_hash(secret, tracking, code), stored_hash)


def form_key(window_key: str | None) -> str:
    """What a complaint form token is bound to: one window's page, or the general page. Namespaced so a
    rating token never passes as a complaint token, nor the other way round."""
    return f"complaint-form:{window_key or 'general'}"
