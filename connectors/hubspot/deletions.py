"""Which deals were archived (deleted) since the last pull, found by reconciling HubSpot's live count.

Archiving does not move ``hs_lastmodifieddate``, so search never sees it, and the ``archived=true`` list
takes no date filter (its pages grow with every deal ever archived). So the deletions are found by count
reconciliation: the watermark carries how many live deals HubSpot counted at the previous run's cut-off;
a run expects that number plus the deals of its changed set created after that cut-off, and one search
(``createdate <= this run's cut-off``, ``limit=1``, before the deals are read) reads HubSpot's ``total``.
Only when the two differ (a deal was archived, or restored) are the archived deals listed, and those
archived at or after the last listing - lookback are handed over as deleted (all of them on a first pull,
or when HubSpot gives no ``archivedAt``). A first pull lists them and counts. A deletion masked by a
restore in the same interval leaves the count unchanged: the archived deals are listed anyway once the
last listing is ``archived_listing_interval_hours`` old. A no-change re-run reads deals twice: one search
page and the count.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import closing
from datetime import datetime, timedelta

from hubspot.crm.deals import Filter, FilterGroup, PublicObjectSearchRequest

from connectors.hubspot.answers import SEARCH_DEALS, SearchPage
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.config import HubSpotConfig
from connectors.hubspot.counters import PullCounters
from connectors.hubspot.normalize import RawDeal, parse_datetime
from connectors.hubspot.paging import DealList
from connectors.hubspot.search import MODIFIED, OBJECT_ID, to_millis
from connectors.hubspot.watermark import HubSpotWatermark

log = logging.getLogger(__name__)

CREATED = "createdate"


def live_count(client: HubSpotClient, cutoff: datetime) -> int:
    """HubSpot's count of the live deals created at or before ``cutoff`` (search's ``total``; archived
    deals are never in a search). An answer without a total is UnexpectedAnswer: a count taken as zero
    or unknown would move the watermark's ``live=`` on nothing."""
    request = PublicObjectSearchRequest(
        filter_groups=[
            FilterGroup(filters=[Filter(property_name=CREATED, operator="LTE", value=str(to_millis(cutoff)))])
        ],
        properties=[OBJECT_ID],
        limit=1,
    )
    api = client.apis.deals_search
    page = client.read(SearchPage, SEARCH_DEALS, api.do_search, request)
    return page.total


class Deletions:
    """One pull's reconciliation: the count at its start, the changed deals created since the previous
    count, then the archived listing when the two disagree."""

    def __init__(
        self,
        client: HubSpotClient,
        config: HubSpotConfig,
        counters: PullCounters,
        previous: HubSpotWatermark | None,
        run_start: datetime,
    ) -> None:
        self.client = client
        self.counters = counters
        self.previous = previous
        self.run_start = run_start
        self.lookback = timedelta(minutes=config.lookback_minutes)
        self.interval = timedelta(hours=config.archived_listing_interval_hours)
        self.listing = DealList(client, config, counters)
        self._created_since: set[str] = set()
        """Deals of this pull's changed set created after the previous count's cut-off."""

    @property
    def listed_at(self) -> datetime | None:
        """Cut-off of the last archived listing before this pull."""
        return self.previous.archived_listed if self.previous is not None else None

    def count(self) -> int:
        """The live count at this run's cut-off (read before the deals: a wrong answer stops the pull
        before any batch is handed over)."""
        live = live_count(self.client, self.run_start)
        self.counters.live_counts += 1
        return live

    def note_created(self, deals: Iterable[RawDeal]) -> None:
        """Remember the changed deals created after the previous count's cut-off, up to this one's."""
        previous = self.previous
        if previous is None or previous.live_deals is None:
            return
        for deal in deals:
            created = parse_datetime(deal.properties.get(CREATED))
            if created is not None and previous.modified < created <= self.run_start:
                self._created_since.add(deal.id)

    def reconcile(self, live: int) -> tuple[list[str], datetime | None]:
        """The deals to hand over as deleted, and the cut-off of the last archived listing after it."""
        listed = self.listed_at
        deleted: list[str] = []
        if self._must_list_archived(live):
            deleted = list(self._archived(None if listed is None else listed - self.lookback))
            self.counters.archived_listings += 1
            listed = self.run_start
        self.counters.deleted += len(deleted)
        return deleted, listed

    def _must_list_archived(self, live: int) -> bool:
        """Whether deals may have been archived (or restored) since the last listing: the live count
        differs from the expected one, either is unknown, or the last listing is too old."""
        previous = self.previous
        if previous is None or previous.live_deals is None or previous.archived_listed is None:
            return True
        if self.run_start - previous.archived_listed >= self.interval:
            return True
        expected = previous.live_deals + len(self._created_since)
        if live != expected:
            log.info("HubSpot counts %s live deals, %d expected: listing the archived deals", live, expected)
            return True
        return False

    def _archived(self, since: datetime | None) -> Iterator[str]:
        with closing(self.listing.pages(True, [MODIFIED])) as pages:
            for deals in pages:
                for deal in deals:
                    if since is None or deal.archived_at is None or deal.archived_at >= since:
                        yield deal.id
