"""The review policy file: the shipped one parses, and each kind of mistake is named."""

from pathlib import Path

import pytest

from inspect_api.review.policy import PolicyError, load, parse

GOOD = "rectification_days: {minor: 10, serious: 5, severe: 3}\nappeal_window_days: 5\n"


def test_shipped_policy_parses():
    policy = load(str(Path(__file__).resolve().parents[2] / "checklists"))
    assert policy.rectification_days == {"minor": 10, "serious": 5, "severe": 3}
    assert policy.appeal_window_days == 5


@pytest.mark.parametrize("text,needle", [
    ("rectification_days: {minor: 10, serious: 5}\nappeal_window_days: 5\n", "三档"),
    ("rectification_days: {minor: 0, serious: 5, severe: 3}\nappeal_window_days: 5\n", "1–60"),
    (GOOD.replace("appeal_window_days: 5", "appeal_window_days: yes"), "appeal_window_days"),
    (GOOD + "escalate: true\n", "未知字段"),
    ("- just a list\n", "映射"),
    ("rectification_days: {minor: [\n", "YAML"),
])
def test_mistakes_are_named(text, needle):
    with pytest.raises(PolicyError, match=needle):
        parse(text, "review.yaml")
