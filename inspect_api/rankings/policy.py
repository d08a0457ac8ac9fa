"""The rankings policy file (`checklists/policy/rankings.yaml`): read and checked at start-up, every
problem listed at once."""

from __future__ import annotations

import yaml

from inspect_api.core import policy_file
from inspect_api.core.categories import SEVERITIES
from inspect_api.core.policy_file import PolicyError
from inspect_api.rankings.rules import (
    COMPONENTS,
    CORE_COMPONENTS,
    TIE_BREAKS,
    BottomRule,
    RankingPolicy,
    SpecialSupervisionRule,
    SubjectPolicy,
)

KEYS = {"deduction_by_severity", "units", "staff", "special_supervision"}
SUBJECT_KEYS = {"weights", "min_ratings", "tie_break", "bottom", "min_matters"}
BOTTOM_KEYS = {"count", "share", "min_count", "min_ranked", "below_score", "require_problem"}
SPECIAL_KEYS = {"min_ratings", "dissatisfaction_rate_above", "complaints_at_least"}


def _is_num(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value, lo: int, hi: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


def _keys(data, allowed: set[str], where: str, problems: list[str], required: set[str] | None = None) -> bool:
    if not isinstance(data, dict):
        problems.append(f"{where} 须为映射 (must be a mapping)")
        return False
    unknown = set(data) - allowed
    missing = (required if required is not None else allowed) - set(data)
    if unknown:
        problems.append(f"{where}: 未知字段 {sorted(unknown)}")
    if missing:
        problems.append(f"{where}: 缺少字段 {sorted(missing)}")
    return True


def _bottom(data, where: str, problems: list[str]) -> BottomRule | None:
    if not _keys(data, BOTTOM_KEYS, where, problems, required={"min_ranked", "below_score", "require_problem"}):
        return None
    count, share, min_count = data.get("count"), data.get("share"), data.get("min_count", 0)
    ok = True
    if (count is None) == (share is None):
        problems.append(f"{where}: count（末几名）与 share（比例）须给出且只给出一个")
        ok = False
    if count is not None and not _is_int(count, 0, 1000):
        problems.append(f"{where}.count 须为 0–1000 的整数")
        ok = False
    if share is not None and not (_is_num(share) and 0 < share <= 1):
        problems.append(f"{where}.share 须为 (0, 1] 之间的小数")
        ok = False
    if "min_count" in data and count is not None:
        problems.append(f"{where}.min_count 只与 share 一起使用")
        ok = False
    if not _is_int(min_count, 0, 1000):
        problems.append(f"{where}.min_count 须为 0–1000 的整数")
        ok = False
    if not _is_int(data.get("min_ranked"), 0, 100_000):
        problems.append(f"{where}.min_ranked 须为不小于 0 的整数")
        ok = False
    below = data.get("below_score")
    if below is not None and not (_is_num(below) and 0 < below <= 100):
        problems.append(f"{where}.below_score 须为 (0, 100] 之间的数或 null")
        ok = False
    if not isinstance(data.get("require_problem"), bool):
        problems.append(f"{where}.require_problem 须为 true 或 false")
        ok = False
    if not ok:
        return None
    return BottomRule(count=count, share=float(share) if share is not None else None, min_count=min_count,
                      min_ranked=data["min_ranked"], below_score=float(below) if below is not None else None,
                      require_problem=data["require_problem"])


def _subject(data, where: str, problems: list[str]) -> SubjectPolicy | None:
    if not _keys(data, SUBJECT_KEYS, where, problems, required=SUBJECT_KEYS - {"min_matters"}):
        return None
    ok = True
    weights = data.get("weights")
    if not isinstance(weights, dict) or not set(CORE_COMPONENTS) <= set(weights) <= set(COMPONENTS) or \
            not all(_is_num(w) and 0 <= w <= 100 for w in weights.values()) or not any(weights.values()):
        problems.append(f"{where}.weights 须为 {list(CORE_COMPONENTS)}（可加 matters）各给出 0–100 的权重，且至少一个大于 0")
        ok = False
    elif where == "staff" and weights.get("matters"):
        problems.append("staff.weights.matters 须为 0：督办事项由单位牵头，不计入个人")
        ok = False
    if not _is_int(data.get("min_matters", 1), 1, 1000):
        problems.append(f"{where}.min_matters 须为 1–1000 的整数")
        ok = False
    if not _is_int(data.get("min_ratings"), 1, 1_000_000):
        problems.append(f"{where}.min_ratings 须为不小于 1 的整数")
        ok = False
    ties = data.get("tie_break")
    if not isinstance(ties, list) or not all(isinstance(t, str) and t in TIE_BREAKS for t in ties) \
            or len(set(ties)) != len(ties):
        problems.append(f"{where}.tie_break 须为不重复的列表，可选 {list(TIE_BREAKS)}")
        ok = False
    rule = _bottom(data.get("bottom"), f"{where}.bottom", problems)
    if not ok or rule is None:
        return None
    return SubjectPolicy(weights={k: float(v) for k, v in weights.items()}, min_ratings=data["min_ratings"],
                         tie_break=tuple(ties), bottom=rule, min_matters=data.get("min_matters", 1))


def _special(data, problems: list[str]) -> SpecialSupervisionRule | None:
    where = "special_supervision"
    if not _keys(data, SPECIAL_KEYS, where, problems):
        return None
    ok = True
    if not _is_int(data.get("min_ratings"), 1, 1_000_000):
        problems.append(f"{where}.min_ratings 须为不小于 1 的整数")
        ok = False
    rate = data.get("dissatisfaction_rate_above")
    if rate is not None and not (_is_num(rate) and 0 <= rate < 1):
        problems.append(f"{where}.dissatisfaction_rate_above 须为 [0, 1) 之间的小数或 null")
        ok = False
    complaints = data.get("complaints_at_least")
    if complaints is not None and not _is_int(complaints, 1, 1_000_000):
        problems.append(f"{where}.complaints_at_least 须为不小于 1 的整数或 null")
        ok = False
    if not ok:
        return None
    return SpecialSupervisionRule(min_ratings=data["min_ratings"],
                                  dissatisfaction_rate_above=float(rate) if rate is not None else None,
                                  complaints_at_least=complaints)


def parse(text: str, source: str) -> RankingPolicy:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{source}: YAML 格式错误: {exc}") from exc
    problems: list[str] = []
    if not _keys(data, KEYS, "文件", problems):
        raise PolicyError(f"{source}: " + "; ".join(problems))
    by_sev = data.get("deduction_by_severity")
    if not isinstance(by_sev, dict) or set(by_sev) != set(SEVERITIES) or \
            not all(_is_num(v) and 0 <= v <= 100 for v in by_sev.values()):
        problems.append(f"deduction_by_severity 须为 {list(SEVERITIES)} 各给出 0–100 的扣分")
    units = _subject(data.get("units"), "units", problems)
    staff = _subject(data.get("staff"), "staff", problems)
    special = _special(data.get("special_supervision"), problems)
    if problems:
        raise PolicyError(f"{source}: " + "; ".join(problems))
    return RankingPolicy(deduction_by_severity={k: float(v) for k, v in by_sev.items()}, units=units, staff=staff,
                         special_supervision=special)


def load(checklist_dir: str) -> RankingPolicy:
    return parse(*policy_file.read(checklist_dir, "rankings.yaml"))
