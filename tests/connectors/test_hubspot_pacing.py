"""connectors.hubspot.pacing on an injected ticker: the rolling window, the rate headers, search spacing and
the daily budget guard, without sleeping."""

from __future__ import annotations

from itertools import pairwise

import pytest

from connectors.errors import BudgetExhausted
from connectors.hubspot.pacing import DailyBudget, Pacer, RateHeaders, WindowLimiter
from tests.connectors.hubspot_fakes import FakeTicker


def test_window_limiter_never_exceeds_limit_in_any_interval() -> None:
    ticker = FakeTicker()
    limiter = WindowLimiter(5, 10.0, ticker)
    sent = []
    for _ in range(17):
        limiter.acquire()
        sent.append(ticker.now)
    for start in sent:
        assert sum(1 for t in sent if start <= t < start + 10.0) <= 5
    assert sent[4] == sent[0]  # the first five go at once
    assert sent[5] >= sent[0] + 10.0


def test_pacer_adopts_header_allowance_and_blocks_on_low_remaining() -> None:
    ticker = FakeTicker()
    pacer = Pacer(
        requests_per_10s=100,
        searches_per_second=4,
        headroom=0.9,
        daily_share=0.8,
        use_headers=True,
        ticker=ticker,
    )
    pacer.observe(
        {
            "X-HubSpot-RateLimit-Max": "20",
            "X-HubSpot-RateLimit-Remaining": "19",
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
        }
    )
    assert pacer.general.limit == 18
    pacer.observe({"X-HubSpot-RateLimit-Max": "20", "X-HubSpot-RateLimit-Remaining": "0"})
    before = ticker.now
    pacer.before(is_search=False)
    assert ticker.now >= before + 10.0


def test_search_is_spaced_to_its_own_rate() -> None:
    ticker = FakeTicker()
    pacer = Pacer(
        requests_per_10s=1000,
        searches_per_second=4,
        headroom=1.0,
        daily_share=1.0,
        use_headers=True,
        ticker=ticker,
    )
    times = []
    for _ in range(9):
        pacer.before(is_search=True)
        times.append(ticker.now)
    assert all(b - a >= 0.25 for a, b in pairwise(times))
    assert times[-1] - times[0] < 8 * 0.3  # paced, not stalled


def test_daily_budget_guard() -> None:
    budget = DailyBudget(0.8)
    budget.observe(
        RateHeaders.parse({"X-HubSpot-RateLimit-Daily": "1000", "X-HubSpot-RateLimit-Daily-Remaining": "250"})
    )
    budget.ensure_room()
    budget.observe(
        RateHeaders.parse({"X-HubSpot-RateLimit-Daily": "1000", "X-HubSpot-RateLimit-Daily-Remaining": "200"})
    )
    with pytest.raises(BudgetExhausted, match="800 of the portal's 1,000"):
        budget.ensure_room()


def test_rate_headers_parse_tolerates_garbage() -> None:
    parsed = RateHeaders.parse({"x-hubspot-ratelimit-max": "abc", "X-HubSpot-RateLimit-Remaining": "7"})
    assert parsed.max is None and parsed.remaining == 7
