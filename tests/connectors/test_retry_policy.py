"""connectors.retry.RetryPolicy: the one policy for every call, and the pause before a resend."""

from __future__ import annotations

import pytest

from connectors import retry
from connectors.retry import DEFAULT_POLICY, RetryHint, RetryPolicy, parse_retry_after


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr(retry.time, "sleep", waits.append)
    return waits


def test_a_resend_waits_the_initial_wait_doubled_per_attempt_up_to_the_cap(slept: list[float]) -> None:
    for attempt in range(1, 7):
        DEFAULT_POLICY.pause_before_resend(attempt)
    assert slept == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0]


def test_a_fast_policy_resends_at_once(slept: list[float]) -> None:
    RetryPolicy(initial_wait=0.0).pause_before_resend(3)
    assert slept == [0.0]


def test_a_retried_call_is_repeated_until_it_succeeds_and_each_retry_heard() -> None:
    answers: list[object] = [ConnectionError(), ConnectionError(), "ok"]
    heard: list[RetryHint] = []

    def call() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return str(answer)

    policy = RetryPolicy(attempts=3, initial_wait=0.0, max_wait=0.0)
    assert policy.call(call, lambda exc: RetryHint(reason="dropped"), heard.append) == "ok"
    assert [h.reason for h in heard] == ["dropped", "dropped"]


def test_a_failure_not_classified_as_retryable_is_raised_at_once() -> None:
    calls: list[int] = []

    def call() -> None:
        calls.append(1)
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        RetryPolicy(initial_wait=0.0).call(call, lambda exc: None)
    assert calls == [1]


def test_retry_after_reads_delta_seconds_and_ignores_what_it_cannot_read() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 0.5 ") == 0.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT") is None
    assert parse_retry_after(None) is None
