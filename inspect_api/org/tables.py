"""Reading the org registry's tables (CSV in UTF-8 or GB18030, Excel .xlsx): the file's format and
encoding, its rows as text, the header mapping (the names the office's sheets use, annotations and
full-width characters folded), each column's cell parser and normalisation, and the order parents come
before children. Plain functions with no database, tested on their own (tests/unit/test_import_parsing.py);
`org/imports.py` runs them against the registry. The ratings and survey-recipient imports read their
tables with the same functions."""

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


@dataclass
class ParsedTable:
    """A whole file read against `columns`: the data rows that parsed, as (row number, values); the
    header mapping (field -> (position, header as written)); and the problems. `fatal` holds what
    makes the file unusable as a whole (unreadable, empty, a header missing): then nothing else counts."""

    rows: list[tuple[int, dict]] = field(default_factory=list)
    index: dict = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    fatal: list[RowError] = field(default_factory=list)


def parse_table(stream, filename: str, columns: Iterable[Column],
                check_header: Callable[[dict], str | None] | None = None) -> ParsedTable:
    """Read a table, map its header and parse every data row; `check_header(index)` may refuse the
    header with a reason (e.g. a column one of which is needed)."""
    columns = tuple(columns)
    out = ParsedTable()
    index = None
    try:
        for row_no, cells in read_table(stream, filename):
            if index is None:
                index, problems = map_headers(cells, columns, row_no)
                reason = None if problems or check_header is None else check_header(index)
                if problems or reason:
                    out.fatal = problems or [RowError(row_no, None, reason)]
                    return out
                out.index = index
                continue
            values, problems = parse_row(row_no, cells, columns, index)
            out.errors.extend(problems)
            if not problems:
                out.rows.append((row_no, values))
    except FileRejected as exc:
        out.fatal = [RowError(exc.row, None, exc.reason)]
    if index is None and not out.fatal:
        out.fatal = [RowError(0, None, "文件是空的 (empty file)")]
    return out
