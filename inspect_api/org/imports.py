"""Bulk import of the org registry (units, staff, service items) from CSV or XLSX files.

Reading, header mapping, cell parsing and the parent ordering are `org/tables.py` (plain functions,
tested without a database). `run_import` checks every row against the rest of the file and the database first, and
writes only when the whole file is clean (all or nothing). Rows are matched by their natural key and
written through `org.services`, so the trail records each change; a row equal to the stored one is
left alone, so importing the same file twice changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa

from inspect_api.db import db
from inspect_api.errors import DomainError
from inspect_api.org import services
from inspect_api.org.models import ServiceItem, Staff, Unit
from inspect_api.org.tables import (
    ITEM_COLUMNS,
    STAFF_COLUMNS,
    UNIT_COLUMNS,
    Column,
    FileRejected,
    RowError,
    map_headers,
    order_by_parent,
    parse_row,
    read_table,
    window_problem,
)

KINDS = ("units", "staff", "service-items")
MAX_ERRORS = 1000  # the report lists at most this many errors (the last one may say how many more)
DEFAULT_BADGE_PATTERN = r"^[A-Z]{1,8}-[0-9]{4}$"


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False
    # One entry per data row that passed the checks: {row, key, action, changes: {field: {before, after}}};
    # action is "create", "update" or "unchanged". In a dry run nothing of it was stored.
    rows_detail: list[dict] = field(default_factory=list)


# --- running an import ------------------------------------------------------------------------------

class _Errors:
    def __init__(self, cap: int = MAX_ERRORS):
        self.cap = cap
        self.items: list[RowError] = []
        self.dropped = 0

    def add(self, row: int, column: str | None, reason: str) -> None:
        if len(self.items) < self.cap - 1:
            self.items.append(RowError(row, column, reason))
        else:
            self.dropped += 1

    def extend(self, errors: Iterable[RowError]) -> None:
        for e in errors:
            self.add(e.row, e.column, e.reason)

    def __bool__(self) -> bool:
        return bool(self.items)

    def result(self) -> list[RowError]:
        items = sorted(self.items, key=lambda e: e.row)
        if self.dropped:
            items.append(RowError(0, None, f"另有 {self.dropped} 处错误未列出（最多列出 {self.cap - 1} 处）"))
        return items


@dataclass
class _Row:
    row: int
    values: dict
    ok: bool


Progress = Callable[[int, int], None]


class _ApplyFailed(Exception):
    def __init__(self, row: int, reason: str):
        super().__init__(reason)
        self.row = row
        self.reason = reason


def _in_chunks(keys: list, size: int = 500) -> Iterator[list]:
    for i in range(0, len(keys), size):
        yield keys[i:i + size]


def _load(model, column, keys: Iterable[str]) -> dict:
    """The stored rows with these natural keys, {key: row}, loaded a chunk at a time."""
    found = {}
    for chunk in _in_chunks(sorted(set(keys))):
        for obj in db.session.scalars(sa.select(model).where(column.in_(chunk))):
            found[getattr(obj, column.key)] = obj
    return found


def _comparable(key: str, value):
    if key == "materials":
        return [{"code": m.get("code"), "name": m.get("name"), "note": m.get("note")} for m in value or []]
    if key == "tags":
        return list(value or [])
    return value


def _diff(obj, data: dict) -> dict:
    return {k: v for k, v in data.items() if _comparable(k, getattr(obj, k)) != _comparable(k, v)}


@dataclass(frozen=True)
class ImportOptions:
    dry_run: bool = False  # check and count everything, store nothing
    allow_rename: bool = False  # a staff row may change the name stored under its badge number
    badge_pattern: str = DEFAULT_BADGE_PATTERN  # what a badge number must look like (INSPECT_BADGE_PATTERN)


# Ids in the stored rows are shown as the file's natural keys in the dry run's before/after.
_SHOWN_AS = {"unit_id": "unit_code", "parent_id": "parent_code", "backup_id": "backup_badge_no",
             "staffing_unit_id": "staffing_code", "accepting_window_ids": "accepting_window_codes"}


class _Importer:
    columns: tuple[Column, ...] = ()
    key: str = "code"
    key_label: str = ""

    def __init__(self, actor, report: ImportReport, errors: _Errors, options: ImportOptions | None = None):
        self.actor = actor
        self.report = report
        self.errors = errors
        self.options = options or ImportOptions()

    def _note(self, r: _Row, action: str, obj, changes: dict) -> None:
        """Count the row's outcome and keep what changes, field by field, for the report."""
        self._count({"create": "created", "update": "updated", "unchanged": "unchanged"}[action])
        fields = {k: {"before": None if obj is None else getattr(obj, k), "after": v} for k, v in changes.items()}
        self.report.rows_detail.append({"row": r.row, "key": r.values.get(self.key), "action": action,
                                        "changes": fields})

    def row_errors(self, row: int, values: dict, index: Mapping[str, tuple[int, str]]) -> list[RowError]:
        """Checks across the cells of one row."""
        return []

    def unique_rows(self, rows: list[_Row], index) -> dict[str, _Row]:
        """{key: row} of the parsed rows, with an error for each repeated key."""
        by_key: dict[str, _Row] = {}
        header = index[self.key][1]
        for r in rows:
            key = r.values.get(self.key)
            if key is None:
                continue
            if key in by_key:
                self.errors.add(r.row, header, f"{self.key_label} {key} 与第 {by_key[key].row} 行重复")
                r.ok = False
            else:
                by_key[key] = r
        return by_key

    def check(self, rows: list[_Row], index) -> None:
        raise NotImplementedError

    def apply(self, progress: Progress | None) -> None:
        raise NotImplementedError

    def _count(self, outcome: str) -> None:
        setattr(self.report, outcome, getattr(self.report, outcome) + 1)


def _unit_ids() -> dict[str, int]:
    return dict(db.session.execute(sa.select(Unit.code, Unit.id)).all())


class _UnitImporter(_Importer):
    columns = UNIT_COLUMNS
    key_label = "单位编码"

    def check(self, rows, index):
        self.by_code = self.unique_rows(rows, index)
        stored = db.session.execute(sa.select(Unit.id, Unit.code, Unit.parent_id)).all()
        code_of = {uid: code for uid, code, _ in stored}
        stored_parent = {code: code_of.get(pid) for _, code, pid in stored}
        has_parent_column = "parent_code" in index
        parent_header = index["parent_code"][1] if has_parent_column else None
        parent_of: dict[str, str | None] = {}
        for code, r in self.by_code.items():
            if not has_parent_column:
                parent_of[code] = stored_parent.get(code)
                continue
            parent = r.values.get("parent_code")
            if parent == code:
                self.errors.add(r.row, parent_header, "上级单位不能是本单位")
                r.ok = False
            elif parent is not None and parent not in self.by_code and parent not in stored_parent:
                self.errors.add(r.row, parent_header, f"上级单位编码 {parent} 不存在（数据库和本文件中都没有）")
                r.ok = False
            if r.ok:
                parent_of[code] = parent
        if "staffing_code" in index:
            header = index["staffing_code"][1]
            stored_kind = dict(db.session.execute(sa.select(Unit.code, Unit.kind)).all())
            for code, r in self.by_code.items():
                staffing = r.values.get("staffing_code")
                if staffing is None:
                    continue
                kind = self.by_code[staffing].values.get("kind") if staffing in self.by_code else stored_kind.get(staffing)
                if r.values.get("kind") != "window":
                    self.errors.add(r.row, header, "只有窗口可以填写进驻部门")
                elif staffing == code or kind is None:
                    self.errors.add(r.row, header, f"进驻部门编码 {staffing} 不存在（数据库和本文件中都没有）")
                elif kind == "window":
                    self.errors.add(r.row, header, f"进驻部门 {staffing} 是窗口，应为派驻人员的部门")
        self.order, cycles = order_by_parent(parent_of, stored_parent)
        for cycle in cycles:
            path = " → ".join([*cycle, cycle[0]])
            for code in cycle:
                if code in self.by_code:
                    self.errors.add(self.by_code[code].row, parent_header, f"上级单位形成循环：{path}")

    def apply(self, progress):
        stored = _load(Unit, Unit.code, self.order)
        ids = _unit_ids()
        later: list[tuple[_Row, str]] = []  # staffing departments defined later in the file
        for done, code in enumerate(self.order, 1):
            r = self.by_code[code]
            data = {k: v for k, v in r.values.items() if k not in ("parent_code", "staffing_code")}
            if "parent_code" in r.values:
                data["parent_id"] = ids[r.values["parent_code"]] if r.values["parent_code"] else None
            if "staffing_code" in r.values:
                staffing = r.values["staffing_code"]
                if staffing is not None and staffing not in ids:
                    later.append((r, code))
                else:
                    data["staffing_unit_id"] = ids[staffing] if staffing else None
            unit = stored.get(code)
            try:
                if unit is None:
                    self._note(r, "create", None, data)
                    ids[code] = services.create_unit(data, actor=self.actor).id
                elif changes := _diff(unit, data):
                    self._note(r, "update", unit, changes)
                    # update_unit moves the subtree and refreshes the paths of loaded units, so
                    # children placed later in this loop get the new paths.
                    services.update_unit(unit, changes, actor=self.actor)
                else:
                    self._note(r, "unchanged", unit, {})
            except DomainError as exc:
                raise _ApplyFailed(r.row, exc.message) from exc
            if progress:
                progress(done, len(self.order))
        for r, code in later:
            unit = db.session.scalar(sa.select(Unit).where(Unit.code == code))
            staffing_id = ids[r.values["staffing_code"]]
            if unit.staffing_unit_id == staffing_id:
                continue
            detail = next(d for d in reversed(self.report.rows_detail) if d["row"] == r.row)
            detail["changes"]["staffing_unit_id"] = {
                "before": None if detail["action"] == "create" else unit.staffing_unit_id, "after": staffing_id}
            if detail["action"] == "unchanged":
                detail["action"] = "update"
                self.report.unchanged -= 1
                self.report.updated += 1
            try:
                services.update_unit(unit, {"staffing_unit_id": staffing_id}, actor=self.actor)
            except DomainError as exc:
                raise _ApplyFailed(r.row, exc.message) from exc


class _UnitRefImporter(_Importer):
    """Rows that belong to a unit stored in the database (staff and service items)."""

    def check_units(self, rows: list[_Row], index) -> None:
        self.unit_ids = _unit_ids()
        header = index["unit_code"][1]
        for r in rows:
            code = r.values.get("unit_code")
            if code is not None and code not in self.unit_ids:
                self.errors.add(r.row, header, f"单位编码 {code} 不存在，请先导入或新建该单位")
                r.ok = False

    def data(self, values: dict) -> dict:
        data = {k: v for k, v in values.items() if k not in ("unit_code", "backup_badge_no")}
        data["unit_id"] = self.unit_ids[values["unit_code"]]
        return data


class _StaffImporter(_UnitRefImporter):
    columns = STAFF_COLUMNS
    key = "badge_no"
    key_label = "工牌号"

    def row_errors(self, row, values, index):
        badge = values.get("badge_no")
        if badge is not None and not re.fullmatch(self.options.badge_pattern, badge):
            return [RowError(row, index["badge_no"][1],
                             f"工牌号“{badge}”不符合工牌号格式（{self.options.badge_pattern}），"
                             "请与其他工作人员的工牌号写法一致")]
        return []

    def check(self, rows, index):
        self.by_badge = self.unique_rows(rows, index)
        self.check_units(rows, index)
        # {badge: (name, unit code)} of the stored staff
        stored = {badge: (name, unit_code) for badge, name, unit_code in db.session.execute(
            sa.select(Staff.badge_no, Staff.name, Unit.code).join(Unit, Staff.unit_id == Unit.id))}
        units = {code: (kind, name) for code, kind, name in db.session.execute(
            sa.select(Unit.code, Unit.kind, Unit.name))}
        for badge, r in self.by_badge.items():
            if not r.ok:
                continue
            if badge in stored:
                self._check_name(r, badge, stored[badge][0], index)
            unit = units.get(r.values.get("unit_code"))
            reason = window_problem(r.values["window_no"], *unit) if unit and "window_no" in r.values else None
            if reason:
                self.errors.add(r.row, index["window_no"][1], reason)
        if "backup_badge_no" not in index:
            return
        header = index["backup_badge_no"][1]
        for badge, r in self.by_badge.items():
            backup = r.values.get("backup_badge_no")
            if backup == badge:
                self.errors.add(r.row, header, "AB角不能是本人")
            elif backup is not None and backup not in self.by_badge and backup not in stored:
                self.errors.add(r.row, header, f"AB角工牌号 {backup} 不存在（数据库和本文件中都没有）")
            elif backup is not None and r.values.get("unit_code") is not None:
                # AB roles stand in for each other at the same desk, so both work in the same unit.
                other = self.by_badge.get(backup)
                backup_unit = other.values.get("unit_code") if other is not None else stored[backup][1]
                if backup_unit is not None and backup_unit != r.values["unit_code"]:
                    self.errors.add(r.row, header, f"AB角 {backup} 在单位 {backup_unit}，"
                                                   f"与本人所在单位 {r.values['unit_code']} 不同")

    def _check_name(self, r: _Row, badge: str, stored_name: str, index) -> None:
        """A badge number names one person: a row that gives it another name is refused unless the
        import says the person was renamed (so a mistyped badge never overwrites a colleague)."""
        name = r.values.get("name")
        if name is None or name == stored_name or self.options.allow_rename:
            return
        self.errors.add(r.row, index["name"][1],
                        f"工牌号 {badge} 已属于“{stored_name}”，本行姓名为“{name}”：若是工牌号填错，"
                        "请改正；若确为同一人改名，请以“允许改名”方式导入（--allow-rename，API: allow_rename=true）")

    def apply(self, progress):
        stored = _load(Staff, Staff.badge_no, self.by_badge)
        ids = dict(db.session.execute(sa.select(Staff.badge_no, Staff.id)).all())
        total, done = len(self.by_badge), 0
        # A backup may be named before its own row (AB roles are often mutual). Such a row waits for
        # a second pass: a stored one is then written whole, a new one is created first without
        # its backup and gets it in the second pass.
        later: list[tuple[_Row, Staff, bool]] = []
        for badge, r in self.by_badge.items():
            data = self.data(r.values)
            backup = r.values.get("backup_badge_no")
            waits = backup is not None and backup not in ids
            if "backup_badge_no" in r.values and not waits:
                data["backup_id"] = ids[backup] if backup else None
            staff = stored.get(badge)
            if waits and staff is not None:
                later.append((r, staff, True))
                continue
            staff = self._upsert(r, staff, data)
            ids[badge] = staff.id
            if waits:
                later.append((r, staff, False))
            else:
                done += 1
                if progress:
                    progress(done, total)
        for r, staff, whole_row in later:
            backup_id = ids[r.values["backup_badge_no"]]
            if whole_row:
                self._upsert(r, staff, {**self.data(r.values), "backup_id": backup_id})
            else:
                created = next(d for d in reversed(self.report.rows_detail) if d["row"] == r.row)
                created["changes"]["backup_id"] = {"before": None, "after": backup_id}
                self._call(r, services.update_staff, staff, {"backup_id": backup_id})
            done += 1
            if progress:
                progress(done, total)

    def _upsert(self, r: _Row, staff: Staff | None, data: dict) -> Staff:
        if staff is None:
            self._note(r, "create", None, data)
            return self._call(r, services.create_staff, data)
        changes = _diff(staff, data)
        self._note(r, "update" if changes else "unchanged", staff, changes)
        return self._call(r, services.update_staff, staff, changes) if changes else staff

    def _call(self, r: _Row, fn, *args):
        try:
            return fn(*args, actor=self.actor)
        except DomainError as exc:
            raise _ApplyFailed(r.row, exc.message) from exc


class _ItemImporter(_UnitRefImporter):
    columns = ITEM_COLUMNS
    key_label = "事项编码"

    def row_errors(self, row, values, index):
        statutory, committed = values.get("statutory_limit_days"), values.get("committed_limit_days")
        if statutory is not None and committed is not None and committed > statutory:
            return [RowError(row, index["committed_limit_days"][1],
                             f"承诺时限（{committed} 个工作日）不得超过法定时限（{statutory} 个工作日）")]
        return []

    def check(self, rows, index):
        self.by_code = self.unique_rows(rows, index)
        self.check_units(rows, index)
        if "accepting_window_codes" not in index:
            return
        header = index["accepting_window_codes"][1]
        kinds = dict(db.session.execute(sa.select(Unit.code, Unit.kind)).all())
        for r in self.by_code.values():
            for code in r.values.get("accepting_window_codes") or []:
                if code not in kinds:
                    self.errors.add(r.row, header, f"受理窗口 {code} 不存在，请先导入该窗口")
                elif kinds[code] != "window":
                    self.errors.add(r.row, header, f"受理窗口 {code} 不是窗口")

    def data(self, values: dict) -> dict:
        data = super().data({k: v for k, v in values.items() if k != "accepting_window_codes"})
        if "accepting_window_codes" in values:
            data["accepting_window_ids"] = sorted({self.unit_ids[c] for c in values["accepting_window_codes"]})
        return data

    def apply(self, progress):
        stored = _load(ServiceItem, ServiceItem.code, self.by_code)
        total = len(self.by_code)
        for done, (code, r) in enumerate(self.by_code.items(), 1):
            data = self.data(r.values)
            item = stored.get(code)
            try:
                if item is None:
                    self._note(r, "create", None, data)
                    services.create_service_item(data, actor=self.actor)
                elif changes := _diff(item, data):
                    self._note(r, "update", item, changes)
                    services.update_service_item(item, changes, actor=self.actor)
                else:
                    self._note(r, "unchanged", item, {})
            except DomainError as exc:
                raise _ApplyFailed(r.row, exc.message) from exc
            if progress:
                progress(done, total)


IMPORTERS: dict[str, type[_Importer]] = {"units": _UnitImporter, "staff": _StaffImporter,
                                         "service-items": _ItemImporter}


class _DryRun(Exception):
    """Raised inside the savepoint of a dry run, so everything written is rolled back."""


def _show_keys(details: list[dict]) -> None:
    """Ids in the before/after of the report's rows replaced by the codes people know them by."""
    wanted = [c for d in details for c in d["changes"] if c in _SHOWN_AS]
    if not wanted:
        return
    unit_code = dict(db.session.execute(sa.select(Unit.id, Unit.code)).all())
    badge = dict(db.session.execute(sa.select(Staff.id, Staff.badge_no)).all())
    for d in details:
        for key in [k for k in d["changes"] if k in _SHOWN_AS]:
            names = badge if key == "backup_id" else unit_code
            change = d["changes"].pop(key)
            d["changes"][_SHOWN_AS[key]] = {
                side: [names.get(i, i) for i in v] if isinstance(v, list) else names.get(v, v)
                for side, v in change.items()}


def run_import(kind: str, stream, filename: str, actor=None, progress: Progress | None = None,
               options: ImportOptions | None = None) -> ImportReport:
    """Check a whole file, then upsert its rows by natural key (unit code, badge number, item code).

    Returns the report, which lists each row's outcome and changed fields (before and after). With
    `options.dry_run` everything is checked and counted the same way, and then rolled back. When it has errors nothing was written (the changes are made inside a
    savepoint that is rolled back), and the caller should still roll back its transaction.
    `progress(done, total)` is called while rows are written. Never commits.
    """
    if kind not in IMPORTERS:
        raise ValueError(f"unknown import kind {kind!r}; expected one of {KINDS}")
    options = options or ImportOptions()
    report = ImportReport(kind=kind, dry_run=options.dry_run)
    errors = _Errors()
    importer = IMPORTERS[kind](actor, report, errors, options)
    rows: list[_Row] = []
    try:
        table = read_table(stream, filename)
        header = next(table, None)
        if header is None:
            raise FileRejected("文件是空的 (empty file)")
        index, header_errors = map_headers(header[1], importer.columns, header[0])
        if header_errors:
            report.errors = header_errors
            return report
        for row_no, cells in table:
            report.rows += 1
            values, cell_errors = parse_row(row_no, cells, importer.columns, index)
            if not cell_errors:
                cell_errors = importer.row_errors(row_no, values, index)
            errors.extend(cell_errors)
            rows.append(_Row(row_no, values, not cell_errors))
    except FileRejected as exc:
        errors.add(exc.row, None, exc.reason)
        report.errors = errors.result()
        return report
    if not rows:
        errors.add(0, None, "文件中没有数据行（第 1 行是表头，数据从第 2 行开始）")
    else:
        importer.check(rows, index)
    if errors:
        report.errors = errors.result()
        return report
    try:
        with db.session.begin_nested():
            importer.apply(progress)
            _show_keys(report.rows_detail)
            if options.dry_run:
                raise _DryRun
    except _DryRun:
        pass
    except _ApplyFailed as exc:
        report.created = report.updated = report.unchanged = 0
        report.rows_detail = []
        report.errors = [RowError(exc.row, None, exc.reason)]
    return report
