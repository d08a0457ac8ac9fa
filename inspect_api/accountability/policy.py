"""The escalation policy file (`checklists/policy/escalation.yaml`): YAML text <-> `EscalationPolicy`.

`parse` checks everything and names every problem at once (Chinese, with English in brackets), so an
admin editing the policy through the API sees the whole list; `load` reads the shipped file at start-up;
`parse_successor` / `check_successor` accept a new version only if its number increases and no existing
rule id changes what it proposes or to whom (a stored proposal's `rule_id` must keep its meaning: see
`rules` on dedupe keys); `dump` / `to_data` give the canonical text and plain data of a policy, and
`parse(dump(p)) == p`. The admin's own text, comments included, is kept as `EscalationPolicy.text`.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from inspect_api.accountability.rules import (
    ACTIONS,
    COUNTS,
    GRADES,
    OUTCOME_KINDS,
    SUBJECTS,
    TRIGGER_SUBJECTS,
    TRIGGERS,
    AnnualGrade,
    BottomRank,
    ConfirmedFindings,
    EscalationPolicy,
    FindingSeverity,
    FindingsInQuarter,
    Outcomes,
    OverdueMatter,
    OverdueRectification,
    Rule,
    Trigger,
)
from inspect_api.checklists.rules import CJK
from inspect_api.core.categories import CATEGORIES, SEVERITIES
from inspect_api.core.policy_file import PolicyError

FILE = Path("policy") / "escalation.yaml"
TOP_KEYS = ("version", "rules")
RULE_KEYS = ("id", "name", "subject", "when", "propose", "supersedes")
REQUIRED_RULE_KEYS = ("id", "name", "subject", "when", "propose")
RULE_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_WINDOW_DAYS = 3650
# Parameters of each trigger: name -> required?
TRIGGER_PARAMS: dict[str, dict[str, bool]] = {
    "finding_severity": {"severity": True},
    "confirmed_findings": {"count": True, "window_days": True, "categories": False, "counts": False},
    "findings_in_quarter": {"count": True, "categories": False, "counts": False},
    "outcomes": {"outcome": True, "count": True, "window_days": True},
    "overdue_rectification": {},
    "bottom_rank": {"consecutive_months": True},
    "annual_grade": {"grade": True},
    "overdue_matter": {},
}


class EscalationPolicyError(PolicyError):
    """Every problem of one policy text; `problems` is the list, for a 422's details."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = list(problems)
        super().__init__(f"{source}: " + "; ".join(self.problems))


def _int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse(text: str, source: str) -> EscalationPolicy:
    """The policy in `text`, or an `EscalationPolicyError` listing every problem (`source` names the file)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise EscalationPolicyError(source, [f"YAML 格式错误 (invalid YAML): {exc}"]) from exc
    return from_data(data, source, text=text)


def from_data(data, source: str, *, text: str | None = None) -> EscalationPolicy:
    """The policy in plain data (the YAML's shape, e.g. a JSON body), checked like `parse`."""
    if not isinstance(data, dict):
        raise EscalationPolicyError(source, ["须为映射 (must be a mapping with version and rules)"])
    problems: list[str] = []
    unknown = sorted(set(map(str, data)) - set(TOP_KEYS))
    if unknown:
        problems.append(f"未知字段 {unknown} (unknown keys; allowed: {list(TOP_KEYS)})")
    version = data.get("version")
    if not _int(version) or version < 1:
        problems.append("version 须为不小于 1 的整数 (version must be an integer ≥ 1)")
    raw_rules = data.get("rules")
    rules: list[Rule] = []
    if not isinstance(raw_rules, list):
        problems.append("rules 须为规则列表 (rules must be a list)")
        raw_rules = []
    for index, raw in enumerate(raw_rules):
        rule = _rule(index, raw, problems)
        if rule is not None:
            rules.append(rule)
    _check_rule_set(raw_rules, rules, problems)
    if problems:
        raise EscalationPolicyError(source, problems)
    policy = EscalationPolicy(version=version, rules=tuple(rules))
    return EscalationPolicy(version=version, rules=tuple(rules), text=dump(policy) if text is None else text)


def _where(index: int, raw) -> str:
    rule_id = raw.get("id") if isinstance(raw, dict) else None
    return f"rules[{index}]" + (f" ({rule_id})" if isinstance(rule_id, str) else "")


def _rule(index: int, raw, problems: list[str]) -> Rule | None:
    """One rule, or None after adding its problems."""
    where = _where(index, raw)
    if not isinstance(raw, dict):
        problems.append(f"{where}: 须为映射 (a rule must be a mapping)")
        return None
    before = len(problems)
    unknown = sorted(set(map(str, raw)) - set(RULE_KEYS))
    if unknown:
        problems.append(f"{where}: 未知字段 {unknown} (unknown keys; allowed: {list(RULE_KEYS)})")
    missing = [k for k in REQUIRED_RULE_KEYS if k not in raw]
    if missing:
        problems.append(f"{where}: 缺少字段 {missing} (missing keys)")
    rule_id, name, subject, action = raw.get("id"), raw.get("name"), raw.get("subject"), raw.get("propose")
    if "id" in raw and not (isinstance(rule_id, str) and RULE_ID.match(rule_id)):
        problems.append(f"{where}: id 须为小写字母开头的英文标识, 如 staff_two_findings_warning "
                        "(id must be a lowercase slug: a-z, 0-9, _)")
    if "name" in raw and not (isinstance(name, str) and name.strip() and CJK.search(name)):
        problems.append(f"{where}: name 须为中文名称 (name must be a Chinese label)")
    if "subject" in raw and subject not in SUBJECTS:
        problems.append(f"{where}: subject 须为 {list(SUBJECTS)} 之一 (unknown subject {subject!r})")
    if "propose" in raw and action not in ACTIONS:
        problems.append(f"{where}: propose 须为 {list(ACTIONS)} 之一 (unknown action {action!r})")
    trigger = _trigger(where, raw["when"], subject, problems) if "when" in raw else None
    supersedes = raw.get("supersedes", [])
    if not (isinstance(supersedes, list) and all(isinstance(s, str) for s in supersedes)):
        problems.append(f"{where}: supersedes 须为规则 id 列表 (supersedes must be a list of rule ids)")
        supersedes = []
    elif len(set(supersedes)) != len(supersedes):
        problems.append(f"{where}: supersedes 有重复 (supersedes lists a rule twice)")
    if len(problems) > before or trigger is None:
        return None
    return Rule(id=rule_id, name=name.strip(), subject=subject, trigger=trigger, action=action,
                supersedes=tuple(supersedes))


def _trigger(where: str, when, subject, problems: list[str]) -> Trigger | None:
    if not isinstance(when, dict) or len(when) != 1:
        problems.append(f"{where}: when 须为只含一种触发条件的映射, 如 {{confirmed_findings: {{count: 2, "
                        f"window_days: 365}}}} (when must name exactly one trigger of {list(TRIGGERS)})")
        return None
    (kind, params), = when.items()
    if kind not in TRIGGERS:
        problems.append(f"{where}: 未知的触发条件 {kind!r} (unknown trigger; known: {list(TRIGGERS)})")
        return None
    at = f"{where}: when.{kind}"
    if params is None:
        params = {}
    if not isinstance(params, dict):
        problems.append(f"{at} 须为映射 (parameters must be a mapping, {{}} when there are none)")
        return None
    before = len(problems)
    allowed = TRIGGER_PARAMS[kind]
    unknown = sorted(set(map(str, params)) - set(allowed))
    if unknown:
        problems.append(f"{at}: 未知参数 {unknown} (unknown parameters; allowed: {list(allowed)})")
    missing = [p for p, required in allowed.items() if required and p not in params]
    if missing:
        problems.append(f"{at}: 缺少参数 {missing} (missing parameters)")
    for key in ("count", "consecutive_months"):
        if key in params and key in allowed and (not _int(params[key]) or params[key] < 1):
            problems.append(f"{at}.{key} 须为不小于 1 的整数 ({key} must be an integer ≥ 1)")
    if "window_days" in params and "window_days" in allowed and \
            (not _int(params["window_days"]) or not 1 <= params["window_days"] <= MAX_WINDOW_DAYS):
        problems.append(f"{at}.window_days 须为 1–{MAX_WINDOW_DAYS} 的整数 "
                        f"(window_days must be an integer from 1 to {MAX_WINDOW_DAYS})")
    if "severity" in params and "severity" in allowed and params["severity"] not in SEVERITIES:
        problems.append(f"{at}.severity 须为 {list(SEVERITIES)} 之一 (unknown severity {params['severity']!r})")
    if "grade" in params and "grade" in allowed and params["grade"] not in GRADES:
        problems.append(f"{at}.grade 须为 {list(GRADES)} 之一 (unknown grade {params['grade']!r})")
    if "outcome" in params and "outcome" in allowed and params["outcome"] not in OUTCOME_KINDS:
        problems.append(f"{at}.outcome 须为 {list(OUTCOME_KINDS)} 之一 (unknown outcome {params['outcome']!r})")
    if "counts" in params and "counts" in allowed and params["counts"] not in COUNTS:
        problems.append(f"{at}.counts 须为 {list(COUNTS)} 之一 (unknown counts {params['counts']!r})")
    counts = params.get("counts", "findings")
    categories = params.get("categories")
    if "categories" in params and "categories" in allowed:
        if not isinstance(categories, list) or not categories or \
                not all(isinstance(c, str) for c in categories):
            problems.append(f"{at}.categories 须为非空的问题类别列表 (categories must be a non-empty list)")
        else:
            bad = sorted(set(categories) - set(CATEGORIES))
            if bad:
                problems.append(f"{at}.categories 含未知类别 {bad} (unknown finding categories)")
            if len(set(categories)) != len(categories):
                problems.append(f"{at}.categories 有重复 (a category is listed twice)")
    if subject in SUBJECTS and subject not in TRIGGER_SUBJECTS[kind]:
        problems.append(f"{where}: 触发条件 {kind} 只适用于 {list(TRIGGER_SUBJECTS[kind])}, 不适用于 {subject} "
                        f"(trigger {kind} cannot be about {subject})")
    if len(problems) > before:
        return None
    if kind == "finding_severity":
        return FindingSeverity(severity=params["severity"])
    if kind == "confirmed_findings":
        return ConfirmedFindings(count=params["count"], window_days=params["window_days"],
                                 categories=tuple(sorted(categories)) if categories else None, counts=counts)
    if kind == "findings_in_quarter":
        return FindingsInQuarter(count=params["count"], categories=tuple(sorted(categories)) if categories else None,
                                 counts=counts)
    if kind == "outcomes":
        return Outcomes(outcome=params["outcome"], count=params["count"], window_days=params["window_days"])
    if kind == "overdue_rectification":
        return OverdueRectification()
    if kind == "overdue_matter":
        return OverdueMatter()
    if kind == "annual_grade":
        return AnnualGrade(grade=params["grade"])
    return BottomRank(consecutive_months=params["consecutive_months"])


def _check_rule_set(raw_rules: list, rules: list[Rule], problems: list[str]) -> None:
    """What needs all rules: unique ids, and `supersedes` naming a known rule about the same facts."""
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_rules):
        rule_id = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(rule_id, str):
            if rule_id in seen:
                problems.append(f"rules[{index}]: id {rule_id!r} 与 rules[{seen[rule_id]}] 重复 (duplicate id)")
            else:
                seen[rule_id] = index
    valid = {r.id: r for r in rules}
    for index, raw in enumerate(raw_rules):
        if not isinstance(raw, dict) or not isinstance(raw.get("supersedes"), list):
            continue
        where = _where(index, raw)
        me = valid.get(raw.get("id"))
        for other_id in raw["supersedes"]:
            if other_id == raw.get("id"):
                problems.append(f"{where}: supersedes 不能包含自身 (a rule cannot supersede itself)")
            elif other_id not in seen:
                problems.append(f"{where}: supersedes 中的 {other_id!r} 不是本策略的规则 (unknown rule id)")
            elif me is not None and other_id in valid:
                other = valid[other_id]
                if other.subject != me.subject or other.trigger.facts != me.trigger.facts:
                    problems.append(f"{where}: 只能取代对象与事实相同的规则, {other_id!r} 不是 "
                                    f"(supersedes must name a rule about the same subject and kind of facts)")
    cycle = _cycle({r.id: tuple(s for s in r.supersedes if s != r.id) for r in rules})
    if cycle:
        problems.append(f"supersedes 构成循环 {' → '.join(cycle)} (supersedes must not form a cycle)")


def _cycle(edges: dict[str, tuple[str, ...]]) -> list[str] | None:
    """One cycle of `supersedes` (as a path that ends where it starts), or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return path[path.index(node):] + [node]
        if node in done or node not in edges:
            return None
        for nxt in edges[node]:
            found = visit(nxt, path + [node])
            if found:
                return found
        done.add(node)
        return None

    for node in sorted(edges):
        found = visit(node, [])
        if found:
            return found
    return None


# --- text and versions ------------------------------------------------------------------------------

def to_data(policy: EscalationPolicy) -> dict:
    """Plain data in the file's shape (for a JSON response, or `dump`)."""
    rules = []
    for rule in policy.rules:
        params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(rule.trigger).items()
                  if v is not None}
        item = {"id": rule.id, "name": rule.name, "subject": rule.subject, "when": {rule.trigger.kind: params},
                "propose": rule.action}
        if rule.supersedes:
            item["supersedes"] = list(rule.supersedes)
        rules.append(item)
    return {"version": policy.version, "rules": rules}


def dump(policy: EscalationPolicy) -> str:
    """The canonical YAML of the policy (no comments: store `policy.text` to keep the admin's own)."""
    return yaml.safe_dump(to_data(policy), allow_unicode=True, sort_keys=False, default_flow_style=None, width=1000)


def check_successor(new: EscalationPolicy, current: EscalationPolicy | None, source: str = "escalation policy") -> None:
    """May `new` replace `current`? Its version must be higher, and a rule id kept from `current` must
    keep its subject and action (thresholds, windows, names and supersedes may change)."""
    if current is None:
        return
    problems = []
    if new.version <= current.version:
        problems.append(f"version 须大于当前版本 {current.version} (the version must increase, got {new.version})")
    old = {r.id: r for r in current.rules}
    for rule in new.rules:
        before = old.get(rule.id)
        if before is not None and (before.subject, before.action) != (rule.subject, rule.action):
            problems.append(f"规则 {rule.id} 的对象或建议措施已改变 ({before.subject}/{before.action} → "
                            f"{rule.subject}/{rule.action}); 请使用新的 id (a rule that proposes something else, "
                            "or to someone else, needs a new id)")
    if problems:
        raise EscalationPolicyError(source, problems)


def parse_successor(text: str, current: EscalationPolicy | None, source: str = "escalation policy") -> EscalationPolicy:
    """A new version submitted by an admin: `parse` plus `check_successor`, all problems in one error."""
    try:
        new = parse(text, source)
    except EscalationPolicyError as exc:
        if current is not None:
            data = _safe_data(text)
            version = data.get("version") if isinstance(data, dict) else None
            if _int(version) and version <= current.version:
                exc.problems.append(f"version 须大于当前版本 {current.version} (the version must increase, "
                                    f"got {version})")
                raise EscalationPolicyError(source, exc.problems) from None
        raise
    check_successor(new, current, source)
    return new


def _safe_data(text: str):
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def load(checklist_dir: str) -> EscalationPolicy:
    path = Path(checklist_dir) / FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EscalationPolicyError(str(path), [f"无法读取 (cannot read: {exc.strerror})"]) from exc
    return parse(text, str(path))
