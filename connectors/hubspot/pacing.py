"""Client-side pacing, so that a steady run meets no 429.

HubSpot sends ``X-HubSpot-RateLimit-Max`` requests per ``-Interval-Milliseconds`` (10 s) and what is
``-Remaining``, plus ``-Daily`` / ``-Daily-Remaining``; search has its own, lower per-second limit and
sends none of these. The limiter keeps the send times of its own recent requests and lets a request go
only when fewer than ``headroom x Max`` were sent in the last interval: at most that many land in ANY
interval, which satisfies a fixed window and a sliding one alike. A low ``Remaining`` (someone else
shares the portal's allowance) makes it wait one interval. Time comes from an injected :class:`Ticker`.

Calls come from two threads (the puller fetches the next page while the current one is processed and
its associations and companies are read), so every request of either thread takes its slot in the same
limiters, under their locks.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from connectors.errors import BudgetExhausted

if TYPE_CHECKING:
    from connectors.hubspot.config import RateLimits

LATENCY_MARGIN = 0.1
"""Seconds added to each interval (at most a tenth of it): a request sent just after the interval may
still arrive inside it."""


class Ticker(Protocol):
    """Monotonic time and sleeping (wall time comes from kpi_core.clock)."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemTicker:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


@dataclass(frozen=True, slots=True)
class RateHeaders:
    """What one answer said about the allowance (None: header absent or unreadable)."""

    max: int | None = None
    remaining: int | None = None
    interval_seconds: float | None = None
    daily: int | None = None
    daily_remaining: int | None = None

    @classmethod
    def parse(cls, headers: Mapping[str, str] | None) -> RateHeaders:
        if not headers:
            return cls()
        lowered = {str(k).lower(): str(v) for k, v in headers.items()}

        def number(name: str) -> int | None:
            value = lowered.get(f"x-hubspot-ratelimit-{name}")
            try:
                return int(value) if value is not None else None
            except ValueError:
                return None

        interval_ms = number("interval-milliseconds")
        return cls(
            max=number("max"),
            remaining=number("remaining"),
            interval_seconds=interval_ms / 1000.0 if interval_ms and interval_ms > 0 else None,
            daily=number("daily"),
            daily_remaining=number("daily-remaining"),
        )


class WindowLimiter:
    """At most ``limit`` sends in any ``interval`` seconds (a sliding log of our own send times)."""

    def __init__(self, limit: int, interval: float, ticker: Ticker) -> None:
        self.limit = max(1, limit)
        self.interval = interval
        self.ticker = ticker
        self._sent: deque[float] = deque()
        self._blocked_until = 0.0
        self._lock = threading.Lock()
        self.waited = 0.0
        """Seconds spent waiting (for stats)."""

    def reconfigure(self, limit: int, interval: float) -> None:
        with self._lock:
            self.limit = max(1, limit)
            self.interval = interval

    def block_for(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (the server said the allowance is nearly used up)."""
        with self._lock:
            self._blocked_until = max(self._blocked_until, self.ticker.monotonic() + seconds)

    def acquire(self) -> None:
        """Wait for a free slot and take it. Thread-safe: the slot is checked and taken under the lock,
        and the wait happens outside it, so a :meth:`block_for` from another thread (an answer that says
        the allowance is nearly used) applies at once, and every waiter re-checks after its sleep."""
        while True:
            with self._lock:
                now = self.ticker.monotonic()
                window = self.interval + min(LATENCY_MARGIN, self.interval / 10)
                while self._sent and self._sent[0] <= now - window:
                    self._sent.popleft()
                wait = self._blocked_until - now
                if len(self._sent) >= self.limit:
                    wait = max(wait, self._sent[0] + window - now)
                if wait <= 0:
                    self._sent.append(now)
                    return
                self.waited += wait
            self.ticker.sleep(wait)


class DailyBudget:
    """Refuses calls once this run would take the portal past ``share`` of its daily allowance."""

    def __init__(self, share: float) -> None:
        self.share = share
        self._seen: tuple[int, int] | None = None
        """(daily, remaining) of the latest answer, replaced as one value (answers come from two threads)."""

    @property
    def daily(self) -> int | None:
        return self._seen[0] if self._seen else None

    @property
    def remaining(self) -> int | None:
        return self._seen[1] if self._seen else None

    def observe(self, headers: RateHeaders) -> None:
        if headers.daily is not None and headers.daily_remaining is not None:
            self._seen = (headers.daily, headers.daily_remaining)

    def ensure_room(self) -> None:
        seen = self._seen
        if seen is None:
            return
        daily, remaining = seen
        used = daily - remaining
        ceiling = int(daily * self.share)
        if used + 1 > ceiling:
            raise BudgetExhausted(
                f"HubSpot API budget guard: {used:,} of the portal's {daily:,} daily API calls are used; "
                f"this connector stops at {self.share:.0%} ({ceiling:,}). Wait for the daily reset (midnight "
                "in the portal's time zone), or raise rate_limits.daily_budget_share in the connector config."
            )


class Pacer:
    """The general limiter (fed by the headers), the search limiter and the daily guard together."""

    def __init__(
        self,
        *,
        requests_per_10s: int,
        searches_per_second: float,
        headroom: float,
        daily_share: float,
        use_headers: bool,
        ticker: Ticker,
    ) -> None:
        self.headroom = headroom
        self.use_headers = use_headers
        self.ticker = ticker
        self.general = WindowLimiter(self._allowed(requests_per_10s), 10.0, ticker)
        self.search = WindowLimiter(1, 1.0 / searches_per_second, ticker)
        self.budget = DailyBudget(daily_share)
        self.last = RateHeaders()

    @classmethod
    def configured(cls, limits: RateLimits, ticker: Ticker) -> Pacer:
        """The pacer a connector's ``rate_limits`` section asks for."""
        return cls(
            requests_per_10s=limits.requests_per_10s,
            searches_per_second=limits.searches_per_second,
            headroom=limits.headroom,
            daily_share=limits.daily_budget_share,
            use_headers=limits.use_headers,
            ticker=ticker,
        )

    def _allowed(self, maximum: int) -> int:
        return max(1, int(maximum * self.headroom))

    def before(self, is_search: bool) -> None:
        """Wait until a request may go; raise BudgetExhausted when the daily guard is reached."""
        self.budget.ensure_room()
        if is_search:
            self.search.acquire()
        self.general.acquire()

    def observe(self, headers: Mapping[str, str] | None) -> None:
        """Learn from an answer's rate-limit headers (search answers carry none)."""
        parsed = RateHeaders.parse(headers)
        if parsed == RateHeaders():
            return
        self.last = parsed
        self.budget.observe(parsed)
        if not self.use_headers or parsed.max is None:
            return
        interval = parsed.interval_seconds or self.general.interval
        allowed = self._allowed(parsed.max)
        if allowed != self.general.limit or interval != self.general.interval:
            self.general.reconfigure(allowed, interval)
        # Alone, this connector leaves ``max - allowed`` unused in any window; much less than that left
        # means others are spending the same allowance: let one interval pass.
        reserve = max(1, (parsed.max - allowed) // 2)
        if parsed.remaining is not None and parsed.remaining < reserve:
            self.general.block_for(interval)
