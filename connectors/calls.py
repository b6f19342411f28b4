"""The one way a connector calls its CRM: under the retry policy, the session renewed when the CRM says it
expired, what still fails translated into the connector's errors, calls and retries counted.

A connector's client subclasses :class:`Caller` and fills in three hooks, the way a singer-sdk stream
fills in ``validate_response`` and ``backoff_*``: :meth:`Caller.classify` (retry this failure?),
:meth:`Caller.renew` (log in again and repeat the call?) and :meth:`Caller.translate` (the
``ConnectorError`` to raise). ``call`` is whatever names one call in the client's messages (HubSpot: the
request; Salesforce: what the call is for and on which object); it is passed to the hooks and may carry
the call's own state (the session it used).

Calls may come from two threads at once (a pull reads one page ahead), so the counters are kept under a
lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from connectors.base import ConnectorStats
from connectors.errors import ConnectorError
from connectors.retry import DEFAULT_POLICY, RetryHint, RetryPolicy

T = TypeVar("T")
CallT = TypeVar("CallT")


class Caller(Generic[CallT]):
    """Calls under the retry policy, with the hooks a CRM fills in."""

    def __init__(self, stats: ConnectorStats, policy: RetryPolicy = DEFAULT_POLICY) -> None:
        self.stats = stats
        self.policy = policy
        self._counting = threading.Lock()

    # -- hooks ----------------------------------------------------------------------------------------
    def classify(self, exc: BaseException) -> RetryHint | None:
        """A failure worth another attempt (429, 5xx, a dropped connection) as a hint; None: not retried."""
        return None

    def renew(self, exc: BaseException, call: CallT) -> bool:
        """After ``exc`` ended the attempts: when it says the session or token expired, get a new one and
        answer True to make the call again; False (the default) lets ``translate`` have it."""
        return False

    def translate(self, exc: BaseException, call: CallT) -> BaseException:
        """The connector's error for ``exc``, naming ``call``, never a secret; ``exc`` itself when there
        is nothing better (it is raised as it is)."""
        return exc

    # -- calling --------------------------------------------------------------------------------------
    def guarded(self, fn: Callable[[], T], call: CallT) -> T:
        """``fn()`` (one call to the CRM) under the policy and the hooks above. A ``ConnectorError`` raised
        inside (an answer checked and refused, a budget spent) is final and goes through as it is."""
        while True:
            try:
                return self.policy.call(fn, self.classify, self.count_retry)
            except ConnectorError:
                raise
            except Exception as exc:
                if self.renew(exc, call):
                    continue
                translated = self.translate(exc, call)
                if translated is exc:
                    raise
                raise translated from None

    def count_call(self) -> None:
        with self._counting:
            self.stats.api_calls += 1

    def count_retry(self, hint: RetryHint) -> None:
        with self._counting:
            self.stats.retries += 1
