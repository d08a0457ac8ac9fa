"""Charts for the supervision bulletin (督查通报), drawn with matplotlib as SVG for the PDF.

The object API (`Figure`, no pyplot) keeps no global figure state, so renders in threads or a worker
process don't leak figures. Text is written as vector paths (`svg.fonttype = path`), so the PDF embeds
no chart font and prints crisply. Labels use Noto Sans CJK SC found through matplotlib's font manager
(or fc-match when matplotlib's font cache predates the font's installation). A glyph missing from
the font would print as a box: that raises `MissingGlyphError` instead of reaching a document.
"""

from __future__ import annotations

import functools
import io
import re
import subprocess
import unicodedata
import warnings
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # never a GUI backend, even if some caller imports pyplot later

from matplotlib import font_manager, rc_context
from matplotlib.figure import Figure

CJK_FAMILY = "Noto Sans CJK SC"
MM = 1 / 25.4  # inches per millimetre
# The chart is placed at the type-area width (156 mm), so 1 pt in the figure is 1 pt on paper.
WIDTH_MM = 156
THIS_PERIOD = "#c0392b"
PREVIOUS_PERIOD = "#a6a6a6"
BAR = "#2f5d8a"
BAR_LOW = "#c0392b"

_GLYPH_RE = re.compile(r"Glyph \d+ \((.*?)\) missing from font")


class MissingGlyphError(ValueError):
    """A chart label has a character the CJK font cannot draw."""


class FontMissingError(RuntimeError):
    """Noto Sans CJK SC is not installed (Debian: fonts-noto-cjk)."""


@functools.cache
def cjk_font() -> font_manager.FontProperties:
    """Noto Sans CJK SC as matplotlib sees it; registers the fc-match file if the cache lacks it."""
    props = font_manager.FontProperties(family=CJK_FAMILY)
    try:
        font_manager.findfont(props, fallback_to_default=False)
        return props
    except ValueError:
        pass
    try:
        path = subprocess.run(
            ["fc-match", "-f", "%{file}", CJK_FAMILY], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        raise FontMissingError(f"{CJK_FAMILY} not found: install fonts-noto-cjk") from exc
    if "CJK" not in path:
        raise FontMissingError(f"{CJK_FAMILY} not found (fc-match gives {path!r}): install fonts-noto-cjk")
    font_manager.fontManager.addfont(path)  # a .ttc: every face, SC included, is registered
    try:
        font_manager.findfont(props, fallback_to_default=False)
    except ValueError as exc:
        raise FontMissingError(f"{CJK_FAMILY} not usable from {path}") from exc
    return props


def _rc() -> dict:
    cjk_font()
    return {
        "font.family": [CJK_FAMILY],
        "font.size": 9,
        "axes.unicode_minus": False,
        "svg.fonttype": "path",
        "svg.hashsalt": "inspect-api",  # stable ids: the same data gives the same SVG
        "axes.spines.top": False,
        "axes.spines.right": False,
    }


def _save_svg(fig: Figure) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    missing = sorted({m.group(1) for w in caught if (m := _GLYPH_RE.search(str(w.message)))})
    for w in caught:
        if not _GLYPH_RE.search(str(w.message)):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if missing:
        raise MissingGlyphError(f"{CJK_FAMILY} has no glyph for: {', '.join(_describe(m) for m in missing)}")
    return buf.getvalue()


def _describe(glyph: str) -> str:
    """matplotlib names a glyph as \\N{NAME} or as the character itself: give both."""
    if glyph.startswith("\\N{") and glyph.endswith("}"):
        name = glyph[3:-1]
        try:
            return f"{unicodedata.lookup(name)} ({name})"
        except KeyError:
            return name
    return f"{glyph} (U+{ord(glyph[0]):04X})" if glyph else glyph


def _wrap(label: str, width: int) -> str:
    """Break a long Chinese label every `width` characters (no spaces to break at)."""
    return "\n".join(label[i : i + width] for i in range(0, len(label), width))


# More categories than this are drawn as horizontal bars: vertical labels of five characters each
# would overlap at the type-area width.
VERTICAL_MAX = 6
# A ranking of more units than this charts only the units the text names (best and bottom).
RANKING_ALL_MAX = 15


def findings_by_category_svg(by_category: Sequence[dict], *, period: str = "本期", previous: str = "上期") -> bytes:
    """Grouped bars: findings per category, this period against the previous one; horizontal (one
    label per line, largest first) when there are more categories than fit side by side."""
    with rc_context(_rc()):
        return _save_svg(category_figure(by_category, period=period, previous=previous))


def category_figure(by_category: Sequence[dict], *, period: str = "本期", previous: str = "上期") -> Figure:
    """The category chart as a figure (call inside `rc_context(_rc())`)."""
    if len(by_category) > VERTICAL_MAX:
        return _categories_horizontal(by_category, period, previous)
    labels = [_wrap(str(row["label"]), 5) for row in by_category]
    counts = [int(row["count"]) for row in by_category]
    previous_counts = [int(row.get("previous") or 0) for row in by_category]
    fig = Figure(figsize=(WIDTH_MM * MM, 72 * MM), layout="constrained")
    ax = fig.add_subplot()
    xs = range(len(labels))
    width = 0.38
    bars_now = ax.bar([x + width / 2 for x in xs], counts, width, color=THIS_PERIOD, label=period)
    ax.bar([x - width / 2 for x in xs], previous_counts, width, color=PREVIOUS_PERIOD, label=previous)
    ax.bar_label(bars_now, padding=1, fontsize=8)
    ax.set_xticks(list(xs), labels, fontsize=8)
    ax.set_ylabel("问题数（个）")
    ax.set_ylim(0, max([*counts, *previous_counts, 1]) * 1.18)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(frameon=False, loc="upper right", ncols=2)
    ax.grid(axis="y", linewidth=0.4, alpha=0.5)
    ax.set_axisbelow(True)
    return fig


def _categories_horizontal(by_category: Sequence[dict], period: str, previous: str) -> Figure:
    rows = sorted(by_category, key=lambda r: (-int(r["count"]), -int(r.get("previous") or 0)))
    labels = [str(row["label"]) for row in rows]
    counts = [int(row["count"]) for row in rows]
    previous_counts = [int(row.get("previous") or 0) for row in rows]
    height_mm = min(220, 20 + 7.5 * len(rows))
    fig = Figure(figsize=(WIDTH_MM * MM, height_mm * MM), layout="constrained")
    ax = fig.add_subplot()
    ys = list(range(len(rows)))
    h = 0.38
    bars_now = ax.barh([y - h / 2 for y in ys], counts, h, color=THIS_PERIOD, label=period)
    ax.barh([y + h / 2 for y in ys], previous_counts, h, color=PREVIOUS_PERIOD, label=previous)
    ax.bar_label(bars_now, padding=2, fontsize=8)
    ax.set_yticks(ys, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("问题数（个）")
    ax.set_xlim(0, max([*counts, *previous_counts, 1]) * 1.15)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(frameon=False, loc="lower right", ncols=2)
    ax.grid(axis="x", linewidth=0.4, alpha=0.5)
    ax.set_axisbelow(True)
    return fig


def ranking_rows(ranking: Sequence[dict], *, best: Sequence[str] = (), bottom: Sequence[str] = ()) -> list[dict]:
    """The rows the ranking chart draws, best first: every unit of a short ranking; of a long one only
    the units the text names, with a row (score None) saying how many lie between them."""
    rows = sorted(ranking, key=lambda r: r["rank"])
    low = set(bottom)
    named = set(best) | low
    if len(rows) <= RANKING_ALL_MAX or not named:
        return rows
    top = [r for r in rows if r["unit_name"] in named and r["unit_name"] not in low]
    tail = [r for r in rows if r["unit_name"] in low]
    hidden = len(rows) - len(top) - len(tail)
    return [*top, {"unit_name": f"……其余{hidden}个单位", "score": None}, *tail] if hidden else [*top, *tail]


def unit_scores_svg(ranking: Sequence[dict], *, bottom: Sequence[str] = (), best: Sequence[str] = ()) -> bytes:
    """Horizontal bars of unit scores, best at the top; units named in `bottom` (末位) in red. A long
    ranking (more than RANKING_ALL_MAX units) shows only the units the text names, `best` and `bottom`,
    with one line saying how many units lie between them."""
    rows = ranking_rows(ranking, best=best, bottom=bottom)
    low = set(bottom)
    names = [str(r["unit_name"]) for r in rows]
    scores = [None if r["score"] is None else float(r["score"]) for r in rows]
    drawn = [s for s in scores if s is not None]
    height_mm = min(200, 18 + 6.2 * len(rows))
    with rc_context(_rc()):
        fig = Figure(figsize=(WIDTH_MM * MM, height_mm * MM), layout="constrained")
        ax = fig.add_subplot()
        ys = [y for y, s in enumerate(scores) if s is not None]
        bars = ax.barh(ys, drawn, height=0.62,
                       color=[BAR_LOW if names[y] in low else BAR for y in ys])
        ax.bar_label(bars, fmt="%.1f", padding=2, fontsize=8)
        ax.set_yticks(range(len(rows)), names, fontsize=8)
        ax.invert_yaxis()
        floor = max(0.0, (min(drawn) if drawn else 0) - 10)
        ax.set_xlim(floor // 5 * 5, 100 + 3)
        ax.set_xlabel("综合得分（分）")
        ax.grid(axis="x", linewidth=0.4, alpha=0.5)
        ax.set_axisbelow(True)
        return _save_svg(fig)
