"""Text no database can store: NUL (PostgreSQL's text cannot hold it) and a UTF-16 surrogate that is
not half of a pair (not valid UTF-8 for either database). Pure: the request hook (core.http) and the
sync's per-visit check (visits.services) both use it."""

from __future__ import annotations

import re

from inspect_api.errors import Unprocessable

# What no text column can hold: NUL, and a UTF-16 surrogate that is not half of a pair (JSON can
# spell either as an escape: "\u0000", "\ud800"; a pair such as "\ud83d\ude00" is one character).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def holds_unstorable_text(value) -> bool:
    """Whether any string in a parsed JSON value (keys included) holds NUL or a lone surrogate."""
    stack = [value]  # a loop, not recursion: a body may nest as deep as the JSON parser allows
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            if _UNSTORABLE.search(v):
                return True
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return False


def unstorable_text(where: str, **details) -> Unprocessable:
    return Unprocessable("文字中含有无法保存的字符: 空字符 U+0000 或不成对的代理码位 "
                         "(text holds NUL or a lone surrogate)", {"location": where, **details},
                         code="invalid_character")
