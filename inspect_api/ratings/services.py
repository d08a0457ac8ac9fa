"""好差评 services: the public submission (through core/public_form: token, replay, rate limits), imports, listing, summary and
the follow-ups a 差评 opens. Nothing here reads the request: the route passes the few values needed,
and never an IP address or a user agent."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from inspect_api.audit import services as audit
from inspect_api.core import clock, public_form
from inspect_api.core.calendar_store import current_calendar
from inspect_api.core.clock import local
from inspect_api.db import db
from inspect_api.errors import Conflict, NotFound
from inspect_api.notifications.services import notify
from inspect_api.org.models import Unit
from inspect_api.org.recipients import liaison_ids, office_ids
from inspect_api.org.services import get_unit, scope_unit_ids
from inspect_api.ratings import rules
from inspect_api.ratings.models import Rating, RatingFollowUp
from inspect_api.ratings.policy import RatingsPolicy


def policy() -> RatingsPolicy:
    return current_app.extensions["inspect_ratings_policy"]


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


def _insert(table):
    return (postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)


# --- the public page ----------------------------------------------------------------------------------

def window_for_key(key: str) -> tuple[Unit, str]:
    """The unit and window of a genuine, current key; NotFound otherwise (a forged key looks unknown)."""
    found = rules.parse_window_key(_secret(), key)
    unit = db.session.get(Unit, found[0]) if found else None
    if unit is None or not unit.is_active:
        raise NotFound("评价页面不存在 (unknown window)")
    return unit, found[1]


def unit_windows(unit_id: int) -> list[str]:
    """The window numbers the unit's active staff sit at, in natural order."""
    from inspect_api.org.models import Staff

    found = db.session.scalars(sa.select(Staff.window_no).distinct().where(
        Staff.unit_id == unit_id, Staff.is_active.is_(True), Staff.window_no.is_not(None))).all()
    return sorted((w for w in found if w and rules.WINDOW_NO_RE.match(w)),
                  key=lambda w: (len(w), w))


def check_windows(unit_id: int, windows: list[str]) -> None:
    """Refuse window numbers nobody of the unit's active staff sits at: a printed code for a window that
    does not exist would collect ratings nobody answers for. 404 for one window, 422 naming them for a
    list."""
    from inspect_api.errors import Unprocessable

    known = set(unit_windows(unit_id))
    missing = [w for w in windows if w not in known]
    if not missing:
        return
    if len(windows) == 1:
        raise NotFound(f"该单位没有 {missing[0]} 号窗口（没有在岗工作人员登记该窗口号） (no such window)")
    raise Unprocessable(f"该单位没有这些窗口：{'、'.join(missing)} (no such window)",
                        {"fields": {"window": [f"没有 {w} 号窗口" for w in missing]}})


def window_key(unit_id: int, window_no: str) -> str:
    return rules.window_key(_secret(), unit_id, window_no)


def new_token(key: str) -> str:
    return public_form.new_token(key)


TOO_MANY = "评价过于频繁, 请稍后再试 (too many ratings)"


def submit_public(key: str, token: str, score, reasons, comment, device: str | None) -> Rating:
    """One rating from the public page. `device` is the random value of the device cookie (or None)."""
    unit, window_no = window_for_key(key)
    pol = policy()
    now = clock.now()
    issued = public_form.check_token(key, token, now, minutes=pol.token_minutes, min_fill_seconds=pol.min_fill_seconds)
    value = rules.validate(score, reasons, comment)
    public_form.use_token(token, issued, pol.token_minutes, now, "该评价已提交过, 请勿重复提交 (form already submitted)")
    public_form.throttle("window", f"{unit.id}:{window_no}", 60, pol.window_per_minute, now, TOO_MANY)
    if device:
        public_form.throttle("device", device, 3600, pol.device_per_hour, now, TOO_MANY)
    return _add(unit.id, window_no, value, "qr", None, local(now).date(), now)


def _add(unit_id: int, window_no: str, value: rules.RatingInput, source: str, external_id: str | None,
         rated_on: date, now: datetime) -> Rating:
    rating = Rating(unit_id=unit_id, window_no=window_no, score=value.score, reasons=list(value.reasons),
                    comment=value.comment, source=source, external_id=external_id, created_at=now,
                    rated_on=rated_on)
    db.session.add(rating)
    db.session.flush()
    if rules.is_bad(value.score):
        # An imported 差评 is counted from the day it reaches us, not from a rated_on weeks ago.
        open_follow_up(rating, start=rated_on if source == "qr" else local(now).date())
    return rating


def open_follow_up(rating: Rating, start: date) -> RatingFollowUp:
    days = policy().follow_up_days
    deadline = current_calendar().add_working_days(start, days)
    follow = RatingFollowUp(rating_id=rating.id, unit_id=rating.unit_id, working_days=days, due_on=deadline.date,
                            provisional=deadline.provisional, status="open", created_at=clock.now())
    db.session.add(follow)
    db.session.flush()
    for user_id in liaison_ids([rating.unit_id]):
        notify(user_id, "rating_follow_up", f"收到差评（{rules.SCORE_LABELS[rating.score]}），请于 "
               f"{deadline.describe()} 前整改", None, {"type": "rating_follow_up", "id": follow.id},
               f"rating_follow_up:{follow.id}:{user_id}")
    return follow


# --- import from the provincial system ---------------------------------------------------------------

def _score_cell(raw: str) -> int:
    from inspect_api.org.tables import CellError

    by_label = {label: s for s, label in rules.SCORE_LABELS.items()}
    if raw in by_label:
        return by_label[raw]
    if raw.isdigit() and int(raw) in rules.SCORE_LABELS:
        return int(raw)
    raise CellError("评分须为 1–5 或 非常满意/满意/基本满意/不满意/非常不满意")


def _reasons_cell(raw: str) -> list[str]:
    import re

    from inspect_api.org.tables import CellError

    # A label may itself hold 、 (办理效率低、等候时间长): each piece is matched whole first, and split
    # on 、 only when it is no label as it stands.
    parts = []
    for piece in (p.strip() for p in re.split(r"[;；,，|]", raw) if p.strip()):
        parts.extend(_split_on_pause_marks(piece))
    unknown = [p for p in parts if rules.reason_code(p) is None]
    if unknown:
        raise CellError(f"未知的原因：{'、'.join(unknown)}")
    return parts


def _split_on_pause_marks(piece: str) -> list[str]:
    """`服务态度差、办理效率低、等候时间长` -> [服务态度差, 办理效率低、等候时间长]: from each point, the
    longest run of 、-separated words that is a whole label (or code) is taken; a word that starts no label
    stays alone (and is refused as unknown)."""
    words = [w.strip() for w in piece.split("、")]
    out, i = [], 0
    while i < len(words):
        for j in range(len(words), i, -1):
            if rules.reason_code("、".join(words[i:j])) is not None:
                out.append("、".join(words[i:j]))
                i = j
                break
        else:
            if words[i]:
                out.append(words[i])
            i += 1
    return out


def _date_cell(raw: str) -> date:
    from inspect_api.org.tables import CellError

    try:
        return date.fromisoformat(raw.replace("/", "-")[:10])
    except ValueError as exc:
        raise CellError("日期格式应为 YYYY-MM-DD") from exc


def _window_cell(raw: str) -> str:
    from inspect_api.org.tables import CellError

    if not rules.WINDOW_NO_RE.match(raw):
        raise CellError("窗口号只能包含字母、数字和 -, 最多 16 位")
    return raw


def _external_id_cell(raw: str) -> str:
    from inspect_api.org.tables import CellError

    if len(raw) > 64:
        raise CellError("外部编号不能超过 64 位")
    return raw


def _columns():
    from inspect_api.org.tables import Column, parse_code, text

    return (
        Column("unit_code", "单位编码", parse_code, ("unit", "unit code"), required=True),
        Column("window_no", "窗口号", _window_cell, ("window", "窗口"), required=True),
        Column("score", "评分", _score_cell, ("评价等级", "满意度"), required=True),
        Column("reasons", "原因", _reasons_cell, ("评价原因",)),
        Column("comment", "评价内容", text(rules.COMMENT_MAX), ("comment", "意见")),
        Column("rated_on", "评价日期", _date_cell, ("rated on", "date", "日期"), required=True),
        Column("external_id", "外部编号", _external_id_cell, ("external id", "评价编号", "id"), required=True),
    )


def parse_import(stream, filename: str) -> tuple[list[dict], list]:
    """Rows of a provincial-system export, checked against the units and each other; (rows, errors)."""
    from inspect_api.org.tables import RowError, parse_table

    table = parse_table(stream, filename, _columns())
    if table.fatal:
        return [], table.fatal
    rows: list[dict] = []
    errors: list = list(table.errors)
    seen: dict[str, int] = {}
    for row_no, values in table.rows:
        unit = db.session.scalar(sa.select(Unit).where(Unit.code == values["unit_code"]))
        if unit is None:
            errors.append(RowError(row_no, table.index["unit_code"][1], f"单位编码 {values['unit_code']} 不存在"))
            continue
        if values["external_id"] in seen:
            errors.append(RowError(row_no, table.index["external_id"][1],
                                   f"外部编号与第 {seen[values['external_id']]} 行重复"))
            continue
        seen[values["external_id"]] = row_no
        try:
            value = rules.validate(values["score"], values.get("reasons") or [], values.get("comment"))
        except rules.Unprocessable as exc:
            for name, msgs in exc.details["fields"].items():
                errors.append(RowError(row_no, name, "；".join(msgs)))
            continue
        rows.append({"unit_id": unit.id, "window_no": values["window_no"], "value": value,
                     "rated_on": values["rated_on"], "external_id": values["external_id"]})
    return rows, sorted(errors, key=lambda e: e.row)  # in the file's order, as they were met


def import_rows(rows: list[dict]) -> dict:
    """Parsed rows -> created / unchanged counts; external ids already imported are left alone."""
    now = clock.now()
    created = unchanged = 0
    for row in rows:
        exists = db.session.scalar(sa.select(Rating.id).where(Rating.source == "import",
                                                              Rating.external_id == row["external_id"]))
        if exists:
            unchanged += 1
            continue
        _add(row["unit_id"], row["window_no"], row["value"], "import", row["external_id"], row["rated_on"], now)
        created += 1
    return {"rows": len(rows), "created": created, "unchanged": unchanged}


def record_import(report: dict, filename: str, actor) -> None:
    """The import on the trail: who imported which file and what it changed (not the rows themselves)."""
    if report["created"]:
        audit.record("rating.import", "rating_import", (filename or "-")[:64], actor=actor, after=report)


# --- reading ------------------------------------------------------------------------------------------

def _scoped(stmt: sa.Select, user, args: dict) -> sa.Select:
    scope = scope_unit_ids(user)
    if scope is not None:
        stmt = stmt.where(Rating.unit_id.in_(scope))
    if args.get("unit_id"):
        get_unit(args["unit_id"], user)  # 404 when unknown or outside the caller's scope
        stmt = stmt.where(Rating.unit_id == args["unit_id"])
    if args.get("window_no"):
        stmt = stmt.where(Rating.window_no == args["window_no"])
    if args.get("score"):
        stmt = stmt.where(Rating.score == args["score"])
    if args.get("from"):
        stmt = stmt.where(Rating.rated_on >= args["from"])
    if args.get("to"):
        stmt = stmt.where(Rating.rated_on <= args["to"])
    return stmt


def is_unit_view(user) -> bool:
    """A unit's own people see a rater-protecting view of its ratings (the office sees them whole)."""
    return user.role == "unit_liaison"


def ratings(user, args: dict) -> sa.Select:
    if not is_unit_view(user):
        return _scoped(sa.select(Rating), user, args).order_by(Rating.rated_on.desc(), Rating.id.desc())
    # A window's day with fewer than `liaison_min_ratings` ratings is not listed one by one (those count
    # only in the summary): a window that had two raters that morning would know who left the 差评.
    # Within a day the order is by score, not by arrival.
    same_day = aliased(Rating)
    day_count = (sa.select(sa.func.count()).where(same_day.unit_id == Rating.unit_id,
                                                  same_day.window_no == Rating.window_no,
                                                  same_day.rated_on == Rating.rated_on)
                 .scalar_subquery())
    return (_scoped(sa.select(Rating), user, args).where(day_count >= policy().liaison_min_ratings)
            .order_by(Rating.rated_on.desc(), Rating.unit_id, Rating.window_no, Rating.score, Rating.id))


def summary(user, args: dict) -> dict:
    rows = db.session.execute(_scoped(sa.select(Rating.score, Rating.reasons), user, args)).all()
    figures = rules.satisfaction([r.score for r in rows])
    by_reason = dict.fromkeys(rules.REASONS, 0)
    for r in rows:
        for code in r.reasons or []:
            if code in by_reason:
                by_reason[code] += 1
    figures["by_reason"] = [{"code": c, "label": rules.REASONS[c], "count": n} for c, n in by_reason.items()]
    figures["by_score"] = [{"score": s, "label": rules.SCORE_LABELS[s], "count": sum(1 for r in rows if r.score == s)}
                           for s in sorted(rules.SCORE_LABELS, reverse=True)]
    return figures



def follow_ups(user, args: dict) -> sa.Select:
    """Follow-ups in the caller's scope (a liaison: its own units; the office: all), earliest deadline
    first; filter by status, unit and `overdue` (open and past its day)."""
    stmt = sa.select(RatingFollowUp)
    scope = scope_unit_ids(user)
    if scope is not None:
        stmt = stmt.where(RatingFollowUp.unit_id.in_(scope))
    if args.get("unit_id"):
        get_unit(args["unit_id"], user)  # 404 when unknown or outside the caller's scope
        stmt = stmt.where(RatingFollowUp.unit_id == args["unit_id"])
    if args.get("status"):
        stmt = stmt.where(RatingFollowUp.status == args["status"])
    if args.get("overdue") is not None:
        late = sa.and_(RatingFollowUp.status == "open", RatingFollowUp.due_on < clock.today())
        stmt = stmt.where(late if args["overdue"] else sa.not_(late))
    return stmt.order_by(RatingFollowUp.due_on, RatingFollowUp.id)


def flag_overdue_follow_ups() -> int:
    """Scheduler job: tell the office and the unit once when a 差评 follow-up passed its day still open;
    a second run finds nothing new."""
    due = db.session.scalars(sa.select(RatingFollowUp).where(
        RatingFollowUp.status == "open", RatingFollowUp.due_on < clock.today(),
        RatingFollowUp.flagged_overdue_at.is_(None)).with_for_update()).all()
    office = office_ids()
    for f in due:
        f.flagged_overdue_at = clock.now()
        audit.record("rating_follow_up.overdue", "rating_follow_up", f.id,
                     after={"due_on": f.due_on.isoformat(), "unit_id": f.unit_id})
        for user_id in [*office, *liaison_ids([f.unit_id])]:
            notify(user_id, "rating_follow_up.overdue", "差评整改逾期", f"差评整改期限 {f.due_on:%Y-%m-%d} 已过",
                   {"type": "rating_follow_up", "id": f.id}, f"rating_follow_up.overdue:{f.id}:{user_id}")
    db.session.flush()
    return len(due)


def recompute_provisional_follow_ups(years: list[int], actor=None) -> int:
    """After a holiday table is imported: count provisional follow-up deadlines again from the same day;
    returns how many moved."""
    cal = current_calendar()
    changed = 0
    rows = db.session.scalars(sa.select(RatingFollowUp).where(
        RatingFollowUp.provisional.is_(True), RatingFollowUp.status == "open").with_for_update()).all()
    for f in rows:
        rating = db.session.get(Rating, f.rating_id)
        start = rating.rated_on if rating.source == "qr" else local(f.created_at).date()
        d = cal.add_working_days(start, f.working_days)
        before = {"due_on": f.due_on.isoformat(), "provisional": f.provisional}
        f.due_on, f.provisional = d.date, d.provisional
        if f.flagged_overdue_at is not None and f.due_on >= clock.today():
            f.flagged_overdue_at = None  # the later day has not passed yet
        after = {"due_on": f.due_on.isoformat(), "provisional": f.provisional}
        if after == before:
            continue
        audit.record("rating_follow_up.recompute", "rating_follow_up", f.id, actor=actor, before=before,
                     after={**after, "years": years})
        if after["due_on"] != before["due_on"]:
            changed += 1
            for user_id in liaison_ids([f.unit_id]):
                notify(user_id, "deadline.recomputed", "期限已按正式节假日安排调整",
                       f"差评整改期限 {before['due_on']} → {after['due_on']}", {"type": "rating_follow_up", "id": f.id},
                       f"deadline.recomputed:rating_follow_up:{f.id}:{after['due_on']}:{user_id}")
    db.session.flush()
    return changed


def close_follow_up(user, follow_up_id: int, note: str) -> RatingFollowUp:
    f = db.session.get(RatingFollowUp, follow_up_id, with_for_update=True)
    if f is None or not db.session.scalar(sa.select(sa.literal(True)).where(
            sa.literal(f.unit_id).in_(scope_unit_ids(user)))):
        raise NotFound("差评整改不存在 (no such follow-up)")
    if f.status == "closed":
        raise Conflict("该差评整改已办结 (already closed)", code="invalid_transition")
    f.status, f.note, f.closed_at, f.closed_by = "closed", note, clock.now(), user.id
    audit.record("rating_follow_up.close", "rating_follow_up", f.id, actor=user,
                 before={"status": "open"}, after={"status": "closed", "note": note,
                                                   "late": f.due_on < clock.today()})
    return f


def on_calendar_imported(_sender, *, years: list[int], actor=None) -> int:
    """Receiver of core.events.calendar_imported."""
    return recompute_provisional_follow_ups(years, actor)
