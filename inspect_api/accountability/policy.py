"""The escalation policy file (`checklists/policy/escalation.yaml`): YAML text <-> `EscalationPolicy`.

`parse` checks everything and names every problem at once (Chinese, with English in brackets), so an
admin editing the policy through the API sees the whole list; `load` reads the shipped file at start-up;
`parse_successor` / `check_successor` accept a new version only if its number increases and no existing
rule id changes what it proposes or to whom (a stored proposal's `rule_id` must keep its meaning: see
`rules` on dedupe keys); `dump` / `to_data` give the canonical text and plain data of a policy, and
`parse(dump(p)) == p`. The admin's own text, comments included, is kept as `EscalationPolicy.text`.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import yaml
from marshmallow import ValidationError, fields, post_load, validates_schema

from inspect_api.accountability.rules import (
    ACTIONS,
    COUNTS,
    GRADES,
    OUTCOME_KINDS,
    SUBJECTS,
    TRIGGER_SUBJECTS,
    TRIGGERS,
    EscalationPolicy,
    Rule,
)
from inspect_api.core import policy_schema as ps
from inspect_api.core.categories import CATEGORIES, SEVERITIES
from inspect_api.core.policy_file import PolicyError

FILE = Path("policy") / "escalation.yaml"
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
    """The policy in `text`, or an `EscalationPolicyError` listing every problem (`source` names the file).

    Remembered by its text (the policy is immutable): every confirmed finding runs the rules under the
    write lock, and reading the YAML again was half of a confirmation's time. Errors are not kept."""
    return _parse(text, source)


@functools.lru_cache(maxsize=16)
def _parse(text: str, source: str) -> EscalationPolicy:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise EscalationPolicyError(source, [f"YAML 格式错误 (invalid YAML): {exc}"]) from exc
    return from_data(data, source, text=text)


def from_data(data, source: str, *, text: str | None = None) -> EscalationPolicy:
    """The policy in plain data (the YAML's shape, e.g. a JSON body), checked like `parse`."""
    loaded, problems = ps.check(_Policy(), data)
    if problems:
        raise EscalationPolicyError(source, problems)
    policy = EscalationPolicy(version=loaded["version"], rules=tuple(loaded["rules"]))
    return EscalationPolicy(version=policy.version, rules=policy.rules, text=dump(policy) if text is None else text)


# --- the schema of the file -----------------------------------------------------------------------------

def _one_of(known, what: str) -> str:
    return f"须为 {list(known)} 之一 (unknown {what} {{value!r}})"


# Each parameter a trigger may take, checked the same way whichever trigger takes it.
PARAM_FIELDS = {
    "severity": lambda **kw: ps.OneOf(SEVERITIES, _one_of(SEVERITIES, "severity"), **kw),
    "count": lambda **kw: ps.Whole(1, None, "须为不小于 1 的整数 (count must be an integer ≥ 1)", **kw),
    "window_days": lambda **kw: ps.Whole(
        1, MAX_WINDOW_DAYS, f"须为 1–{MAX_WINDOW_DAYS} 的整数 (window_days must be an integer from 1 to {MAX_WINDOW_DAYS})",
        **kw),
    "categories": lambda **kw: ps.Names(CATEGORIES, "问题类别", unknown_what="未知类别", **kw),
    "counts": lambda **kw: ps.OneOf(COUNTS, _one_of(COUNTS, "counts"), **kw),
    "outcome": lambda **kw: ps.OneOf(OUTCOME_KINDS, _one_of(OUTCOME_KINDS, "outcome"), **kw),
    "consecutive_months": lambda **kw: ps.Whole(
        1, None, "须为不小于 1 的整数 (consecutive_months must be an integer ≥ 1)", **kw),
    "grade": lambda **kw: ps.OneOf(GRADES, _one_of(GRADES, "grade"), **kw),
}


class _Parameters(ps.PolicySchema):
    """A trigger's parameters (`{}` or null when it has none); loads as the trigger."""

    unknown_label, missing_label, show_allowed = "未知参数", "缺少参数", True
    kind: str

    @post_load
    def _make(self, data, **_kwargs):
        return TRIGGERS[self.kind](**data)


def _parameters(kind: str) -> type[_Parameters]:
    declared = {name: PARAM_FIELDS[name](required=True) if required else PARAM_FIELDS[name]()
                for name, required in TRIGGER_PARAMS[kind].items()}
    return type(f"_{kind}", (_Parameters,), {"kind": kind, **declared})


PARAMETERS = {kind: _parameters(kind) for kind in TRIGGERS}


class _Supersedes(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        if not (isinstance(value, list) and all(isinstance(s, str) for s in value)):
            raise ValidationError("须为规则 id 列表 (supersedes must be a list of rule ids)")
        if len(set(value)) != len(value):
            raise ValidationError("有重复 (supersedes lists a rule twice)")
        return tuple(value)


class _Rule(ps.PolicySchema):
    show_allowed = True
    id = ps.Text(RULE_ID, "须为小写字母开头的英文标识, 如 staff_two_findings_warning "
                          "(id must be a lowercase slug: a-z, 0-9, _)", required=True)
    name = ps.Text(ps.CJK, "须为中文名称 (name must be a Chinese label)", required=True)
    subject = ps.OneOf(SUBJECTS, _one_of(SUBJECTS, "subject"), required=True)
    when = ps.OneKey(PARAMETERS, required=True,
                     one_error="须为只含一种触发条件的映射, 如 {confirmed_findings: {count: 2, window_days: 365}} "
                               f"(when must name exactly one trigger of {list(TRIGGERS)})",
                     unknown_error=f"未知的触发条件 {{kind!r}} (unknown trigger; known: {list(TRIGGERS)})")
    propose = ps.OneOf(ACTIONS, _one_of(ACTIONS, "action"), required=True)
    supersedes = _Supersedes(load_default=())

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _about(self, data, original, **_kwargs):
        when, subject = original.get("when") if isinstance(original, dict) else None, data.get("subject")
        kind = next(iter(when)) if isinstance(when, dict) and len(when) == 1 else None
        if subject is not None and kind in TRIGGER_SUBJECTS and subject not in TRIGGER_SUBJECTS[kind]:
            raise ValidationError(f"触发条件 {kind} 只适用于 {list(TRIGGER_SUBJECTS[kind])}, 不适用于 {subject} "
                                  f"(trigger {kind} cannot be about {subject})")

    @post_load
    def _make(self, data, **_kwargs):
        return Rule(id=data["id"], name=data["name"].strip(), subject=data["subject"], trigger=data["when"][1],
                    action=data["propose"], supersedes=data["supersedes"])


class _Policy(ps.PolicySchema):
    show_allowed = True
    error_messages = {"type": "须为映射 (must be a mapping with version and rules)"}
    version = ps.Whole(1, None, "须为不小于 1 的整数 (version must be an integer ≥ 1)", required=True)
    rules = fields.List(fields.Nested(_Rule), required=True,
                        error_messages={"invalid": "须为规则列表 (rules must be a list)"})

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _rule_set(self, data, original, **_kwargs):
        """What needs all rules: unique ids, and `supersedes` naming a known rule about the same facts."""
        raw_rules = original.get("rules") if isinstance(original, dict) else None
        raw_rules = raw_rules if isinstance(raw_rules, list) else []
        problems, by_rule = [], {}
        seen: dict[str, int] = {}
        for index, raw in enumerate(raw_rules):
            rule_id = raw.get("id") if isinstance(raw, dict) else None
            if isinstance(rule_id, str) and rule_id in seen:
                problems.append(f"rules[{index}]: id {rule_id!r} 与 rules[{seen[rule_id]}] 重复 (duplicate id)")
            elif isinstance(rule_id, str):
                seen[rule_id] = index
        valid = {r.id: r for r in data.get("rules", ()) if isinstance(r, Rule)}  # the rules that loaded whole
        for index, raw in enumerate(raw_rules):
            if isinstance(raw, dict) and isinstance(raw.get("supersedes"), list):
                found = _superseding(raw, seen, valid)
                if found:
                    by_rule[index] = {"_schema": found}
        cycle = _cycle({r.id: tuple(s for s in r.supersedes if s != r.id) for r in valid.values()})
        if cycle:
            problems.append(f"supersedes 构成循环 {' → '.join(cycle)} (supersedes must not form a cycle)")
        if problems or by_rule:
            raise ValidationError({"rules": by_rule, "_schema": problems} if by_rule else problems)


def _superseding(raw: dict, ids: dict[str, int], valid: dict[str, Rule]) -> list[str]:
    own = raw.get("id") if isinstance(raw.get("id"), str) else None
    me = valid.get(own)
    problems = []
    for other_id in (s for s in raw["supersedes"] if isinstance(s, str)):  # others: the field names them
        if other_id == own:
            problems.append("supersedes 不能包含自身 (a rule cannot supersede itself)")
        elif other_id not in ids:
            problems.append(f"supersedes 中的 {other_id!r} 不是本策略的规则 (unknown rule id)")
        elif me is not None and other_id in valid and (valid[other_id].subject, valid[other_id].trigger.facts) != \
                (me.subject, me.trigger.facts):
            problems.append(f"只能取代对象与事实相同的规则, {other_id!r} 不是 "
                            f"(supersedes must name a rule about the same subject and kind of facts)")
    return problems


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
