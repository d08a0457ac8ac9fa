"""好差评 rules: labels, validation, 差评, satisfaction figures, window keys and form tokens."""

from __future__ import annotations

import pytest

from inspect_api.core import form_tokens
from inspect_api.errors import Unprocessable
from inspect_api.ratings import rules

SECRET = "unit-test-secret"


def test_score_labels_run_from_very_satisfied_5_to_very_dissatisfied_1():
    assert rules.SCORE_LABELS == {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}


@pytest.mark.parametrize(("score", "bad"), [(1, True), (2, True), (3, False), (4, False), (5, False)])
def test_a_bad_rating_is_two_or_less(score, bad):
    assert rules.is_bad(score) is bad


def test_valid_rating_accepts_codes_and_labels_and_drops_duplicates():
    value = rules.validate(2, ["slow", "服务态度差", "slow"], "  等了一个小时  ")
    assert value == rules.RatingInput(2, ("slow", "attitude"), "等了一个小时")


@pytest.mark.parametrize("score", [0, 6, -1, 3.5, True, None, "five", [5]])
def test_bad_scores_are_named(score):
    with pytest.raises(Unprocessable) as exc:
        rules.validate(score, [], None)
    assert set(exc.value.details["fields"]) == {"score"}


def test_unknown_reason_too_long_comment_and_links_are_refused_together():
    with pytest.raises(Unprocessable) as exc:
        rules.validate(3, ["nope"], "x" * 501)
    assert set(exc.value.details["fields"]) == {"reasons", "comment"}
    with pytest.raises(Unprocessable) as exc:
        rules.validate(3, [], "优惠请访问 http://spam.example")
    assert set(exc.value.details["fields"]) == {"comment"}


def test_satisfaction_counts_basic_satisfied_and_above():
    assert rules.satisfaction([5, 4, 3, 2, 1]) == {"count": 5, "average": 3.0, "satisfaction_rate": 0.6,
                                                   "bad_count": 2}
    assert rules.satisfaction([])["average"] is None


def test_window_key_round_trips_and_cannot_be_forged():
    key = rules.window_key(SECRET, 12, "A-3")
    assert rules.parse_window_key(SECRET, key) == (12, "A-3")
    assert rules.parse_window_key("other-secret", key) is None
    assert rules.parse_window_key(SECRET, key.replace("12.", "13.", 1)) is None
    assert rules.parse_window_key(SECRET, "12.A-3.garbage") is None
    with pytest.raises(Unprocessable):
        rules.window_key(SECRET, 12, "3号")


def test_token_is_bound_to_window_and_time():
    key = rules.window_key(SECRET, 1, "3")
    token = form_tokens.make_token(SECRET, key, 1_000_000)
    assert form_tokens.check_token(SECRET, key, token, 1_000_010, 600, 2) == 1_000_000
    other = rules.window_key(SECRET, 1, "4")
    with pytest.raises(Unprocessable) as exc:
        form_tokens.check_token(SECRET, other, token, 1_000_010, 600)
    assert exc.value.code == "token_invalid"
    with pytest.raises(Unprocessable) as exc:
        form_tokens.check_token(SECRET, key, token, 1_000_601, 600)
    assert exc.value.code == "token_expired"
    with pytest.raises(Unprocessable) as exc:
        form_tokens.check_token(SECRET, key, token, 1_000_001, 600, 2)
    assert exc.value.code == "too_fast"
    with pytest.raises(Unprocessable):
        form_tokens.check_token(SECRET, key, token[:-1] + ("A" if token[-1] != "A" else "B"), 1_000_010, 600)


def test_throttle_keys_do_not_contain_the_device_value():
    k = form_tokens.throttle_key(SECRET, "device", "cookie-value-xyz", 5)
    assert "cookie-value-xyz" not in k and len(k) == 64
    assert k != form_tokens.throttle_key(SECRET, "device", "cookie-value-xyz", 6)


def test_the_shipped_policy_file_loads_and_bad_values_are_named():
    from inspect_api.config import PROJECT_ROOT
    from inspect_api.ratings.policy import load, parse
    from inspect_api.review.policy import PolicyError

    assert load(str(PROJECT_ROOT / "checklists")).follow_up_days == 5
    with pytest.raises(PolicyError, match="follow_up_days") as exc:
        parse("follow_up_days: 0\nwindow_per_minute: 10\ndevice_per_hour: 5\ntoken_minutes: 60\n"
              "min_fill_seconds: 2\nextra: 1\n", "ratings.yaml")
    assert "extra" in str(exc.value)
