"""Only `inspect_api/core/clock.py` reads the wall clock: everything else asks the injectable clock, so
tests (and demos with INSPECT_CLOCK_START) choose the moment and the suite passes on any date.
Monotonic timers (`time.monotonic`, `time.perf_counter`) measure durations and are fine."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from inspect_api.config import PROJECT_ROOT

ALLOWED = {Path("inspect_api/core/clock.py")}
# (object, attribute) pairs that read the wall clock's date or time
WALL_CLOCK = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
              ("time", "time"), ("time", "time_ns"), ("time", "localtime"), ("time", "gmtime"),
              ("time", "ctime"), ("time", "strftime")}
WALL_CLOCK_NAMES = {"time", "time_ns", "localtime", "gmtime", "ctime"}  # as imported from the time module


def wall_clock_reads(source: str) -> list[tuple[int, str]]:
    """(line, expression) of each wall-clock read in a module's source."""
    tree = ast.parse(source)
    from_time = {a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                 and node.module == "time" for a in node.names if a.name in WALL_CLOCK_NAMES}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute):
            base = func.value
            name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", None)
            if (name, func.attr) in WALL_CLOCK:
                found.append((node.lineno, ast.unparse(func)))
        elif isinstance(func, ast.Name) and func.id in from_time:
            found.append((node.lineno, func.id))
    return found


def modules(*folders: str):
    for folder in folders:
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py")):
            rel = path.relative_to(PROJECT_ROOT)
            if rel not in ALLOWED:
                yield rel


@pytest.mark.parametrize("source, expected", [
    ("from datetime import datetime, UTC\nx = datetime.now(UTC)", [(2, "datetime.now")]),
    ("import datetime as dt\nx = dt.datetime.now()", [(2, "dt.datetime.now")]),
    ("from datetime import date\nx = date.today()", [(2, "date.today")]),
    ("import time\nx = time.time()", [(2, "time.time")]),
    ("from time import time as wall\nx = wall()", [(2, "wall")]),
    ("import time\nx = time.monotonic(); y = time.perf_counter()", []),
    ("from inspect_api.core import clock\nx = clock.now(); y = clock.today()", []),
])
def test_the_check_finds_every_way_of_reading_the_wall_clock(source, expected):
    assert wall_clock_reads(source) == expected


def test_no_module_but_the_clock_reads_the_wall_clock():
    offenders = [f"{rel}:{line}: {expr}" for rel in modules("inspect_api", "tests")
                 for line, expr in wall_clock_reads((PROJECT_ROOT / rel).read_text(encoding="utf-8"))]
    assert offenders == [], "read the injectable clock (inspect_api.core.clock) instead:\n" + "\n".join(offenders)
