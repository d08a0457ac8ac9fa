"""The complaints policy file (`checklists/policy/complaints.yaml`): read and checked at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from inspect_api.review.policy import PolicyError

LIMITS = {  # field: (min, max)
    "token_minutes": (1, 24 * 60),
    "min_fill_seconds": (0, 600),
    "device_per_hour": (1, 1_000),
    "global_per_minute": (1, 10_000),
    "lookup_device_per_hour": (1, 10_000),
    "lookup_global_per_minute": (1, 100_000),
    "sampling_window_days": (1, 3 * 366),
}


@dataclass(frozen=True)
class ComplaintsPolicy:
    token_minutes: int
    min_fill_seconds: int
    device_per_hour: int
    global_per_minute: int
    lookup_device_per_hour: int
    lookup_global_per_minute: int
    sampling_window_days: int


def parse(text: str, source: str) -> ComplaintsPolicy:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{source}: YAML 格式错误: {exc}") from exc
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: 须为映射 (must be a mapping)")
    problems = []
    unknown = set(data) - set(LIMITS)
    if unknown:
        problems.append(f"未知字段 {sorted(unknown)}")
    for name, (lo, hi) in LIMITS.items():
        value = data.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            problems.append(f"{name} 须为 {lo}–{hi} 的整数")
    if problems:
        raise PolicyError(f"{source}: " + "; ".join(problems))
    return ComplaintsPolicy(**{k: data[k] for k in LIMITS})


def load(checklist_dir: str) -> ComplaintsPolicy:
    path = Path(checklist_dir) / "policy" / "complaints.yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{path}: 无法读取 ({exc.strerror})") from exc
    return parse(text, str(path))
