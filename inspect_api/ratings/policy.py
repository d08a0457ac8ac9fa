"""The ratings policy file (`checklists/policy/ratings.yaml`): read and checked at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from inspect_api.core import policy_file
from inspect_api.core.policy_file import PolicyError  # noqa: F401  (callers catch it from here)

LIMITS = {  # field: (min, max)
    "follow_up_days": (1, 60),
    "window_per_minute": (1, 10_000),
    "device_per_hour": (1, 1_000),
    "token_minutes": (1, 24 * 60),
    "min_fill_seconds": (0, 600),
    "liaison_min_ratings": (1, 1_000),
    "liaison_comments": (0, 1),
}


@dataclass(frozen=True)
class RatingsPolicy:
    follow_up_days: int
    window_per_minute: int
    device_per_hour: int
    token_minutes: int
    min_fill_seconds: int
    # What a unit's liaison sees of its ratings: one by one only for a window's day with at least this
    # many ratings (fewer count only in the summary's totals), and the comments only when 1.
    liaison_min_ratings: int
    liaison_comments: int


def parse(text: str, source: str) -> RatingsPolicy:
    return RatingsPolicy(**policy_file.whole_numbers(text, source, LIMITS))


def load(checklist_dir: str) -> RatingsPolicy:
    return parse(*policy_file.read(checklist_dir, "ratings.yaml"))
