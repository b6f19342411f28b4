"""The project's one retry policy (tenacity), for every call we make to a CRM or a webhook.

Callers say how to read an exception with a ``classify`` function: None means "do not retry"; a
``RetryHint`` means "retry", with the server's Retry-After when it sent one. Waits grow exponentially with
jitter, are capped, and a Retry-After is honoured (up to the cap).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryHint:
    after: float | None = None
    reason: str = ""


Classifier = Callable[[BaseException], RetryHint | None]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    initial_wait: float = 0.5
    max_wait: float = 60.0

    def retrying(self, classify: Classifier, on_retry: Callable[[RetryHint], None] | None = None) -> Retrying:
        backoff = wait_random_exponential(multiplier=self.initial_wait, max=self.max_wait)

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            hint = classify(exc) if exc is not None else None
            if hint is not None and hint.after is not None:
                return float(min(max(hint.after, 0.0), self.max_wait))
            return float(backoff(state))

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            hint = classify(exc) if exc is not None else None
            if hint is not None:
                log.info(
                    "retrying after %s (attempt %d)", hint.reason or type(exc).__name__, state.attempt_number
                )
                if on_retry is not None:
                    on_retry(hint)

        return Retrying(
            retry=retry_if_exception(lambda e: classify(e) is not None),
            stop=stop_after_attempt(self.attempts),
            wait=wait,
            before_sleep=before_sleep,
            reraise=True,
        )

    def call(
        self,
        fn: Callable[[], T],
        classify: Classifier,
        on_retry: Callable[[RetryHint], None] | None = None,
    ) -> T:
        """Call ``fn`` under the policy; the last exception is re-raised when attempts run out."""
        return self.retrying(classify, on_retry)(fn)

    def pause_before_resend(self, attempt: int, cap: float = 10.0) -> None:
        """Wait before sending again the records a CRM refused retryably (a row lock) in a call that
        itself succeeded: ``initial_wait`` doubled per resend (``attempt`` from 1), no jitter, at most
        ``cap`` seconds."""
        time.sleep(min(self.initial_wait * 2 ** (attempt - 1), cap))


DEFAULT_POLICY = RetryPolicy()


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds form; an HTTP date is treated as absent)."""
    if not value:
        return None
    try:
        return max(float(value.strip()), 0.0)
    except ValueError:
        return None
