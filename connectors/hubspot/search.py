"""The deals changed since a time, through HubSpot's search past its 10,000-result cap.

Later pulls search on ``hs_lastmodifieddate >= watermark - lookback`` (no upper bound: a clock running
behind HubSpot's loses nothing), sorted ascending, 200 a page. A search query stops at 10,000 results
(paging past it gives 400), so before its cursor gets there the query is restarted from the last value
seen, and the ids already handed over at that value are skipped. Should 10,000 deals share one timestamp
(no progress possible), the deals at that instant are walked by ``hs_object_id`` instead, then the search
goes on after it. Each page carries the watermark it allows: the last modified value fully passed.

:class:`CappedSearch` is the paginator: it owns its cursor (:class:`SearchCursor`) and is layered like
httpx's ``_send_handling_*``: :meth:`CappedSearch.pages` handles the cap by restarting, it calls
:meth:`CappedSearch._walk_instant` for a crowded instant, and both read one query's pages through
:meth:`CappedSearch._query` (connectors/hubspot/paging.py reads them ahead, never past the cap).
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial

from hubspot.crm.deals import Filter, FilterGroup, PublicObjectSearchRequest

from connectors.hubspot.answers import SEARCH_DEALS, SearchPage
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.config import HubSpotConfig
from connectors.hubspot.counters import PullCounters
from connectors.hubspot.normalize import RawDeal, parse_datetime
from connectors.hubspot.paging import Page, Pages, cursor_pages, lookahead_depth, unless_closed

SEARCH_CAP = 10_000
"""HubSpot's search answers at most this many results per query; paging past it gives 400."""
MODIFIED = "hs_lastmodifieddate"
OBJECT_ID = "hs_object_id"

QueryPages = Generator[tuple[list[RawDeal], datetime | None], None, bool]
"""One query's pages (as :data:`Pages`), returning True when the query was read to its end."""


def to_millis(moment: datetime) -> int:
    """A time as search filters take it: epoch milliseconds."""
    return int(moment.timestamp() * 1000)


def from_millis(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000.0, tz=timezone.utc)


def search_room(consumed: int, page_size: int) -> bool:
    """Whether one more search page stays within the query's result cap."""
    return consumed + page_size <= SEARCH_CAP


@dataclass
class SearchCursor:
    """Where the search stream stands: the last modified value handed over and the ids seen at it."""

    low_ms: int
    ids_at_low: set[str] = field(default_factory=set)

    def seen(self, start_low: int, deal: RawDeal) -> bool:
        """Handed over already by the query before (which restarted at ``start_low``)."""
        modified = parse_datetime(deal.properties.get(MODIFIED))
        return modified is not None and to_millis(modified) == start_low and deal.id in self.ids_at_low

    def advance(self, deals: Iterable[RawDeal]) -> None:
        for deal in deals:
            modified = parse_datetime(deal.properties.get(MODIFIED))
            if modified is None:
                continue
            ms = to_millis(modified)
            if ms > self.low_ms:
                self.low_ms, self.ids_at_low = ms, {deal.id}
            elif ms == self.low_ms:
                self.ids_at_low.add(deal.id)


class CappedSearch:
    """The search paginator of one pull: every deal modified since a time, each handed over once."""

    def __init__(
        self, client: HubSpotClient, config: HubSpotConfig, properties: list[str], counters: PullCounters
    ) -> None:
        self.client = client
        self.properties = properties
        self.page_size = config.search_page_size
        self.depth = lookahead_depth(config, self.page_size)
        self.counters = counters
        self.cursor = SearchCursor(low_ms=0)

    def pages(self, since: datetime) -> Pages:
        """The deals modified at or after ``since``, query after query until one is read to its end."""
        self.cursor = SearchCursor(low_ms=to_millis(since))
        while True:
            start_low = self.cursor.low_ms
            exhausted = yield from self._from_low(start_low)
            if exhausted:
                return
            self.counters.search_restarts += 1
            if self.cursor.low_ms == start_low:
                # 10,000 deals at one instant: walk that instant by id, then go on after it.
                yield from self._walk_instant()
                self.cursor = SearchCursor(low_ms=self.cursor.low_ms + 1)

    def _from_low(self, start_low: int) -> QueryPages:
        """One query from the cursor's value, up to the cap; the cursor follows the pages handed over."""
        consumed = 0
        with closing(self._query(start_low, None)) as pages:
            for deals in pages:
                consumed += len(deals)
                fresh = [d for d in deals if not self.cursor.seen(start_low, d)]
                self.cursor.advance(deals)
                yield fresh, from_millis(self.cursor.low_ms)
                if not search_room(consumed, self.page_size):
                    return False
        return True

    def _walk_instant(self) -> Pages:
        """The deals modified at the cursor's instant, by ``hs_object_id``, skipping those seen there."""
        instant = self.cursor.low_ms
        last_id = 0
        while True:
            consumed = 0
            progressed = False
            extra = [Filter(property_name=OBJECT_ID, operator="GT", value=str(last_id))]
            with closing(self._query(instant, instant, extra=extra, sort=OBJECT_ID)) as pages:
                for deals in pages:
                    consumed += len(deals)
                    fresh = [d for d in deals if d.id not in self.cursor.ids_at_low]
                    if deals:
                        last_id = max(last_id, max(int(d.id) for d in deals if d.id.isdigit()))
                        progressed = True
                    yield fresh, from_millis(instant - 1)
                    if not search_room(consumed, self.page_size):
                        break
                else:
                    return
            if not progressed:
                return

    def _query(
        self, low_ms: int, high_ms: int | None, *, extra: Sequence[Filter] = (), sort: str = MODIFIED
    ) -> Generator[list[RawDeal], None, None]:
        """One search query's pages: modified in [low_ms, high_ms], sorted ascending by ``sort``."""
        filters = [
            Filter(property_name=MODIFIED, operator="GTE", value=str(low_ms)),
            *extra,
        ]
        if high_ms is not None:
            filters.append(Filter(property_name=MODIFIED, operator="LTE", value=str(high_ms)))
        api = self.client.apis.deals_search
        size = self.page_size

        def fetch(after: str | None, stop: threading.Event) -> Page:
            request = PublicObjectSearchRequest(
                filter_groups=[FilterGroup(filters=filters)],
                sorts=[{"propertyName": sort, "direction": "ASCENDING"}],
                properties=self.properties,
                limit=size,
                after=after,
            )
            page: Page = self.client.read(
                SearchPage, SEARCH_DEALS, unless_closed(stop, api.do_search), request
            )
            return page

        room = partial(search_room, page_size=size)
        with closing(cursor_pages(fetch, room, depth=self.depth)) as pages:
            for page in pages:
                self.counters.search_pages += 1
                yield [d.raw_deal() for d in page.results]
