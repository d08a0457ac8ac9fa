"""Pure rules of a visit: answers checked against the pinned checklist, the findings a failed item
raises, the photos a visit still needs, the team rule, the lifecycle, and content fingerprints that
make retried syncs recognisable. Values in, values out (no Flask, no database, no clock)."""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from inspect_api.checklists.rules import answer_fails, iter_items
from inspect_api.core.categories import UNIT_LEVEL_CATEGORIES

MODES = {"covert": "暗访", "overt": "明查", "mystery_shopper": "模拟办事"}
# Unannounced visits: when they happened is told to the unit only as precisely as the policy says.
COVERT_MODES = ("covert", "mystery_shopper")
STATUSES = {"draft": "草稿", "submitted": "已提交"}
MAX_TEXT_ANSWER = 2000
# Namespace for the ids of findings the server derives, so a re-sync derives the very same ids.
FINDING_NS = uuid.UUID("6f1c8f4e-2b7a-4d0e-9a51-3c2d7b0e8a11")


@dataclass(frozen=True)
class DerivedFinding:
    id: str
    source: str  # "item" (a failed checklist item) | "badge" (staff named only by window/position)
    category: str
    severity: str
    points: int
    item_code: str | None = None
    photo_required: bool = False
    window_no: str | None = None
    position: str | None = None
    description: str | None = None
    observed_at: datetime | None = None  # None: when the visit started


@dataclass(frozen=True)
class ExpectedPhoto:
    item_code: str
    finding_id: str
    question: str
    present: bool


def items_by_code(template: Mapping) -> dict[str, Mapping]:
    return {item["code"]: item for _, item in iter_items(template)}


def answer_problem(item: Mapping, answer) -> str | None:
    """Why an answer does not fit its item (None: it fits). `None` means "not answered yet"."""
    if answer is None:
        return None
    kind = item["answer_type"]
    if kind == "yes_no" and answer not in ("yes", "no"):
        return "应为 yes 或 no (must be yes or no)"
    if kind == "choice":
        codes = [c["code"] for c in item["choices"]]
        if answer not in codes:
            return f"应为以下选项之一: {', '.join(codes)} (unknown choice)"
    if kind == "number":
        if not isinstance(answer, int | float) or isinstance(answer, bool) or not math.isfinite(answer):
            return "应为数字 (must be a number)"
        if item.get("min") is not None and answer < item["min"]:
            return f"不得小于 {item['min']} (below minimum)"
        if item.get("max") is not None and answer > item["max"]:
            return f"不得大于 {item['max']} (above maximum)"
    if kind == "text" and (not isinstance(answer, str) or len(answer) > MAX_TEXT_ANSWER):
        return f"应为不超过 {MAX_TEXT_ANSWER} 字的文本 (text up to {MAX_TEXT_ANSWER})"
    return None


def response_problems(template: Mapping, responses: Iterable[Mapping]) -> dict[str, list[str]]:
    """Per item code, what is wrong with the responses (unknown item, repeated item, bad answer)."""
    items = items_by_code(template)
    problems: dict[str, list[str]] = {}
    seen: set[str] = set()
    for r in responses:
        code = r["item_code"]
        if code not in items:
            problems.setdefault(code, []).append("检查表中没有该题 (no such item in the pinned checklist)")
            continue
        if code in seen:
            problems.setdefault(code, []).append("同一题只能回答一次 (item answered twice)")
        seen.add(code)
        problem = answer_problem(items[code], r.get("answer"))
        if problem:
            problems.setdefault(code, []).append(problem)
    return problems


def item_finding_id(visit_id: str, item_code: str) -> str:
    return str(uuid.uuid5(FINDING_NS, f"{visit_id}/item/{item_code}"))


def badge_finding_id(visit_id: str, window_no: str | None, position: str | None) -> str:
    return str(uuid.uuid5(FINDING_NS, f"{visit_id}/badge/{window_no or ''}/{position or ''}"))


def derived_findings(visit_id: str, template: Mapping, responses: Iterable[Mapping],
                     manual_findings: Iterable[Mapping] = ()) -> list[DerivedFinding]:
    """Findings the server raises by itself.

    - every failed item raises one finding of the item's category and severity, described by the
      inspector's note on the answer and observed when the item was answered (if the phone says);
    - a finding whose staff member is named only by window and position (no badge seen) means the
      badge was not worn: one `badge_missing` per (window, position), unless a failed item already
      raised `badge_missing` for the visit. A unit-level finding (desk plate, notice board, rating
      device) names the place, not a person, so it never does.
    """
    items = items_by_code(template)
    out: list[DerivedFinding] = []
    for r in responses:
        item = items[r["item_code"]]
        if answer_fails(item, r.get("answer")):
            note = (r.get("note") or "").strip()
            out.append(DerivedFinding(
                id=item_finding_id(visit_id, item["code"]), source="item", category=item["category"],
                severity=item["severity"], points=int(item.get("points", 0)), item_code=item["code"],
                photo_required=bool(item.get("photo_required", False)), description=note or None,
                observed_at=_as_datetime(r.get("answered_at"))))
    badge_from_item = any(f.category == "badge_missing" for f in out)
    seen_places: set[tuple] = set()
    for f in manual_findings:
        if (f.get("badge_no") or f.get("category") == "badge_missing" or badge_from_item
                or f.get("category") in UNIT_LEVEL_CATEGORIES):
            continue
        place = (f.get("window_no"), f.get("position"))
        if place == (None, None) or place in seen_places:
            continue
        seen_places.add(place)
        where = "、".join(p for p in (f"{place[0]}号窗口" if place[0] else None, place[1]) if p)
        out.append(DerivedFinding(
            id=badge_finding_id(visit_id, *place), source="badge", category="badge_missing", severity="minor",
            points=0, window_no=place[0], position=place[1],
            description=f"{where}工作人员未佩戴工牌, 只能以窗口号或岗位指认",
            observed_at=_as_datetime(f.get("observed_at"))))
    return out


def _as_datetime(value) -> datetime | None:
    """An instant as the content holds it (ISO 8601 text) or as given."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def expected_photos(template: Mapping, findings: Iterable[DerivedFinding],
                    evidence: Iterable[tuple[str | None, str | None]]) -> list[ExpectedPhoto]:
    """The photos the visit still needs: one per failed item that requires one.

    `evidence` is (item_code, finding_id) of each uploaded photo; either link satisfies the need.
    """
    have_items = {item for item, _ in evidence if item}
    have_findings = {finding for _, finding in evidence if finding}
    items = items_by_code(template)
    return [
        ExpectedPhoto(item_code=f.item_code, finding_id=f.id, question=items[f.item_code]["question"],
                      present=f.item_code in have_items or f.id in have_findings)
        for f in findings if f.source == "item" and f.photo_required
    ]


def team_problem(team: Iterable[int], allow_single: bool) -> str | None:
    size = len(set(team))
    if size == 0:
        return "检查组至少需要一名督查员 (the team is empty)"
    if size < 2 and not allow_single:
        return "检查组须两人以上 (a team needs at least two inspectors unless the plan allows one)"
    return None


def fingerprint(content: Mapping) -> str:
    """SHA-256 of a visit's content in canonical form: equal content, equal fingerprint, whatever the
    key order or the number formatting the phone used."""
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_iso)
    return hashlib.sha256(text.encode()).hexdigest()


def _iso(value):
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def clock_skew_seconds(device_time: datetime | None, server_time: datetime) -> int | None:
    """Device clock minus server clock when the phone sent the visit (positive: phone runs fast)."""
    if device_time is None:
        return None
    return round((device_time - server_time).total_seconds())


def future_times(content: Mapping, now: datetime, skew: timedelta) -> dict:
    """The times in a visit's content that lie more than `skew` after the server's now, as the 422's
    `fields` (a visit cannot have happened later than it was sent; the phone's clock may run a little
    fast). Responses are named by item code, findings by id."""
    limit = now + skew
    minutes = int(skew.total_seconds() // 60)
    message = f"时间晚于服务器当前时间超过 {minutes} 分钟, 请检查手机时间 (more than {minutes} minutes in the future)"

    def late(value) -> bool:
        when = _as_datetime(value)
        return when is not None and when > limit

    problems: dict = {key: [message] for key in ("started_at", "ended_at") if late(content.get(key))}
    responses = {r["item_code"]: {"answered_at": [message]} for r in content.get("responses", [])
                 if late(r.get("answered_at"))}
    findings = {f["id"]: {"observed_at": [message]} for f in content.get("findings", []) if late(f.get("observed_at"))}
    if responses:
        problems["responses"] = responses
    if findings:
        problems["findings"] = findings
    return problems


def can_write(status: str) -> bool:
    return status == "draft"


# --- the trail of an edit ---------------------------------------------------------------------------

EDIT_FIELDS = ("mode", "unit_id", "window_no", "staff_id", "assignment_id", "notes", "started_at", "ended_at", "gps")
FINDING_FIELDS = ("category", "severity", "item_code", "badge_no", "window_no", "position", "description",
                  "observed_at", "staff_id")


def edit_diff(before: Mapping, after: Mapping) -> dict:
    """What an edit changed, as {field: [before, after]}: visit fields, the team, each answer by item
    code, and findings added, removed or changed (by id). Unchanged parts are left out.

    `before`/`after` are snapshots: {"fields": {...}, "team": [...], "responses": {code: {...}},
    "findings": {id: {...}}}."""
    out: dict = {}
    fields = {k: [before["fields"].get(k), after["fields"].get(k)] for k in EDIT_FIELDS
              if before["fields"].get(k) != after["fields"].get(k)}
    if fields:
        out["fields"] = fields
    if sorted(before["team"]) != sorted(after["team"]):
        out["team"] = [sorted(before["team"]), sorted(after["team"])]
    responses = {code: [before["responses"].get(code), after["responses"].get(code)]
                 for code in sorted(set(before["responses"]) | set(after["responses"]))
                 if before["responses"].get(code) != after["responses"].get(code)}
    if responses:
        out["responses"] = responses
    old, new = before["findings"], after["findings"]
    added = {fid: new[fid] for fid in sorted(set(new) - set(old))}
    removed = {fid: old[fid] for fid in sorted(set(old) - set(new))}
    changed = {}
    for fid in sorted(set(old) & set(new)):
        delta = {k: [old[fid].get(k), new[fid].get(k)] for k in FINDING_FIELDS if old[fid].get(k) != new[fid].get(k)}
        if delta:
            changed[fid] = delta
    if added or removed or changed:
        out["findings"] = {k: v for k, v in (("added", added), ("removed", removed), ("changed", changed)) if v}
    return out
