"""Scheduler job of complaints: flag the ones past their deadline, once (a second run changes nothing)."""

from __future__ import annotations

from inspect_api.complaints import services


def flag_overdue_complaints() -> int:
    """Complaints not closed by their deadline are flagged overdue and the office is told (once each)."""
    return services.flag_overdue()
