"""Scheduler jobs of supervised matters: a reminder before the deadline and the overdue flag, once each
(a second run changes nothing)."""

from __future__ import annotations

from inspect_api.matters import services


def remind_due_matters() -> int:
    """Matters due within a working day get one reminder per due day."""
    return services.remind_due()


def flag_overdue_matters() -> int:
    """Open matters past their deadline without a result are flagged overdue and escalated, once each."""
    return services.flag_overdue()
