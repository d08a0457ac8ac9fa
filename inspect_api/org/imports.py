"""Bulk import of the org registry (units, staff, service items) from CSV or XLSX files.

Reading, header mapping, cell parsing and the parent ordering are plain functions (tested without a
database). `run_import` checks every row against the rest of the file and the database first, and
writes only when the whole file is clean (all or nothing). Rows are matched by their natural key and
written through `org.services`, so the trail records each change; a row equal to the stored one is
left alone, so importing the same file twice changes nothing.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import re
import shutil
import tempfile
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import PurePath

import sqlalchemy as sa

from inspect_api.db import db
from inspect_api.errors import DomainError
from inspect_api.org import services
from inspect_api.org.models import ServiceItem, Staff, Unit

KINDS = ("units", "staff", "service-items")
MAX_ERRORS = 1000  # the report lists at most this many errors (the last one may say how many more)

CHUNK = 1 << 16
XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (Excel 97-2003) and other OLE files
XLSX_SUFFIXES = (".xlsx", ".xlsm")
CSV_SUFFIXES = (".csv", ".txt", "")
ACCEPTED = "请上传 CSV（UTF-8 或 GB18030 编码）或 Excel .xlsx 文件"

CODE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
# The demo county's badge format (QC-0001); a deployment sets its own with INSPECT_BADGE_PATTERN.
DEFAULT_BADGE_PATTERN = r"^[A-Z]{1,8}-[0-9]{4}$"
# Characters people paste around codes that NFKC keeps and str.strip() does not remove.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


@dataclass(frozen=True)
class RowError:
    row: int  # spreadsheet row: 1 is the header, 0 is the file as a whole
    column: str | None  # the column's header as written in the file
    reason: str


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


class FileRejected(Exception):
    """The file as a whole can't be read; `row` is where reading stopped (0: before any row)."""

    def __init__(self, reason: str, row: int = 0):
        super().__init__(reason)
        self.reason = reason
        self.row = row


class CellError(ValueError):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# --- reading files ------------------------------------------------------------------------------

def detect_format(head: bytes, filename: str) -> str:
    """"xlsx" or "csv" from the first bytes and the file name; FileRejected for anything else.

    The content wins over the name: a workbook renamed to .csv is still read as a workbook.
    """
    suffix = PurePath(filename or "").suffix.lower()
    if not head:
        raise FileRejected("文件是空的 (empty file)")
    if head.startswith(XLSX_MAGIC):
        return "xlsx"
    if head.startswith(OLE_MAGIC) or suffix == ".xls":
        raise FileRejected("不支持旧版 Excel（.xls）文件，请在 Excel 中另存为 .xlsx 或 CSV 后再导入")
    if suffix in XLSX_SUFFIXES:
        raise FileRejected(f"文件扩展名是 {suffix}，但内容不是 Excel 工作簿，文件可能已损坏")
    if suffix not in CSV_SUFFIXES:
        raise FileRejected(f"不支持的文件类型 {suffix}：{ACCEPTED}")
    if not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and b"\x00" in head:
        raise FileRejected(f"文件内容不是文本，不是 CSV 文件：{ACCEPTED}")
    return "csv"


def detect_encoding(stream) -> str:
    """UTF-8 (with or without BOM) when the whole file decodes as UTF-8, else GB18030 (what Chinese
    Excel writes for "CSV"). Checked chunk by chunk, so a big file is never held in memory."""
    head = stream.read(4)
    stream.seek(0)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # Excel's "Unicode text" export
    decoder = codecs.getincrementaldecoder("utf-8")()
    encoding = "utf-8-sig"
    try:
        while chunk := stream.read(CHUNK):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        encoding = "gb18030"
    stream.seek(0)
    return encoding


def cell_text(value) -> str:
    """A spreadsheet cell as the text a person sees in it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 20 as 20.0
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") if (value.hour or value.minute) else value.strftime("%Y-%m-%d")
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).replace("\r\n", "\n").replace("\r", "\n").strip()


def _csv_rows(stream, encoding: str) -> Iterator[list[str]]:
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        first = text.readline()
        # Excel's "Unicode text" is tab-separated; everything else here is comma-separated.
        delimiter = "\t" if "\t" in first and "," not in first else ","
        for cells in csv.reader(itertools.chain([first], text), delimiter=delimiter):
            yield [cell_text(c) for c in cells]
    finally:
        text.detach()  # leave the caller's stream open


def _xlsx_rows(stream) -> Iterator[list[str]]:
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it skips
        try:
            book = openpyxl.load_workbook(stream, read_only=True, data_only=True)
        except Exception as exc:  # whatever openpyxl trips over, the file is not a usable workbook
            raise FileRejected("无法读取 Excel 文件，文件可能已损坏或不是 .xlsx 格式") from exc
    try:
        if not book.worksheets:
            raise FileRejected("Excel 文件中没有工作表")
        sheet = book.worksheets[0]
        # Some programs write a wrong used-range; without it, read_only mode reads to the real end.
        sheet.reset_dimensions()
        for values in sheet.iter_rows(values_only=True):
            yield [cell_text(v) for v in values]
    finally:
        book.close()


def _is_seekable(stream) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, OSError):
        return False


def read_table(stream, filename: str) -> Iterator[tuple[int, list[str]]]:
    """(spreadsheet row number, stripped cells) of every non-blank row of the file's first table.

    CSV rows are counted as records, so a quoted cell with line breaks is still one row, as in Excel.
    """
    with contextlib.ExitStack() as stack:
        if not _is_seekable(stream):  # both formats need to go back to the start
            copy = stack.enter_context(tempfile.SpooledTemporaryFile(max_size=8 << 20))
            shutil.copyfileobj(stream, copy)
            stream = copy
        stream.seek(0)
        head = stream.read(8)
        stream.seek(0)
        if detect_format(head, filename) == "xlsx":
            rows = _xlsx_rows(stream)
        else:
            rows = _csv_rows(stream, detect_encoding(stream))
        row_no = 0
        try:
            for cells in rows:
                row_no += 1
                if any(cells):
                    yield row_no, cells
        except UnicodeDecodeError as exc:
            raise FileRejected("文件编码无法识别，请另存为 UTF-8 编码的 CSV 或 .xlsx 文件", row_no + 1) from exc
        except csv.Error as exc:
            raise FileRejected(f"CSV 格式错误：{exc}", row_no + 1) from exc
        except FileRejected:
            raise
        except Exception as exc:  # a malformed sheet inside a valid zip
            raise FileRejected("无法读取 Excel 文件，文件可能已损坏", row_no + 1) from exc


# --- columns and cells ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    field: str  # the key in a parsed row
    label: str  # the Chinese header of the template, used in messages
    parse: Callable[[str], object]  # "" -> the empty value; raises CellError
    aliases: tuple[str, ...] = ()
    required: bool = False  # the column must be present and every cell in it filled


# Extra columns people keep in their sheets; any other unknown header is an error, because a
# misspelt optional column would otherwise be dropped without a word.
IGNORED_HEADERS = frozenset({"序号", "编号", "备注", "说明", "no", "#", "remark", "remarks", "note", "notes"})
_ANNOTATION = re.compile(r"[（(][^（）()]*[）)]$")


def normalise_header(text: str) -> str:
    """The matching key of a header: no BOM, spaces, separators, required-marks or trailing
    annotation such as "（必填）" or "(工作日)", case-folded: "Parent Code" == "parent_code"."""
    key = (text or "").replace("\ufeff", "").strip()
    key = re.sub(r"[*＊]", "", key).strip()
    while (stripped := _ANNOTATION.sub("", key).strip()) and stripped != key:
        key = stripped
    return re.sub(r"[\s_\-:：]", "", key).casefold()


def map_headers(cells: list[str], columns: Iterable[Column], row: int = 1
                ) -> tuple[dict[str, tuple[int, str]], list[RowError]]:
    """{field: (cell position, header as written)} for the header row, and its problems."""
    columns = list(columns)
    lookup = {normalise_header(name): col for col in columns for name in (col.label, col.field, *col.aliases)}
    found: dict[str, tuple[int, str]] = {}
    errors: list[RowError] = []
    for pos, text in enumerate(cells):
        key = normalise_header(text)
        if not key or key in IGNORED_HEADERS:
            continue
        col = lookup.get(key)
        if col is None:
            known = "、".join(c.label for c in columns)
            errors.append(RowError(row, text, f"无法识别的列“{text}”，可用的列：{known}"))
        elif col.field in found:
            errors.append(RowError(row, text, f"列重复：“{text}”与“{found[col.field][1]}”是同一列"))
        else:
            found[col.field] = (pos, text)
    for col in columns:
        if col.required and col.field not in found:
            errors.append(RowError(row, col.label, f"缺少必填列“{col.label}”"))
    return found, errors


def parse_row(row: int, cells: list[str], columns: Iterable[Column], index: Mapping[str, tuple[int, str]]
              ) -> tuple[dict, list[RowError]]:
    """The values of one data row, only for the columns the file has; and its cell errors."""
    values: dict = {}
    errors: list[RowError] = []
    for col in columns:
        if col.field not in index:
            continue
        pos, header = index[col.field]
        raw = cells[pos] if pos < len(cells) else ""
        if not raw and col.required:
            errors.append(RowError(row, header, "不能为空"))
            continue
        try:
            values[col.field] = col.parse(raw)
        except CellError as exc:
            errors.append(RowError(row, header, exc.reason))
    return values, errors


def text(max_len: int) -> Callable[[str], str | None]:
    def parse(raw: str) -> str | None:
        if not raw:
            return None
        if len(raw) > max_len:
            raise CellError(f"不能超过 {max_len} 个字（现有 {len(raw)} 个）")
        return raw

    return parse


def normalise_code(raw: str) -> str:
    """A code or badge number as compared everywhere: NFKC (full-width letters, digits and hyphens
    become ASCII, U+3000 a space), invisible characters removed, Unicode spaces trimmed."""
    return unicodedata.normalize("NFKC", raw or "").translate(_INVISIBLE).strip()


def parse_code(raw: str) -> str:
    raw = normalise_code(raw)
    if not CODE_RE.match(raw):
        raise CellError(f"编码“{raw}”无效：只能包含字母、数字和 _ . -，最长 32 位")
    return raw


def parse_code_list(raw: str) -> list[str]:
    """Unit codes separated by ";", "；", "、", "," or "，" (each normalised), each once, in order."""
    codes: list[str] = []
    for part in re.split(r"[;；、,，\n]", raw or ""):
        if normalise_code(part) and (code := parse_code(part)) not in codes:
            codes.append(code)
    return codes


def optional_code(raw: str) -> str | None:
    return parse_code(raw) if normalise_code(raw) else None


UNIT_KIND_VALUES = {
    "县": "county", "部门": "department", "大厅": "hall", "窗口": "window", "其他": "other", "其它": "other",
    **{k: k for k in ("county", "department", "hall", "window", "other")},
}


def parse_unit_kind(raw: str) -> str:
    kind = UNIT_KIND_VALUES.get(raw.strip().lower())
    if kind is None:
        raise CellError(f"类型“{raw}”无效，应为 县、部门、大厅、窗口 或 其他")
    return kind


_HOURS_PUNCT = str.maketrans({"：": ":", "，": ",", "、": ",", "；": ",", ";": ",", "—": "-", "–": "-",
                              "－": "-", "~": "-", "～": "-", "至": "-"})
_SPAN = re.compile(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})")


def parse_opening_hours(raw: str) -> str | None:
    """"8:30-12:00，14:00-17:30" -> "08:30-12:00,14:00-17:30" (spans in order, not overlapping)."""
    if not raw:
        return None
    cleaned = re.sub(r"-+", "-", re.sub(r"\s+", "", raw.translate(_HOURS_PUNCT)))
    spans, last_end = [], -1
    for part in cleaned.split(","):
        m = _SPAN.fullmatch(part)
        if not m:
            raise CellError(f"办公时间“{raw}”格式不对，应如 09:00-12:00,13:30-17:30")
        h1, m1, h2, m2 = (int(x) for x in m.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59:
            raise CellError(f"办公时间“{part}”不是有效的时间")
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if start >= end or start < last_end:
            raise CellError(f"办公时间“{raw}”的时段须按先后排列且不重叠、开始早于结束")
        last_end = end
        spans.append(f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}")
    result = ",".join(spans)
    if len(result) > 64:
        raise CellError("办公时间过长（最多 64 个字符）")
    return result


def parse_tags(raw: str) -> list[str]:
    tags: list[str] = []
    for part in re.split(r"[;；、]", raw):
        tag = part.strip()
        if not tag or tag in tags:
            continue
        if len(tag) > 32:
            raise CellError(f"标签“{tag}”过长（最多 32 个字）")
        tags.append(tag)
    if len(tags) > 20:
        raise CellError(f"标签最多 20 个（现有 {len(tags)} 个）")
    return tags


_DAYS = re.compile(r"(\d{1,3})(?:\.0+)?\s*(?:个?工作日|天|日)?")


def parse_days(raw: str) -> int:
    """Working days, 0–365: "20", "20个工作日", "即办" (0)."""
    if raw in ("即办", "当场办结", "立即办结"):
        return 0
    m = _DAYS.fullmatch(raw)
    if not m or int(m.group(1)) > 365:
        raise CellError(f"“{raw}”不是 0 到 365 之间的工作日天数")
    return int(m.group(1))


TRUE_WORDS = frozenset({"是", "yes", "y", "true", "1", "√", "即办"})
FALSE_WORDS = frozenset({"否", "no", "n", "false", "0", "×", ""})


def parse_bool(raw: str) -> bool:
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise CellError(f"“{raw}”应为 是 或 否")


_NUMBERING = re.compile(r"^\s*(?:[(（]\d{1,2}[)）]|\d{1,2}[.．、)）]|[①-⑳])\s*")
_NOTE = re.compile(r"(.+?)\s*[（(]([^（）()]*)[）)]")
NO_MATERIALS = frozenset({"无", "无需材料", "none"})


def parse_materials(raw: str) -> list[dict]:
    """One cell, one material per line or per "；"/";": "1.名称（备注）" -> {"code": "M1", "name", "note"}.

    "、" does not separate: material names use it ("法定代表人、董事的任职文件").
    """
    if raw.strip().lower() in NO_MATERIALS:
        return []
    materials = []
    for part in re.split(r"[\n;；]+", raw):
        part = _NUMBERING.sub("", part).strip()
        if not part:
            continue
        m = _NOTE.fullmatch(part)
        name, note = (m.group(1).strip(), m.group(2).strip() or None) if m else (part, None)
        if len(name) > 255 or (note and len(note) > 255):
            raise CellError(f"材料“{name[:20]}…”的名称或备注过长（最多 255 个字）")
        materials.append({"code": f"M{len(materials) + 1}", "name": name, "note": note})
    if not materials:
        raise CellError("至少要有一项申请材料（无需材料请填“无”）")
    return materials


UNIT_COLUMNS = (
    Column("code", "单位编码", parse_code, ("unit_code",), required=True),
    Column("name", "单位名称", text(128), ("unit_name",), required=True),
    Column("kind", "类型", parse_unit_kind, ("单位类型",), required=True),
    Column("parent_code", "上级单位编码", optional_code, ("上级编码",)),
    Column("head_name", "主要负责人", text(64), ("负责人",)),
    Column("head_title", "负责人职务", text(64)),
    Column("address", "地址", text(255), ("办公地址",)),
    Column("phone", "电话", text(32), ("联系电话",)),
    Column("opening_hours", "办公时间", parse_opening_hours, ("工作时间",)),
    Column("tags", "标签", parse_tags),
    Column("staffing_code", "进驻部门编码", optional_code, ("进驻部门", "staffing_unit_code")),
)

STAFF_COLUMNS = (
    Column("badge_no", "工牌号", parse_code, ("工号",), required=True),
    Column("name", "姓名", text(64), required=True),
    Column("unit_code", "单位编码", parse_code, required=True),
    Column("post", "岗位", text(64), required=True),
    Column("position", "职务", text(64)),
    Column("window_no", "窗口号", lambda raw: text(16)(normalise_code(raw)), ("窗口",)),
    Column("backup_badge_no", "AB角工牌号", optional_code, ("AB角", "backup")),
)

ITEM_COLUMNS = (
    Column("code", "事项编码", parse_code, ("item_code",), required=True),
    Column("name", "事项名称", text(255), ("item_name",), required=True),
    Column("unit_code", "单位编码", parse_code, required=True),
    Column("materials", "申请材料", parse_materials, ("申请材料清单",), required=True),
    Column("statutory_limit_days", "法定时限", parse_days, ("法定办结时限", "statutory_days"), required=True),
    Column("committed_limit_days", "承诺时限", parse_days, ("承诺办结时限", "committed_days"), required=True),
    Column("on_the_spot", "即办件", parse_bool, ("是否即办件",)),
    Column("accepting_window_codes", "受理窗口", lambda raw: parse_code_list(raw), ("受理窗口编码", "accepting_windows")),
)


_WINDOW_NAME = re.compile(r"^\s*(\d+)\s*号窗口")


def window_problem(window_no: str | None, unit_kind: str, unit_name: str) -> str | None:
    """Why a window number does not fit the staff member's unit, or None: only a window (or a hall's
    desks, such as 导服台) has window numbers, and a window named "6号窗口…" is window 6."""
    if window_no is None:
        return None
    if unit_kind not in ("window", "hall"):
        return f"单位“{unit_name}”不是窗口或大厅，不能填写窗口号"
    named = _WINDOW_NAME.match(unicodedata.normalize("NFKC", unit_name))
    if unit_kind == "window" and named and window_no.isdigit() and int(window_no) != int(named.group(1)):
        return f"窗口号 {window_no} 与所在单位“{unit_name}”（{int(named.group(1))}号窗口）不符"
    return None


# --- parents first ---------------------------------------------------------------------------------

def order_by_parent(parent_of: Mapping[str, str | None], outside_parent_of: Mapping[str, str | None]
                    ) -> tuple[list[str], list[list[str]]]:
    """The keys of `parent_of` (the file's units) ordered so that a parent in the file comes before
    its children, and the cycles found. Units outside the file keep `outside_parent_of` (the
    database), so a cycle through stored units is found too. A chain that ends in a cycle is left
    out of the order."""
    done, blocked = set(), set()
    order: list[str] = []
    cycles: list[list[str]] = []

    def parent(code: str) -> str | None:
        return parent_of[code] if code in parent_of else outside_parent_of.get(code)

    for start in parent_of:
        chain: list[str] = []
        on_chain: set[str] = set()
        node: str | None = start
        while node is not None and node not in done and node not in blocked and node not in on_chain:
            chain.append(node)
            on_chain.add(node)
            node = parent(node)
        if node is not None and node in on_chain:
            cycle = chain[chain.index(node):]
            cycles.append(cycle)
            blocked.update(chain)
        elif node is not None and node in blocked:
            blocked.update(chain)
        else:
            for code in reversed(chain):
                done.add(code)
                if code in parent_of:
                    order.append(code)
    return order, cycles


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
