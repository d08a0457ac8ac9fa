"""The notifications policy file (`checklists/policy/notifications.yaml`), checked at start-up."""

from __future__ import annotations

from inspect_api.core import policy_file
from inspect_api.core.policy_file import PolicyError
from inspect_api.notifications.rules import KindPolicy, MessagePolicy, RuleError, check_template

KEYS = {"kinds", "robot", "sms", "email_subject", "backoff_seconds", "max_attempts"}


def parse(text: str, source: str) -> MessagePolicy:
    data = policy_file.yaml_mapping(text, source)
    problems = []
    if set(data) != KEYS:
        problems.append(f"字段须为 {sorted(KEYS)} (missing {sorted(KEYS - set(data))}, "
                        f"unknown {sorted(set(data) - KEYS)})")
    kinds = {}
    raw = data.get("kinds")
    if not isinstance(raw, dict) or not raw:
        problems.append("kinds 须为非空映射")
    else:
        for kind, spec in raw.items():
            if not isinstance(spec, dict) or set(spec) != {"label", "unit"} or not isinstance(spec["label"], str) \
                    or not spec["label"].strip() or not isinstance(spec["unit"], bool):
                problems.append(f"kinds.{kind} 须有 label（文字）和 unit（true/false）")
            else:
                kinds[str(kind)] = KindPolicy(label=spec["label"].strip(), unit_allowed=spec["unit"])
    allowed = frozenset({"label", "title", "body"})
    for key in ("robot", "sms", "email_subject"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            problems.append(f"{key} 须为非空文本")
        else:
            try:
                check_template(data[key], allowed, key)
            except (RuleError, ValueError) as exc:
                problems.append(str(exc))
    steps = data.get("backoff_seconds")
    if not isinstance(steps, list) or not steps or not all(
            isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= 86400 for s in steps):
        problems.append("backoff_seconds 须为 1–86400 的整数列表")
    attempts = data.get("max_attempts")
    if not isinstance(attempts, int) or isinstance(attempts, bool) or not 1 <= attempts <= 50:
        problems.append("max_attempts 须为 1–50 的整数")
    if problems:
        raise PolicyError(f"{source}: " + "; ".join(problems))
    return MessagePolicy(kinds=kinds, robot=data["robot"], sms=data["sms"], email_subject=data["email_subject"],
                         max_attempts=attempts, backoff_seconds=tuple(steps))


def load(checklist_dir: str) -> MessagePolicy:
    return parse(*policy_file.read(checklist_dir, "notifications.yaml"))
