"""Load, change and flush visits: the idempotent upsert, submit, batch sync and evidence intake.
Callers (routes) own the single commit."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import lazyload, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from inspect_api.audit import services as audit
from inspect_api.auth import permissions
from inspect_api.auth.models import User
from inspect_api.checklists import services as checklists
from inspect_api.checklists.models import ChecklistVersion
from inspect_api.core import clock, events, images
from inspect_api.core.categories import UNIT_LEVEL_CATEGORIES
from inspect_api.core.counters import counted as counter_cte
from inspect_api.core.counters import next_value
from inspect_api.core.storage import fsync_later, get_storage, receive
from inspect_api.core.text import holds_unstorable_text, unstorable_text
from inspect_api.db import db, prepare, prepare_rows, read_phase
from inspect_api.errors import (
    Conflict,
    DomainError,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ServiceBusy,
    Unprocessable,
    UnsupportedMediaType,
)
from inspect_api.org.models import Staff, Unit
from inspect_api.shopper import services as shopper_services
from inspect_api.visits import orphans, rules
from inspect_api.visits.models import Evidence, Finding, Response, Visit, VisitInspector

log = logging.getLogger(__name__)


@dataclass
class UpsertResult:
    visit: Visit
    outcome: str  # created | updated | unchanged


# --- access ------------------------------------------------------------------------------------

def get_visit(visit_id, user, *, lock: bool = False, options=()) -> Visit:
    """The visit, if the caller may see it; otherwise 404 (its existence is not revealed)."""
    stmt = sa.select(Visit).where(Visit.id == str(visit_id)).options(*options)
    if lock:
        stmt = stmt.with_for_update()
    visit = db.session.scalar(stmt)
    if visit is None or not permissions.can_read_visit(user, visit):
        raise NotFound("检查记录不存在 (no such visit)")
    return visit


# --- content -------------------------------------------------------------------------------------

def _utc(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat() if dt else None


def content_of(data: dict) -> dict:
    """The part of a payload that makes up the visit's content (not the send-time clock)."""
    return {
        "mode": data["mode"],
        "unit_id": data["unit_id"],
        "window_no": data.get("window_no"),
        "staff_id": data.get("staff_id"),
        "checklist": {"code": data["checklist"]["code"], "version": data["checklist"]["version"]},
        "team": sorted(set(data["team"])),
        "assignment_id": data.get("assignment_id"),
        "started_at": _utc(data.get("started_at")),
        "ended_at": _utc(data.get("ended_at")),
        "gps": data.get("gps"),
        "notes": data.get("notes"),
        "responses": sorted(
            ({"item_code": r["item_code"], "answer": r.get("answer"), "note": r.get("note"),
              "answered_at": _utc(r.get("answered_at"))} for r in data.get("responses", [])),
            key=lambda r: r["item_code"]),
        "findings": sorted(
            ({"id": str(f["id"]), **{k: f.get(k) for k in ("category", "severity", "item_code", "badge_no",
                                                            "window_no", "position", "description")},
              "observed_at": _utc(f.get("observed_at"))} for f in data.get("findings", [])),
            key=lambda f: f["id"]),
        "shopper": _shopper_content(data.get("shopper")),
    }


def _shopper_content(shopper: dict | None) -> dict | None:
    if shopper is None:
        return None
    out = dict(shopper)
    out["promised_date"] = shopper["promised_date"].isoformat() if shopper.get("promised_date") else None
    return out


def _invalid(message: str, fields: dict) -> Unprocessable:
    return Unprocessable(message, {"fields": fields})


# The phone's hot path looks up, for every visit it sends, whether the visit is there and what its
# content names: unit, staff, team, checklist version, badges, and finding ids another visit holds.
# One statement (a UNION ALL of one branch a lookup, each row tagged with its branch) built once,
# with bound parameters: six round trips were six times each driver's and the server's fixed cost a
# statement, and a sync mostly brings new visits, whose whole read phase this is.
def _branch(kind: str, text=None, number=None, flag=None):
    return (sa.literal_column(f"'{kind}'", sa.String).label("kind"),
            sa.cast(text if text is not None else sa.null(), sa.String).label("text"),
            (number if number is not None else sa.cast(sa.null(), sa.Integer)).label("number"),
            (flag if flag is not None else sa.cast(sa.null(), sa.Boolean)).label("flag"))


_LOOKUPS = sa.union_all(
    sa.select(*_branch("visit", text=Visit.id)).where(Visit.id == sa.bindparam("visit_id")),
    sa.select(*_branch("unit", number=Unit.id, flag=Unit.is_active)).where(Unit.id == sa.bindparam("unit_id")),
    sa.select(*_branch("staff", number=Staff.unit_id)).where(Staff.id == sa.bindparam("staff_id")),
    sa.select(*_branch("team", text=User.role, number=User.id, flag=User.is_active)).where(
        User.id.in_(sa.bindparam("team", expanding=True))),
    sa.select(*_branch("checklist", text=ChecklistVersion.content_hash)).where(
        ChecklistVersion.code == sa.bindparam("code"), ChecklistVersion.version == sa.bindparam("version")),
    sa.select(*_branch("badge", text=Staff.badge_no, number=Staff.id)).where(
        Staff.badge_no.in_(sa.bindparam("badges", expanding=True))),
    sa.select(*_branch("finding_taken", text=Finding.id)).where(  # another visit's, or a complaint's
        Finding.id.in_(sa.bindparam("finding_ids", expanding=True)),
        sa.or_(Finding.visit_id != sa.bindparam("visit_id"), Finding.visit_id.is_(None))),
)


@dataclass
class _TeamMember:
    id: int
    role: str
    is_active: bool


@dataclass
class Lookups:
    """What a visit's content names, as stored, read before any check (`look_up`)."""

    visit_exists: bool = False
    unit_active: bool | None = None  # None: no such unit
    staff_unit_id: int | None = None  # the unit of the named staff member; None: none named, or no such
    team: list[_TeamMember] = field(default_factory=list)
    checklist_hash: str | None = None  # None: no such checklist version
    staff_by_badge: dict[str, int] = field(default_factory=dict)
    findings_taken: list[str] = field(default_factory=list)


def look_up(visit_id: str, content: dict) -> Lookups:
    """Everything the checks of `content` read, in one statement."""
    badges = sorted({f["badge_no"] for f in content["findings"] if f["badge_no"]})
    rows = db.session.connection().execute(_LOOKUPS, {
        "visit_id": visit_id, "unit_id": content["unit_id"], "staff_id": content["staff_id"],
        "team": list(content["team"]), "code": content["checklist"]["code"],
        "version": content["checklist"]["version"], "badges": badges,
        "finding_ids": [str(f["id"]) for f in content["findings"]]}).all()
    out = Lookups()
    for kind, text, number, flag in rows:
        if kind == "visit":
            out.visit_exists = True
        elif kind == "unit":
            out.unit_active = bool(flag)
        elif kind == "staff":
            out.staff_unit_id = number
        elif kind == "team":
            out.team.append(_TeamMember(number, text, bool(flag)))
        elif kind == "checklist":
            out.checklist_hash = text
        elif kind == "badge":
            out.staff_by_badge[text] = number
        else:
            out.findings_taken.append(text)
    out.findings_taken.sort()
    return out


def _check_references(content: dict, actor, visit_id: str, found: Lookups) -> tuple[dict, str, bool]:
    """Unit, staff, team, assignment and checklist must exist and fit; returns (template,
    content_hash, whether the plan allows a single inspector)."""
    if not found.unit_active:
        raise _invalid("被检查单位不存在或已停用 (unknown unit)", {"unit_id": ["unknown or inactive unit"]})
    if content["staff_id"] is not None and found.staff_unit_id != content["unit_id"]:
        raise _invalid("工作人员不属于该单位 (staff not in that unit)", {"staff_id": ["not in unit"]})
    team = content["team"]
    if actor.id not in team:
        raise _invalid("提交人须是检查组成员 (you must be on the team)", {"team": ["must include you"]})
    good = {member.id for member in found.team if permissions.can_join_team(member)}
    if good != set(team):
        raise _invalid("检查组成员须为在用的督查员账号 (team members must be active inspectors)",
                       {"team": [f"not an active inspector: {sorted(set(team) - good)}"]})
    allow_single = False
    if content["assignment_id"] is not None:
        # sampling answers (core.events): refuses an unknown or taken assignment, or tells the plan's rule
        answers = events.results(events.visit_assignment_asked.send(
            None, visit_id=visit_id, assignment_id=content["assignment_id"], actor=actor,
            unit_id=content["unit_id"], now=clock.now()))
        if not answers:
            raise _invalid("派单不存在 (unknown assignment)", {"assignment_id": ["unknown"]})
        allow_single = bool(answers[0])
    problem = rules.team_problem(team, allow_single=allow_single)
    if problem:
        raise _invalid(problem, {"team": [problem]})
    ref = content["checklist"]
    try:
        template, content_hash = checklists.pinned_by_hash(ref["code"], ref["version"], found.checklist_hash)
    except NotFound as exc:
        raise _invalid("检查表版本不存在 (unknown checklist version)", {"checklist": [exc.message]}) from exc
    expected_kind = "mystery_shopper" if content["mode"] == "mystery_shopper" else "inspection"
    if template["kind"] != expected_kind:
        raise _invalid(f"{rules.MODES[content['mode']]}须使用{expected_kind}类检查表 (checklist kind does not fit mode)",
                       {"checklist": ["kind does not fit mode"]})
    problems = rules.response_problems(template, content["responses"])
    if problems:
        raise _invalid("检查表回答有误 (invalid responses)", {"responses": problems})
    scored = shopper_services.uses_shopper_rules(template)
    if scored and content["mode"] != "mystery_shopper":
        raise _invalid("该检查表只用于模拟办事 (checklist is for mystery-shopper visits)", {"mode": ["mystery_shopper"]})
    if scored and content["shopper"] is None:
        raise _invalid("模拟办事须填写模拟办事记录 (shopper record required)", {"shopper": ["required"]})
    if not scored and content["shopper"] is not None:
        raise _invalid("该检查表不使用模拟办事记录 (checklist takes no shopper record)", {"shopper": ["not allowed"]})
    items = rules.items_by_code(template)
    bad_items = [f["id"] for f in content["findings"] if f["item_code"] and f["item_code"] not in items]
    if bad_items:
        raise _invalid("问题关联的检查项不存在 (finding names an unknown item)", {"findings": bad_items})
    return template, content_hash, allow_single


@dataclass
class Rows:
    """A visit's children, computed before the write lock is taken."""

    responses: list[dict]
    findings: list[dict]
    shopper_record: dict | None = None


def _build_rows(visit_id: str, content: dict, template: dict, received: datetime, found: Lookups) -> Rows:
    items = rules.items_by_code(template)
    responses = [{"visit_id": visit_id, "item_code": r["item_code"], "answer": r["answer"], "note": r["note"],
                  "answered_at": _parse(r["answered_at"]),
                  "failed": rules.answer_fails(items[r["item_code"]], r["answer"])}
                 for r in content["responses"]]
    staff_ids = found.staff_by_badge
    findings = []
    # A finding is observed when the phone says, else when the visit started (then ended, then arrived).
    visit_time = _parse(content["started_at"]) or _parse(content["ended_at"]) or received
    for d in rules.derived_findings(visit_id, template, content["responses"], content["findings"]):
        person = d.source == "item" and d.category not in UNIT_LEVEL_CATEGORIES
        findings.append({
            "id": d.id, "source": d.source, "item_code": d.item_code, "category": d.category,
            "severity": d.severity, "points": d.points, "badge_no": None,
            "window_no": d.window_no or content["window_no"], "position": d.position,
            "observed_at": d.observed_at or visit_time,
            "description": d.description, "staff_id": content["staff_id"] if person else None})
    # A phone names the person a failed item concerns by sending a finding of that item and category:
    # that names the item's own finding (one finding per failed item), it is not a second one.
    # (One per item; with several, the one naming a badge, then the first by id: the phone's order is
    # not kept in the stored content.)
    by_item = {f["item_code"]: f for f in findings if f["source"] == "item"}
    for f in sorted(content["findings"], key=lambda f: (not f["badge_no"], str(f["id"]))):
        item = items.get(f["item_code"]) if f["item_code"] else None
        own = by_item.pop(f["item_code"], None) if f["item_code"] else None
        if own is not None and own["category"] == f["category"]:
            own.update(badge_no=f["badge_no"], window_no=f["window_no"] or own["window_no"],
                       position=f["position"], description=own["description"] or f["description"],
                       staff_id=staff_ids.get(f["badge_no"]) if f["badge_no"] else None)
            if f["observed_at"]:
                own["observed_at"] = _parse(f["observed_at"])
            continue
        if own is not None:
            by_item[f["item_code"]] = own  # another category: a finding of its own
        findings.append({
            "id": f["id"], "source": "manual", "item_code": f["item_code"], "category": f["category"],
            "severity": f["severity"],
            "points": int(item.get("points", 0)) if item and item.get("category") == f["category"] else 0,
            "badge_no": f["badge_no"], "window_no": f["window_no"], "position": f["position"],
            "observed_at": _parse(f["observed_at"]) or visit_time, "description": f["description"],
            "staff_id": staff_ids.get(f["badge_no"]) if f["badge_no"] else None})
    shopper_record = None
    if content["shopper"] is not None:
        evaluation = shopper_services.evaluate(visit_id, content, template,
                                               shopper_services.visited_on(content, received))
        findings.extend(evaluation.findings)
        shopper_record = evaluation.record
    if found.findings_taken:
        raise Conflict("问题 id 已被其他检查记录使用 (finding id used by another visit)",
                       {"finding_ids": found.findings_taken}, code="finding_id_taken")
    for f in findings:
        f.update(visit_id=visit_id, unit_id=content["unit_id"], status="draft",
                 observed_at=f["observed_at"] or visit_time)
    return Rows(responses, findings, shopper_record)


_INSERT_NEW_VISIT = {}


def _insert_new_visit(dialect: str):
    """INSERT the visit row unless one with its id is there; RETURNING its id when inserted. On
    PostgreSQL a concurrent insert of the same id makes this wait for that transaction's end."""
    if dialect not in _INSERT_NEW_VISIT:
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Visit.__table__)
        _INSERT_NEW_VISIT[dialect] = insert.on_conflict_do_nothing(index_elements=["id"]).returning(
            Visit.__table__.c.id)
    return _INSERT_NEW_VISIT[dialect]


class _SentMeanwhile(Exception):
    """The visit was inserted by a concurrent send of it after this one looked."""


# What deciding on a write needs of a visit seen before its lock: its row and its team. A resend of
# what is stored (the phone's retry, or its submit) ends there; a write loads the rest under the lock.
_PRECONDITIONS_ONLY = (lazyload(Visit.responses), lazyload(Visit.findings), lazyload(Visit.evidence))
# What a submit reads: the findings and photos it checks, the team; not the answers.
_FOR_SUBMIT = (lazyload(Visit.responses),)


def _load_visit(visit_id: str, *, lock: bool = False, whole: bool = True) -> Visit | None:
    """The visit (locked for update when asked), or None. `whole=False`: only what `_preconditions`
    reads (the rest loads if touched)."""
    stmt = sa.select(Visit).where(Visit.id == visit_id)
    if lock:
        return db.session.scalar(stmt.with_for_update())
    return db.session.scalar(stmt if whole else stmt.options(*_PRECONDITIONS_ONLY))


def _write(visit: Visit, content: dict, rows: Rows, *, is_new: bool) -> None:
    """Write the visit's fields and replace its team, responses and findings.

    Children are replaced with a few set-based statements rather than row-by-row ORM work: a full
    visit is dozens of rows, and this runs under the write lock on the phone's hot path.
    """
    visit.mode = content["mode"]
    visit.unit_id = content["unit_id"]
    visit.window_no = content["window_no"]
    visit.staff_id = content["staff_id"]
    visit.assignment_id = content["assignment_id"]
    visit.notes = content["notes"]
    gps = content["gps"] or {}
    visit.gps_lat, visit.gps_lng, visit.gps_accuracy_m = gps.get("lat"), gps.get("lng"), gps.get("accuracy_m")
    visit.started_at = _parse(content["started_at"])
    visit.ended_at = _parse(content["ended_at"])
    # A finding that stays keeps its creation time and its review status (a visit sent back for more
    # evidence keeps the decisions already taken on its other findings).
    kept = {} if is_new else {f.id: (f.created_at, f.status) for f in visit.findings}
    now = clock.now()
    findings = [{**f, "created_at": kept[f["id"]][0] if f["id"] in kept else now,
                 "status": kept[f["id"]][1] if f["id"] in kept else "draft", "updated_at": now}
                for f in rows.findings]
    # Core inserts on the tables (not the ORM bulk path): one statement each on PostgreSQL, one
    # executemany each on SQLite, compiled and bound here, before a new visit's write lock is taken.
    dialect = db.session.get_bind().dialect
    if is_new:
        visit.created_at = visit.updated_at = now
        visit_row = prepare(dialect, _insert_new_visit(dialect.name),
                            [{c.key: getattr(visit, c.key) for c in Visit.__table__.columns}])
    children = [prepare_rows(dialect, VisitInspector.__table__,
                             [{"visit_id": visit.id, "user_id": u} for u in content["team"]]),
                prepare_rows(dialect, Response.__table__, rows.responses),
                prepare_rows(dialect, Finding.__table__, findings)]
    conn = db.session.connection()
    if is_new:
        # The visit row first (children refer to it); the object then joins the session as if just
        # loaded, without the unit of work's bookkeeping for a new row.
        if visit_row.run(conn).first() is None:
            raise _SentMeanwhile
        make_transient_to_detached(visit)
        db.session.add(visit)
    else:
        db.session.flush()
        for model in (VisitInspector, Response, Finding):
            conn.execute(sa.delete(model).where(model.visit_id == visit.id))
    for prepared in children:
        if prepared is not None:
            prepared.run(conn)
    if not is_new or rows.shopper_record is not None:
        shopper_services.write_record(visit.id, rows.shopper_record)
    db.session.expire(visit, ["inspectors", "responses", "findings"])


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _preconditions(visit: Visit | None, fp: str, actor, if_match: int | None, base_version_given: bool) -> bool:
    """Whether the write may go ahead (False: identical content, nothing to do); raises otherwise."""
    if visit is None:
        return True
    if not permissions.can_edit_visit(actor, visit):
        raise NotFound("检查记录不存在 (no such visit)")
    if visit.fingerprint == fp:
        return False
    if not rules.can_write(visit.status):
        raise Conflict("检查记录已提交, 不能再修改 (visit already submitted; content differs)",
                       {"visit_status": visit.status, "current_version": visit.version}, code="visit_frozen")
    if not base_version_given:
        raise PreconditionRequired("修改已有草稿须带上版本号 If-Match (If-Match required)",
                                   {"current_version": visit.version})
    if if_match != visit.version:
        raise PreconditionFailed("草稿已被更新, 请先获取最新版本 (stale version)",
                                 {"current_version": visit.version, "your_version": if_match})
    return True


def upsert(visit_id, data: dict, actor, *, if_match: int | None, base_version_given: bool,
           whole: bool = True) -> UpsertResult:
    """Create or replace a draft. An identical resend answers the current state whatever its version
    or status (a retry after a lost answer); a changed one needs the current version.

    Two phases: everything that only reads (the checks, the rows to write) runs in a read
    transaction that ends before the write lock is taken; the write phase re-checks the visit under
    its lock, so what it decides on is current.

    `whole=False` (a sync, which answers only a version): a resend answered unchanged carries the
    visit's row and team, not its answers, findings and photos (they load if touched; on SQLite, after
    the commit, that would take the write lock).
    """
    visit_id = str(visit_id)
    content = content_of(data)
    fp = rules.fingerprint(content)
    with read_phase():
        # one look first, since a sync mostly brings new visits: is it there, and what it names
        found = look_up(visit_id, content)
        seen = _load_visit(visit_id, whole=whole) if found.visit_exists else None
        if not _preconditions(seen, fp, actor, if_match, base_version_given):
            return UpsertResult(seen, "unchanged")
        skew = timedelta(minutes=current_app.config["INSPECT_MAX_FUTURE_MINUTES"])
        if future := rules.future_times(content, clock.now(), skew):
            raise _invalid("检查记录的时间晚于服务器当前时间 (dated in the future)", future)
        with db.session.no_autoflush:
            template, content_hash, allow_single = _check_references(content, actor, visit_id, found)
            rows = _build_rows(visit_id, content, template, clock.now(), found)

    # A visit not there a moment ago is inserted outright; a resend racing the first send waits on
    # the insert's key, finds the row the first one committed, and starts again from there.
    visit = None if seen is None else _load_visit(visit_id, lock=True)
    if not _preconditions(visit, fp, actor, if_match, base_version_given):
        return UpsertResult(visit, "unchanged")
    now = clock.now()
    outcome = "updated"
    before = None if visit is None else _edit_snapshot(visit)
    if visit is None:
        # numbered last (_number): its code here only holds the unique column until then
        visit = Visit(id=visit_id, code=_provisional_code(), status="draft",
                      created_by=actor.id, version=1, mode=content["mode"], unit_id=content["unit_id"])
        outcome = "created"  # inserted by _write
    else:
        visit.version += 1
    visit.checklist_code = content["checklist"]["code"]
    visit.checklist_version = content["checklist"]["version"]
    visit.checklist_hash = content_hash
    visit.allow_single_inspector = allow_single
    visit.fingerprint = fp
    visit.received_at = now
    visit.device_time = data.get("device_time")
    visit.clock_skew_seconds = rules.clock_skew_seconds(data.get("device_time"), now)
    previous_assignment = None if outcome == "created" else visit.assignment_id
    try:
        _write(visit, content, rows, is_new=outcome == "created")
    except _SentMeanwhile:
        return upsert(visit_id, data, actor, if_match=if_match, base_version_given=base_version_given,
                      whole=whole)
    if previous_assignment is not None or content["assignment_id"] is not None:
        events.visit_assignment_changed.send(None, visit_id=visit.id, previous_id=previous_assignment,
                                             assignment_id=content["assignment_id"])
    if outcome == "created":
        _number(visit, now)
    summary = {"version": visit.version, "fingerprint": fp, "status": visit.status}
    if before is None:
        audit.record("visit.create", "visit", visit.id, actor=actor, after=summary)
    else:
        audit.record("visit.update", "visit", visit.id, actor=actor, before={"version": before["version"]},
                     after={**summary, "changes": rules.edit_diff(before, _content_snapshot(content, rows))})
    return UpsertResult(visit, outcome)


def _provisional_code() -> str:
    """A code that holds the unique column until `_number` gives the visit its own, in the same
    transaction (never seen outside it). Each attempt draws its own: two sends of one new visit at once
    must meet only on the id, the insert's ON CONFLICT target. Derived from the id, as it was, they
    also met on the code's unique index, where PostgreSQL's speculative insert could deadlock the
    two (5 of 900 answers were 500s in 150 rounds of six sends at once)."""
    return "~" + uuid.uuid4().hex[:19]


_SET_CODE = sa.update(Visit.__table__).where(Visit.__table__.c.id == sa.bindparam("visit_id")).values(
    code=sa.bindparam("code"))


def _set_code_counted() -> sa.Update:
    """PostgreSQL: the counter's step and the code's UPDATE in one statement (`V` year `-` the
    number, zero-padded to six digits and longer past 999999, as `_number` formats it)."""
    counted = counter_cte("counter_name")
    number = sa.cast(counted.c.value, sa.Text)
    padded = sa.case((counted.c.value < 1_000_000, sa.func.lpad(number, 6, "0")), else_=number)
    return (sa.update(Visit.__table__).where(Visit.__table__.c.id == sa.bindparam("visit_id"))
            .values(code=sa.bindparam("prefix", type_=sa.Text) + sa.select(padded).scalar_subquery(),
                    # set here: Core leaves the column's onupdate default unset beside a CTE
                    updated_at=sa.bindparam("now", type_=Visit.__table__.c.updated_at.type))
            .returning(Visit.__table__.c.code))


_SET_CODE_COUNTED = _set_code_counted()


def _number(visit: Visit, now: datetime) -> None:
    """Give a new visit its code (V2026-000123) from the year's counter, as the write's last steps
    but the trail's: the counter row is locked from here until commit, so concurrent syncs queue on
    it only for this statement, the trail's append and the commit, not for the visit's rows."""
    year = clock.local(now).year  # the local year: a visit at 00:10 on 1 January is the new year's
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        code = conn.execute(_SET_CODE_COUNTED, {"counter_name": f"visit:{year}", "prefix": f"V{year}-",
                                                "visit_id": visit.id, "now": clock.now()}).scalar_one()
    else:
        code = f"V{year}-{next_value(f'visit:{year}'):06d}"
        conn.execute(_SET_CODE, {"visit_id": visit.id, "code": code})
    set_committed_value(visit, "code", code)


def _finding_snapshot(f) -> dict:
    get = f.get if isinstance(f, dict) else lambda k: getattr(f, k)
    observed = get("observed_at")
    return {"category": get("category"), "severity": get("severity"), "item_code": get("item_code"),
            "badge_no": get("badge_no"), "window_no": get("window_no"), "position": get("position"),
            "description": get("description"), "observed_at": _utc(observed) if observed else None,
            "staff_id": get("staff_id")}


def _edit_snapshot(visit: Visit) -> dict:
    """The visit as stored, before an edit (for the trail's before/after)."""
    gps = None if visit.gps_lat is None else {"lat": visit.gps_lat, "lng": visit.gps_lng,
                                              "accuracy_m": visit.gps_accuracy_m}
    return {"version": visit.version,
            "fields": {"mode": visit.mode, "unit_id": visit.unit_id, "window_no": visit.window_no,
                       "staff_id": visit.staff_id, "assignment_id": visit.assignment_id, "notes": visit.notes,
                       "started_at": _utc(visit.started_at), "ended_at": _utc(visit.ended_at), "gps": gps},
            "team": list(visit.team),
            "responses": {r.item_code: {"answer": r.answer, "note": r.note} for r in visit.responses},
            "findings": {f.id: _finding_snapshot(f) for f in visit.findings}}


def _content_snapshot(content: dict, rows: Rows) -> dict:
    gps = content["gps"]
    return {"fields": {**{k: content[k] for k in ("mode", "unit_id", "window_no", "staff_id", "assignment_id",
                                                  "notes", "started_at", "ended_at")},
                       "gps": None if not gps else {"lat": gps.get("lat"), "lng": gps.get("lng"),
                                                    "accuracy_m": gps.get("accuracy_m")}},
            "team": content["team"],
            "responses": {r["item_code"]: {"answer": r["answer"], "note": r["note"]} for r in content["responses"]},
            "findings": {f["id"]: _finding_snapshot(f) for f in rows.findings}}


# --- derived views --------------------------------------------------------------------------------

def template_of(visit: Visit) -> dict:
    """The checklist the visit was filled in against: its version's content under the hash the visit
    recorded, with no statement once this process has parsed it (ChecklistTampered when the stored
    version no longer holds that content)."""
    return checklists.pinned_by_hash(visit.checklist_code, visit.checklist_version, visit.checklist_hash)[0]


def expected_photos(visit: Visit, template: dict | None = None) -> list[rules.ExpectedPhoto]:
    template = template or template_of(visit)
    derived = [rules.DerivedFinding(id=f.id, source=f.source, category=f.category, severity=f.severity,
                                    points=f.points, item_code=f.item_code,
                                    photo_required=bool(rules.items_by_code(template)
                                                        .get(f.item_code, {}).get("photo_required")))
               for f in visit.findings if f.source == "item"]
    return rules.expected_photos(template, derived, [(e.item_code, e.finding_id) for e in visit.evidence])


def _refuse_unless_submittable(visit: Visit, actor) -> None:
    if not permissions.can_submit_visit(actor, visit):
        raise NotFound("检查记录不存在 (no such visit)")
    missing = [p for p in expected_photos(visit) if not p.present]
    if missing:
        raise Conflict(f"还缺 {len(missing)} 张必需的照片, 请先上传 (photos missing)",
                       {"missing_photos": [{"item_code": p.item_code, "finding_id": p.finding_id,
                                            "question": p.question} for p in missing]},
                       code="evidence_missing")
    problem = rules.team_problem(visit.team, allow_single=visit.allow_single_inspector)
    if problem:
        raise Conflict(problem, code="team_too_small")


_V, _F = Visit.__table__, Finding.__table__
# The draft as it was checked, frozen: no row if it has moved on since (another send, a submit, the
# office reopening it).
_SUBMIT_IF_UNCHANGED = (
    sa.update(_V).where(_V.c.id == sa.bindparam("visit_id"), _V.c.version == sa.bindparam("checked_version"),
                        _V.c.status == "draft")
    .values(status="submitted", submitted_at=sa.bindparam("now"), submitted_by=sa.bindparam("actor_id"),
            version=sa.bindparam("new_version"), updated_at=sa.bindparam("now"))
    .returning(_V.c.id))
_FINDINGS_TO_REVIEW = (
    sa.update(_F).where(_F.c.visit_id == sa.bindparam("visit_id"), sa.or_(_F.c.status == "draft", _F.c.status == "returned"))
    .values(status="pending_review", updated_at=sa.bindparam("now"))
    .returning(_F.c.id))


def _freeze(visit: Visit, actor) -> bool:
    """Submit `visit` if it is still at the version it was checked at, its findings sent to review;
    False (nothing written) if it has moved on. The statements are bound before the write begins."""
    now = clock.now()
    dialect = db.session.get_bind().dialect
    freeze = prepare(dialect, _SUBMIT_IF_UNCHANGED, [{"visit_id": visit.id, "checked_version": visit.version,
                                                      "new_version": visit.version + 1, "now": now,
                                                      "actor_id": actor.id}])
    to_review = prepare(dialect, _FINDINGS_TO_REVIEW, [{"visit_id": visit.id, "now": now}])
    conn = db.session.connection()
    if freeze.run(conn).first() is None:
        return False
    reviewed = set(to_review.run(conn).scalars())
    for name, value in (("status", "submitted"), ("submitted_at", now), ("submitted_by", actor.id),
                        ("version", visit.version + 1), ("updated_at", now)):
        set_committed_value(visit, name, value)
    for f in visit.findings:
        if f.id in reviewed:
            set_committed_value(f, "status", "pending_review")
            set_committed_value(f, "updated_at", now)
    audit.record("visit.submit", "visit", visit.id, actor=actor, before={"status": "draft"},
                 after={"status": "submitted", "version": visit.version, "findings": len(visit.findings)})
    return True


def submit_visit(visit_id, actor, *, options=()) -> Visit:
    """Submit a draft: checked before the write lock, frozen under it with two statements.

    What the checks read (the findings and photos, the team, who may submit) changes only with a
    write that moves the visit's version on (a send, the office reopening it), except photos, which
    are only ever added: a draft still at the version checked passes them still. Under the lock the
    visit is frozen only if it is at that version; otherwise it is read again under its lock and
    checked there. A visit submitted already answers as it is (the same submit again).
    """
    with read_phase():
        visit = get_visit(visit_id, actor, options=options)
        if visit.status == "submitted":
            return visit
        _refuse_unless_submittable(visit, actor)
    if _freeze(visit, actor):
        return visit
    return submit(get_visit(visit_id, actor, lock=True, options=options), actor)  # moved on since its check


def submit(visit: Visit, actor) -> Visit:
    """Submit a draft the caller holds at its current version: read under its lock (`submit_visit`'s
    re-check), or in the caller's own write transaction (the county bench's build, tests)."""
    if visit.status == "submitted":
        return visit  # the same submit again: the same answer
    db.session.flush()  # the caller's own changes first: the freeze writes through Core
    _refuse_unless_submittable(visit, actor)
    if not _freeze(visit, actor):  # held at the version just read: it cannot have moved on
        raise RuntimeError(f"visit {visit.id} moved on while its submitter held it")
    return visit


def sync(items: list[dict], actor, *, check_text: bool = True) -> list[dict]:
    """Each visit succeeds or fails on its own, in its own transaction: what was acknowledged is
    durable even if a later item, or the connection, fails, and the write lock is held per item.
    (This is the one service that commits: per-item durability is its contract.)

    A save that works is kept even when the submit asked for with it is refused (photos still
    missing, say): the result then carries the save's outcome, the submit's status and error, and
    the phone uploads what is missing and submits again.

    A visit holding text no database stores (NUL, a lone surrogate) is refused alone, 422
    `invalid_character`; `check_text=False` when the body's bytes cannot hold one.
    """
    results = []
    for item in items:
        visit_id = str(item["id"])
        try:
            if check_text and holds_unstorable_text(item):
                raise unstorable_text("json", id=visit_id)
            result = _upsert_item(visit_id, item, actor)
        except DomainError as exc:
            db.session.rollback()
            results.append({"id": visit_id, "status": exc.status, "outcome": "error", "version": None,
                            "visit_status": None, "code": None, "error": _error(exc)})
            continue
        visit, outcome = result.visit, result.outcome
        status, error = (201 if outcome == "created" else 200), None
        version, visit_status, code = visit.version, visit.status, visit.code
        if item.get("submit") and visit.status == "draft":
            try:
                visit = submit_visit(visit_id, actor, options=_FOR_SUBMIT)
                db.session.commit()
                outcome, version, visit_status = "submitted", visit.version, visit.status
            except (DomainError, sa.exc.DBAPIError) as exc:
                db.session.rollback()
                if isinstance(exc, sa.exc.DBAPIError):  # a deadlock, a lost connection: the save stands
                    current_app.logger.warning("sync submit of %s failed: %s", visit_id, type(exc.orig).__name__)
                    exc = ServiceBusy("暂时无法提交, 请稍后重发 (try again)", {"id": visit_id}, code="try_again")
                status, error = exc.status, _error(exc)
                # as stored now (the save above stands; another request may have moved it on since)
                with read_phase():
                    version, visit_status, code = db.session.execute(_AS_STORED, {"visit_id": visit_id}).one()
        results.append({"id": visit_id, "status": status, "outcome": outcome, "version": version,
                        "visit_status": visit_status, "code": code, "error": error})
    return results


_AS_STORED = sa.select(Visit.version, Visit.status, Visit.code).where(Visit.id == sa.bindparam("visit_id"))


def _upsert_item(visit_id: str, item: dict, actor) -> UpsertResult:
    """One item of a batch, committed. A database error (a write racing this one, a deadlock) is
    retried once, the way the phone would resend it; if it fails again the item answers 503 on its
    own, so the answers of the items already committed are never lost with the whole response."""
    for attempt in (1, 2):
        try:
            result = upsert(visit_id, item, actor, if_match=item.get("base_version"), whole=False,
                            base_version_given=item.get("base_version") is not None)
            db.session.commit()
            return result
        except sa.exc.DBAPIError as exc:
            db.session.rollback()
            # A new visit's row joined the session as if loaded (`_write`); a rollback keeps such an
            # object, and the retry's own row with that id could not join beside it.
            if (stale := db.session.identity_map.get(identity_key(Visit, visit_id))) is not None:
                db.session.expunge(stale)
            current_app.logger.warning("sync item %s failed on attempt %d: %s", visit_id, attempt,
                                       type(exc.orig).__name__)
    raise ServiceBusy("暂时无法保存, 请稍后重发 (try again)", {"id": visit_id}, code="try_again")


def _error(exc: DomainError) -> dict:
    return {"code": exc.code, "message": exc.message, "details": exc.details}


def list_visits(user, args: dict) -> sa.Select:
    stmt = sa.select(Visit).order_by(Visit.updated_at.desc(), Visit.id)
    if not permissions.can_list_all_visits(user) or args.get("mine"):
        stmt = stmt.where(sa.or_(Visit.created_by == user.id,
                                 Visit.id.in_(sa.select(VisitInspector.visit_id).where(
                                     VisitInspector.user_id == user.id))))
    if args.get("status"):
        stmt = stmt.where(Visit.status == args["status"])
    if args.get("unit_id"):
        stmt = stmt.where(Visit.unit_id == args["unit_id"])
    return stmt


# --- evidence -------------------------------------------------------------------------------------

def _evidence_keys(sha: str, ext: str, visit_code: str) -> dict:
    base = f"derived/{sha[:2]}/{sha}"
    return {"original_key": f"originals/{sha[:2]}/{sha}.{ext}", "display_key": f"{base}/display.jpg",
            "thumbnail_key": f"{base}/thumb.jpg", "watermarked_key": f"{base}/wm-{visit_code}.jpg"}


def watermark_lines(visit: Visit, captured_at: datetime | None, gps_lat: float | None,
                    gps_lng: float | None) -> list[str]:
    """The lines stamped on a photo's watermarked copy (made by the media worker)."""
    from inspect_api.core.clock import local, time_label

    unit = db.session.get(Unit, visit.unit_id)
    when = captured_at or visit.started_at
    lat, lng = (gps_lat, gps_lng) if gps_lat is not None else (visit.gps_lat, visit.gps_lng)
    place = unit.name + (f"  {lat:.5f}, {lng:.5f}" if lat is not None else "")
    # The watermarked copy is the unit's: a covert visit's time only as precisely as the policy says.
    precision = (current_app.extensions["inspect_review_policy"].covert_time_for_units
                 if visit.mode in rules.COVERT_MODES else "minute")
    return [f"拍摄时间 {time_label(local(when), precision) if when else '未知'}",
            f"地点 {place}", f"检查编号 {visit.code}"]


# What a photo upload reads besides its visit: whether this visit already holds the same bytes;
# whether the finding named is the visit's. Built once, bound per upload: the upload is the phone's
# most frequent request.
_SAME_PHOTO = sa.select(Evidence).where(Evidence.visit_id == sa.bindparam("visit_id"),
                                        Evidence.sha256 == sa.bindparam("sha256"))
_VISITS_FINDING = sa.select(Finding.id).where(Finding.id == sa.bindparam("finding_id"),
                                              Finding.visit_id == sa.bindparam("visit_id"))
_INSERT_EVIDENCE = Evidence.__table__.insert()
# Under the photo's lock: the visit's status and the id of a row already holding these bytes, in one.
_STATUS_AND_SAME_PHOTO = sa.select(Visit.status, sa.select(Evidence.id).where(
    Evidence.visit_id == Visit.id, Evidence.sha256 == sa.bindparam("sha256")).scalar_subquery()).where(
    Visit.id == sa.bindparam("visit_id"))


def add_evidence(visit_id, upload, *, item_code: str | None, finding_id: str | None, actor) -> tuple[Evidence, bool]:
    """Store a photo for a visit the caller may see (else 404). Returns (evidence, created). The same
    bytes again for the same visit answer the existing record. A 2xx after this means the original
    is durable; its display copy, thumbnail and watermarked copy are made by the media worker
    (`derivatives: pending`).

    Only the write at the end holds the write lock: receiving, hashing and checking the file, and the
    reads that decide whether it may be stored, run outside it (SQLite: one writer at a time), and
    what they decided on is re-read under it.
    """
    cfg = current_app.config
    storage = get_storage()
    received = receive(upload.stream, storage.scratch_dir(), sync=False)
    synced = fsync_later(received.path)  # the disk works while the checks run
    try:
        with read_phase():
            visit = get_visit(visit_id, actor, options=(lazyload("*"),))  # not its answers, findings, photos
            existing = db.session.scalar(_SAME_PHOTO, {"visit_id": visit.id, "sha256": received.sha256})
            if existing is None:
                _check_evidence_target(visit, received.size, item_code, finding_id)
        if existing is not None:
            return existing, False
        declared = images.declared_format(upload.mimetype if upload.mimetype != "application/octet-stream" else None,
                                          upload.filename)
        try:
            info = images.check_image(received.path, declared=declared, max_pixels=cfg["INSPECT_MAX_IMAGE_PIXELS"])
        except images.ImageRejected as exc:
            error = UnsupportedMediaType if exc.status == 415 else Unprocessable
            raise error(exc.message, {"fields": {"file": [exc.code]}}, code=exc.code) from exc
        keys = _evidence_keys(received.sha256, info.extension, visit.code)
        evidence = Evidence(
            id=str(uuid.uuid4()), visit_id=visit.id, finding_id=finding_id, item_code=item_code,
            sha256=received.sha256, size_bytes=received.size, media_type=info.media_type, width=info.width,
            height=info.height, captured_at=info.captured_at, gps_lat=info.gps_lat, gps_lng=info.gps_lng,
            original_filename=(upload.filename or "")[:255] or None, uploaded_by=actor.id, uploaded_at=clock.now(),
            derivatives="pending", derivatives_attempts=0, **keys)
        # its row compiled and bound here, run under the lock (`db.prepare`)
        row = prepare(db.session.get_bind().dialect, _INSERT_EVIDENCE,
                      [{c.key: getattr(evidence, c.key) for c in _INSERT_EVIDENCE.table.columns}])
        synced()
        stored = storage.move_in(keys["original_key"], received.path)  # its directory's fsync runs meanwhile
        try:
            return _write_evidence(visit, evidence, row, received, keys, stored, storage, actor=actor)
        except DomainError:  # refused (visit_frozen): the transaction is sound and holds the photo's lock
            _discard_original(storage, keys["original_key"], received.sha256, rollback=False)
            raise
        except Exception:
            _discard_original(storage, keys["original_key"], received.sha256, rollback=True)
            raise
    finally:
        received.path.unlink(missing_ok=True)


def _write_evidence(visit, evidence, row, received, keys, stored, storage, *, actor):
    """The part of `add_evidence` under the photo's lock: the row, once the original is known stored."""
    # The same photo sent again before the first answer: wait for the first, then answer its row. The
    # lock is the photo's, not the visit's: it also orders this upload against a refused upload of the
    # same bytes removing the original, and against the orphan sweep (visits/orphans.py).
    orphans.lock_photo(received.sha256)
    status, existing_id = db.session.execute(_STATUS_AND_SAME_PHOTO,
                                             {"visit_id": visit.id, "sha256": received.sha256}).one()
    if existing_id is not None:
        return db.session.get(Evidence, existing_id), False
    if not rules.can_write(status):
        raise Conflict("检查记录已提交, 不能再添加照片 (visit already submitted)", code="visit_frozen")
    if not storage.exists(keys["original_key"]):
        # Our move found the file already there, and a refused upload of the same bytes (or the sweep)
        # removed it before we held the lock: the scratch file is still ours, move it in again.
        stored()
        stored = storage.move_in(keys["original_key"], received.path)
    row.run(db.session.connection())
    # the object joins the session as if just loaded, without the unit of work's bookkeeping
    make_transient_to_detached(evidence)
    db.session.add(evidence)
    audit.record("evidence.add", "visit", visit.id, actor=actor,
                 after={"evidence_id": evidence.id, "sha256": evidence.sha256, "item_code": evidence.item_code,
                        "finding_id": evidence.finding_id})
    stored()  # the original is durable before the row that names it is committed
    return evidence, True


def _discard_original(storage, key: str, sha256: str, *, rollback: bool) -> None:
    """An upload refused or failed after its original was moved in: remove the file unless a row
    names it (another upload of the same bytes may have committed one). After an error the
    transaction may be unusable (PostgreSQL refuses every statement after one), so `rollback` ends it
    here, a turn early (the request's own rollback then finds nothing to undo), and the check runs in
    a fresh one under the photo's lock. If this fails too, the nightly sweep removes the file later."""
    try:
        if rollback:
            db.session.rollback()
        orphans.remove_unless_named(storage, key, sha256)
    except Exception:
        log.exception("could not remove the original %s of a failed upload; the sweep will", key)


def _check_evidence_target(visit: Visit, size: int, item_code: str | None, finding_id: str | None) -> None:
    if not rules.can_write(visit.status):
        raise Conflict("检查记录已提交, 不能再添加照片 (visit already submitted)", code="visit_frozen")
    if size == 0:
        raise Unprocessable("文件为空 (empty file)", {"fields": {"file": ["empty"]}})
    if item_code is not None and item_code not in rules.items_by_code(template_of(visit)):
        raise Unprocessable("检查表中没有该题 (unknown item)", {"fields": {"item_code": ["unknown item"]}})
    if finding_id is not None and db.session.scalar(
            _VISITS_FINDING, {"finding_id": finding_id, "visit_id": visit.id}) is None:
        raise Unprocessable("该检查记录没有这个问题 (unknown finding)", {"fields": {"finding_id": ["unknown"]}})


VARIANTS = {"original": "original_key", "display": "display_key", "thumbnail": "thumbnail_key",
            "watermarked": "watermarked_key"}


def evidence_for(evidence_id: str, variant: str, user) -> tuple[Evidence, str]:
    """The evidence row and storage key of a variant the caller may fetch, else 404.

    Originals and working copies: office, admin, and the visit's inspectors. A liaison only ever gets
    the watermarked copy, and only for confirmed findings about its own unit.
    """
    ev = db.session.get(Evidence, str(evidence_id))
    if ev is None or variant not in VARIANTS:
        raise NotFound("证据不存在 (no such evidence)")
    visit = db.session.get(Visit, ev.visit_id)

    def covers() -> bool:
        # the photo belongs to a finding directly, or through the checklist item it illustrates
        linked = sa.select(Finding).where(Finding.visit_id == ev.visit_id, Finding.status == "confirmed")
        if ev.finding_id:
            linked = linked.where(Finding.id == ev.finding_id)
        elif ev.item_code:
            linked = linked.where(Finding.item_code == ev.item_code)
        else:
            linked = linked.where(sa.false())
        return any(_liaison_covers(user, f.unit_id) for f in db.session.scalars(linked))

    if not permissions.can_read_evidence(user, visit, variant, covers=covers):
        raise NotFound("证据不存在 (no such evidence)")
    return ev, getattr(ev, VARIANTS[variant])


def _liaison_covers(user, unit_id: int) -> bool:
    from inspect_api.org.services import scope_unit_ids

    scope = scope_unit_ids(user)
    return scope is None or db.session.scalar(sa.select(Unit.id).where(Unit.id == unit_id, Unit.id.in_(scope))) is not None
