"""The HubSpot puller's lookahead (connectors/lookahead.py through paging.cursor_pages): the next pages are
fetched on a worker thread while the current one is processed. Its failures surface where the page is
consumed, closing the pull stops it, and the pacer keeps two threads' requests within the allowance."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Generator, Iterator
from datetime import timedelta

import pytest

from connectors.errors import BudgetExhausted, ConnectorError
from connectors.hubspot.answers import ObjectPage
from connectors.hubspot.pacing import SystemTicker, WindowLimiter
from connectors.hubspot.paging import Page, cursor_pages
from kpi_core import clock
from tests.connectors.test_hubspot_sandbox import NO_RETRY, T0, UNPACED, Portal, opportunities, portal

THREAD = "hubspot-lookahead"


def lookahead_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(THREAD) and t.is_alive()]


@pytest.fixture
def small() -> Iterator[Portal]:
    with portal(2_000) as p:
        yield p


# -- the helper alone --------------------------------------------------------------------------------------
class FakeCursor:
    """Five pages of a cursor; page ``fail_at`` raises; records which pages were asked for."""

    def __init__(self, fail_at: str | None = None) -> None:
        self.asked: list[str | None] = []
        self.fail_at = fail_at

    def fetch(self, after: str | None, stop: threading.Event) -> Page:
        self.asked.append(after)
        if after is not None and after == self.fail_at:
            raise ConnectorError(f"page {after} refused")
        number = int(after or "1")
        answer: dict[str, object] = {"results": [{"id": str(number), "properties": {}}]}
        if number < 5:
            answer["paging"] = {"next": {"after": str(number + 1)}}
        return ObjectPage.model_validate(answer)

    def settled(self, expected: list[str | None]) -> list[str | None]:
        """What was asked once the worker had time to ask more than ``expected``."""
        for _ in range(100):
            if self.asked == expected:
                break
            time.sleep(0.01)
        time.sleep(0.05)
        return self.asked


def ids(page: Page) -> list[str]:
    return [r.id for r in page.results]


def test_next_page_is_fetched_before_the_current_one_is_handed_over() -> None:
    cursor = FakeCursor()
    pages = cursor_pages(cursor.fetch)
    first = next(pages)
    assert ids(first) == ["1"]
    assert cursor.settled([None, "2"]) == [None, "2"]  # one page ahead, no more
    assert [ids(p)[0] for p in pages] == ["2", "3", "4", "5"]
    assert cursor.asked == [None, "2", "3", "4", "5"]
    assert lookahead_threads() == []


def test_depth_bounds_the_pages_fetched_ahead() -> None:
    cursor = FakeCursor()
    pages = cursor_pages(cursor.fetch, depth=3)
    assert ids(next(pages)) == ["1"]
    assert cursor.settled([None, "2", "3", "4"]) == [None, "2", "3", "4"]  # page 1 taken: 3 ahead
    pages.close()
    assert lookahead_threads() == []
    assert cursor.asked == [None, "2", "3", "4"]


def test_a_failed_prefetch_raises_where_its_page_is_consumed() -> None:
    cursor = FakeCursor(fail_at="2")
    pages = cursor_pages(cursor.fetch)
    assert ids(next(pages)) == ["1"]  # page 2 already failed in the background
    with pytest.raises(ConnectorError, match=r"^page 2 refused$"):
        next(pages)
    assert cursor.asked == [None, "2"]
    assert lookahead_threads() == []


def test_room_stops_prefetching_at_the_callers_cap() -> None:
    cursor = FakeCursor()
    pages = list(cursor_pages(cursor.fetch, room=lambda fetched: fetched < 2, depth=4))
    assert len(pages) == 2 and cursor.asked == [None, "2"]


# -- through the SDK against the sandbox -------------------------------------------------------------------
def test_a_prefetched_page_refused_surfaces_with_todays_message(small: Portal) -> None:
    """Calls 1-2 are metadata, 3 the live-deal count (read before any deal), 4-7 list pages 1-4; page 5
    would pass the daily allowance, and the budget guard refuses it on the worker thread. The association
    read comes only after 10 pages, so the failure is the prefetched page's."""
    small.emulation.faults.daily_limit = small.emulation.limits.daily_used + 7
    connector = small.connector(policy=NO_RETRY, rate_limits={**UNPACED, "daily_budget_share": 1.0})
    with pytest.raises(BudgetExhausted) as prefetched:
        list(connector.pull(None))
    assert small.count("deals.search") == 1  # the count
    assert small.count("deals.list") == 4 and small.count("associations.batch_read") == 0
    assert connector.last_pull is not None and connector.last_pull.counters.list_pages == 4
    with pytest.raises(BudgetExhausted) as direct:
        connector.puller().load_stages()
    assert str(prefetched.value) == str(direct.value)
    assert "7 of the portal's 7 daily API calls are used" in str(prefetched.value)
    assert lookahead_threads() == []


def test_closing_the_pull_early_leaves_no_thread_and_no_request(small: Portal) -> None:
    connector = small.connector()
    pull = connector.pull(None)
    assert isinstance(pull, Generator)
    first = next(pull)  # 10 list pages of 100 make the first batch of 1,000
    assert len(first.opportunities) == 1_000
    pull.close()
    assert lookahead_threads() == []
    listed = small.count("deals.list")
    assert 10 <= listed <= 20  # at most one association batch's worth of pages (10) fetched ahead
    time.sleep(0.2)
    assert small.count("deals.list") == listed
    assert connector.last_pull is not None and connector.last_pull.counters.list_pages == 10


def test_an_exception_downstream_stops_the_prefetch(small: Portal) -> None:
    connector = small.connector()

    def consume() -> None:
        for _ in connector.pull(None):
            raise RuntimeError("the mirror failed")

    with pytest.raises(RuntimeError, match="the mirror failed"):
        consume()
    assert lookahead_threads() == []


def test_search_pages_are_prefetched_and_counted_exactly(small: Portal) -> None:
    connector = small.connector(search_page_size=50)
    with clock.frozen(T0):
        first = list(connector.pull(None))
    with clock.frozen(T0 + timedelta(hours=1)):
        small.emulation.touch_deals(420)
    small.sandbox.reset_counters()
    with clock.frozen(T0 + timedelta(hours=2)):
        second = list(connector.pull(first[-1].watermark))
    assert len(opportunities(second)) == 420
    assert connector.last_pull is not None
    searched = connector.last_pull.counters.search_pages
    assert searched == 9 and small.count("deals.search") >= searched  # + the live-deal count, if any
    assert lookahead_threads() == []


# -- the pacer under two threads ---------------------------------------------------------------------------
class RecordingDeque(deque[float]):
    """The limiter's send log, keeping every send time it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.all: list[float] = []

    def append(self, value: float) -> None:
        self.all.append(value)
        super().append(value)


def test_window_limiter_holds_its_limit_for_two_threads() -> None:
    limiter = WindowLimiter(3, 0.2, SystemTicker())
    log = RecordingDeque()
    limiter._sent = log

    def sender() -> None:
        for _ in range(7):
            limiter.acquire()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    sent = sorted(log.all)
    assert len(sent) == 14
    assert all(later - earlier >= 0.2 for earlier, later in zip(sent, sent[3:], strict=False))


def test_block_for_applies_to_a_thread_already_waiting() -> None:
    limiter = WindowLimiter(1, 0.3, SystemTicker())
    limiter.acquire()
    done: list[float] = []
    start = time.monotonic()

    def wait_then_send() -> None:
        limiter.acquire()
        done.append(time.monotonic())

    waiter = threading.Thread(target=wait_then_send)
    waiter.start()
    time.sleep(0.05)
    limiter.block_for(0.6)  # the other thread's answer said: the allowance is nearly used
    waiter.join(timeout=5)
    assert done and done[0] - start >= 0.6
