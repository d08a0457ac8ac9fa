"""Pure rules of the review: the finding lifecycle and who may decide.

    draft ──submit──▶ pending_review ──confirm──▶ confirmed ──(appeal upheld)──▶ withdrawn
                          │   ▲  ──dismiss──▶ dismissed
                          │   └──reopen── confirmed / dismissed   (with a reason: never a dead end)
                          └─send_back─▶ returned ──(visit re-submitted)──▶ pending_review
"""

from __future__ import annotations

from dataclasses import dataclass

from inspect_api.checklists.rules import SEVERITIES
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
    "reopen": {"confirmed": "pending_review", "dismissed": "pending_review"},
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
