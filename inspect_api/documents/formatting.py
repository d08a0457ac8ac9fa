"""How documents write dates, times, ordinals, windows and staff: pure functions, no I/O.

Dates follow GB/T 9704-2012 7.3.5.1: Arabic numerals, the full year, no leading zeros (2026年11月23日).
Times are shown in China Standard Time: an aware datetime is converted to Asia/Shanghai, a naive one is
taken as already local (the stored values are UTC and aware, see ARCHITECTURE.md).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone

# China has kept UTC+8 without daylight saving since 1991: a fixed offset needs no tz database.
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")

_DIGITS = "零一二三四五六七八九"

# Two-character surnames (复姓) that must stay whole in 欧阳某, not become 欧某.
COMPOUND_SURNAMES = frozenset({
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯", "令狐",
    "澹台", "轩辕", "端木", "独孤", "南宫", "闻人", "申屠", "太史", "万俟", "呼延", "赫连", "西门", "第五", "百里",
    "东郭", "南门", "羊舌", "钟离", "宗政", "濮阳", "淳于", "单于", "公冶", "太叔", "仲孙", "司空", "亓官", "司寇",
    "子车", "颛孙", "巫马", "公西", "漆雕", "乐正", "壤驷", "公良", "拓跋", "夹谷", "宰父", "谷梁", "段干", "左丘",
    "东门", "梁丘", "微生", "公羊", "闾丘", "东宫", "贺兰", "叱干", "乌孙", "完颜",
})


def _as_local(value: datetime) -> datetime:
    return value.astimezone(CHINA_TZ) if value.tzinfo is not None else value


def chinese_date(value: date | datetime) -> str:
    """2026年11月23日 (no leading zeros, no 零 in the month or day)."""
    if isinstance(value, datetime):
        value = _as_local(value).date()
    if not isinstance(value, date):
        raise ValueError(f"a date is needed, got {value!r}")
    return f"{value.year}年{value.month}月{value.day}日"


def chinese_datetime(value: datetime) -> str:
    """2026年11月5日10时20分 (10时 on the hour), in China Standard Time."""
    if not isinstance(value, datetime):
        raise ValueError(f"a datetime is needed, got {value!r}")
    local = _as_local(value)
    minutes = f"{local.minute}分" if local.minute else ""
    return f"{chinese_date(local)}{local.hour}时{minutes}"


def chinese_numeral(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十, 105 → 一百零五, 300 → 三百: for headings 一、 and （一）."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 9999:
        raise ValueError(f"chinese_numeral covers 1..9999, got {n!r}")
    if n < 20:
        return ("十" if n >= 10 else "") + (_DIGITS[n % 10] if n % 10 or n < 10 else "")
    parts = []
    pending_zero = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // value % 10
        if digit:
            if pending_zero:
                parts.append("零")
            parts.append(_DIGITS[digit] + unit)
            pending_zero = False
        elif parts:
            pending_zero = True
    return "".join(parts)


def window_label(window_no: object) -> str:
    """3 or '3' → 3号窗口; a named post ('导服台') is kept as it is; None or '' → ''."""
    if window_no is None:
        return ""
    text = str(window_no).strip()
    if not text:
        return ""
    if text.isdigit():
        return f"{int(text)}号窗口"
    return text


class StaffNaming(enum.StrEnum):
    """How a document names a member of staff: set by policy per document kind or per office."""

    FULL_NAME = "full_name"  # 张三
    SURNAME = "surname"  # 张某
    BADGE = "badge"  # 工牌号QC-0012的工作人员


def surname_of(name: str) -> str:
    name = name.strip()
    if "·" in name:  # transliterated names (阿依古丽·买买提): the given name comes first
        return name.split("·", 1)[0]
    if len(name) >= 3 and name[:2] in COMPOUND_SURNAMES:
        return name[:2]
    return name[:1]


def staff_label(
    policy: StaffNaming | str,
    *,
    name: str | None = None,
    badge_no: str | None = None,
    window_no: object = None,
    post: str | None = None,
) -> str:
    """The phrase naming one member of staff, by policy, falling back to what identifies them.

    A finding may name staff only by badge, or only by window/post when the badge was missing
    (DOMAIN.md), so a policy that needs a name falls back to the badge, then to the window or post.
    """
    policy = StaffNaming(policy)
    name = (name or "").strip()
    badge_no = (badge_no or "").strip()
    if policy is StaffNaming.FULL_NAME and name:
        return name
    if policy is StaffNaming.SURNAME and name:
        return f"{surname_of(name)}某"
    if badge_no:
        return f"工牌号{badge_no}的工作人员"
    where = window_label(window_no) or (post or "").strip()
    return f"{where}工作人员" if where else "工作人员"


_NO_LINE_START = set("，。、；：！？）》〉」』】〕”’…—·%")
_NO_LINE_END = set("（《〈「『【〔“‘")
# Where a title line may end without splitting a word: after a particle (strong), after the end of an
# organisation name or a date (weaker). Anywhere else costs more, so a break moves to one of these when
# it is within three characters of the even split.
_BREAK_AFTER_PARTICLE = set("的于和及与对等、，")
_BREAK_AFTER_NAME = set("心局室位厅院所站组府会县月年度")


def _char_width(ch: str) -> float:
    """In title characters: a CJK character or full-width sign is 1; Latin letters and digits, which are
    proportional in Noto Serif CJK bold, about 0.6 (counted generously, so a line never overflows)."""
    return 0.6 if ord(ch) < 0x2E80 and ch not in "—…" else 1.0


def title_lines(title: str, keep_whole: Iterable[str] = (), per_line: int = 20) -> list[str]:
    """Split a title into lines of nearly equal length (GB/T 9704 7.3.1: 排列对称) that keep words whole.

    Plain line filling leaves a lone character on the last line (…的通 / 报) and cuts words (机关效 / 能建设).
    This picks the break near each equal share, never inside a word of `keep_whole` (the policy's break
    table and the names of the units the document names), never inside a run of Latin letters or
    digits, never before closing or after opening punctuation, and prefers to break after a particle
    (的, 等, 和), after a listed word, or at the end of a name or date (中心, 局, 月). `per_line` is how many
    二号 characters the 156 mm type area holds (20). Line breaks written into the title (a newline) are
    kept as they are: the drafter knows where the words end.
    """
    title = title.strip()
    if "\n" in title:
        return [line.strip() for line in title.splitlines() if line.strip()]
    widths = [_char_width(ch) for ch in title]
    total = sum(widths)
    if total <= per_line or len(title) < 2:
        return [title]
    count = math.ceil(total / per_line)
    cumulative = [0.0]
    for w in widths:
        cumulative.append(cumulative[-1] + w)
    inside: set[int] = set()  # break positions that would cut a listed word
    word_ends: set[int] = set()
    # a word wider than a line cannot stay whole: it is not in the table
    words = {w.strip() for w in keep_whole if w and len(w.strip()) > 1}
    for word in {w for w in words if sum(_char_width(ch) for ch in w) <= per_line}:
        at = title.find(word)
        while at >= 0:
            inside.update(range(at + 1, at + len(word)))
            word_ends.update((at, at + len(word)))
            at = title.find(word, at + 1)
    word_ends -= inside

    def typographic(i: int) -> bool:
        before, after = title[i - 1], title[i]
        if before.isascii() and after.isascii() and before.isalnum() and after.isalnum():
            return False
        return after not in _NO_LINE_START and before not in _NO_LINE_END

    def allowed(i: int) -> bool:
        return typographic(i) and i not in inside

    def cost(i: int) -> float:
        before = title[i - 1]
        if before in _BREAK_AFTER_PARTICLE:
            return 0.0
        return 0.8 if before in _BREAK_AFTER_NAME or i in word_ends else 2.0

    breaks = []
    start = 0
    for k in range(1, count):
        ideal = total * k / count
        best, best_score = None, None
        for i in range(start + 1, len(title)):
            if cumulative[i] - cumulative[start] > per_line:
                break
            if not allowed(i) or abs(cumulative[i] - ideal) > 3:
                continue
            score = abs(cumulative[i] - ideal) + cost(i)
            if best_score is None or score < best_score:
                best, best_score = i, score
        if best is None:  # nothing allowed near the ideal: the last allowed place that still fits
            fitting = [i for i in range(start + 1, len(title)) if cumulative[i] - cumulative[start] <= per_line]
            whole = [i for i in fitting if allowed(i)] or [i for i in fitting if typographic(i)]
            best = whole[-1] if whole else start + 1
        breaks.append(best)
        start = best
    bounds = [0, *breaks, len(title)]
    lines = [title[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if title[a:b]]
    if inside and any(sum(_char_width(ch) for ch in line) > per_line for line in lines):
        return title_lines(title, (), per_line)  # whole words would overflow a line: fit the type area first
    return lines
