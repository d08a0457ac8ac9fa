"""Login throttling and password policy as pure functions."""

from datetime import UTC, datetime, timedelta

import pytest

from inspect_api.auth.rules import (
    ThrottlePolicy,
    ThrottleState,
    after_failure,
    password_problems,
    retry_after,
)

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
POLICY = ThrottlePolicy(slow_after=3, lock_after=5, lock_minutes=15, max_delay_seconds=60)


def fail_n(n, start=T0, gap=timedelta(minutes=2)):
    state, now = ThrottleState(), start
    for _ in range(n):
        state = after_failure(state, now, POLICY)
        now += gap
    return state


@pytest.mark.parametrize("failures", [0, 1, 2])
def test_first_failures_do_not_slow_the_caller(failures):
    state = fail_n(failures, gap=timedelta(0))
    assert retry_after(state, T0, POLICY) == 0


def test_from_the_slow_threshold_each_attempt_must_wait_longer():
    third = fail_n(3, gap=timedelta(0))
    assert retry_after(third, T0, POLICY) == 1
    fourth = after_failure(third, T0, POLICY)
    assert retry_after(fourth, T0, POLICY) == 2
    assert retry_after(fourth, T0 + timedelta(seconds=2), POLICY) == 0


def test_lock_after_threshold_and_unlock_when_it_expires():
    state = fail_n(5, gap=timedelta(0))
    assert state.locked_until == T0 + timedelta(minutes=15)
    assert retry_after(state, T0 + timedelta(minutes=14, seconds=59), POLICY) == 1
    assert retry_after(state, T0 + timedelta(minutes=15), POLICY) == 0
    # a failure after the lock expired starts counting afresh
    again = after_failure(state, T0 + timedelta(minutes=16), POLICY)
    assert again.failures == 1 and again.locked_until is None


def test_delay_is_capped():
    state = ThrottleState(failures=40, last_failed_at=T0)
    assert retry_after(state, T0, ThrottlePolicy(slow_after=3, lock_after=100)) == 60


def test_password_policy():
    assert password_problems("short", production=False)
    assert password_problems("inspect-demo", production=False) == []
    assert password_problems("inspect-demo", production=True)
    assert password_problems("a-long-unusual-passphrase", production=True) == []
