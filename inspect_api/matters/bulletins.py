"""督查通报 on supervised matters, as documents of the ordinary workflow (draft, second approval, numbered
issue, frozen PDF). The documents package calls here for three kinds:

- `matter_bulletin` (一事一通报): one leader-assigned matter and its result; selection `{matter_id}`.
- `meeting_bulletin` (一会一通报): every decision of one meeting and its state, each quarter (monthly for
  decisions with a deadline); selection `{meeting_name, period_start, period_end}`.
- `keywork_summary`: a quarter's summary of the year's key work, each unit's progress; selection
  `{period_start, period_end[, target_year]}`.
"""

from __future__ import annotations

from datetime import date, datetime, time

import sqlalchemy as sa

from inspect_api.core.calendar import period_label
from inspect_api.core.clock import LOCAL_TZ
from inspect_api.db import db
from inspect_api.errors import Unprocessable
from inspect_api.matters import rules
from inspect_api.matters.models import MatterReport, MatterUnit, SupervisedMatter
from inspect_api.matters.services import due_text
from inspect_api.org.models import Unit

KINDS = ("matter_bulletin", "meeting_bulletin", "keywork_summary")


def _invalid(field: str, problem: str) -> Unprocessable:
    return Unprocessable("公文内容有误 (invalid selection)", {"fields": {field: [problem]}})


def _period(sel: dict) -> tuple[date, date]:
    start, end = sel.get("period_start"), sel.get("period_end")
    if not start or not end:
        raise _invalid("period_start", "required")
    start, end = date.fromisoformat(str(start)), date.fromisoformat(str(end))
    if start > end:
        raise _invalid("period_end", "须不早于 period_start (before the start)")
    return start, end


def check_selection(kind: str, sel: dict) -> dict:
    if kind == "matter_bulletin":
        m = db.session.get(SupervisedMatter, sel.get("matter_id") or 0)
        if m is None or m.kind != "leader_assigned":
            raise _invalid("matter_id", "须为领导批办事项 (a leader-assigned matter)")
        return {"matter_id": m.id}
    start, end = _period(sel)
    if kind == "meeting_bulletin":
        name = (sel.get("meeting_name") or "").strip()
        if not name or db.session.scalar(sa.select(SupervisedMatter.id).where(
                SupervisedMatter.kind == "meeting_decision", SupervisedMatter.meeting_name == name).limit(1)) is None:
            raise _invalid("meeting_name", "没有该会议的议定事项 (no decisions of this meeting)")
        return {"meeting_name": name, "period_start": start.isoformat(), "period_end": end.isoformat()}
    return {"period_start": start.isoformat(), "period_end": end.isoformat(),
            "target_year": sel.get("target_year") or start.year}


def _subject(kind: str, sel: dict) -> str:
    if kind == "matter_bulletin":
        m = db.session.get(SupervisedMatter, sel["matter_id"])
        return m.title
    label = period_label(date.fromisoformat(sel["period_start"]), date.fromisoformat(sel["period_end"]))
    return f"{sel['meeting_name']}议定事项{label}落实情况" if kind == "meeting_bulletin" else \
        f"{sel['target_year']}年度重点工作{label}推进情况"


def default_wording(kind: str, policy: dict, sel: dict) -> dict:
    common = {"addressee": policy["addressee"], "attachments": [], "cc": policy["cc"]}
    subject = _subject(kind, sel)
    if kind == "matter_bulletin":
        m = db.session.get(SupervisedMatter, sel["matter_id"])
        leader = "".join(x for x in (m.leader_title, m.leader_name) if x)
        return {**common, "title": f"关于{leader}批办事项“{m.title}”办理情况的督查通报",
                "paragraphs": [f"{leader}批办的“{m.title}”事项，县政府督查室按照“一事一通报”要求进行了跟踪督办。"
                               "现将办理情况通报如下："],
                "requirements": ["承办单位要对照领导批示要求，巩固办理成果，防止问题反弹。",
                                 "各单位对领导批办事项要立即办理、按时反馈，确因特殊情况不能按期办结的，要及时书面说明并报批。"],
                "closing_paragraphs": ["县政府督查室将持续跟踪督办，办理情况纳入年度效能考评。"]}
    if kind == "meeting_bulletin":
        return {**common, "title": f"关于{subject}的督查通报",
                "paragraphs": [f"按照“一会一通报”制度，县政府督查室对{subject}进行了督查。现将各议定事项落实情况通报如下："],
                "requirements": ["主办单位主要负责人是落实议定事项的第一责任人，要亲自主持办理，协调解决有关问题。",
                                 "协办单位要按照会议明确的职责密切配合；对逾期未办结的事项，主办单位要书面说明原因和下一步措施。"],
                "closing_paragraphs": ["限时办结的议定事项实行一月一通报，办理情况纳入年度效能考评。"]}
    return {**common, "title": f"关于{subject}的督查通报",
            "paragraphs": [f"按照年初分解的目标任务，县政府督查室对{subject}进行了督查。现将各单位工作进展通报如下："],
            "requirements": ["各牵头单位要倒排时序，确保全年目标任务完成。",
                             "因特殊原因不能按进度完成任务的，要向县委、县政府书面报告，提出改进措施。"],
            "closing_paragraphs": ["县政府督查室将按季度跟踪督查，年中小结、年末总结情况纳入年度效能考评。"]}


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time.max, LOCAL_TZ)


def _rows(kind: str, sel: dict) -> list[SupervisedMatter]:
    if kind == "matter_bulletin":
        return [db.session.get(SupervisedMatter, sel["matter_id"])]
    start, end = date.fromisoformat(sel["period_start"]), date.fromisoformat(sel["period_end"])
    stmt = sa.select(SupervisedMatter).where(SupervisedMatter.assigned_at <= _end_of(end))
    if kind == "meeting_bulletin":
        stmt = stmt.where(SupervisedMatter.kind == "meeting_decision",
                          SupervisedMatter.meeting_name == sel["meeting_name"])
    else:
        stmt = stmt.where(SupervisedMatter.kind == "key_work", SupervisedMatter.target_year == sel["target_year"])
    # matters closed before the period are reported in earlier bulletins
    stmt = stmt.where(sa.or_(SupervisedMatter.closed_at.is_(None),
                             SupervisedMatter.closed_at >= datetime.combine(start, time.min, LOCAL_TZ)))
    return list(db.session.scalars(stmt.order_by(SupervisedMatter.id)))


def _source(m: SupervisedMatter) -> str:
    if m.kind == "leader_assigned":
        who = "".join(x for x in (m.leader_title, m.leader_name) if x)
        return f"{who}批示：{m.content}"
    if m.kind == "meeting_decision":
        when = f"{m.meeting_on.year}年{m.meeting_on.month}月{m.meeting_on.day}日" if m.meeting_on else ""
        return f"{when}{m.meeting_name or ''}议定：{m.content}"
    return f"{m.target_year}年度目标：{m.content}"


def build_context(kind: str, sel: dict, *, today: date) -> dict:
    """The kind's part of the context: the subject, a summary and each matter with its state."""
    from inspect_api.core import clock

    rows = _rows(kind, sel)
    ids = [m.id for m in rows]
    co: dict[int, list[int]] = {i: [] for i in ids}
    for row in db.session.scalars(sa.select(MatterUnit).where(MatterUnit.matter_id.in_(ids))
                                  .order_by(MatterUnit.unit_id)) if ids else []:
        co[row.matter_id].append(row.unit_id)
    unit_ids = {m.lead_unit_id for m in rows} | {u for us in co.values() for u in us}
    names = dict(db.session.execute(sa.select(Unit.id, Unit.name).where(Unit.id.in_(unit_ids))).all()) \
        if unit_ids else {}
    latest: dict[int, str] = {}
    for r in db.session.scalars(sa.select(MatterReport).where(MatterReport.matter_id.in_(ids))
                                .order_by(MatterReport.submitted_at, MatterReport.id)) if ids else []:
        latest[r.matter_id] = r.text
    now = clock.now()
    items, summary = [], {"total": 0, "done": 0, "done_late": 0, "unfinished": 0, "in_progress": 0, "overdue": 0}
    for m in rows:
        late = m.overdue or (m.status != "closed" and rules.overdue(m.due_on, m.due_ends_at, m.result_at, now))
        summary["total"] += 1
        if m.status == "closed":
            summary[m.verdict] += 1
        else:
            summary["in_progress"] += 1
            summary["overdue"] += int(late)
        items.append({"title": m.title, "kind_label": rules.KINDS[m.kind], "source": _source(m),
                      "lead_unit_name": names.get(m.lead_unit_id, ""),
                      "co_unit_names": [names.get(u, "") for u in co[m.id]],
                      "level_label": rules.LEVELS.get(m.level) if m.level else None, "due_text": due_text(m),
                      "state_label": rules.state_label(m.status, m.verdict, late),
                      "progress": m.verdict_note if m.status == "closed" and m.verdict_note else latest.get(m.id),
                      "unit_ids": [m.lead_unit_id, *co[m.id]]})
    return {"subject_label": _subject(kind, sel), "summary": summary, "matters": items}
