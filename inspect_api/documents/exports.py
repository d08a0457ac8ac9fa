"""A document's data as CSV and XLSX (the bulletin's tables), and a draft as DOCX for offices that
finish the wording in a word processor. The issued PDF stays the record."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator

from inspect_api.documents.formatting import chinese_date, chinese_datetime

TABLES = {
    "ranking": (["排名", "单位", "得分", "问题数", "名次变化"],
                lambda c: [[r["rank"], r["unit_name"], r["score"], r["findings"],
                            "" if r["change"] is None else r["change"]] for r in c.get("ranking", [])]),
    "categories": (["问题类别", "本期", "上期"],
                   lambda c: [[r["label"], r["count"], r["previous"]] for r in c.get("by_category", [])]),
    # a window's confirmed findings rolled up to its staffing department (contexts frozen before: none)
    "staffing": (["进驻部门", "口径", "进驻窗口", "确认问题数", "扣分"],
                 lambda c: [[r["unit_name"], r["label"], "、".join(r["windows"]), r["confirmed"], r["points"]]
                            for r in c.get("by_staffing_unit", [])]),
    "cases": (["单位", "工作人员", "窗口", "发现时间", "问题类别", "严重程度", "情况", "整改期限"],
              lambda c: [[i["unit_name"], i["staff_label"] or "", i["window_no"] or "",
                          chinese_datetime(i["observed_at"]), i["category_label"], i["severity_label"],
                          i["description"],
                          chinese_date(i["rectification"]["due_on"]) if i.get("rectification") else ""]
                         for i in c.get("typical_cases", c.get("items", []))]),
}


def tables_for(kind: str) -> list[str]:
    return ["ranking", "categories", "staffing", "cases"] if kind == "bulletin" else ["cases"] if kind in (
        "criticism", "rectification") else []


def csv_stream(ctx: dict, table: str) -> Iterator[str]:
    """CSV with a UTF-8 BOM (Excel opens it as UTF-8), one row at a time."""
    header, rows = TABLES[table]
    buf = io.StringIO()
    writer = csv.writer(buf)
    yield "\ufeff"
    for row in [header, *rows(ctx)]:
        writer.writerow(row)
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()


def xlsx_file(ctx: dict, tables: list[str]):
    """An XLSX (write-only mode, one sheet per table) in a temporary file, for streaming."""
    from openpyxl import Workbook

    labels = {"ranking": "单位排名", "categories": "问题分类", "staffing": "进驻部门汇总", "cases": "问题清单"}
    wb = Workbook(write_only=True)
    for table in tables:
        header, rows = TABLES[table]
        sheet = wb.create_sheet(labels[table])
        sheet.append(header)
        for row in rows(ctx):
            sheet.append(row)
    fh = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, closed once streamed
    wb.save(fh)
    fh.seek(0)
    return fh


def docx_bytes(ctx: dict) -> bytes:
    """The draft's wording and lists as a Word document (for editing, not the record)."""
    from docx import Document as Docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Pt

    d = Docx()
    style = d.styles["Normal"]
    style.font.name, style.font.size = "FangSong", Pt(16)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "仿宋")
    head = d.add_paragraph(ctx["issuer"]["name"])
    head.alignment = WD_ALIGN_PARAGRAPH.CENTER
    number = d.add_paragraph(ctx["number"] or "（草稿，未编号）")
    number.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title = d.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(ctx["title"])
    run.bold, run.font.size = True, Pt(22)
    d.add_paragraph(ctx["addressee"])
    for text in ctx["paragraphs"]:
        d.add_paragraph(text).paragraph_format.first_line_indent = Pt(32)
    if ctx["kind"] == "bulletin":
        s = ctx["summary"]
        d.add_paragraph(f"一、总体情况：{ctx['period_label']}共开展督查 {s['visits']} 次，覆盖 {s['units_covered']} 个单位，"
                        f"发现问题 {s['findings']} 个，经审核确认 {s['confirmed']} 个。")
        table = d.add_table(rows=1, cols=5)
        for cell, text in zip(table.rows[0].cells, TABLES["ranking"][0], strict=True):
            cell.text = str(text)
        for row in TABLES["ranking"][1](ctx):
            for cell, value in zip(table.add_row().cells, row, strict=True):
                cell.text = str(value)
    for n, item in enumerate(ctx.get("items", ctx.get("typical_cases", [])), 1):
        d.add_paragraph(f"（{n}）{item['unit_name']}{'，' + item['staff_label'] if item['staff_label'] else ''}，"
                        f"{chinese_datetime(item['observed_at'])}，{item['category_label']}：{item['description']}")
    for n, entry in enumerate(ctx.get("entries", []), 1):
        d.add_paragraph(f"{n}. {entry['unit_name']}{'，' + entry['staff_label'] if entry['staff_label'] else ''}："
                        f"{entry['reason']}")
    for n, text in enumerate(ctx.get("requirements", []), 1):
        d.add_paragraph(f"{n}. {text}")
    if ctx.get("report_to"):
        d.add_paragraph(ctx["report_to"])
    for text in ctx["closing_paragraphs"]:
        d.add_paragraph(text).paragraph_format.first_line_indent = Pt(32)
    for n, text in enumerate(ctx["attachments"], 1):
        d.add_paragraph(f"附件：{n}. {text}" if n == 1 else f"      {n}. {text}")
    sign = d.add_paragraph(f"{ctx['issuer']['office_name']}\n{chinese_date(ctx['signed_on'])}")
    sign.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    if ctx.get("cc"):
        d.add_paragraph(f"抄送：{ctx['cc']}。")
    d.add_paragraph(f"{ctx['printed_by']}    {chinese_date(ctx['printed_on'])}印发")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()
