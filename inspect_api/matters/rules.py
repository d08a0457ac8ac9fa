"""Pure rules of supervised matters (督查督办, seed 003 第五篇 三(一)–(三)): the three kinds, their deadlines
in working days on the official calendar, the states a matter goes through, extensions never past a
statutory limit, the verdict it closes with, reminders, bulletin periods and on-time rates.

Values in, values out: no Flask, no database, no clock ("now" is an argument).

- A leader-assigned matter (领导批办) has a level: 急件 half a working day (at most one), 要件 1–3, 普件 3–5
  working days, or the statutory limit where the seed allows one (`core.deadlines.allowed_days`).
  Counting starts from the moment it was assigned; half a day is counted by halves of the day.
- A meeting decision (会议议定) has the deadline the meeting set, or none ("视情况适时报告进展").
  The office may also give it a level, counted like a leader-assigned matter.
- Key work (重点工作) is a year's target: due by the date given, by default the year's last day.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from inspect_api.core.calendar import DayHalf, Deadline, WorkingCalendar
from inspect_api.core.deadlines import (
    CHINA_TZ,
    HALF,
    LimitOutOfRange,
    MatterLevel,
    assigned_matter_deadline,
    is_overdue,
)
from inspect_api.errors import Forbidden, InvalidTransition, Unprocessable

KINDS = {"leader_assigned": "领导批办事项", "meeting_decision": "会议议定事项", "key_work": "重点工作"}
LEVELS = {MatterLevel.URGENT.value: "急件", MatterLevel.IMPORTANT.value: "要件", MatterLevel.ORDINARY.value: "普件"}
MEETING_KINDS = {"standing": "政府常务会议", "mayor_office": "县长办公会议", "topical": "政府专题会议"}
STATUS_LABELS = {"open": "办理中", "result_reported": "已反馈结果", "closed": "已办结"}
VERDICTS = {"done": "办结", "done_late": "逾期办结", "unfinished": "未办结"}
EXTENSION_STATUS = {"pending": "待审批", "approved": "已批准", "refused": "不予批准"}
REPORT_KINDS = {"progress": "进展情况", "result": "办理结果"}
UNIT_ROLES = {"lead": "主办", "co": "协办"}
# A reminder goes out when the deadline is this many working days away or fewer (the day before, and
# on the day for half-day matters).
REMIND_WORKING_DAYS = 1


class MatterError(Unprocessable):
    code = "invalid_matter"


class ExtensionBeyondStatutory(Unprocessable):
    code = "extension_beyond_statutory"


# --- deadlines ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MatterDeadline:
    due_on: dt.date | None  # None: no deadline (a meeting decision without one: progress from time to time)
    ends_at: DayHalf  # AM: by noon (half-day matters)
    days: Decimal | None  # working days counted, None for a date given outright
    provisional: bool
    assumed_years: tuple[int, ...] = ()

    @property
    def deadline(self) -> Deadline | None:
        return None if self.due_on is None else Deadline(self.due_on, self.assumed_years, self.ends_at)


def _local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(CHINA_TZ) if moment.tzinfo is not None else moment


def matter_deadline(calendar: WorkingCalendar, kind: str, assigned_at: dt.datetime, *, level: str | None = None,
                    days=None, statutory_days: int | None = None, due_on: dt.date | None = None,
                    target_year: int | None = None) -> MatterDeadline:
    """The deadline of a matter (see the module's notes). A level is required for a leader-assigned
    matter; a date given outright is refused for one (its limit is the seed's, in working days)."""
    if kind not in KINDS:
        raise MatterError(f"未知的事项类型 {kind!r}", {"fields": {"kind": [f"须为 {list(KINDS)} 之一"]}})
    assigned_day = _local(assigned_at).date()
    if kind == "leader_assigned" and level is None:
        raise MatterError("领导批办事项须注明等级（急件、要件、普件）", {"fields": {"level": ["必填"]}})
    if level is not None:
        if level not in LEVELS:
            raise MatterError(f"等级须为 {list(LEVELS)} 之一", {"fields": {"level": [f"须为 {list(LEVELS)} 之一"]}})
        if due_on is not None:
            raise MatterError("按等级计算期限的事项不能另填办结日期", {"fields": {"due_on": ["与等级二选一"]}})
        try:
            found = assigned_matter_deadline(calendar, MatterLevel(level), _local(assigned_at), days,
                                             statutory_days=statutory_days)
        except LimitOutOfRange as exc:
            raise LimitOutOfRange(exc.message, {"fields": {"days": exc.details["fields"]["requested_days"]}}) from exc
        d = found.deadline
        return MatterDeadline(d.date, d.ends_at, found.days, d.provisional, d.assumed_years)
    if days is not None:
        raise MatterError("工作日数须与等级一起填写", {"fields": {"days": ["须同时填写 level"]}})
    if kind == "key_work" and due_on is None:
        due_on = dt.date(target_year or assigned_day.year, 12, 31)
    if due_on is not None and due_on < assigned_day:
        raise MatterError("办结日期早于交办日期", {"fields": {"due_on": ["早于交办日期"]}})
    return MatterDeadline(due_on, DayHalf.PM, None, False, ())


def statutory_deadline(calendar: WorkingCalendar, assigned_at: dt.datetime, statutory_days: int | None
                       ) -> Deadline | None:
    """The last day a statutory limit (法律规定时限, in working days) allows, counted from the assignment."""
    if statutory_days is None:
        return None
    return calendar.add_working_days(_local(assigned_at).date(), statutory_days)


def overdue(due_on: dt.date | None, ends_at: DayHalf | str, done_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether a matter finished (or, unfinished, is at `now`) after its deadline; never without one."""
    if due_on is None:
        return False
    return is_overdue(Deadline(due_on, (), DayHalf(ends_at)), _local(done_at) if done_at else None, _local(now))


def needs_reminder(calendar: WorkingCalendar, due_on: dt.date | None, ends_at: DayHalf | str,
                   now: dt.datetime) -> bool:
    """Whether the deadline is near enough for a reminder and not yet past: within `REMIND_WORKING_DAYS`
    working days, or on the day itself."""
    if due_on is None or overdue(due_on, ends_at, None, now):
        return False
    today = _local(now).date()
    return today >= due_on or calendar.working_days_between(today, due_on) <= REMIND_WORKING_DAYS


# --- states ------------------------------------------------------------------------------------------------

TRANSITIONS = {
    "progress": {"open": "open", "result_reported": "result_reported"},
    "result": {"open": "result_reported", "result_reported": "result_reported"},
    "return": {"result_reported": "open"},
    "close": {"open": "closed", "result_reported": "closed"},
    "extend": {"open": "open"},
    "edit": {"open": "open", "result_reported": "result_reported"},
}


def next_status(status: str, action: str) -> str:
    allowed = TRANSITIONS[action]
    if status not in allowed:
        raise InvalidTransition(
            f"事项当前为“{STATUS_LABELS.get(status, status)}”，不能执行该操作 (not allowed from {status})",
            {"status": status, "action": action, "allowed_from": sorted(allowed)})
    return allowed[status]


def verdict(outcome: str, due_on: dt.date | None, ends_at: DayHalf | str, result_at: dt.datetime | None,
            now: dt.datetime) -> str:
    """The verdict a matter closes with: 未办结 when the office finds it not done; otherwise 办结 or
    逾期办结 by when the result was reported (now, if the office closes it without a reported result)."""
    if outcome == "unfinished":
        return "unfinished"
    if outcome != "finished":
        raise MatterError("outcome 须为 finished 或 unfinished", {"fields": {"outcome": ["finished | unfinished"]}})
    return "done_late" if overdue(due_on, ends_at, result_at or now, now) else "done"


def check_four_eyes(decider_id: int, registered_by: int | None) -> None:
    """An extension is decided by an office user other than the one who registered the matter (四眼)."""
    if registered_by is not None and decider_id == registered_by:
        raise Forbidden("延期须由登记该事项以外的效能办人员审批 (decided by a second office user)",
                        code="own_matter")


def check_extension(current_due: dt.date | None, requested_due: dt.date, statutory: Deadline | None,
                    reason: str) -> None:
    """An extension asks for a later day, gives its reason, and never passes a statutory limit (seed 003:
    "或法律规定时限内"; 004 (三)6: "最长不得超过法律、法规规定的时间")."""
    if not reason.strip():
        raise MatterError("延期须书面说明理由", {"fields": {"reason": ["必填"]}})
    if current_due is not None and requested_due <= current_due:
        raise MatterError("延期后的办结日期须晚于现办结日期", {"fields": {"new_due_on": ["须晚于现办结日期"]}})
    if statutory is not None and requested_due > statutory.date:
        raise ExtensionBeyondStatutory(
            f"延期后的办结日期超过法定时限（{statutory.describe()}），不予延期",
            {"fields": {"new_due_on": [f"不得晚于 {statutory.date.isoformat()}"]},
             "statutory_due_on": statutory.date.isoformat()})


# --- bulletins ---------------------------------------------------------------------------------------------

def period_of(granularity: str, year: int, number: int) -> tuple[dt.date, dt.date]:
    """A month (1–12) or a quarter (1–4) as its first and last day."""
    if granularity == "month":
        if not 1 <= number <= 12:
            raise MatterError("月份须为 1–12", {"fields": {"number": ["1–12"]}})
        first = dt.date(year, number, 1)
        last = (dt.date(year + (number == 12), number % 12 + 1, 1)) - dt.timedelta(days=1)
        return first, last
    if granularity == "quarter":
        if not 1 <= number <= 4:
            raise MatterError("季度须为 1–4", {"fields": {"number": ["1–4"]}})
        first = dt.date(year, 3 * number - 2, 1)
        return first, period_of("month", year, 3 * number)[1]
    raise MatterError("期间须为 month 或 quarter", {"fields": {"granularity": ["month | quarter"]}})


def state_label(status: str, verdict_code: str | None, is_overdue: bool) -> str:
    """What a bulletin says about a matter's state."""
    if status == "closed":
        return VERDICTS.get(verdict_code or "", "已办结")
    if is_overdue:
        return "逾期未办结"
    return "已反馈结果，待审核" if status == "result_reported" else "正在办理"


# --- statistics --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClosedMatter:
    unit_id: int
    level: str | None  # None: a matter without a level (a meeting's own deadline, key work)
    verdict: str


def on_time_rates(rows: Iterable[ClosedMatter]) -> list[dict]:
    """Per lead unit and level: matters closed, on time (办结), late (逾期办结), unfinished (未办结) and the
    on-time rate (办结 over all closed; None when none closed). A row with level None sums a unit's
    matters of every level."""
    counts: dict[tuple, dict[str, int]] = defaultdict(lambda: {"done": 0, "done_late": 0, "unfinished": 0})
    for r in rows:
        counts[(r.unit_id, r.level or "none")][r.verdict] += 1
        counts[(r.unit_id, None)][r.verdict] += 1
    out = []
    for (unit_id, level), c in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        closed = sum(c.values())
        out.append({"unit_id": unit_id, "level": level, "closed": closed, "on_time": c["done"],
                    "late": c["done_late"], "unfinished": c["unfinished"],
                    "on_time_rate": round(c["done"] / closed, 4) if closed else None})
    return out


def half_day_text(days: Decimal | None) -> str | None:
    if days is None:
        return None
    return "半个工作日" if days == HALF else f"{days.normalize():f}个工作日"
