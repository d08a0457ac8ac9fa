"""Pure rules of the review: the finding lifecycle and who may decide.

    draft ──submit──▶ pending_review ──confirm──▶ confirmed ──(appeal upheld)──▶ withdrawn
                          │   ▲  ──dismiss──▶ dismissed
                          │   └──reopen── confirmed / dismissed / withdrawn   (a reason: never a dead end)
                          └─send_back─▶ returned ──(visit re-submitted)──▶ pending_review

The unit's side of a confirmed finding:

    appeal (申辩, within the window):  pending ──uphold──▶ upheld (finding withdrawn)
                                              └─reject──▶ rejected
    rectification:  open ──report──▶ reported ──accept──▶ accepted
                      │                  └─return──▶ open (or overdue when past its day)
                      └─(job, past its day)──▶ overdue ──report──▶ reported
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from inspect_api.core.categories import SEVERITIES
from inspect_api.errors import Forbidden, InvalidTransition, Unprocessable

STATUS_LABELS = {
    "draft": "草稿",
    "pending_review": "待审核",
    "confirmed": "已确认",
    "dismissed": "不予认定",
    "returned": "退回补充证据",
    "withdrawn": "已撤销",
}

TRANSITIONS: dict[str, dict[str, str]] = {
    "confirm": {"pending_review": "confirmed"},
    "dismiss": {"pending_review": "dismissed"},
    "send_back": {"pending_review": "returned"},
    "reopen": {"confirmed": "pending_review", "dismissed": "pending_review", "withdrawn": "pending_review"},
    "adjust_severity": {"pending_review": "pending_review", "confirmed": "confirmed"},
}
NEEDS_REASON = frozenset({"dismiss", "send_back", "reopen", "adjust_severity"})


@dataclass(frozen=True)
class Decision:
    action: str
    reason: str | None = None
    severity: str | None = None


def next_status(status: str, decision: Decision) -> str:
    """The finding's status after the decision, or an error saying why it is not allowed."""
    if decision.action not in TRANSITIONS:
        raise Unprocessable("未知的审核操作 (unknown action)", {"fields": {"action": [decision.action]}})
    if decision.action in NEEDS_REASON and not (decision.reason or "").strip():
        raise Unprocessable("该操作须说明理由 (a reason is required)", {"fields": {"reason": ["required"]}})
    if decision.action == "adjust_severity" and decision.severity not in SEVERITIES:
        raise Unprocessable("须给出新的严重程度 (severity required)", {"fields": {"severity": list(SEVERITIES)}})
    allowed = TRANSITIONS[decision.action]
    if status not in allowed:
        raise InvalidTransition(
            f"问题当前为“{STATUS_LABELS.get(status, status)}”, 不能执行该操作 (not allowed from {status})",
            {"status": status, "action": decision.action, "allowed_from": sorted(allowed)})
    return allowed[status]


def check_four_eyes(reviewer_id: int, team: list[int], created_by: int) -> None:
    """An inspector never reviews a visit they made (四眼原则)."""
    if reviewer_id in team or reviewer_id == created_by:
        raise Forbidden("不能审核自己参与的检查记录 (four eyes: you were on this visit)", code="own_visit")


# --- appeals and rectification reports ----------------------------------------------------------------

APPEAL_DECISIONS = {"uphold": "upheld", "reject": "rejected"}
REPORT_DECISIONS = {"accept": "accepted", "return": "returned"}
APPEAL_LABELS = {"pending": "待处理", "upheld": "申辩成立", "rejected": "申辩不成立"}
REPORT_LABELS = {"submitted": "待验收", "accepted": "已验收", "returned": "已退回"}
RECTIFICATION_LABELS = {"open": "整改中", "reported": "已报送整改报告", "accepted": "整改已验收",
                        "overdue": "整改逾期", "cancelled": "已取消"}
REPORTABLE = frozenset({"open", "overdue"})


def check_appeal(finding_status: str, today: date, appeal_due_on: date | None, confirmed_at: datetime,
                 appeals: list[tuple[str, datetime]]) -> None:
    """May the unit file an appeal now? `appeals` are (status, filed_at) of earlier appeals.

    One appeal per confirmation: a finding reopened and confirmed again opens a new window."""
    if finding_status != "confirmed":
        raise InvalidTransition(f"问题当前为“{STATUS_LABELS.get(finding_status, finding_status)}”, 不能申辩 "
                                "(only confirmed findings can be appealed)",
                                {"status": finding_status, "allowed_from": ["confirmed"]}, code="not_appealable")
    if any(status == "pending" for status, _ in appeals):
        raise InvalidTransition("已有待处理的申辩 (an appeal is pending)", code="appeal_pending")
    if any(filed_at >= confirmed_at for _, filed_at in appeals):
        raise InvalidTransition("对本次确认已申辩过 (already appealed against this confirmation)",
                                code="already_appealed")
    if appeal_due_on is None or today > appeal_due_on:
        raise InvalidTransition(f"申辩期限已过 (the appeal window closed on {appeal_due_on})",
                                {"appeal_due_on": appeal_due_on.isoformat() if appeal_due_on else None},
                                code="appeal_window_closed")


def decide_appeal(status: str, action: str, reason: str | None) -> str:
    if action not in APPEAL_DECISIONS:
        raise Unprocessable("未知的操作 (unknown action)", {"fields": {"action": list(APPEAL_DECISIONS)}})
    if not (reason or "").strip():
        raise Unprocessable("须说明理由 (a reason is required)", {"fields": {"reason": ["required"]}})
    if status != "pending":
        raise InvalidTransition(f"申辩已处理 ({APPEAL_LABELS.get(status, status)}), 不能再次处理 (already decided)",
                                {"status": status, "allowed_from": ["pending"]})
    return APPEAL_DECISIONS[action]


def check_report(finding_status: str, rectification_status: str | None) -> None:
    if finding_status != "confirmed" or rectification_status is None:
        raise InvalidTransition("只有已确认的问题需要报送整改 (only confirmed findings are rectified)",
                                {"status": finding_status}, code="not_rectifiable")
    if rectification_status not in REPORTABLE:
        raise InvalidTransition(
            f"整改当前为“{RECTIFICATION_LABELS.get(rectification_status, rectification_status)}”, 不能报送 "
            f"(not allowed from {rectification_status})",
            {"rectification_status": rectification_status, "allowed_from": sorted(REPORTABLE)})


def decide_report(status: str, action: str, reason: str | None) -> str:
    if action not in REPORT_DECISIONS:
        raise Unprocessable("未知的操作 (unknown action)", {"fields": {"action": list(REPORT_DECISIONS)}})
    if action == "return" and not (reason or "").strip():
        raise Unprocessable("退回须说明理由 (a reason is required)", {"fields": {"reason": ["required"]}})
    if status != "submitted":
        raise InvalidTransition(f"整改报告已处理 ({REPORT_LABELS.get(status, status)}) (already decided)",
                                {"status": status, "allowed_from": ["submitted"]})
    return REPORT_DECISIONS[action]


def rectification_after_return(due_on: date, today: date) -> str:
    """A returned report puts the rectification back: overdue at once when its day has passed."""
    return "overdue" if today > due_on else "open"


def time_for_unit(local_at: datetime | None, precision: str) -> dict:
    """When something happened, as precisely as a unit may know it (the local time in, already in
    Asia/Shanghai): `minute` gives the time itself; `half_day` the date and 上午/下午; `date` the
    date alone. `observed_at` is None whenever the minute is withheld."""
    if local_at is None:
        return {"observed_at": None, "observed_on": None, "observed_half_day": None}
    return {"observed_at": local_at if precision == "minute" else None,
            "observed_on": local_at.date(),
            "observed_half_day": ("上午" if local_at.hour < 12 else "下午") if precision != "date" else None}


