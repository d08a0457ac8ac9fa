"""Render an official document (GB/T 9704-2012) from a plain-dict context to HTML and to PDF.

A pure rendering layer: no database, no Flask, no clock. The workflow side builds the context
(numbering, staff naming, resized photo copies) and calls `render_html` / `render_pdf`, preferably in
a worker process for long documents (WeasyPrint keeps the whole document in memory).

The context contract lives in `REQUIRED` below; `validate_context` names every missing key or wrong type
in one ValueError.
"""

from __future__ import annotations

import base64
import functools
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jinja2
from weasyprint import HTML, URLFetcher
from weasyprint.urls import URLFetcherResponse

from inspect_api.documents import charts
from inspect_api.documents.formatting import (
    chinese_date,
    chinese_datetime,
    chinese_numeral,
    title_lines,
    window_label,
)
from inspect_api.documents.numbering import parse_number

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
KINDS = ("criticism", "bulletin", "rectification", "commendation", "referral", "matter_bulletin", "meeting_bulletin",
         "keywork_summary")

# Photos are embedded as they come: the workflow hands in copies already resized for print (600 px on
# the long side, about 200 dpi at the 74 mm a photo gets two to a row), so WeasyPrint passes the JPEG
# bytes through. Asking WeasyPrint to resample (`dpi`, `jpeg_quality`, `optimize_images`, which work
# only when given to write_pdf: STACK.md) re-encoded 300 photos and doubled a bulletin's render time
# (scripts/bench: 16 s against 8 s for WeasyPrint alone).
PDF_OPTIONS: dict = {}

# --- the context contract -------------------------------------------------------------------------
# A spec is a type (or tuple of types), a dict of nested specs, or a one-element list [spec] for a list
# of such values.
STR = str
OPT_STR = (str, type(None))
INT = int
NUM = (int, float)

FINDING_ITEM = {
    "unit_name": STR,
    "staff_label": OPT_STR,
    "window_no": (str, int, type(None)),
    "observed_at": datetime,
    "category_label": STR,
    "severity_label": STR,
    "description": STR,
    "photos": [STR],
    "rectification": (dict, type(None)),
}
RECTIFICATION = {"days": INT, "due_on": date, "provisional": bool}

COMMON = {
    "kind": STR,
    "issuer": {"name": STR, "short": STR, "office_name": STR},
    "number": OPT_STR,
    "draft": bool,
    "title": STR,
    "addressee": STR,
    "paragraphs": [STR],
    "closing_paragraphs": [STR],
    "attachments": [STR],
    "signed_on": date,
    "cc": OPT_STR,
    "printed_by": STR,
    "printed_on": date,
}
REQUIRED = {
    "criticism": {**COMMON, "items": [FINDING_ITEM], "requirements": [STR]},
    "bulletin": {
        **COMMON,
        "period_label": STR,
        "summary": {k: INT for k in ("visits", "units_covered", "findings", "confirmed", "rectified", "overdue")},
        "by_category": [{"label": STR, "count": INT, "previous": (int, type(None))}],
        "by_severity": [{"label": STR, "count": INT}],
        "ranking": [{"rank": INT, "unit_name": STR, "score": NUM, "findings": INT, "change": (int, type(None))}],
        "best": [STR],
        "bottom": [STR],
        "typical_cases": [FINDING_ITEM],
        "commended_units": [STR],
    },
    "rectification": {**COMMON, "unit_name": STR, "items": [FINDING_ITEM], "requirements": [STR], "report_to": STR},
    "commendation": {**COMMON, "entries": [{"unit_name": STR, "staff_label": OPT_STR, "reason": STR}]},
    "referral": {**COMMON, "subject_label": STR, "grounds": [STR], "items": [FINDING_ITEM], "proposal": STR},
}
# 督查通报 on supervised matters (一事一通报, 一会一通报, key work by quarter): each matter with its state.
MATTER_ITEM = {"title": STR, "kind_label": STR, "source": STR, "lead_unit_name": STR, "co_unit_names": [STR],
               "level_label": OPT_STR, "due_text": STR, "state_label": STR, "progress": OPT_STR, "unit_ids": [INT]}
MATTERS = {**COMMON, "subject_label": STR, "requirements": [STR], "matters": [MATTER_ITEM],
           "summary": {k: INT for k in ("total", "done", "done_late", "unfinished", "in_progress", "overdue")}}
REQUIRED |= {"matter_bulletin": MATTERS, "meeting_bulletin": MATTERS, "keywork_summary": MATTERS}


def _type_name(spec) -> str:
    types = spec if isinstance(spec, tuple) else (spec,)
    return " or ".join("None" if t is type(None) else t.__name__ for t in types)


def _check(value, spec, path: str, missing: list[str], wrong: list[str]) -> None:
    if isinstance(spec, dict):
        if not isinstance(value, Mapping):
            wrong.append(f"{path} (expected a dict)")
            return
        for key, sub in spec.items():
            where = f"{path}.{key}" if path else key
            if key not in value:
                missing.append(where)
            else:
                _check(value[key], sub, where, missing, wrong)
        return
    if isinstance(spec, list):
        if not isinstance(value, list | tuple):
            wrong.append(f"{path} (expected a list)")
            return
        for i, element in enumerate(value):
            _check(element, spec[0], f"{path}[{i}]", missing, wrong)
        return
    types = spec if isinstance(spec, tuple) else (spec,)
    # bool is a subclass of int and datetime of date: neither may pass for the other here (True is not
    # a count, and a datetime in signed_on would be shifted to Beijing time before printing).
    ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
    if date in types and datetime not in types and isinstance(value, datetime):
        ok = False
    if not ok:
        wrong.append(f"{path} (expected {_type_name(spec)}, got {type(value).__name__})")


def validate_context(context: Mapping) -> None:
    """Raise one ValueError naming every missing key and every wrong type; also check the number."""
    if not isinstance(context, Mapping):
        raise ValueError("document context must be a dict")
    kind = context.get("kind")
    if kind not in REQUIRED:
        raise ValueError(f"document context: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    missing: list[str] = []
    wrong: list[str] = []
    _check(context, REQUIRED[kind], "", missing, wrong)
    for list_key in ("items", "typical_cases"):
        for i, item in enumerate(context.get(list_key) or []):
            if isinstance(item, Mapping) and isinstance(item.get("rectification"), Mapping):
                _check(item["rectification"], RECTIFICATION, f"{list_key}[{i}].rectification", missing, wrong)
    problems = []
    if missing:
        problems.append("missing keys: " + ", ".join(missing))
    if wrong:
        problems.append("wrong types: " + ", ".join(wrong))
    if problems:
        raise ValueError(f"document context ({kind}): " + "; ".join(problems))
    number = context["number"]
    if not context["draft"]:
        if not number:
            raise ValueError(f"document context ({kind}): number is required unless draft is true")
        parsed = parse_number(number)
        if parsed.short != context["issuer"]["short"]:
            raise ValueError(
                f"document context ({kind}): number {number} does not use the issuer's 代字 {context['issuer']['short']}"
            )
    elif number:
        parse_number(number)


# --- HTML ---------------------------------------------------------------------------------------------
def _file_url(path: str) -> str:
    """An absolute file path becomes a file: URL; anything with a scheme is passed on for the fetcher
    to refuse; a relative path is an error (it would resolve against the templates folder)."""
    text = str(path)
    if urlsplit(text).scheme and not os.path.isabs(text):
        return text
    if not os.path.isabs(text):
        raise ValueError(f"photo paths must be absolute, got {text!r}")
    return Path(text).as_uri()


def _svg_data_url(svg: bytes) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def header_metrics(name: str) -> dict:
    """Size the red 发文机关标志 to fit the 156 mm type area on one line.

    A long name (18 characters) would be small at the width that fits, so it is stretched vertically, as
    printed headers use a condensed 小标宋, up to a visual height of about 40 pt.
    """
    chars = max(1, len(name))
    size = min(40.0, 438.0 / chars)  # 438 pt: the type area (442 pt) less a little letter spacing
    stretch = min(1.6, 40.0 / size)
    return {"size": round(size, 2), "stretch": round(stretch, 3), "height": round(size * stretch * 1.15, 2)}


@functools.cache
def _environment(templates_dir: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        autoescape=jinja2.select_autoescape(["html", "xml"], default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        cn_date=chinese_date,
        cn_datetime=chinese_datetime,
        cn_numeral=chinese_numeral,
        window=window_label,
        file_url=_file_url,
        title_lines=title_lines,
    )
    return env


def _charts(context: Mapping) -> dict:
    if context["kind"] != "bulletin":
        return {}
    out = {}
    if context["by_category"]:
        out["by_category"] = _svg_data_url(charts.findings_by_category_svg(context["by_category"]))
    if context["ranking"]:
        out["scores"] = _svg_data_url(charts.unit_scores_svg(context["ranking"], bottom=context["bottom"],
                                                                 best=context["best"]))
        out["scores_all"] = len(context["ranking"]) <= charts.RANKING_ALL_MAX or not (context["best"] or context["bottom"])
    return out


def render_html(context: Mapping, *, templates_dir: str | os.PathLike | None = None) -> str:
    """The document as one HTML string. The stylesheet is linked relatively: resolve it against
    `<templates>/documents/` (render_pdf does), e.g. for a preview in a browser."""
    validate_context(context)
    env = _environment(str(Path(templates_dir or TEMPLATES_DIR).resolve()))
    template = env.get_template(f"documents/{context['kind']}.html")
    return template.render(doc=context, header=header_metrics(context["issuer"]["name"]), charts=_charts(context))


# --- PDF ----------------------------------------------------------------------------------------------
class RefusedURL(ValueError):
    """The document asked for a resource outside the allowed folders."""


class RestrictedURLFetcher(URLFetcher):
    """Serves only `file:` paths inside the allowed folders and `data:image/svg+xml` (our own charts).

    Every other URL (http, https, ftp, file: elsewhere, symlinks leading out) raises RefusedURL, which
    WeasyPrint turns into a skipped resource and a logged warning: the document renders without it.
    Refused URLs are kept in `refused` so the caller can report them.
    """

    def __init__(self, roots: list[str | os.PathLike], **kwargs):
        super().__init__(timeout=5, allow_redirects=False, **kwargs)
        self.roots = [os.path.realpath(r) for r in roots]
        self.refused: list[str] = []

    def _allowed_path(self, url: str) -> str | None:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            return None
        path = os.path.realpath(unquote(parts.path))
        for root in self.roots:
            if path == root or path.startswith(root + os.sep):
                return path
        return None

    def fetch(self, url, headers=None):
        scheme = url.split(":", 1)[0].lower()
        if url.startswith("data:image/svg+xml;base64,"):
            return super().fetch(url, headers)
        if scheme == "file":
            path = self._allowed_path(url)
            if path is not None and os.path.isfile(path):
                with open(path, "rb") as fh:
                    return URLFetcherResponse(url, fh.read(), {"Content-Type": _content_type(path)})
        self.refused.append(url)
        log.warning("document renderer refused %s", url)
        raise RefusedURL(f"refused: {url}")


def _content_type(path: str) -> str:
    suffix = Path(path).suffix.lower()
    return {
        ".css": "text/css",
        ".jpg": "image/jpeg",
        ".jpeg": "image/jpeg",
        ".png": "image/png",
        ".svg": "image/svg+xml",
    }.get(suffix, "application/octet-stream")


@dataclass(frozen=True)
class RenderedDocument:
    pdf: bytes
    page_count: int
    refused_urls: tuple[str, ...] = field(default=())


def render(
    context: Mapping,
    *,
    asset_root: str | os.PathLike | None = None,
    templates_dir: str | os.PathLike | None = None,
) -> RenderedDocument:
    """Render to PDF and say how many pages it has and which URLs were refused."""
    templates = Path(templates_dir or TEMPLATES_DIR).resolve()
    html = render_html(context, templates_dir=templates)
    roots = [templates] + ([Path(asset_root)] if asset_root else [])
    fetcher = RestrictedURLFetcher(roots)
    document = HTML(string=html, base_url=str(templates / "documents") + os.sep, url_fetcher=fetcher).render(
        **PDF_OPTIONS
    )
    pdf = document.write_pdf(**PDF_OPTIONS)
    return RenderedDocument(pdf=pdf, page_count=len(document.pages), refused_urls=tuple(fetcher.refused))


def render_pdf(
    context: Mapping,
    *,
    asset_root: str | os.PathLike | None = None,
    templates_dir: str | os.PathLike | None = None,
) -> bytes:
    """The print-ready PDF. Photos must be files inside `asset_root`; others are left out (logged)."""
    return render(context, asset_root=asset_root, templates_dir=templates_dir).pdf
