"""HubSpot's cursor pages (``paging.next.after``), read ahead, and the list API's pages of deals.

Paging (list and search) reads ahead on a worker thread (connectors/lookahead.py, through
:func:`cursor_pages`: up to one association batch's worth of pages, never a page past what the caller
has room for, such as the search's 10,000-result cap), so HubSpot's latency and the pacer's waits pass
while the caller processes the pages before.

The list API (a first pull, and the archived deals) takes 100 deals a page and has no cap; a GET carries
the properties in its URL, so those past the first ``properties_per_request`` are read by batch and merged
in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Sequence
from contextlib import closing
from datetime import datetime
from functools import partial
from typing import Any

from connectors.hubspot.answers import LIST_DEALS, ObjectPage
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.config import HubSpotConfig
from connectors.hubspot.counters import PullCounters
from connectors.hubspot.normalize import RawDeal
from connectors.hubspot.read import batch_read, chunks
from connectors.lookahead import read_ahead

LOOKAHEAD_THREAD = "hubspot-lookahead"

Page = ObjectPage
"""A list or search page, checked (connectors/hubspot/answers.py) before anything of it is used."""
Pages = Generator[tuple[list[RawDeal], datetime | None], None, None]
"""Deal pages, each with the watermark it allows once handed over whole."""
PageFetch = Callable[[str | None, threading.Event], Page]


class StreamClosed(Exception):
    """The page stream was closed: a prefetch that has not been sent yet is not sent (nor retried)."""


def unless_closed(stop: threading.Event, call: Callable[..., Any]) -> Callable[..., Any]:
    """``call``, refused once ``stop`` is set: checked before each attempt of the retry policy."""

    def guarded(*args: Any, **kwargs: Any) -> Any:
        if stop.is_set():
            raise StreamClosed()
        return call(*args, **kwargs)

    return guarded


def cursor_pages(
    fetch: PageFetch, room: Callable[[int], bool] = lambda fetched: True, depth: int = 1
) -> Generator[Page, None, None]:
    """The pages of a cursor (``paging.next.after``), read up to ``depth`` pages ahead by
    :func:`connectors.lookahead.read_ahead`. ``fetch(after, stop)`` gets the stop event that closing the
    stream sets (for :func:`unless_closed`). ``room(results fetched so far)`` says whether the caller may
    want another page: no page is fetched past it (the search's 10,000-result cap)."""
    stop = threading.Event()
    fetched = 0

    def following(page: Page) -> Callable[[], Page] | None:
        nonlocal fetched  # read_ahead calls this once per page, in order, on its one worker thread
        fetched += len(page.results)
        after = page.after
        return partial(fetch, after, stop) if after is not None and room(fetched) else None

    return read_ahead(partial(fetch, None, stop), following, depth=depth, stop=stop, name=LOOKAHEAD_THREAD)


def lookahead_depth(config: HubSpotConfig, page_size: int) -> int:
    """Pages fetched ahead: one association batch's worth, so that fetching goes on while the caller
    reads a batch's associations and companies and the pipeline stores it (one page ahead left the
    worker idle for most of that: 1.29x the rate-limit bound instead of 1.2 at 100k deals)."""
    return max(1, -(-config.association_batch_size // page_size))


class DealList:
    """The list API's pages of deals, live or archived."""

    def __init__(self, client: HubSpotClient, config: HubSpotConfig, counters: PullCounters) -> None:
        self.client = client
        self.config = config
        self.counters = counters

    def pages(self, archived: bool, properties: Sequence[str]) -> Generator[list[RawDeal], None, None]:
        api = self.client.apis.deals_basic

        def fetch(after: str | None, stop: threading.Event) -> Page:
            return self.client.read(
                ObjectPage,
                LIST_DEALS,
                unless_closed(stop, api.get_page),
                limit=self.config.page_size,
                after=after,
                properties=list(properties),
                archived=archived,
            )

        depth = lookahead_depth(self.config, self.config.page_size)
        with closing(cursor_pages(fetch, depth=depth)) as pages:
            for page in pages:
                self.counters.list_pages += 1
                yield [d.raw_deal() for d in page.results]

    def live(self, properties: Sequence[str]) -> Pages:
        """Every live deal with all ``properties``; a listing allows no watermark before its end."""
        first, *rest = list(chunks(properties, self.config.properties_per_request))
        with closing(self.pages(False, first)) as pages:
            for deals in pages:
                for more in rest:
                    deals = self._merge_properties(deals, more)
                yield deals, None

    def _merge_properties(self, deals: list[RawDeal], properties: Sequence[str]) -> list[RawDeal]:
        """Properties past the first chunk, read by batch (POST: no URL length limit) and merged in."""
        if not deals:
            return deals
        extra = batch_read(self.client, "deals", [d.id for d in deals], properties)
        return [
            RawDeal(d.id, {**d.properties, **extra.get(d.id, {})}, d.archived, d.archived_at, d.updated_at)
            for d in deals
        ]
