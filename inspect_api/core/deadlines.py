"""Time-limit rules (限时办结): when a service matter's clock starts, which days are not counted,
whether an extension holds, the limits of assigned matters, and whether something is overdue.

Pure: plain values, frozen dataclasses and a `WorkingCalendar` in; frozen dataclasses out; a
`TimeLimitError` (a `DomainError`) for invalid input. No Flask, no database, no clock ("now" is
an argument). Counting follows `inspect_api.core.calendar`: the start day is not counted, and a
deadline is the whole of its last day.

Seeds: 004 (三)5-6 (江阴, 2012: the clock, one-time notice, excluded procedures, extensions) and
003 第五篇 三(三)(四) (十堰, 2011: assigned matters and problems reported by the public).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from inspect_api.core.calendar import DayHalf, Deadline, WorkingCalendar
from inspect_api.errors import Unprocessable

# China has kept UTC+8 without daylight saving since 1991, so a fixed offset is exact for every date
# this system handles, and needs no tz database.
CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
NOON = dt.time(12, 0)

# 004 (三)5: "应当当场或在5日内一次性告知". The sentence is 行政许可法 §32(四) word for word, and that
# law counts its periods in working days (§82: "期限以工作日计算，不含法定节假日"), so the 5 days are
# working days after the day the materials were received.
NOTICE_WINDOW_WORKING_DAYS = 5


class TimeLimitError(Unprocessable):
    code = "invalid_time_limit"


class LimitOutOfRange(TimeLimitError):
    code = "time_limit_out_of_range"


class ExtensionRefused(TimeLimitError):
    """An extension that does not meet 004 (三)6; `problems` says which requirements failed."""

    code = "extension_refused"

    def __init__(self, outcome: ExtensionOutcome):
        self.problems = outcome.problems
        super().__init__(
            "延期无效：" + "；".join(p.label for p in outcome.problems),
            {"problems": [p.value for p in outcome.problems],
             "effective_deadline": outcome.effective.date.isoformat()},
        )


def _day_and_time(moment: dt.date | dt.datetime) -> tuple[dt.date, dt.time | None]:
    """A moment as (local date, local time or None for a date alone). Aware datetimes are converted to
    China time; naive ones are taken as China time already."""
    if isinstance(moment, dt.datetime):
        if moment.tzinfo is not None:
            moment = moment.astimezone(CHINA_TZ)
        return moment.date(), moment.time()
    if isinstance(moment, dt.date):
        return moment, None
    raise TypeError(f"expected a date or datetime, got {type(moment).__name__}")


def day_half(moment: dt.date | dt.datetime) -> DayHalf:
    """The half of the (China) day a moment falls in; a date alone is taken as the morning, the
    earliest it could have been, so a limit computed from it is never longer than the real one."""
    _, time = _day_and_time(moment)
    return DayHalf.PM if time is not None and time >= NOON else DayHalf.AM


# --- when the clock starts (004 (三)5) ------------------------------------------------------------

class ClockStartRule(StrEnum):
    COMPLETE = "complete"  # materials complete on receipt: from receipt
    FROM_SUPPLEMENT = "from_supplement"  # incomplete, notice in time: from the supplement's arrival
    AWAITING_SUPPLEMENT = "awaiting_supplement"  # incomplete, notice in time, supplement not yet in
    NOTICE_LATE = "notice_late"  # incomplete, notice after the window: from receipt
    NOTICE_MISSING = "notice_missing"  # incomplete, no notice: from receipt

    @property
    def label(self) -> str:
        return {
            "complete": "材料齐全，自收到申请材料之日起计算",
            "from_supplement": "已按时一次性告知，自收到补正材料之日起计算",
            "awaiting_supplement": "已按时一次性告知，补正材料尚未收到，时限尚未起算",
            "notice_late": "未在5个工作日内一次性告知，办理时限自收到申请材料之日起计算",
            "notice_missing": "未一次性告知需补正的内容，办理时限自收到申请材料之日起计算",
        }[self]


@dataclass(frozen=True)
class MaterialsReceipt:
    received_on: dt.date  # the day the application materials were received (收到申请材料之日)
    complete: bool  # complete and in the legal form when received
    notice_on: dt.date | None = None  # one-time notice of everything to supplement; on the spot = received_on
    supplemented_on: dt.date | None = None  # the day the missing materials arrived

    def __post_init__(self):
        if self.complete and (self.notice_on or self.supplemented_on):
            raise TimeLimitError("材料齐全时不应有补正告知或补正材料日期",
                                 {"fields": {"complete": ["材料齐全与补正记录矛盾"]}})
        if self.notice_on and self.notice_on < self.received_on:
            raise TimeLimitError("一次性告知日期早于收件日期", {"fields": {"notice_on": ["早于收件日期"]}})
        if self.supplemented_on and self.supplemented_on < self.received_on:
            raise TimeLimitError("补正材料日期早于收件日期", {"fields": {"supplemented_on": ["早于收件日期"]}})


@dataclass(frozen=True)
class ClockStart:
    starts_on: dt.date | None  # the day counting starts after (not itself counted); None: not started
    rule: ClockStartRule
    notice_due: Deadline | None = None  # the last day the one-time notice was due (incomplete only)

    @property
    def notice_in_time(self) -> bool | None:
        """False when the one-time notice was late or missing (an `incomplete_notice` finding)."""
        if self.rule is ClockStartRule.COMPLETE:
            return None
        return self.rule not in (ClockStartRule.NOTICE_LATE, ClockStartRule.NOTICE_MISSING)


def clock_start(calendar: WorkingCalendar, receipt: MaterialsReceipt) -> ClockStart:
    """When the time limit starts (004 (三)5: "限时办结的时限从收到相关申请文件、材料之日起计算。申请材料
    不齐全或不符合法定形式的，应当当场或在5日内一次性告知申请人需要补正的全部内容，逾期不告知的，办理时限
    自收到申请材料之日起计算").

    The notice is in time up to and including the 5th working day after receipt. A notice in time
    moves the start to the day the missing materials arrived; a late or missing one leaves it at receipt.
    """
    if receipt.complete:
        return ClockStart(receipt.received_on, ClockStartRule.COMPLETE)
    notice_due = calendar.add_working_days(receipt.received_on, NOTICE_WINDOW_WORKING_DAYS)
    if receipt.notice_on is None:
        return ClockStart(receipt.received_on, ClockStartRule.NOTICE_MISSING, notice_due)
    if receipt.notice_on > notice_due.date:
        return ClockStart(receipt.received_on, ClockStartRule.NOTICE_LATE, notice_due)
    if receipt.supplemented_on is None:
        return ClockStart(None, ClockStartRule.AWAITING_SUPPLEMENT, notice_due)
    if receipt.supplemented_on < receipt.notice_on:
        raise TimeLimitError("补正材料日期早于一次性告知日期",
                             {"fields": {"supplemented_on": ["早于一次性告知日期"]}})
    return ClockStart(receipt.supplemented_on, ClockStartRule.FROM_SUPPLEMENT, notice_due)


# --- procedures whose time is not counted (004 (三)5) ---------------------------------------------

class ExcludedProcedure(StrEnum):
    HEARING = "hearing"
    TENDER = "tender"
    AUCTION = "auction"
    INSPECTION = "inspection"
    TESTING = "testing"
    SURVEY = "survey"
    QUARANTINE = "quarantine"
    APPRAISAL = "appraisal"
    ONSITE_REVIEW = "onsite_review"
    EXPERT_REVIEW = "expert_review"

    @property
    def label(self) -> str:
        return {
            "hearing": "听证", "tender": "招标", "auction": "拍卖", "inspection": "检验", "testing": "检测",
            "survey": "勘测（现场勘查）", "quarantine": "检疫", "appraisal": "鉴定",
            "onsite_review": "现场审核（现场审查）", "expert_review": "专家评审",
        }[self]


@dataclass(frozen=True)
class ExcludedPeriod:
    procedure: ExcludedProcedure
    first_day: dt.date
    last_day: dt.date  # inclusive
    applicant_told: bool  # the applicant was told the time it needs (所需时间告知服务对象)

    def __post_init__(self):
        object.__setattr__(self, "procedure", ExcludedProcedure(self.procedure))
        if self.last_day < self.first_day:
            raise TimeLimitError(f"{self.procedure.label}的结束日期早于开始日期",
                                 {"fields": {"last_day": ["早于开始日期"]}})

    def days(self) -> Iterable[dt.date]:
        day = self.first_day
        while day <= self.last_day:
            yield day
            day += dt.timedelta(days=1)


@dataclass(frozen=True)
class ProcessingDeadline:
    deadline: Deadline
    limit_days: int
    excluded_days: int  # working days not counted because a told procedure ran on them
    disregarded: tuple[ExcludedPeriod, ...]  # untold procedures: their days were counted as usual

    @property
    def provisional(self) -> bool:
        return self.deadline.provisional


def processing_deadline(calendar: WorkingCalendar, starts_on: dt.date, limit_days: int,
                        excluded: Iterable[ExcludedPeriod] = ()) -> ProcessingDeadline:
    """The last day of a `limit_days` working-day limit whose clock started on `starts_on` (see
    `clock_start`), not counting the working days of procedures the applicant was told about (004
    (三)5: "需要经过听证、招标、拍卖、检验、检测、勘测、检疫、鉴定、现场审核或专家评审等程序的，所需时间不计算
    在承诺时限内的，行政机关及相关单位应当将上述程序所需时间告知服务对象").

    Telling the applicant is the condition for leaving the time out: an untold procedure's days are
    counted like any other, so an unexplained delay still shows as overdue.
    """
    if isinstance(limit_days, bool) or not isinstance(limit_days, int) or limit_days < 0:
        raise TimeLimitError(f"办理时限必须是非负整数个工作日，收到 {limit_days!r}",
                             {"fields": {"limit_days": ["必须是非负整数"]}})
    excluded = tuple(excluded)
    told = frozenset(d for p in excluded if p.applicant_told for d in p.days())
    deadline = calendar.add_working_days(starts_on, limit_days, excluded=told)
    skipped = sum(1 for d in told if starts_on < d <= deadline.date and calendar.is_working_day(d))
    return ProcessingDeadline(deadline, limit_days, skipped, tuple(p for p in excluded if not p.applicant_told))


# --- extensions (004 (三)6) -----------------------------------------------------------------------

class ExtensionProblem(StrEnum):
    NOT_SIGNED = "not_signed"
    NOT_NOTIFIED = "not_notified"
    NOTIFIED_LATE = "notified_late"
    NO_REASON = "no_reason"
    BEYOND_STATUTORY = "beyond_statutory"

    @property
    def label(self) -> str:
        return {
            "not_signed": "延期未经受理部门负责人签署意见",
            "not_notified": "延期未告知服务对象",
            "notified_late": "延期在时限届满后才告知服务对象",
            "no_reason": "延期未说明原因和理由",
            "beyond_statutory": "延期后的办结时限超过法律、法规规定的时限",
        }[self]


# These void the extension: the original deadline stands. BEYOND_STATUTORY only caps it.
_VOIDING = (ExtensionProblem.NOT_SIGNED, ExtensionProblem.NOT_NOTIFIED, ExtensionProblem.NOTIFIED_LATE,
            ExtensionProblem.NO_REASON)


@dataclass(frozen=True)
class Extension:
    new_deadline: dt.date  # the completion date the notice named (明确办结时限)
    head_signed: bool  # the head of the accepting unit signed off (负责人签署意见)
    notified_on: dt.date | None  # the day the applicant was told; None: never
    reason: str = ""  # the reason given to the applicant (说明原因和理由)


@dataclass(frozen=True)
class ExtensionOutcome:
    effective: Deadline  # the deadline the matter is measured against
    problems: tuple[ExtensionProblem, ...]

    @property
    def valid(self) -> bool:
        return not self.problems

    def raise_if_invalid(self) -> Deadline:
        if self.problems:
            raise ExtensionRefused(self)
        return self.effective


def evaluate_extension(original: Deadline, extension: Extension,
                       statutory: Deadline | None = None) -> ExtensionOutcome:
    """Whether an extension holds, and the deadline that applies (004 (三)6: "不能按期办结需要延期的，应当
    由受理事项的部门(单位)负责人签署意见，并在时限届满前告知服务对象，说明原因和理由，并明确办结时限，但最长
    不得超过法律、法规规定的时间").

    - The notice is in time up to and including the original deadline's day (the limit runs out at
      the end of that day); a notice after it, a missing notice, a missing signature or a missing
      reason void the extension: the original deadline stands.
    - A procedurally sound extension past `statutory` (the statutory limit counted from the same
      clock start; None when no law sets one) is refused too, but the matter is then measured against
      the statutory deadline: the seed allows extending, only never past the law.
    """
    if extension.new_deadline <= original.date:
        raise TimeLimitError("延期后的办结时限应晚于原办结时限",
                             {"fields": {"new_deadline": ["应晚于原办结时限"]}})
    if statutory is not None and statutory.date < original.date:
        raise TimeLimitError("原办结时限已超过法定时限，请先核对承诺时限",
                             {"fields": {"statutory": ["早于原办结时限"]}})
    problems = []
    if not extension.head_signed:
        problems.append(ExtensionProblem.NOT_SIGNED)
    if extension.notified_on is None:
        problems.append(ExtensionProblem.NOT_NOTIFIED)
    elif extension.notified_on > original.date:
        problems.append(ExtensionProblem.NOTIFIED_LATE)
    if not extension.reason.strip():
        problems.append(ExtensionProblem.NO_REASON)
    beyond = statutory is not None and extension.new_deadline > statutory.date
    if beyond:
        problems.append(ExtensionProblem.BEYOND_STATUTORY)
    if any(p in _VOIDING for p in problems):
        return ExtensionOutcome(original, tuple(problems))
    if beyond:
        return ExtensionOutcome(statutory, tuple(problems))
    # The new date is the unit's own; it only rests on the calendar through the statutory check.
    assumed = statutory.assumed_years if statutory is not None else ()
    return ExtensionOutcome(Deadline(extension.new_deadline, assumed), ())


# --- assigned matters and problems reported by the public (003 第五篇 三(三)(四)) ---------------------

class MatterLevel(StrEnum):
    URGENT = "urgent"
    IMPORTANT = "important"
    ORDINARY = "ordinary"
    CITIZEN_ROUTINE = "citizen_routine"
    CITIZEN_HEAVY = "citizen_heavy"
    CITIZEN_MULTI_DEPARTMENT = "citizen_multi_department"

    @property
    def label(self) -> str:
        return {
            "urgent": "急件", "important": "要件", "ordinary": "普件",
            "citizen_routine": "群众反映问题", "citizen_heavy": "群众反映问题（工作量大）",
            "citizen_multi_department": "群众反映问题（涉及多个部门）",
        }[self]


HALF = Decimal("0.5")


@dataclass(frozen=True)
class LevelLimit:
    min_days: Decimal
    max_days: Decimal
    default_days: Decimal  # when the assigner names no number
    law_overrides: bool  # the seed lets a statutory limit replace the range ("或法律规定时限内")
    seed: str


# Seed 003 第五篇 三(三): "对批办的紧急事项…立即办理，在半个工作日最迟不得超过1个工作日内办结；对批办的重要
# 事项…在1-3个工作日或法律规定时限内办结；对批办的一般事项…在3-5个工作日或法律规定时限内办结".
# 三(四): "除法律有明确时限要求的，一般应在1-5个工作日内办结；工作量大…力争5-10个工作日内办结；…涉及多个
# 部门…在30个工作日内办结".
LEVEL_LIMITS: dict[MatterLevel, LevelLimit] = {
    MatterLevel.URGENT: LevelLimit(HALF, Decimal(1), HALF, False, "003 第五篇 三(三) 急件"),
    MatterLevel.IMPORTANT: LevelLimit(Decimal(1), Decimal(3), Decimal(3), True, "003 第五篇 三(三) 要件"),
    MatterLevel.ORDINARY: LevelLimit(Decimal(3), Decimal(5), Decimal(5), True, "003 第五篇 三(三) 普件"),
    MatterLevel.CITIZEN_ROUTINE: LevelLimit(Decimal(1), Decimal(5), Decimal(5), True, "003 第五篇 三(四)"),
    MatterLevel.CITIZEN_HEAVY: LevelLimit(Decimal(5), Decimal(10), Decimal(10), False, "003 第五篇 三(四)"),
    MatterLevel.CITIZEN_MULTI_DEPARTMENT: LevelLimit(Decimal(1), Decimal(30), Decimal(30), False,
                                                     "003 第五篇 三(四)"),
}


def _days_text(days: Decimal) -> str:
    return "半个" if days == HALF else f"{days.normalize():f}个"


def _range_text(low: Decimal, high: Decimal) -> str:
    if low == HALF:
        return f"半个至{_days_text(high)}工作日"
    return f"{low.normalize():f}至{_days_text(high)}工作日"


def _as_days(value) -> Decimal:
    if isinstance(value, bool):
        raise TypeError("a number of days, not a bool")
    try:
        days = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise LimitOutOfRange(f"办理时限“{value}”不是数字", {"fields": {"requested_days": ["不是数字"]}}) from None
    if not days.is_finite():
        raise LimitOutOfRange(f"办理时限“{value}”不是数字", {"fields": {"requested_days": ["不是数字"]}})
    return days


def allowed_days(level: MatterLevel, requested_days=None, *, statutory_days: int | None = None) -> Decimal:
    """The working days an assigned matter of `level` gets: `requested_days` when it lies in the level's
    range, the level's default (its upper bound; half a day for urgent) when None. A number outside
    the range is refused with LimitOutOfRange rather than clamped: a different number means a
    different level. Half a day is only for urgent matters; other limits are whole days.

    `statutory_days` (a limit set by law) replaces the range by 1..statutory_days for the levels whose
    seed text says "或法律规定时限内" / "除法律有明确时限要求的"; for the others it only caps the range.
    """
    level = MatterLevel(level)
    rule = LEVEL_LIMITS[level]
    low, high, default = rule.min_days, rule.max_days, rule.default_days
    if statutory_days is not None:
        if isinstance(statutory_days, bool) or not isinstance(statutory_days, int) or statutory_days < 1:
            raise TimeLimitError("法定时限必须是正整数个工作日", {"fields": {"statutory_days": ["必须是正整数"]}})
        statutory = Decimal(statutory_days)
        if rule.law_overrides:
            low, high, default = Decimal(1), statutory, statutory
        else:  # the law's limit is never exceeded, whatever the level allows
            high = min(high, statutory)
            low, default = min(low, high), min(default, high)
    if requested_days is None:
        return default
    days = _as_days(requested_days)
    fields = {"fields": {"requested_days": [f"应为{_range_text(low, high)}"]}}
    whole = days == days.to_integral_value()
    if not low <= days <= high or not (whole or days == HALF == low):
        hint = "" if whole or days == HALF else "；时限按整个工作日计，只有急件可为半个工作日"
        raise LimitOutOfRange(
            f"{level.label}的办理时限应为{_range_text(low, high)}，"
            f"不能是{_days_text(days)}工作日（{rule.seed}）{hint}", fields)
    return Decimal(int(days)) if whole else days  # "2.0" -> 2


@dataclass(frozen=True)
class AssignedMatterDeadline:
    level: MatterLevel
    days: Decimal
    deadline: Deadline


def assigned_matter_deadline(calendar: WorkingCalendar, level: MatterLevel, assigned_at: dt.date | dt.datetime,
                             requested_days=None, *, statutory_days: int | None = None) -> AssignedMatterDeadline:
    """The deadline of an assigned matter (seed 003, see `allowed_days`), counted from the moment it was
    assigned. Half a day is counted by halves of the day (`WorkingCalendar.add_half_working_day`), so
    it needs the time: a date alone is taken as the morning."""
    days = allowed_days(level, requested_days, statutory_days=statutory_days)
    day, _ = _day_and_time(assigned_at)
    if days == HALF:
        deadline = calendar.add_half_working_day(day, day_half(assigned_at))
    else:
        deadline = calendar.add_working_days(day, int(days))
    return AssignedMatterDeadline(MatterLevel(level), days, deadline)


# --- overdue and promises --------------------------------------------------------------------------

def is_overdue(deadline: Deadline | dt.date, done_at: dt.date | dt.datetime | None,
               now: dt.date | dt.datetime) -> bool:
    """Whether a matter finished (or, unfinished, is at `now`) after its deadline: after the deadline's
    day, or after noon of it for a half-day deadline. A date without a time on the deadline's own day
    is in time even for a noon deadline: a date alone can't show it was late."""
    if not isinstance(deadline, Deadline):
        deadline = Deadline(deadline)
    now_day, _ = _day_and_time(now)
    if done_at is not None and _day_and_time(done_at)[0] > now_day:
        raise TimeLimitError("办结时间晚于当前时间", {"fields": {"done_at": ["晚于当前时间"]}})
    day, time = _day_and_time(done_at if done_at is not None else now)
    if day != deadline.date:
        return day > deadline.date
    return deadline.ends_at is DayHalf.AM and time is not None and time > NOON


@dataclass(frozen=True)
class PromiseCheck:
    allowed: Deadline  # the last day the committed limit allows, counted from the visit
    promised_on: dt.date
    promised_working_days: int  # working days from the visit to the promised day
    exceeds: bool

    @property
    def provisional(self) -> bool:
        return self.allowed.provisional


def check_promised_date(calendar: WorkingCalendar, visited_on: dt.date, promised_on: dt.date,
                        committed_days: int) -> PromiseCheck:
    """Whether the date a window promised a mystery shopper lies beyond the service item's committed
    limit (承诺时限, in working days) counted from the visit. Compared by date: promising the Saturday
    after a Friday deadline exceeds it, although no working day lies between."""
    if isinstance(committed_days, bool) or not isinstance(committed_days, int) or committed_days < 0:
        raise TimeLimitError("承诺时限必须是非负整数个工作日", {"fields": {"committed_days": ["必须是非负整数"]}})
    if promised_on < visited_on:
        raise TimeLimitError("承诺办结日期早于办事日期", {"fields": {"promised_on": ["早于办事日期"]}})
    allowed = calendar.add_working_days(visited_on, committed_days)
    # The verdict compares dates, so it is only as provisional as `allowed`; the day count may also
    # rest on an assumed year (calendar.assumed_years_between tells).
    return PromiseCheck(allowed, promised_on, calendar.working_days_between(visited_on, promised_on),
                        promised_on > allowed.date)
