"""The injectable clock: code asks `now()` (an aware UTC instant) or `today()` (the local date in
Asia/Shanghai) so tests and demos can choose the moment. This is the only module that reads the wall
clock; `tests/unit/test_wall_clock.py` refuses `datetime.now`, `date.today` and `time.time` anywhere
else in the application.

Years and days are local: a document issued at 2026-12-31 23:30 +08:00 (15:30 UTC) belongs to 2026,
one at 2027-01-01 00:10 +08:00 to 2027, whatever the UTC date says."""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that stands still until moved; for tests."""

    def __init__(self, at: datetime):
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self.at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, **kwargs) -> None:
        self.at += timedelta(**kwargs)


class RunningClock:
    """A clock that starts at a chosen instant and then runs at the wall clock's pace (measured on the
    monotonic timer), so the date is the chosen one while ordering by time still works. Used by the
    test suite by default and by servers started with INSPECT_CLOCK_START (tests, demos)."""

    def __init__(self, start: datetime, anchor: float | None = None):
        """`anchor`: the machine's wall-clock time (seconds since the epoch) at which `start` holds,
        shared by every process of one server (INSPECT_CLOCK_ANCHOR), so that gunicorn's workers,
        started moments apart or respawned later, and the workers beside them tell the same time;
        None: the moment this clock is made."""
        if start.tzinfo is None:
            raise ValueError("RunningClock needs an aware datetime")
        self.start = start.astimezone(UTC)
        mono, wall = _clocks_read_together()
        self._t0 = mono - (max(0.0, wall - anchor) if anchor is not None else 0.0)

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self._t0)

    def advance(self, **kwargs) -> None:
        self.start += timedelta(**kwargs)


def _clocks_read_together(tries: int = 5) -> tuple[float, float]:
    """(monotonic, wall) read as one instant: the wall clock's read bracketed by two monotonic
    reads, the tightest pair of a few tries. Read one after the other, a process preempted between
    the two (a worker booting on a busy machine) ran its clock ahead by the time it waited, tens of
    milliseconds, and stamped a request after another worker's later one as earlier."""
    best: tuple[float, float, float] | None = None
    for _ in range(tries):
        before = time.monotonic()
        wall = time.time()
        after = time.monotonic()
        if best is None or after - before < best[0]:
            best = (after - before, (before + after) / 2, wall)
        if after - before < 1e-4:
            break
    return best[1], best[2]


def anchor_from_env(environ=None) -> None:
    """In a process that starts a server's others (gunicorn's master): when the clock is chosen
    (INSPECT_CLOCK_START) and no anchor is given, anchor it now, for every process started from here."""
    environ = os.environ if environ is None else environ
    if environ.get("INSPECT_CLOCK_START") and not environ.get("INSPECT_CLOCK_ANCHOR"):
        environ["INSPECT_CLOCK_ANCHOR"] = repr(time.time())


def parse_anchor(raw: str) -> float | None:
    """An INSPECT_CLOCK_ANCHOR value: seconds since the epoch; empty: none."""
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError as exc:
        raise RuntimeError(f"INSPECT_CLOCK_ANCHOR must be seconds since the epoch, got {raw!r}") from exc


def parse_start(raw: str) -> datetime:
    """An INSPECT_CLOCK_START value: an ISO 8601 instant with its offset."""
    try:
        at = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise RuntimeError(f"INSPECT_CLOCK_START must be an ISO 8601 instant, got {raw!r}") from exc
    if at.tzinfo is None:
        raise RuntimeError(f"INSPECT_CLOCK_START needs an offset (e.g. +08:00), got {raw!r}")
    return at


def now() -> datetime:
    if has_app_context():
        return current_app.extensions["inspect_clock"].now()
    return datetime.now(UTC)


def wall_timestamp() -> float:
    """Seconds since the epoch on the machine's own clock, never the injectable one: only for what a
    library checks against the real time itself (a JWT's `exp`, which PyJWT compares with it), and
    for the moment a chosen clock is anchored at (INSPECT_CLOCK_ANCHOR)."""
    return time.time()


def local(dt: datetime) -> datetime:
    return dt.astimezone(LOCAL_TZ)


def local_now() -> datetime:
    return local(now())


def today() -> date:
    """Today's date where the offices are (Asia/Shanghai), never the UTC date."""
    return local_now().date()


def time_label(local_at: datetime, precision: str) -> str:
    """A local time as precisely as a unit may know it (`minute`, `half_day`: the date and 上午/下午, or
    `date`), as one line of text: a watermark, a covert visit's time (review.rules.time_for_unit)."""
    if precision == "minute":
        return local_at.strftime("%Y-%m-%d %H:%M")
    if precision == "half_day":
        return f"{local_at:%Y-%m-%d} {'上午' if local_at.hour < 12 else '下午'}"
    return local_at.strftime("%Y-%m-%d")
