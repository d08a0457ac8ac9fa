"""Pure rules of the documents: the workflow's transitions (a bulletin's period is named by
`core.calendar.period_label`, its ranking comes from `inspect_api.rankings`).

    draft ──approve (another office user)──▶ approved ──issue──▶ issuing ──(final PDF rendered)──▶ issued
      ▲                                          │
      └────────────── return_to_draft ───────────┘
"""

from __future__ import annotations

from inspect_api.errors import Forbidden, InvalidTransition

STATUS_LABELS = {"draft": "草稿", "approved": "已审批", "issuing": "印发中", "issued": "已印发"}
KIND_LABELS = {"criticism": "通报批评", "bulletin": "督查通报", "rectification": "整改通知",
               "commendation": "通报表扬", "referral": "问责建议", "matter_bulletin": "督查通报（领导批办事项）",
               "meeting_bulletin": "督查通报（会议议定事项）", "keywork_summary": "督查通报（重点工作）"}
# Bulletins on supervised matters (督查督办): their selection and context come from `inspect_api.matters`.
MATTER_KINDS = ("matter_bulletin", "meeting_bulletin", "keywork_summary")
TRANSITIONS = {
    "edit": {"draft": "draft"},
    "approve": {"draft": "approved"},
    "return_to_draft": {"approved": "draft"},
    "issue": {"approved": "issuing"},
}


def next_status(status: str, action: str) -> str:
    allowed = TRANSITIONS[action]
    if status not in allowed:
        raise InvalidTransition(
            f"公文当前为“{STATUS_LABELS.get(status, status)}”, 不能执行该操作 (not allowed from {status})",
            {"status": status, "action": action, "allowed_from": sorted(allowed)})
    return allowed[status]


def check_approver(approver_id: int, author_id: int | None) -> None:
    """A document is approved by a second office user, never by its author (四眼)."""
    if author_id is not None and approver_id == author_id:
        raise Forbidden("公文须由起草人以外的人审批 (approved by someone other than its author)", code="own_document")
