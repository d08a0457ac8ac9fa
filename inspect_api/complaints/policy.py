"""The complaints policy file (`checklists/policy/complaints.yaml`): read and checked at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from inspect_api.core import policy_file
from inspect_api.core.policy_file import PolicyError  # noqa: F401  (callers catch it from here)

LIMITS = {  # field: (min, max)
    "token_minutes": (1, 24 * 60),
    "min_fill_seconds": (0, 600),
    "device_per_hour": (1, 1_000),
    "global_per_minute": (1, 10_000),
    "lookup_device_per_hour": (1, 10_000),
    "lookup_number_per_hour": (1, 10_000),
    "sampling_window_days": (1, 3 * 366),
}


@dataclass(frozen=True)
class ComplaintsPolicy:
    token_minutes: int
    min_fill_seconds: int
    device_per_hour: int
    global_per_minute: int
    lookup_device_per_hour: int
    lookup_number_per_hour: int
    sampling_window_days: int


def parse(text: str, source: str) -> ComplaintsPolicy:
    return ComplaintsPolicy(**policy_file.whole_numbers(text, source, LIMITS))


def load(checklist_dir: str) -> ComplaintsPolicy:
    return parse(*policy_file.read(checklist_dir, "complaints.yaml"))
