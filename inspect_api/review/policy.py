"""The review policy file (`checklists/policy/review.yaml`): read and checked at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from inspect_api.core import policy_file
from inspect_api.core.categories import SEVERITIES
from inspect_api.core.policy_file import PolicyError

# How precisely a unit learns when a covert visit happened (findings it reads, its watermarked
# photos): the minute points at who the visitor was; the office always sees everything.
COVERT_TIME_PRECISIONS = ("minute", "half_day", "date")


@dataclass(frozen=True)
class ReviewPolicy:
    rectification_days: dict[str, int]
    appeal_window_days: int
    covert_time_for_units: str = "half_day"


def parse(text: str, source: str) -> ReviewPolicy:
    data = policy_file.yaml_mapping(text, source)
    problems = []
    unknown = set(data) - {"rectification_days", "appeal_window_days", "covert_time_for_units"}
    if unknown:
        problems.append(f"未知字段 {sorted(unknown)}")
    days = data.get("rectification_days")
    if not isinstance(days, dict) or set(days) != set(SEVERITIES):
        problems.append(f"rectification_days 须给出 {', '.join(SEVERITIES)} 三档")
    elif not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 60 for v in days.values()):
        problems.append("rectification_days 的值须为 1–60 的整数 (working days)")
    window = data.get("appeal_window_days")
    if not isinstance(window, int) or isinstance(window, bool) or not 1 <= window <= 30:
        problems.append("appeal_window_days 须为 1–30 的整数")
    precision = data.get("covert_time_for_units", "half_day")
    if precision not in COVERT_TIME_PRECISIONS:
        problems.append(f"covert_time_for_units 须为 {', '.join(COVERT_TIME_PRECISIONS)} 之一")
    if problems:
        raise PolicyError(f"{source}: " + "; ".join(problems))
    return ReviewPolicy(rectification_days=dict(days), appeal_window_days=window,
                        covert_time_for_units=precision)


def load(checklist_dir: str) -> ReviewPolicy:
    return parse(*policy_file.read(checklist_dir, "review.yaml"))
