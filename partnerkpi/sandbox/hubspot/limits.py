"""HubSpot's rate limits: a rolling 10-second burst window (``TEN_SECONDLY_ROLLING``), a daily allowance
(``DAILY``, private apps) and the search endpoints' own per-second limit (``SECONDLY``).

``Faults.rate_limit_per_second`` r gives a burst window of ``10 * r`` calls per 10 s (0 = not enforced,
the headers then show a Professional portal's 190); the search limit is
``Faults.search_rate_per_second``, or HubSpot's 5/s whenever rate limiting is on. Search calls count
against the daily allowance but not the burst window, and their answers carry no rate-limit headers
(HubSpot's do not).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from kpi_core.clock import utcnow
from partnerkpi.sandbox.core import Faults

DEFAULT_DAILY_LIMIT = 650_000
DEFAULT_BURST_MAX = 190
WINDOW_SECONDS = 10.0
SEARCH_DEFAULT_RATE = 5.0


@dataclass
class Verdict:
    policy: str
    retry_after: int


@dataclass
class Limits:
    monotonic: Callable[[], float] = time.monotonic
    burst: deque[float] = field(default_factory=deque)
    search: deque[float] = field(default_factory=deque)
    daily_used: int = 0
    day: date = field(default_factory=lambda: utcnow().date())

    def _roll(self, now: float) -> None:
        while self.burst and now - self.burst[0] >= WINDOW_SECONDS:
            self.burst.popleft()
        while self.search and now - self.search[0] >= 1.0:
            self.search.popleft()
        today = utcnow().date()
        if today != self.day:
            self.day, self.daily_used = today, 0

    @staticmethod
    def burst_max(faults: Faults) -> int:
        rate = faults.rate_limit_per_second
        return max(1, round(rate * WINDOW_SECONDS)) if rate else DEFAULT_BURST_MAX

    @staticmethod
    def daily_limit(faults: Faults) -> int:
        return faults.daily_limit or DEFAULT_DAILY_LIMIT

    @staticmethod
    def search_rate(faults: Faults) -> float:
        if faults.search_rate_per_second:
            return faults.search_rate_per_second
        return SEARCH_DEFAULT_RATE if faults.rate_limit_per_second else 0.0

    def admit(self, faults: Faults, is_search: bool, private_app: bool) -> Verdict | None:
        """Count the call, or say which limit refuses it (a refused call is not counted)."""
        now = self.monotonic()
        self._roll(now)
        if private_app and self.daily_used >= self.daily_limit(faults):
            midnight = datetime.combine(self.day + timedelta(days=1), datetime.min.time(), timezone.utc)
            return Verdict("DAILY", max(1, math.ceil((midnight - utcnow()).total_seconds())))
        if is_search:
            rate = self.search_rate(faults)
            if rate and len(self.search) >= rate:
                return Verdict("SECONDLY", 1)
            self.search.append(now)
        elif faults.rate_limit_per_second:
            if len(self.burst) >= self.burst_max(faults):
                wait = WINDOW_SECONDS - (now - self.burst[0])
                return Verdict("TEN_SECONDLY_ROLLING", max(1, math.ceil(wait)))
            self.burst.append(now)
        else:
            self.burst.append(now)
        self.daily_used += 1
        return None

    def headers(self, faults: Faults, private_app: bool) -> dict[str, str]:
        self._roll(self.monotonic())
        maximum = self.burst_max(faults)
        headers = {
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(WINDOW_SECONDS * 1000)),
            "X-HubSpot-RateLimit-Max": str(maximum),
            "X-HubSpot-RateLimit-Remaining": str(max(0, maximum - len(self.burst))),
            "X-HubSpot-RateLimit-Secondly": str(math.ceil(maximum / WINDOW_SECONDS)),
            "X-HubSpot-RateLimit-Secondly-Remaining": str(
                max(
                    0,
                    math.ceil(maximum / WINDOW_SECONDS)
                    - sum(1 for t in self.burst if self.monotonic() - t < 1),
                )
            ),
        }
        if private_app:  # OAuth apps have no daily limit and get no daily headers
            limit = self.daily_limit(faults)
            headers["X-HubSpot-RateLimit-Daily"] = str(limit)
            headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(max(0, limit - self.daily_used))
        return headers
