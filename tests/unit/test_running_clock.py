"""The chosen clock (INSPECT_CLOCK_START) and its anchor (INSPECT_CLOCK_ANCHOR)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inspect_api.core import clock


class FakeTime:
    """The machine's two clocks, moved by hand."""

    def __init__(self):
        self.wall, self.mono = 1_790_000_000.0, 5_000.0

    def monotonic(self):
        return self.mono

    def time(self):
        return self.wall

    def pass_(self, seconds):
        self.wall += seconds
        self.mono += seconds


START = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_processes_made_apart_on_one_anchor_tell_the_same_time(monkeypatch):
    t = FakeTime()
    monkeypatch.setattr(clock, "time", t)
    anchor = t.time()
    t.pass_(0.8)
    first = clock.RunningClock(START, anchor=anchor)  # a worker booted 0.8 s after the anchor
    t.pass_(1.5)
    second = clock.RunningClock(START, anchor=anchor)  # another, 1.5 s after that
    unanchored = clock.RunningClock(START)
    assert first.now() == second.now() == START + timedelta(seconds=2.3)
    assert unanchored.now() == START  # without one, each starts at its own making
    t.pass_(10)
    assert first.now() == second.now() == START + timedelta(seconds=12.3)


def test_the_anchor_is_taken_once_for_the_processes_started_from_here(monkeypatch):
    t = FakeTime()
    monkeypatch.setattr(clock, "time", t)
    env = {"INSPECT_CLOCK_START": START.isoformat()}
    clock.anchor_from_env(env)
    assert clock.parse_anchor(env["INSPECT_CLOCK_ANCHOR"]) == t.wall
    t.pass_(5)
    clock.anchor_from_env(env)  # a second look (gunicorn reading its config again) keeps it
    assert clock.parse_anchor(env["INSPECT_CLOCK_ANCHOR"]) == t.wall - 5
    wall = {}
    clock.anchor_from_env(wall)  # on the wall clock there is nothing to anchor
    assert wall == {}
    assert clock.parse_anchor("") is None
    with pytest.raises(RuntimeError, match="INSPECT_CLOCK_ANCHOR"):
        clock.parse_anchor("yesterday")


def test_the_two_clocks_are_read_as_one_instant_even_when_preempted_between(monkeypatch):
    """A process made to wait between reading its two clocks (a worker booting on a busy machine)
    does not run ahead by that wait: the tightest bracketed pair of reads is taken."""

    class Preempted(FakeTime):
        def __init__(self, stalls):
            super().__init__()
            self.stalls = list(stalls)  # seconds lost between a monotonic read and the wall clock's

        def time(self):
            self.pass_(self.stalls.pop(0) if self.stalls else 0.0)
            return self.wall

    t = Preempted([0.06])  # the first read pair split by 60 ms, the next one not
    monkeypatch.setattr(clock, "time", t)
    anchor = t.wall
    t.pass_(0.8)
    booted = clock.RunningClock(START, anchor=anchor)
    assert booted.now() == START + timedelta(seconds=0.86)  # as the wall clock says: 0.8 s, then the 60 ms
    t = Preempted([0.06] * 10)  # split every time: the least split pair, still within its gap
    monkeypatch.setattr(clock, "time", t)
    anchor = t.wall
    worst = clock.RunningClock(START, anchor=anchor)
    assert abs((worst.now() - START).total_seconds() - 5 * 0.06) <= 0.03 + 1e-6  # half the gap at most
