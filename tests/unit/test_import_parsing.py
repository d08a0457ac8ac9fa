"""The import's pure parts: file format and encoding detection, header mapping, cell parsing, and
the parents-first order with cycle detection. No app, no database."""

from __future__ import annotations

import io

import openpyxl
import pytest

from inspect_api.org.tables import (
    ITEM_COLUMNS,
    STAFF_COLUMNS,
    UNIT_COLUMNS,
    CellError,
    FileRejected,
    RowError,
    cell_text,
    detect_format,
    map_headers,
    normalise_header,
    order_by_parent,
    parse_bool,
    parse_days,
    parse_materials,
    parse_opening_hours,
    parse_row,
    parse_tags,
    parse_unit_kind,
    read_table,
)

# --- format and encoding ---------------------------------------------------------------------------


@pytest.mark.parametrize("head,name,expected", [
    (b"PK\x03\x04rest", "units.xlsx", "xlsx"),
    (b"PK\x03\x04rest", "units.csv", "xlsx"),  # content wins over a wrong name
    (b"PK\x03\x04rest", "", "xlsx"),
    ("单位编码,单位名称".encode(), "units.csv", "csv"),
    ("单位编码,单位名称".encode(), "UNITS.CSV", "csv"),
    ("单位编码,单位名称".encode("gb18030"), "", "csv"),
    ("单位编码\t单位名称".encode("utf-16"), "units.txt", "csv"),
])
def test_format_is_detected_by_content_and_name(head, name, expected):
    assert detect_format(head, name) == expected


@pytest.mark.parametrize("head,name,words", [
    (b"", "units.csv", "空"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "units.xls", ".xls"),
    (b"code,name", "units.xls", ".xls"),
    (b"code,name", "units.xlsx", "不是 Excel"),
    (b"%PDF-1.7", "units.pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "units.csv", "不是文本"),
])
def test_other_files_are_rejected_with_a_chinese_reason(head, name, words):
    with pytest.raises(FileRejected) as exc:
        detect_format(head, name)
    assert words in exc.value.reason
    assert exc.value.row == 0


def _rows(data: bytes, name: str = "units.csv") -> list[tuple[int, list[str]]]:
    return list(read_table(io.BytesIO(data), name))


def test_csv_rows_are_numbered_as_spreadsheet_rows_and_blank_rows_skipped():
    data = '单位编码,单位名称\r\nA,"多行\r\n名称"\r\n\r\n,\r\nB, 乙 \r\n'.encode()
    assert _rows(data) == [(1, ["单位编码", "单位名称"]), (2, ["A", "多行\n名称"]), (5, ["B", "乙"])]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_csv_is_read_in_utf8_with_or_without_bom_gb18030_and_excel_unicode_text(encoding):
    sep = "\t" if encoding == "utf-16" else ","
    data = f"单位编码{sep}单位名称\nQC-1{sep}清川县市场监督管理局\n".encode(encoding)
    assert _rows(data)[1] == (2, ["QC-1", "清川县市场监督管理局"])


def test_gb18030_is_chosen_even_when_the_first_part_of_the_file_is_ascii():
    data = b"code,name\n" + b"".join(f"A{i},x\n".encode() for i in range(20000)) + "Z,镇\n".encode("gb18030")
    rows = _rows(data)
    assert rows[-1][1] == ["Z", "镇"] and len(rows) == 20002


def test_bytes_that_are_neither_utf8_nor_gb18030_are_rejected_with_the_row():
    data = b"code,name\nA,x\nB,\x81\x20\n"
    with pytest.raises(FileRejected) as exc:
        _rows(data)
    assert "编码" in exc.value.reason


def test_xlsx_first_sheet_is_read_with_numbers_as_people_see_them():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["事项编码", "法定时限", "即办件"])
    sheet.append(["S1", 20, True])
    sheet.append([None, None, None])
    sheet.append(["S2", 3.0, "否"])
    book.create_sheet("其他").append(["ignored"])
    buf = io.BytesIO()
    book.save(buf)
    assert _rows(buf.getvalue(), "items.xlsx") == [
        (1, ["事项编码", "法定时限", "即办件"]), (2, ["S1", "20", "是"]), (4, ["S2", "3", "否"])]


def test_a_broken_workbook_is_rejected():
    with pytest.raises(FileRejected) as exc:
        _rows(b"PK\x03\x04 this is no zip", "units.xlsx")
    assert "Excel" in exc.value.reason


def test_cell_text_of_excel_values():
    from datetime import datetime, time

    assert cell_text(None) == "" and cell_text(20.0) == "20" and cell_text(2.5) == "2.5"
    assert cell_text(time(9, 0)) == "09:00" and cell_text(datetime(2026, 1, 5)) == "2026-01-05"
    assert cell_text(" a\r\nb ") == "a\nb"


# --- headers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("header,key", [
    ("上级单位编码", "上级单位编码"),
    ("\ufeff上级单位编码", "上级单位编码"),
    ("*上级单位编码（选填）", "上级单位编码"),
    ("法定时限(工作日)", "法定时限"),
    ("Parent Code", "parentcode"),
    ("parent_code", "parentcode"),
    ("AB角工牌号", "ab角工牌号"),
])
def test_headers_are_normalised(header, key):
    assert normalise_header(header) == key


def test_chinese_and_english_headers_map_to_fields_and_extra_columns_are_ignored():
    index, errors = map_headers(["序号", "单位编码", "name", "类型（县/部门）", "Parent Code", "备注"], UNIT_COLUMNS)
    assert errors == []
    assert index == {"code": (1, "单位编码"), "name": (2, "name"), "kind": (3, "类型（县/部门）"),
                     "parent_code": (4, "Parent Code")}


def test_missing_required_headers_are_named():
    _, errors = map_headers(["工牌号", "姓名", "窗口号"], STAFF_COLUMNS)
    assert errors == [RowError(1, "单位编码", "缺少必填列“单位编码”"), RowError(1, "岗位", "缺少必填列“岗位”")]


def test_unknown_and_repeated_headers_are_errors():
    _, errors = map_headers(["单位编码", "code", "单位名称", "类型", "办工时间"], UNIT_COLUMNS)
    assert [(e.row, e.column) for e in errors] == [(1, "code"), (1, "办工时间")]
    assert "同一列" in errors[0].reason and "无法识别" in errors[1].reason


def test_row_values_only_for_present_columns_and_errors_per_cell():
    index, _ = map_headers(["事项编码", "事项名称", "单位编码", "申请材料", "法定时限", "承诺时限"], ITEM_COLUMNS)
    values, errors = parse_row(7, ["S 1", "", "U1", "身份证", "20个工作日"], ITEM_COLUMNS, index)
    assert values == {"unit_code": "U1", "materials": [{"code": "M1", "name": "身份证", "note": None}],
                      "statutory_limit_days": 20}
    assert [(e.row, e.column) for e in errors] == [(7, "事项编码"), (7, "事项名称"), (7, "承诺时限")]
    assert errors[1].reason == "不能为空"
    assert "on_the_spot" not in values  # absent column: leave the stored value alone


# --- cells ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw,kind", [("县", "county"), ("部门", "department"), ("大厅", "hall"), ("窗口", "window"),
                                      ("其他", "other"), ("Window", "window"), ("other", "other")])
def test_unit_kinds_in_chinese_and_english(raw, kind):
    assert parse_unit_kind(raw) == kind


def test_unknown_unit_kind_lists_the_choices():
    with pytest.raises(CellError, match="县、部门、大厅、窗口"):
        parse_unit_kind("乡镇")


@pytest.mark.parametrize("raw,expected", [
    ("09:00-12:00,13:30-17:30", "09:00-12:00,13:30-17:30"),
    ("8:30－12:00，14:00～17:30", "08:30-12:00,14:00-17:30"),
    ("8：30 - 17：30", "08:30-17:30"),
    ("", None),
])
def test_opening_hours_are_normalised(raw, expected):
    assert parse_opening_hours(raw) == expected


@pytest.mark.parametrize("raw", ["9点-12点", "12:00-09:00", "09:00-12:00,11:00-17:00", "25:00-26:00", "09:00"])
def test_bad_opening_hours_are_refused(raw):
    with pytest.raises(CellError):
        parse_opening_hours(raw)


def test_tags_split_on_ascii_and_chinese_separators_without_repeats():
    assert parse_tags("窗口单位;行政许可；重点、窗口单位") == ["窗口单位", "行政许可", "重点"]
    assert parse_tags("") == []
    with pytest.raises(CellError):
        parse_tags("x" * 33)


@pytest.mark.parametrize("raw,days", [("20", 20), ("20个工作日", 20), ("5 工作日", 5), ("0", 0), ("即办", 0),
                                      ("15.0", 15)])
def test_working_days(raw, days):
    assert parse_days(raw) == days


@pytest.mark.parametrize("raw", ["-1", "366", "二十", "2.5", "20个月"])
def test_bad_working_days(raw):
    with pytest.raises(CellError):
        parse_days(raw)


@pytest.mark.parametrize("raw,value", [("是", True), ("否", False), ("YES", True), ("no", False), ("true", True),
                                       ("0", False), ("1", True), ("", False)])
def test_booleans(raw, value):
    assert parse_bool(raw) is value


def test_bad_boolean():
    with pytest.raises(CellError, match="是 或 否"):
        parse_bool("可能")


def test_materials_one_per_line_or_semicolon_with_notes_and_numbering():
    raw = "1.经营者签署的登记申请书（原件）\n2、经营者身份证明；③经营场所证明(复印件)\n\n法定代表人、董事的任职文件;（4）营业执照正、副本"
    assert parse_materials(raw) == [
        {"code": "M1", "name": "经营者签署的登记申请书", "note": "原件"},
        {"code": "M2", "name": "经营者身份证明", "note": None},
        {"code": "M3", "name": "经营场所证明", "note": "复印件"},
        {"code": "M4", "name": "法定代表人、董事的任职文件", "note": None},
        {"code": "M5", "name": "营业执照正、副本", "note": None},
    ]


def test_materials_parenthesis_in_the_middle_stays_in_the_name():
    assert parse_materials("法定代表人（负责人）身份证明") == [
        {"code": "M1", "name": "法定代表人（负责人）身份证明", "note": None}]


def test_materials_none_and_empty():
    assert parse_materials("无") == []
    with pytest.raises(CellError):
        parse_materials("；\n；")


# --- parents first ----------------------------------------------------------------------------------


def test_parents_defined_later_in_the_file_come_first():
    order, cycles = order_by_parent({"W1": "HALL", "HALL": "DEPT", "DEPT": "COUNTY", "COUNTY": None, "W2": "HALL"}, {})
    assert cycles == []
    assert order == ["COUNTY", "DEPT", "HALL", "W1", "W2"]


def test_parents_in_the_database_need_no_order():
    order, cycles = order_by_parent({"W1": "HALL", "W2": "STORED"}, {"STORED": None, "HALL": "STORED"})
    assert cycles == [] and sorted(order) == ["W1", "W2"]


def test_cycles_in_the_file_are_found_and_their_descendants_left_out():
    order, cycles = order_by_parent({"A": "B", "B": "C", "C": "A", "D": "A", "E": None}, {})
    assert cycles == [["A", "B", "C"]]
    assert order == ["E"]


def test_a_unit_that_is_its_own_parent_is_a_cycle():
    assert order_by_parent({"A": "A"}, {}) == ([], [["A"]])


def test_a_cycle_through_the_database_is_found():
    # stored: P is the parent of C; the file moves P under C
    order, cycles = order_by_parent({"P": "C"}, {"C": "P", "P": None})
    assert order == [] and cycles == [["P", "C"]]


def test_long_chains_do_not_recurse():
    parents = {f"U{i}": f"U{i + 1}" for i in range(5000)} | {"U5000": None}
    order, cycles = order_by_parent(parents, {})
    assert cycles == [] and order[0] == "U5000" and order[-1] == "U0"
