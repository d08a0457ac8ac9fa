"""Create, change, deactivate and read units, staff and service items; the liaison's scope; the
delta feed. Every change is written to the trail, and the row remembers that event's seq."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from inspect_api.audit import services as audit
from inspect_api.auth.rules import Role
from inspect_api.db import db, is_postgres
from inspect_api.errors import Conflict, NotFound, PreconditionFailed, Unprocessable
from inspect_api.org.models import ServiceItem, Staff, Unit

UNIT_FIELDS = ("code", "name", "kind", "parent_id", "head_name", "head_title", "address", "phone",
               "opening_hours", "tags", "staffing_unit_id", "is_active")
STAFF_FIELDS = ("badge_no", "name", "unit_id", "post", "position", "window_no", "backup_id", "is_active")
ITEM_FIELDS = ("code", "name", "unit_id", "materials", "statutory_limit_days", "committed_limit_days",
               "on_the_spot", "accepting_window_ids", "is_active")

ENTITY = {
    Unit: ("unit", UNIT_FIELDS, "单位"),
    Staff: ("staff", STAFF_FIELDS, "工作人员"),
    ServiceItem: ("service_item", ITEM_FIELDS, "服务事项"),
}


def snapshot(obj) -> dict:
    _, fields, _ = ENTITY[type(obj)]
    return {f: getattr(obj, f) for f in fields}


def _record(obj, action: str, actor, before: dict | None) -> None:
    entity_type = ENTITY[type(obj)][0]
    db.session.flush()
    ev = audit.record(f"{entity_type}.{action}", entity_type, obj.id, actor=actor, before=before,
                      after=snapshot(obj))
    obj.change_seq = ev.seq


# --- scope --------------------------------------------------------------------------------------

def scope_unit_ids(user) -> sa.Select | None:
    """The units a caller may read: None means all; a liaison gets its unit's subtree."""
    if user.role != Role.UNIT_LIAISON:
        return None
    own = db.session.get(Unit, user.unit_id)
    if own is None:
        return sa.select(Unit.id).where(sa.false())
    return sa.select(Unit.id).where(Unit.path.startswith(own.path))


def in_scope(user, unit_id: int) -> bool:
    scope = scope_unit_ids(user)
    if scope is None:
        return True
    return db.session.scalar(sa.select(sa.literal(True)).where(sa.literal(unit_id).in_(scope))) is True


def _locked(model, obj_id: int):
    """The row, locked until commit and read fresh (PostgreSQL; SQLite writers are serialised by
    BEGIN IMMEDIATE): a version check or a children count stays true until the change is written."""
    return db.session.get(model, obj_id, with_for_update=True, populate_existing=True)


def _get(model, obj_id: int, user=None, lock: bool = False):
    obj = _locked(model, obj_id) if lock else db.session.get(model, obj_id)
    unit_id = None if obj is None else (obj.id if model is Unit else obj.unit_id)
    if obj is None or (user is not None and not in_scope(user, unit_id)):
        raise NotFound(f"{ENTITY[model][2]}不存在 (not found)")
    return obj


STAFFING_LABEL = "进驻部门负责"


def staffing_of_windows() -> dict[int, int]:
    """Window id -> the department that staffs it (进驻部门), for every window that names one. A window's
    findings are the window's; rolled up, they are its staffing department's too (进驻部门负责)."""
    rows = db.session.execute(sa.select(Unit.id, Unit.staffing_unit_id)
                              .where(Unit.kind == "window", Unit.staffing_unit_id.is_not(None)))
    return {window_id: staffing_id for window_id, staffing_id in rows}


def units_by_id(ids) -> dict[int, Unit]:
    """The units of `ids` (one query), by id; ids of no unit are left out."""
    ids = {i for i in ids if i is not None}
    return {u.id: u for u in db.session.scalars(sa.select(Unit).where(Unit.id.in_(ids)))} if ids else {}


def with_unit_names(problems: list[dict]) -> list[dict]:
    """A draw's problems, each that names a unit given that unit's name too (`unit_name`): the messages are
    part of the draw's record and name the unit by id only."""
    units = units_by_id(p.get("unit_id") for p in problems)
    return [{**p, "unit_name": units[p["unit_id"]].name} if p.get("unit_id") in units else p for p in problems]


def get_unit(unit_id: int, user=None, *, lock: bool = False) -> Unit:
    return _get(Unit, unit_id, user, lock)


def get_staff(staff_id: int, user=None, *, lock: bool = False) -> Staff:
    return _get(Staff, staff_id, user, lock)


def get_service_item(item_id: int, user=None, *, lock: bool = False) -> ServiceItem:
    return _get(ServiceItem, item_id, user, lock)


def unit_by_code(code: str) -> Unit:
    unit = db.session.scalar(sa.select(Unit).where(Unit.code == code))
    if unit is None:
        raise NotFound(f"单位编码 {code} 不存在 (unknown unit code)")
    return unit


def check_version(obj, if_match: int | None) -> None:
    if if_match is not None and if_match != obj.version:
        raise PreconditionFailed("数据已被他人修改, 请刷新后重试 (stale version)",
                                 {"current_version": obj.version})


# --- units ----------------------------------------------------------------------------------------

def _unique(model, column, value, exclude_id=None, field=None) -> None:
    stmt = sa.select(model.id).where(column == value)
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    if db.session.scalar(stmt) is not None:
        raise Conflict(f"{value} 已存在 (already exists)", {"fields": {field: ["already exists"]}},
                       code="duplicate")


def _parent(parent_id: int | None, unit: Unit | None = None) -> Unit | None:
    if parent_id is None:
        return None
    parent = _locked(Unit, parent_id)  # so it cannot be deactivated while a child is put under it
    if parent is None:
        raise Unprocessable("上级单位不存在 (unknown parent)", {"fields": {"parent_id": ["unknown unit"]}})
    if unit is not None and unit.id is not None and parent.path.startswith(unit.path):
        raise Unprocessable("不能把单位移到自己的下级 (cycle)", {"fields": {"parent_id": ["would form a cycle"]}})
    if not parent.is_active and (unit is None or unit.is_active):
        # An active unit never sits under an inactive one (deactivation asks for no active children).
        raise Unprocessable("上级单位已停用 (parent unit is inactive)", {"fields": {"parent_id": ["inactive unit"]}})
    return parent


def _check_staffing(kind: str, staffing_unit_id: int | None, unit_id: int | None) -> None:
    """Only a window is staffed by a department (进驻部门), and never by itself."""
    if staffing_unit_id is None:
        return
    if kind != "window":
        raise Unprocessable("只有窗口可以填写进驻部门 (only a window has a staffing department)",
                            {"fields": {"staffing_unit_id": ["only for windows"]}})
    staffing = db.session.get(Unit, staffing_unit_id)
    if staffing is None or staffing_unit_id == unit_id:
        raise Unprocessable("进驻部门不存在 (unknown staffing department)",
                            {"fields": {"staffing_unit_id": ["unknown unit"]}})
    if staffing.kind == "window":
        raise Unprocessable("进驻部门不能是窗口 (a window cannot staff a window)",
                            {"fields": {"staffing_unit_id": ["is a window"]}})


def create_unit(data: dict, actor=None) -> Unit:
    _unique(Unit, Unit.code, data["code"], field="code")
    _check_staffing(data["kind"], data.get("staffing_unit_id"), None)
    parent = _parent(data.get("parent_id"))
    unit = Unit(**{k: v for k, v in data.items() if k in UNIT_FIELDS}, path="")
    unit.tags = unit.tags or []
    db.session.add(unit)
    db.session.flush()
    unit.path = (parent.path if parent else "/") + f"{unit.id}/"
    _record(unit, "create", actor, None)
    return unit


def update_unit(unit: Unit, changes: dict, actor=None) -> Unit:
    before = snapshot(unit)
    if "code" in changes:
        _unique(Unit, Unit.code, changes["code"], unit.id, "code")
    if "is_active" in changes:
        _check_activation(unit, changes["is_active"])
    if "staffing_unit_id" in changes or ("kind" in changes and unit.staffing_unit_id is not None):
        _check_staffing(changes.get("kind", unit.kind), changes.get("staffing_unit_id", unit.staffing_unit_id), unit.id)
    moved = "parent_id" in changes and changes["parent_id"] != unit.parent_id
    if moved:
        parent = _parent(changes["parent_id"], unit)
        old_path = unit.path
        new_path = (parent.path if parent else "/") + f"{unit.id}/"
        # Move the whole subtree with one UPDATE of the path prefix; "fetch" refreshes the paths of
        # units this session has already loaded, so a later move in the same transaction (an import)
        # starts from the real paths.
        db.session.execute(
            sa.update(Unit)
            .where(Unit.path.startswith(old_path))
            .values(path=sa.literal(new_path, sa.String) + sa.func.substr(Unit.path, len(old_path) + 1))
            .execution_options(synchronize_session="fetch")
        )
    for key, value in changes.items():
        setattr(unit, key, value)
    _finish_update(unit, before, actor)
    if moved:
        _touch_subtree(unit)
    return unit


def _touch_subtree(unit: Unit) -> None:
    """Give every row under a moved unit the move's seq: a liaison whose subtree gained them gets
    them in the delta feed (several rows then share one seq; the feed keeps such a group whole)."""
    seq = unit.change_seq
    subtree = sa.select(Unit.id).where(Unit.path.startswith(unit.path))
    for stmt in (
        sa.update(Unit).where(Unit.path.startswith(unit.path), Unit.id != unit.id),
        sa.update(Staff).where(Staff.unit_id.in_(subtree)),
        sa.update(ServiceItem).where(ServiceItem.unit_id.in_(subtree)),
    ):
        db.session.execute(stmt.values(change_seq=seq).execution_options(synchronize_session="fetch"))


def _finish_update(obj, before: dict, actor):
    if snapshot(obj) == before:
        return obj
    obj.version += 1
    _record(obj, "update", actor, before)
    return obj


def _check_activation(obj, active: bool) -> None:
    """Keep the tree consistent: no active unit under an inactive one."""
    if not isinstance(obj, Unit) or obj.is_active == active:
        return
    if not active:
        children = db.session.scalar(
            sa.select(sa.func.count()).where(Unit.parent_id == obj.id, Unit.is_active.is_(True)))
        if children:
            raise Conflict(f"仍有 {children} 个在用的下级单位, 请先停用它们 (active children)",
                           {"active_children": children}, code="unit_has_children")
    elif obj.parent_id is not None and not _locked(Unit, obj.parent_id).is_active:
        raise Conflict("上级单位已停用, 请先启用上级单位 (parent unit is inactive)",
                       {"parent_id": obj.parent_id}, code="parent_inactive")


def set_active(obj, active: bool, actor=None):
    if obj.is_active == active:
        return obj
    _check_activation(obj, active)
    before = snapshot(obj)
    obj.is_active = active
    obj.version += 1
    _record(obj, "activate" if active else "deactivate", actor, before)
    return obj


# --- staff ----------------------------------------------------------------------------------------

def _check_unit(unit_id: int) -> None:
    if db.session.get(Unit, unit_id) is None:
        raise Unprocessable("单位不存在 (unknown unit)", {"fields": {"unit_id": ["unknown unit"]}})


def _check_backup(backup_id: int | None, staff_id: int | None) -> None:
    if backup_id is None:
        return
    if backup_id == staff_id:
        raise Unprocessable("AB角不能是本人 (backup is the same person)", {"fields": {"backup_id": ["self"]}})
    if db.session.get(Staff, backup_id) is None:
        raise Unprocessable("AB角人员不存在 (unknown backup)", {"fields": {"backup_id": ["unknown staff"]}})


def create_staff(data: dict, actor=None) -> Staff:
    _unique(Staff, Staff.badge_no, data["badge_no"], field="badge_no")
    _check_unit(data["unit_id"])
    _check_backup(data.get("backup_id"), None)
    staff = Staff(**{k: v for k, v in data.items() if k in STAFF_FIELDS})
    db.session.add(staff)
    _record(staff, "create", actor, None)
    return staff


def update_staff(staff: Staff, changes: dict, actor=None) -> Staff:
    before = snapshot(staff)
    if "badge_no" in changes:
        _unique(Staff, Staff.badge_no, changes["badge_no"], staff.id, "badge_no")
    if "unit_id" in changes:
        _check_unit(changes["unit_id"])
    if "backup_id" in changes:
        _check_backup(changes["backup_id"], staff.id)
    for key, value in changes.items():
        setattr(staff, key, value)
    return _finish_update(staff, before, actor)


# --- service items -----------------------------------------------------------------------------

def _check_limits(statutory: int, committed: int) -> None:
    if committed > statutory:
        raise Unprocessable("承诺时限不得超过法定时限 (committed limit above statutory)",
                            {"fields": {"committed_limit_days": ["above statutory limit"]}})


def _accepting_windows(window_ids) -> list[int]:
    """The accepting windows (受理窗口) as stored: window units, each once, ascending."""
    ids = sorted(set(window_ids or []))
    found = dict(db.session.execute(sa.select(Unit.id, Unit.kind).where(Unit.id.in_(ids))).all()) if ids else {}
    bad = [i for i in ids if found.get(i) != "window"]
    if bad:
        raise Unprocessable("受理窗口须为已登记的窗口 (accepting windows must be window units)",
                            {"fields": {"accepting_window_ids": bad}})
    return ids


def create_service_item(data: dict, actor=None) -> ServiceItem:
    _unique(ServiceItem, ServiceItem.code, data["code"], field="code")
    _check_unit(data["unit_id"])
    _check_limits(data["statutory_limit_days"], data["committed_limit_days"])
    data = {**data, "accepting_window_ids": _accepting_windows(data.get("accepting_window_ids"))}
    item = ServiceItem(**{k: v for k, v in data.items() if k in ITEM_FIELDS})
    db.session.add(item)
    _record(item, "create", actor, None)
    return item


def update_service_item(item: ServiceItem, changes: dict, actor=None) -> ServiceItem:
    before = snapshot(item)
    if "code" in changes:
        _unique(ServiceItem, ServiceItem.code, changes["code"], item.id, "code")
    if "unit_id" in changes:
        _check_unit(changes["unit_id"])
    _check_limits(changes.get("statutory_limit_days", item.statutory_limit_days),
                  changes.get("committed_limit_days", item.committed_limit_days))
    if "accepting_window_ids" in changes:
        changes = {**changes, "accepting_window_ids": _accepting_windows(changes["accepting_window_ids"])}
    for key, value in changes.items():
        setattr(item, key, value)
    return _finish_update(item, before, actor)


# --- reading ---------------------------------------------------------------------------------------

def _search(stmt, model, args, user, text_columns):
    scope = scope_unit_ids(user)
    unit_col = _unit_column(model)
    if scope is not None:
        stmt = stmt.where(unit_col.in_(scope))
    if not args.get("include_inactive"):
        stmt = stmt.where(model.is_active.is_(True))
    if args.get("q"):
        # The text is literal: "%" and "_" in it match themselves.
        like = "%" + args["q"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(sa.or_(*(c.ilike(like, escape="\\") for c in text_columns)))
    if args.get("under") is not None:
        root = db.session.get(Unit, args["under"])
        prefix = root.path if root is not None else "/none/"
        stmt = stmt.where(unit_col.in_(sa.select(Unit.id).where(Unit.path.startswith(prefix))))
    return stmt


def search_units(args: dict, user) -> sa.Select:
    stmt = _search(sa.select(Unit).order_by(Unit.path), Unit, args, user, (Unit.name, Unit.code))
    if "kind" in args:
        stmt = stmt.where(Unit.kind == args["kind"])
    if "parent_id" in args:
        stmt = stmt.where(Unit.parent_id == args["parent_id"])
    if args.get("tag"):
        stmt = stmt.where(_has_tag(args["tag"]))
    return stmt


def _has_tag(tag: str):
    """Exact element match in the tags array. Not a LIKE on the JSON text: the JSON serialiser
    escapes Chinese as \\uXXXX, so "便民" would never match its own stored text."""
    if is_postgres():
        return sa.cast(Unit.tags, JSONB).contains([tag])
    element = sa.func.json_each(Unit.tags).table_valued("value")
    return sa.exists(sa.select(1).select_from(element).where(element.c.value == tag))


def search_staff(args: dict, user) -> sa.Select:
    stmt = _search(sa.select(Staff).order_by(Staff.unit_id, Staff.badge_no), Staff, args, user,
                   (Staff.name, Staff.badge_no))
    if "unit_id" in args:
        stmt = stmt.where(Staff.unit_id == args["unit_id"])
    if args.get("window_no"):
        stmt = stmt.where(Staff.window_no == args["window_no"])
    return stmt


def search_service_items(args: dict, user) -> sa.Select:
    stmt = _search(sa.select(ServiceItem).order_by(ServiceItem.code), ServiceItem, args, user,
                   (ServiceItem.name, ServiceItem.code))
    if "unit_id" in args:
        stmt = stmt.where(ServiceItem.unit_id == args["unit_id"])
    return stmt


def delta_head(user) -> int:
    """The newest change seq the caller could receive (drives the delta ETag)."""
    heads = []
    scope = scope_unit_ids(user)
    for model in (Unit, Staff, ServiceItem):
        stmt = sa.select(sa.func.max(model.change_seq))
        if scope is not None:
            stmt = stmt.where(_unit_column(model).in_(scope))
        heads.append(db.session.scalar(stmt) or 0)
    return max(heads)


def _unit_column(model):
    return model.id if model is Unit else model.unit_id


DELTA_MODELS = ((Unit, "units"), (Staff, "staff"), (ServiceItem, "service_items"))


def _changed_rows(scope, condition, limit: int | None = None) -> list[tuple[int, int, int, object]]:
    rows = []
    for order, (model, _) in enumerate(DELTA_MODELS):
        stmt = sa.select(model).where(condition(model.change_seq)).order_by(model.change_seq, model.id)
        if scope is not None:
            stmt = stmt.where(_unit_column(model).in_(scope))
        if limit is not None:
            stmt = stmt.limit(limit)
        rows.extend((obj.change_seq, order, obj.id, obj) for obj in db.session.scalars(stmt))
    rows.sort(key=lambda r: r[:3])
    return rows


def delta(user, since: int, limit: int) -> dict:
    """Everything changed after `since`, oldest change first, about `limit` rows in all.

    Deactivated rows come too (is_active false) so the phone drops them. Change seqs are assigned
    under the trail's head lock, so they grow in commit order and a cursor never skips a row. The
    rows under a moved unit share the move's seq; such a group is never split across pages, so a
    page may hold more than `limit` rows.
    """
    scope = scope_unit_ids(user)
    rows = _changed_rows(scope, lambda col: col > since, limit + 1)
    has_more = False
    if len(rows) > limit:
        boundary = rows[limit - 1][0]
        if rows[limit][0] == boundary:
            rows = [r for r in rows if r[0] < boundary] + _changed_rows(scope, lambda col: col == boundary)
        else:
            rows = rows[:limit]
        has_more = delta_head(user) > boundary
    out = {key: [] for _, key in DELTA_MODELS}
    for _, order, _, obj in rows:
        out[DELTA_MODELS[order][1]].append(obj)
    cursor = rows[-1][0] if rows else since
    return {**out, "cursor": cursor, "has_more": has_more}
