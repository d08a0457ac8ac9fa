"""Document numbers (发文字号) in the GB/T 9704-2012 form `代字〔YYYY〕N号`: pure, no I/O.

The year sits in hexagonal brackets 〔〕 (never 【】, [] or ()), the sequence has no leading zeros and no 第.
The workflow side allocates sequences per (代字, year); these helpers only format, parse and pick the next.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# A 代字 is the issuer's short name: Han characters, possibly with a Latin letter or digit (e.g. X效督).
_SHORT_RE = re.compile(r"^[\u4e00-\u9fffA-Za-z0-9]{1,12}$")
_NUMBER_RE = re.compile(r"^(?P<short>[\u4e00-\u9fffA-Za-z0-9]{1,12})〔(?P<year>[0-9]{4})〕(?P<seq>[1-9][0-9]*)号$")
MIN_YEAR = 1949
MAX_YEAR = 9999


@dataclass(frozen=True)
class DocumentNumber:
    short: str
    year: int
    sequence: int

    def __str__(self) -> str:
        return format_number(self.short, self.year, self.sequence)


def _check_int(name: str, value: object) -> int:
    # bool is an int subclass: True must not become sequence 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    return value


def format_number(short: str, year: int, sequence: int) -> str:
    """`format_number('清效办', 2026, 3) == '清效办〔2026〕3号'`."""
    if not isinstance(short, str) or not _SHORT_RE.match(short):
        raise ValueError(f"代字 (short) must be 1-12 Han characters, letters or digits, got {short!r}")
    year = _check_int("year", year)
    sequence = _check_int("sequence", sequence)
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"year must be a four-digit year from {MIN_YEAR}, got {year}")
    if sequence < 1:
        raise ValueError(f"sequence starts at 1, got {sequence}")
    return f"{short}〔{year}〕{sequence}号"


def parse_number(text: str) -> DocumentNumber:
    """The parts of a well-formed number; ValueError for 第, leading zeros, other brackets or spaces."""
    if not isinstance(text, str):
        raise ValueError(f"a document number is a string, got {text!r}")
    match = _NUMBER_RE.match(text)
    if not match:
        raise ValueError(f"not a document number of the form 代字〔YYYY〕N号: {text!r}")
    year = int(match["year"])
    if year < MIN_YEAR:
        raise ValueError(f"year must be from {MIN_YEAR}, got {year}")
    return DocumentNumber(match["short"], year, int(match["seq"]))


def next_sequence(used: Iterable[int]) -> int:
    """The next sequence after those already issued for one (代字, year): max + 1, from 1.

    Gaps (a number withdrawn before issue) are not refilled: an issued number is never reused.
    """
    highest = 0
    for value in used:
        value = _check_int("sequence", value)
        if value < 1:
            raise ValueError(f"issued sequences start at 1, got {value}")
        highest = max(highest, value)
    return highest + 1
