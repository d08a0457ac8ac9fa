"""Policy files (`checklists/policy/*.yaml`): read and parsed the same way by every feature, which then
checks its own fields and raises PolicyError naming every problem. A bad file stops the start."""

from __future__ import annotations

from pathlib import Path

import yaml


class PolicyError(Exception):
    pass


def read(checklist_dir: str, name: str) -> tuple[str, str]:
    """(text, source) of `policy/<name>` under the checklist folder; PolicyError when unreadable."""
    path = Path(checklist_dir) / "policy" / name
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except OSError as exc:
        raise PolicyError(f"{path}: 无法读取 ({exc.strerror})") from exc


def yaml_mapping(text: str, source: str) -> dict:
    """The file's top-level mapping; PolicyError for bad YAML or anything but a mapping."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{source}: YAML 格式错误: {exc}") from exc
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: 须为映射 (must be a mapping)")
    return data


def whole_numbers(text: str, source: str, limits: dict[str, tuple[int, int]]) -> dict[str, int]:
    """A file of whole-number settings, each within its (min, max): every problem in one PolicyError."""
    data = yaml_mapping(text, source)
    problems = []
    unknown = set(data) - set(limits)
    if unknown:
        problems.append(f"未知字段 {sorted(unknown)}")
    for name, (lo, hi) in limits.items():
        value = data.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            problems.append(f"{name} 须为 {lo}–{hi} 的整数")
    if problems:
        raise PolicyError(f"{source}: " + "; ".join(problems))
    return {k: data[k] for k in limits}
