"""Pure rules of the documents: the workflow's transitions, the bulletin's scores and ranking.

    draft ──approve (another office user)──▶ approved ──issue──▶ issuing ──(final PDF rendered)──▶ issued
      ▲                                          │
      └────────────── return_to_draft ───────────┘
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from inspect_api.errors import Forbidden, InvalidTransition

STATUS_LABELS = {"draft": "草稿", "approved": "已审批", "issuing": "印发中", "issued": "已印发"}
KIND_LABELS = {"criticism": "通报批评", "bulletin": "督查通报", "rectification": "整改通知",
               "commendation": "通报表扬", "referral": "问责建议"}
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


@dataclass(frozen=True)
class UnitResult:
    unit_id: int
    unit_name: str
    findings: int          # confirmed findings in the period
    deduction: float


def deduction(points: int, severity: str, by_severity: Mapping[str, float]) -> float:
    """What one confirmed finding costs its unit: its checklist points, else the policy's by severity."""
    return float(points) if points else float(by_severity.get(severity, 0))


def rank(results: Iterable[UnitResult], base: float, previous_ranks: Mapping[int, int] | None = None) -> list[dict]:
    """Scores (base − deductions) and standard competition ranks (1, 2, 2, 4): higher score first, then
    fewer findings, then name (stable). `change` is previous rank − this rank (positive: moved up),
    None when the unit was not ranked before."""
    previous_ranks = previous_ranks or {}
    rows = sorted(results, key=lambda r: (-(base - r.deduction), r.findings, r.unit_name, r.unit_id))
    out: list[dict] = []
    for i, r in enumerate(rows):
        score = round(base - r.deduction, 1)
        rank_no = out[-1]["rank"] if out and out[-1]["score"] == score and out[-1]["findings"] == r.findings \
            else i + 1
        prev = previous_ranks.get(r.unit_id)
        out.append({"rank": rank_no, "unit_id": r.unit_id, "unit_name": r.unit_name, "score": score,
                    "findings": r.findings, "change": None if prev is None else prev - rank_no})
    return out


def best_and_bottom(ranking: list[dict], base: float, best_count: int, bottom_count: int) -> tuple[list[str], list[str]]:
    """The best are the top `best_count`; the bottom (末位) are the last `bottom_count` among units that
    lost points — a unit with a clean sheet is never named at the bottom, and none is both."""
    best = [r["unit_name"] for r in ranking[:best_count]]
    losers = [r for r in ranking if r["score"] < base and r["unit_name"] not in best]
    bottom = [r["unit_name"] for r in losers[-bottom_count:]] if bottom_count else []
    return best, bottom


def period_label(start, end) -> str:
    import calendar

    if start.day == 1 and end.day == calendar.monthrange(end.year, end.month)[1]:
        if (start.year, start.month) == (end.year, end.month):
            return f"{start.year}年{start.month}月"
        if start.year == end.year and start.month % 3 == 1 and end.month == start.month + 2:
            return f"{start.year}年第{'一二三四'[start.month // 3]}季度"
    return f"{start.year}年{start.month}月{start.day}日至{end.year}年{end.month}月{end.day}日"
