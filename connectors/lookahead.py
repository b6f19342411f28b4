"""Reading a cursor's pages ahead of the caller, on one worker thread: the one way the connectors do it
(Salesforce's REST and Bulk pages, HubSpot's list and search pages).

While the caller works on page k (normalizing it, storing it), the calls of pages k+1 .. k+depth run, so
the API's latency passes during that work instead of after it.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable, Generator
from typing import TypeVar

T = TypeVar("T")

THREAD_NAME = "lookahead"


def read_ahead(
    first: Callable[[], T],
    following: Callable[[T], Callable[[], T] | None],
    *,
    depth: int = 1,
    stop: threading.Event | None = None,
    name: str = THREAD_NAME,
) -> Generator[T, None, None]:
    """The pages of a cursor, in order: ``first()`` gives page 1, ``following(page)`` the call of the next
    page (None: that page was the last one, or the caller wants no more).

    Calls run on one worker thread (named ``name``), at most ``depth`` pages ahead: while the caller holds
    page k, pages up to k + depth are fetched, never more. ``following`` is called once per page, in
    order, on the worker thread, before the page is handed over (so a counter it keeps needs no lock).

    A failed call (or ``following``) raises where its page would be taken: the same exception object, so
    the message is the call's own. Closing the generator (the caller stops, or raises) sets ``stop``: a
    call not yet sent is not sent (a call that checks ``stop`` itself, before each retry, stops too), the
    call in flight is waited for and its page dropped, and no thread is left running. Pass ``stop`` when
    the calls need to see it; otherwise one is made here."""
    halt = stop if stop is not None else threading.Event()
    permits = threading.Semaphore(max(1, depth))
    ready: queue.SimpleQueue[tuple[T, bool] | BaseException] = queue.SimpleQueue()

    def produce() -> None:
        call: Callable[[], T] | None = first
        try:
            while call is not None:
                permits.acquire()
                if halt.is_set():
                    return
                page = call()
                call = following(page)
                ready.put((page, call is not None))
        except BaseException as exc:  # handed to the caller's thread, raised where the page is taken
            ready.put(exc)

    # The worker runs in a copy of the caller's context, so what it logs (a retry, say) carries the
    # caller's log context (the connector and run id).
    context = contextvars.copy_context()
    worker = threading.Thread(target=context.run, args=(produce,), name=name, daemon=True)
    worker.start()
    try:
        while True:
            item = ready.get()
            if isinstance(item, BaseException):
                raise item
            page, more = item
            permits.release()  # page k taken: page k + depth may be fetched
            yield page
            if not more:
                return
    finally:
        halt.set()
        permits.release()  # a worker waiting for a permit wakes, sees the stop and ends
        worker.join()
