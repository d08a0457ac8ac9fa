"""Importing units, staff and service items from CSV and XLSX on a real database: upsert by natural
key through the services (so the trail records it), all or nothing, and idempotent re-imports."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest
import sqlalchemy as sa

from inspect_api.audit.models import AuditEvent
from inspect_api.db import db
from inspect_api.org import services
from inspect_api.org.imports import MAX_ERRORS, run_import
from inspect_api.org.models import ServiceItem, Staff, Unit
from inspect_api.org.tables import RowError
from tests.helpers import make_unit

UNIT_HEADER = ["单位编码", "单位名称", "类型", "上级单位编码", "主要负责人", "负责人职务", "办公时间", "标签"]
# Children before their parents on purpose: the import must order them.
UNIT_ROWS = [
    ["T-W1", "1号窗口", "窗口", "T-HALL", "陈静", "首席代表", "9:00-12:00，13:30-17:30", "窗口"],
    ["T-W2", "2号窗口", "窗口", "T-HALL", "", "", "", ""],
    ["T-HALL", "政务服务大厅", "大厅", "T-CENTER", "胡海波", "大厅负责人", "", "政务服务；综合窗口"],
    ["T-CENTER", "县政务服务中心", "部门", "T", "何丽萍", "主任", "", ""],
    ["T", "示范县人民政府", "县", "", "林振华", "县长", "", "县级机关"],
]
STAFF_HEADER = ["工牌号", "姓名", "单位编码", "岗位", "职务", "窗口号", "AB角工牌号"]
ITEM_HEADER = ["事项编码", "事项名称", "单位编码", "申请材料", "法定时限", "承诺时限", "即办件"]


def csv_file(header, rows, encoding="utf-8") -> io.BytesIO:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([header, *rows])
    return io.BytesIO(buf.getvalue().encode(encoding))


def xlsx_file(header, rows) -> io.BytesIO:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in [header, *rows]:
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    buf.seek(0)
    return buf


def audit_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))


def unit(code: str) -> Unit:
    return db.session.scalar(sa.select(Unit).where(Unit.code == code))


def staff(badge: str) -> Staff:
    return db.session.scalar(sa.select(Staff).where(Staff.badge_no == badge))


def assert_paths_consistent() -> None:
    db.session.expire_all()
    for u in db.session.scalars(sa.select(Unit)):
        expected = (u.parent.path if u.parent else "/") + f"{u.id}/"
        assert u.path == expected, (u.code, u.path, expected)


def import_units(rows=UNIT_ROWS, header=UNIT_HEADER):
    report = run_import("units", csv_file(header, rows), "units.csv")
    assert report.errors == []
    return report


def test_units_csv_creates_the_tree_with_parents_defined_later_in_the_file(dbsession):
    before = audit_count()
    report = import_units()
    assert (report.kind, report.rows, report.created, report.updated, report.unchanged) == ("units", 5, 5, 0, 0)
    county, hall, w1 = unit("T"), unit("T-HALL"), unit("T-W1")
    assert county.kind == "county" and county.parent_id is None
    assert hall.kind == "hall" and hall.parent.code == "T-CENTER" and hall.tags == ["政务服务", "综合窗口"]
    assert w1.kind == "window" and w1.parent_id == hall.id and w1.path.startswith(hall.path)
    assert w1.opening_hours == "09:00-12:00,13:30-17:30" and w1.head_name == "陈静" and w1.head_title == "首席代表"
    assert unit("T-W2").head_name is None and unit("T-W2").tags == []
    assert_paths_consistent()
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.seq > before)).all()
    assert [e.action for e in events] == ["unit.create"] * 5


def test_reimporting_the_same_file_changes_nothing_and_writes_no_trail(dbsession):
    import_units()
    before = audit_count()
    versions = {u.code: u.version for u in db.session.scalars(sa.select(Unit))}
    report = import_units()
    assert (report.created, report.updated, report.unchanged) == (0, 0, 5)
    assert audit_count() == before
    assert {u.code: u.version for u in db.session.scalars(sa.select(Unit))} == versions


def test_a_changed_row_is_updated_and_recorded_in_the_trail(dbsession):
    import_units()
    before = audit_count()
    rows = [list(r) for r in UNIT_ROWS]
    rows[2][4] = "钱学文"  # the hall has a new head
    report = import_units(rows)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 4)
    hall = unit("T-HALL")
    assert hall.head_name == "钱学文" and hall.version == 2
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.seq > before)).all()
    assert [(e.action, e.entity_id) for e in events] == [("unit.update", str(hall.id))]
    payload = json.loads(events[0].payload)
    assert payload["before"]["head_name"] == "胡海波" and payload["after"]["head_name"] == "钱学文"


def test_columns_missing_from_the_file_leave_stored_values_alone(dbsession):
    import_units()
    report = import_units([["T-HALL", "政务服务大厅", "大厅"]], header=["单位编码", "单位名称", "类型"])
    assert (report.updated, report.unchanged) == (0, 1)
    hall = unit("T-HALL")
    assert hall.head_name == "胡海波" and hall.parent.code == "T-CENTER" and hall.tags == ["政务服务", "综合窗口"]


def test_an_empty_cell_in_a_present_column_clears_the_value(dbsession):
    import_units()
    rows = [list(r) for r in UNIT_ROWS]
    rows[2][4:6] = ["", ""]
    assert import_units(rows).updated == 1
    assert unit("T-HALL").head_name is None and unit("T-HALL").head_title is None


def test_xlsx_import(dbsession):
    report = run_import("units", xlsx_file(UNIT_HEADER, UNIT_ROWS), "单位.xlsx")
    assert report.errors == [] and report.created == 5
    assert unit("T-W1").parent.code == "T-HALL"
    # the same rows from CSV now change nothing
    assert import_units().unchanged == 5


def test_gb18030_csv_from_chinese_excel(dbsession):
    report = run_import("units", csv_file(UNIT_HEADER, UNIT_ROWS, "gb18030"), "units.csv")
    assert report.errors == [] and report.created == 5
    assert unit("T").name == "示范县人民政府" and unit("T-HALL").tags == ["政务服务", "综合窗口"]


def test_utf8_with_bom_and_english_headers(dbsession):
    header = ["code", "name", "kind", "parent_code", "head_name", "head_title", "opening_hours", "tags"]
    report = run_import("units", csv_file(header, UNIT_ROWS, "utf-8-sig"), "units.csv")
    assert report.errors == [] and report.created == 5


def test_errors_name_row_column_and_reason_and_nothing_is_stored(dbsession):
    before_units = db.session.scalar(sa.select(sa.func.count()).select_from(Unit))
    before_events = audit_count()
    rows = [
        ["T", "示范县人民政府", "县", "", "", "", "", ""],  # row 2: fine, still not stored
        ["T-1", "县市场监督管理局", "部委", "T", "", "", "", ""],  # row 3: kind
        ["T 2", "县公安局", "部门", "T", "", "", "9点到5点", ""],  # row 4: code and hours
        ["T-3", "", "部门", "T-NOWHERE", "", "", "", ""],  # row 5: name; unknown parent
        ["T", "重复的县", "县", "", "", "", "", ""],  # row 6: duplicate code
    ]
    report = run_import("units", csv_file(UNIT_HEADER, rows), "units.csv")
    assert [(e.row, e.column) for e in report.errors] == [
        (3, "类型"), (4, "单位编码"), (4, "办公时间"), (5, "单位名称"), (5, "上级单位编码"), (6, "单位编码")]
    reasons = [e.reason for e in report.errors]
    assert "部委" in reasons[0] and "T 2" in reasons[1] and reasons[3] == "不能为空"
    assert "T-NOWHERE" in reasons[4] and "第 2 行重复" in reasons[5]
    assert (report.rows, report.created, report.updated, report.unchanged) == (5, 0, 0, 0)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Unit)) == before_units
    assert audit_count() == before_events


def test_missing_required_column_is_named_before_any_row_is_read(dbsession):
    report = run_import("units", csv_file(["单位编码", "单位名称"], [["A", "甲"]]), "units.csv")
    assert report.errors == [RowError(1, "类型", "缺少必填列“类型”")]
    assert unit("A") is None


@pytest.mark.parametrize("data,name,words", [
    (b"", "units.csv", "空"),
    ("单位编码,单位名称,类型\n".encode(), "units.csv", "没有数据行"),
    (b"%PDF-1.4 ...", "units.pdf", "不支持的文件类型"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "units.xls", ".xls"),
])
def test_files_that_are_not_usable_tables_get_one_file_level_error(dbsession, data, name, words):
    report = run_import("units", io.BytesIO(data), name)
    assert len(report.errors) == 1 and report.errors[0].row == 0 and report.errors[0].column is None
    assert words in report.errors[0].reason


def test_a_cycle_in_the_file_is_reported_on_each_row_of_it(dbsession):
    rows = [["C-A", "甲", "部门", "C-B"], ["C-B", "乙", "部门", "C-C"], ["C-C", "丙", "部门", "C-A"],
            ["C-D", "丁", "部门", "C-A"], ["C-E", "戊", "部门", ""]]
    report = run_import("units", csv_file(["单位编码", "单位名称", "类型", "上级单位编码"], rows), "u.csv")
    assert [(e.row, e.column) for e in report.errors] == [(2, "上级单位编码"), (3, "上级单位编码"), (4, "上级单位编码")]
    assert "C-A → C-B → C-C → C-A" in report.errors[0].reason
    assert unit("C-E") is None


def test_a_cycle_through_stored_units_is_refused(dbsession):
    import_units()
    report = import_units_raw([["T-CENTER", "县政务服务中心", "部门", "T-W1"]])
    assert len(report.errors) == 1 and report.errors[0].row == 2 and "循环" in report.errors[0].reason
    assert unit("T-CENTER").parent.code == "T"


def import_units_raw(rows):
    return run_import("units", csv_file(["单位编码", "单位名称", "类型", "上级单位编码"], rows), "u.csv")


def test_moving_a_subtree_keeps_every_materialised_path_right(dbsession):
    import_units()
    # the hall moves under a new department defined in the same file; a new service point goes
    # under a window whose path the move changes (the window row is read before the move)
    rows = [
        ["T-W1", "1号窗口", "窗口", "T-HALL"],
        ["T-W1-A", "1号窗口自助区", "其他", "T-W1"],
        ["T-HALL", "政务服务大厅", "大厅", "T-NEW"],
        ["T-NEW", "县行政审批局", "部门", "T"],
    ]
    report = import_units_raw(rows)
    assert report.errors == [] and (report.created, report.updated, report.unchanged) == (2, 1, 1)
    assert unit("T-HALL").parent.code == "T-NEW"
    assert unit("T-W1-A").path.startswith(unit("T-NEW").path)
    assert_paths_consistent()


def test_progress_is_reported_up_to_the_total(dbsession):
    calls = []
    run_import("units", csv_file(UNIT_HEADER, UNIT_ROWS), "units.csv", progress=lambda d, t: calls.append((d, t)))
    assert calls == [(i, 5) for i in range(1, 6)]


def test_errors_are_capped(dbsession):
    rows = [[f"X{i}", "单位", "乡镇"] for i in range(MAX_ERRORS + 200)]
    report = run_import("units", csv_file(["单位编码", "单位名称", "类型"], rows), "u.csv")
    assert report.rows == MAX_ERRORS + 200
    assert len(report.errors) == MAX_ERRORS
    assert report.errors[-1].row == 0 and "另有 201 处错误未列出" in report.errors[-1].reason
    assert report.errors[0].row == 2


def test_the_actor_is_recorded(dbsession):
    from tests.helpers import make_user

    admin = make_user("admin")
    run_import("units", csv_file(UNIT_HEADER, UNIT_ROWS), "units.csv", actor=admin)
    last = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
    assert last.actor_id == admin.id and last.actor_role == "admin"


# --- staff ------------------------------------------------------------------------------------------


@pytest.fixture()
def units(dbsession):
    import_units()


STAFF_ROWS = [
    ["T-0001", "陈静", "T-W1", "综合受理岗", "首席代表", "1", "T-0002"],  # backup defined later
    ["T-0002", "刘洋", "T-W1", "综合受理岗", "科员", "1", "T-0001"],  # mutual AB roles
    ["T-0003", "张婷", "T-W2", "审核岗", "", "2", ""],
    ["T-0004", "李浩", "T-CENTER", "窗口管理岗", "科长", "", ""],
]


def test_staff_import_with_mutual_backups(units):
    report = run_import("staff", csv_file(STAFF_HEADER, STAFF_ROWS), "staff.csv")
    assert report.errors == [] and (report.rows, report.created) == (4, 4)
    a, b, c, d = (staff(f"T-000{i}") for i in range(1, 5))
    assert a.backup_id == b.id and b.backup_id == a.id and c.backup_id is None and d.backup_id is None
    assert a.unit.code == "T-W1" and a.window_no == "1" and a.position == "首席代表" and c.position is None
    before = audit_count()
    again = run_import("staff", csv_file(STAFF_HEADER, STAFF_ROWS), "staff.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert audit_count() == before


def test_a_stored_staff_member_whose_new_backup_comes_later_is_updated_once(units):
    run_import("staff", csv_file(STAFF_HEADER, STAFF_ROWS), "staff.csv")
    before = audit_count()
    rows = [["T-0004", "李浩", "T-CENTER", "窗口管理岗", "科长", "", "T-0005"],
            ["T-0005", "苏晴", "T-CENTER", "窗口管理岗", "科员", "", ""]]
    report = run_import("staff", csv_file(STAFF_HEADER, rows), "staff.csv")
    assert (report.created, report.updated) == (1, 1)
    assert staff("T-0004").backup_id == staff("T-0005").id
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.seq > before)).all()
    assert sorted(e.action for e in events) == ["staff.create", "staff.update"]


def test_staff_referencing_an_unknown_unit_or_backup_is_refused(units):
    rows = [["T-0001", "陈静", "T-NOWHERE", "综合受理岗", "", "1", ""],
            ["T-0002", "刘洋", "T-W1", "综合受理岗", "", "1", "T-9999"],
            ["T-0003", "张婷", "T-W1", "综合受理岗", "", "1", "T-0003"],
            ["T-0004", "李浩", "T-W1", "", "", "12345678901234567", ""]]
    report = run_import("staff", csv_file(STAFF_HEADER, rows), "staff.csv")
    assert [(e.row, e.column) for e in report.errors] == [
        (2, "单位编码"), (3, "AB角工牌号"), (4, "AB角工牌号"), (5, "岗位"), (5, "窗口号")]
    assert "T-NOWHERE" in report.errors[0].reason and "T-9999" in report.errors[1].reason
    assert "本人" in report.errors[2].reason and "16" in report.errors[4].reason
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Staff)) == 0


def test_duplicate_badge_in_the_file_is_an_error(units):
    rows = [STAFF_ROWS[3], [*STAFF_ROWS[3][:1], "另一个人", *STAFF_ROWS[3][2:]]]
    report = run_import("staff", csv_file(STAFF_HEADER, rows), "staff.csv")
    assert report.errors == [RowError(3, "工牌号", "工牌号 T-0004 与第 2 行重复")]


def test_staff_can_move_to_another_unit(units):
    run_import("staff", csv_file(STAFF_HEADER, STAFF_ROWS), "staff.csv")
    rows = [list(r) for r in STAFF_ROWS]
    rows[2][2], rows[2][5] = "T-W1", "1"
    report = run_import("staff", csv_file(STAFF_HEADER, rows), "staff.csv")
    assert (report.updated, report.unchanged) == (1, 3)
    assert staff("T-0003").unit.code == "T-W1" and staff("T-0003").version == 2


def test_full_width_badge_is_reported_as_the_duplicate_it_is(units):
    rows = [STAFF_ROWS[3], ["Ｔ－０００４\u3000", "另一个人", "T-CENTER", "窗口管理岗", "", "", ""]]
    report = run_import("staff", csv_file(STAFF_HEADER, rows), "staff.csv")
    assert report.errors == [RowError(3, "工牌号", "工牌号 T-0004 与第 2 行重复")]


def test_full_width_badge_of_a_stored_person_updates_that_person(units):
    run_import("staff", csv_file(STAFF_HEADER, STAFF_ROWS), "staff.csv")
    rows = [["\u00a0Ｔ－０００４ ", "李浩", "T-CENTER", "科室负责人", "科长", "", ""]]
    report = run_import("staff", csv_file(STAFF_HEADER, rows), "staff.csv")
    assert report.errors == [] and (report.created, report.updated) == (0, 1)
    assert staff("T-0004").post == "科室负责人"


def test_badge_in_another_format_is_refused_with_row_and_column(units):
    rows = [["t0001", "陈静", "T-W1", "综合受理岗", "", "1", ""],
            ["T-0002", "刘洋", "T-W1", "综合受理岗", "", "1", ""]]
    report = run_import("staff", csv_file(STAFF_HEADER, rows), "staff.csv")
    assert [(e.row, e.column) for e in report.errors] == [(2, "工牌号")]
    assert "格式" in report.errors[0].reason


def test_badge_format_is_a_setting(units):
    from inspect_api.org.imports import ImportOptions

    rows = [["qc0001", "陈静", "T-W1", "综合受理岗", "", "1", ""]]
    report = run_import("staff", csv_file(STAFF_HEADER, rows), "staff.csv",
                        options=ImportOptions(badge_pattern=r"^qc[0-9]{4}$"))
    assert report.errors == [] and staff("qc0001").name == "陈静"


def test_a_staff_row_that_renames_the_badge_owner_is_refused_and_nothing_is_overwritten(units):
    run_import("staff", csv_file(STAFF_HEADER, STAFF_ROWS), "staff.csv")
    rows = [["T-0004", "王强", "T-W1", "综合受理岗", "科员", "1", "T-0001"]]
    report = run_import("staff", csv_file(STAFF_HEADER, rows), "staff.csv")
    assert [(e.row, e.column) for e in report.errors] == [(2, "姓名")]
    assert "李浩" in report.errors[0].reason and "王强" in report.errors[0].reason
    assert (report.updated, staff("T-0004").name, staff("T-0004").unit.code) == (0, "李浩", "T-CENTER")


def test_backup_in_another_unit_and_window_numbers_that_do_not_fit_are_refused(units):
    run_import("staff", csv_file(STAFF_HEADER, STAFF_ROWS), "staff.csv")
    rows = [["T-0005", "苏晴", "T-W2", "综合受理岗", "", "2", "T-0001"],  # backup stored in T-W1
            ["T-0006", "吴磊", "T-W2", "综合受理岗", "", "2", "T-0007"],  # backup in the file, in T-CENTER
            ["T-0007", "钱坤", "T-CENTER", "窗口管理岗", "", "", ""],
            ["T-0008", "孙丽", "T-CENTER", "窗口管理岗", "", "3", ""],  # a department has no windows
            ["T-0009", "周涛", "T-W1", "综合受理岗", "", "２", ""],  # 1号窗口 is window 1
            ["T-0010", "郑洁", "T-HALL", "导服岗", "", "导服台", ""]]  # a hall's desk is fine
    report = run_import("staff", csv_file(STAFF_HEADER, rows), "staff.csv")
    assert [(e.row, e.column) for e in report.errors] == [
        (2, "AB角工牌号"), (3, "AB角工牌号"), (5, "窗口号"), (6, "窗口号")]
    assert "T-W1" in report.errors[0].reason and "T-CENTER" in report.errors[1].reason
    assert "不是窗口" in report.errors[2].reason and "1号窗口" in report.errors[3].reason
    assert staff("T-0005") is None


def test_dry_run_reports_each_changed_field_and_writes_nothing(units):
    run_import("staff", csv_file(STAFF_HEADER, STAFF_ROWS), "staff.csv")
    from inspect_api.org.imports import ImportOptions

    before = audit_count()
    rows = [list(r) for r in STAFF_ROWS]
    rows[2][2], rows[2][5], rows[2][6] = "T-W1", "1", "T-0001"
    rows.append(["T-0005", "苏晴", "T-CENTER", "窗口管理岗", "", "", "T-0004"])
    report = run_import("staff", csv_file(STAFF_HEADER, rows), "staff.csv", options=ImportOptions(dry_run=True))
    assert report.errors == [] and report.dry_run
    assert (report.created, report.updated, report.unchanged) == (1, 1, 3)
    by_key = {d["key"]: d for d in report.rows_detail}
    assert by_key["T-0003"]["changes"] == {
        "unit_code": {"before": "T-W2", "after": "T-W1"}, "window_no": {"before": "2", "after": "1"},
        "backup_badge_no": {"before": None, "after": "T-0001"}}
    assert by_key["T-0005"]["action"] == "create"
    assert by_key["T-0005"]["changes"]["backup_badge_no"] == {"before": None, "after": "T-0004"}
    assert by_key["T-0001"]["action"] == "unchanged"
    db.session.expire_all()
    assert audit_count() == before and staff("T-0005") is None and staff("T-0003").unit.code == "T-W2"


def test_windows_name_their_staffing_department_defined_anywhere_in_the_file(dbsession):
    from inspect_api.org.imports import ImportOptions

    header = [*UNIT_HEADER, "进驻部门编码"]
    rows = [[*r, ""] for r in UNIT_ROWS]
    rows[0][-1] = "T-SCJG"  # T-W1, staffed by a department defined after it
    rows.append(["T-SCJG", "市场监督管理局", "部门", "T", "", "", "", "", ""])
    dry = run_import("units", csv_file(header, rows), "units.csv", options=ImportOptions(dry_run=True))
    assert dry.errors == []
    w1 = next(d for d in dry.rows_detail if d["key"] == "T-W1")
    assert w1["changes"]["staffing_code"] == {"before": None, "after": "T-SCJG"}
    report = run_import("units", csv_file(header, rows), "units.csv")
    assert report.errors == [] and unit("T-W1").staffing_unit_id == unit("T-SCJG").id
    assert run_import("units", csv_file(header, rows), "units.csv").unchanged == 6

    bad = [["T-W2", "2号窗口", "窗口", "T-HALL", "", "", "", "", "T-W1"],
           ["T-HALL", "政务服务大厅", "大厅", "T-CENTER", "", "", "", "", "T-SCJG"],
           ["T-W3", "3号窗口", "窗口", "T-HALL", "", "", "", "", "T-NOWHERE"]]
    report = run_import("units", csv_file(header, bad), "units.csv")
    assert [(e.row, e.column) for e in report.errors] == [(2, "进驻部门编码"), (3, "进驻部门编码"), (4, "进驻部门编码")]


def test_service_items_name_their_accepting_windows(units):
    header = [*ITEM_HEADER, "受理窗口"]
    rows = [[*ITEM_ROWS[0], "T-W1；Ｔ－Ｗ２"], [*ITEM_ROWS[1], "T-CENTER"]]
    report = run_import("service-items", csv_file(header, rows), "items.csv")
    assert [(e.row, e.column) for e in report.errors] == [(3, "受理窗口")] and "不是窗口" in report.errors[0].reason
    rows[1][-1] = ""
    report = run_import("service-items", csv_file(header, rows), "items.csv")
    assert report.errors == []
    item = db.session.scalar(sa.select(ServiceItem).where(ServiceItem.code == "T-SX-1"))
    assert item.accepting_window_ids == sorted([unit("T-W1").id, unit("T-W2").id])
    assert [d["changes"]["accepting_window_codes"]["after"] for d in report.rows_detail][0] == ["T-W1", "T-W2"]


# --- service items -----------------------------------------------------------------------------------


ITEM_ROWS = [
    ["T-SX-1", "个体工商户设立登记", "T-CENTER",
     "1.经营者签署的个体工商户设立登记申请书\n2.经营者身份证明（原件）\n3.经营场所证明", "3", "0", "是"],
    ["T-SX-2", "不动产转移登记", "T-CENTER", "不动产登记申请书；申请人身份证明；不动产权属证书（原件）", "30个工作日", "5", "否"],
]


def test_service_items_with_materials_and_limits(units):
    report = run_import("service-items", csv_file(ITEM_HEADER, ITEM_ROWS), "items.csv")
    assert report.errors == [] and report.created == 2
    first, second = (db.session.scalar(sa.select(ServiceItem).where(ServiceItem.code == c)) for c in ("T-SX-1", "T-SX-2"))
    assert first.materials == [
        {"code": "M1", "name": "经营者签署的个体工商户设立登记申请书", "note": None},
        {"code": "M2", "name": "经营者身份证明", "note": "原件"},
        {"code": "M3", "name": "经营场所证明", "note": None},
    ]
    assert (first.statutory_limit_days, first.committed_limit_days, first.on_the_spot) == (3, 0, True)
    assert (second.statutory_limit_days, second.committed_limit_days, second.on_the_spot) == (30, 5, False)
    assert [m["code"] for m in second.materials] == ["M1", "M2", "M3"]
    assert first.unit.code == "T-CENTER"


def test_service_items_from_xlsx_with_numbers_and_booleans(units):
    rows = [[*r[:4], int(r[4].removesuffix("个工作日")), int(r[5]), r[6] == "是"] for r in ITEM_ROWS]
    report = run_import("service-items", xlsx_file(ITEM_HEADER, rows), "items.xlsx")
    assert report.errors == [] and report.created == 2
    again = run_import("service-items", csv_file(ITEM_HEADER, ITEM_ROWS), "items.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_materials_written_by_the_api_without_notes_compare_equal(units):
    services.create_service_item({"code": "T-SX-9", "name": "发票领用", "unit_id": unit("T-CENTER").id,
                                  "materials": [{"code": "M1", "name": "经办人身份证件"}],
                                  "statutory_limit_days": 5, "committed_limit_days": 0, "on_the_spot": True})
    row = ["T-SX-9", "发票领用", "T-CENTER", "经办人身份证件", "5", "0", "是"]
    report = run_import("service-items", csv_file(ITEM_HEADER, [row]), "items.csv")
    assert report.unchanged == 1


def test_committed_limit_above_statutory_and_unknown_unit_are_refused(units):
    rows = [["T-SX-1", "食品经营许可", "T-CENTER", "食品经营许可申请书", "20", "25", "否"],
            ["T-SX-2", "契税申报", "T-GONE", "契税纳税申报表", "3", "0", "也许"],
            ["T-SX-3", "查询", "T-CENTER", "", "400", "0", ""]]
    report = run_import("service-items", csv_file(ITEM_HEADER, rows), "items.csv")
    assert [(e.row, e.column) for e in report.errors] == [
        (2, "承诺时限"), (3, "即办件"), (3, "单位编码"), (4, "申请材料"), (4, "法定时限")]
    assert "不得超过法定时限" in report.errors[0].reason
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ServiceItem)) == 0


def test_changing_limits_updates_the_item(units):
    run_import("service-items", csv_file(ITEM_HEADER, ITEM_ROWS), "items.csv")
    rows = [list(r) for r in ITEM_ROWS]
    rows[1][5] = "3"
    report = run_import("service-items", csv_file(ITEM_HEADER, rows), "items.csv")
    assert (report.updated, report.unchanged) == (1, 1)
    item = db.session.scalar(sa.select(ServiceItem).where(ServiceItem.code == "T-SX-2"))
    assert item.committed_limit_days == 3 and item.version == 2


def test_unknown_kind_is_a_programming_error(dbsession):
    with pytest.raises(ValueError):
        run_import("visits", io.BytesIO(b"a,b\n"), "x.csv")


def test_units_made_through_the_api_are_matched_by_code(dbsession):
    existing = make_unit(code="T-CENTER", name="旧名称")
    import_units()
    assert unit("T-CENTER").id == existing.id and unit("T-CENTER").name == "县政务服务中心"
