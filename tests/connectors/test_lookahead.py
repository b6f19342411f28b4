"""connectors/lookahead.py alone: pages in order, at most ``depth`` calls ahead, a call's error raised where
its page is taken, and closing sets the stop event, sends nothing new and leaves no thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from contextlib import closing

import pytest

from connectors.lookahead import read_ahead

THREAD = "test-lookahead"
LAST = 6


def lookahead_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == THREAD and t.is_alive()]


class Pages:
    """Pages 1..LAST of a cursor; page ``fail_at`` raises ``error``; records the calls made, in order."""

    def __init__(self, fail_at: int | None = None, error: BaseException | None = None) -> None:
        self.sent: list[int] = []
        self.fail_at = fail_at
        self.error = error or ValueError(f"page {fail_at} refused")

    def call(self, number: int) -> Callable[[], int]:
        def fetch() -> int:
            self.sent.append(number)
            if number == self.fail_at:
                raise self.error
            return number

        return fetch

    def following(self, page: int) -> Callable[[], int] | None:
        return self.call(page + 1) if page < LAST else None

    def read(self, depth: int = 1, stop: threading.Event | None = None) -> Generator[int, None, None]:
        return read_ahead(self.call(1), self.following, depth=depth, stop=stop, name=THREAD)

    def settled(self, expected: int) -> list[int]:
        """The calls sent once the worker had the time to send more than ``expected`` of them."""
        deadline = time.monotonic() + 2
        while len(self.sent) < expected and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.05)
        return list(self.sent)


def test_pages_come_in_order_each_fetched_once() -> None:
    pages = Pages()
    assert list(pages.read(depth=3)) == [1, 2, 3, 4, 5, 6]
    assert pages.sent == [1, 2, 3, 4, 5, 6]
    assert not lookahead_threads()


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_at_most_depth_calls_run_ahead_of_the_caller(depth: int) -> None:
    pages = Pages()
    reader = pages.read(depth=depth)
    assert next(reader) == 1
    assert pages.settled(1 + depth) == list(range(1, 2 + depth))  # holding page 1: pages 2..1+depth
    assert next(reader) == 2
    assert pages.settled(2 + depth) == list(range(1, 3 + depth))  # one page more, no more
    reader.close()
    assert not lookahead_threads()


def test_an_error_is_raised_where_its_page_is_taken_as_the_same_object() -> None:
    error = RuntimeError("HTTP 400 on page 3")
    pages = Pages(fail_at=3, error=error)
    taken: list[int] = []
    reader = pages.read(depth=4)
    with pytest.raises(RuntimeError) as caught:
        for page in reader:
            assert pages.settled(3)[-1] == 3  # page 3 has failed already, in the background
            taken.append(page)
    assert taken == [1, 2]
    assert caught.value is error and str(caught.value) == "HTTP 400 on page 3"
    assert pages.sent == [1, 2, 3]  # nothing asked for after the failed call
    assert not lookahead_threads()


def test_closing_sends_nothing_new_and_leaves_no_thread() -> None:
    pages = Pages()
    stop = threading.Event()
    reader = pages.read(depth=2, stop=stop)
    assert next(reader) == 1
    assert pages.settled(3) == [1, 2, 3]
    reader.close()
    assert stop.is_set()
    assert not lookahead_threads()
    time.sleep(0.1)
    assert pages.sent == [1, 2, 3]


def test_a_caller_that_raises_waits_for_the_call_in_flight_whose_retry_sees_the_stop() -> None:
    """The call in flight when the caller gives up is waited for; a retry loop checking ``stop`` before
    each attempt (as HubSpot's ``unless_closed`` under the retry policy) makes no further attempt."""
    stop = threading.Event()
    started = threading.Event()
    attempts: list[float] = []
    finished: list[float] = []

    def slow_with_retries() -> int:
        started.set()
        while not stop.is_set():  # each attempt fails after 50 ms; the policy would try again
            attempts.append(time.monotonic())
            time.sleep(0.05)
        finished.append(time.monotonic())
        raise ValueError("closed")

    def following(page: int) -> Callable[[], int] | None:
        return slow_with_retries

    with pytest.raises(KeyError), closing(read_ahead(lambda: 1, following, stop=stop, name=THREAD)) as reader:
        for _page in reader:
            assert started.wait(2)
            raise KeyError("the caller failed")
    assert finished and 1 <= len(attempts) <= 2  # stopped at the attempt after the stop, not retried on
    assert not lookahead_threads()


def test_a_generator_never_started_starts_no_thread() -> None:
    pages = Pages()
    pages.read().close()
    assert pages.sent == [] and not lookahead_threads()
