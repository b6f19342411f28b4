"""One pull of HubSpot's deals, their partner companies and the stage metadata, in batches.

The pull's order: the stage metadata and the partner label's typeId, then HubSpot's count of live deals
(:mod:`connectors.hubspot.deletions`), then the deals: on a first pull (no watermark) every live deal
through the list API (:mod:`connectors.hubspot.paging`), on later pulls those changed since the watermark
through search (:mod:`connectors.hubspot.search`). They are handed over in batches of
``association_batch_size`` deals, each with its partners (:mod:`connectors.hubspot.partners`); then the
deals archived since, and last a batch with the partners still to name and the final watermark
(:mod:`connectors.hubspot.watermark`).

Every answer is checked (connectors/hubspot/answers.py) before anything of it is used: one that does not
fit stops the pull with UnexpectedAnswer before its batch is handed over. The count is read before the
deals and the pull's last batch of deals carries no watermark, so a wrong count or archived listing
leaves the stored watermark as it was.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import closing
from datetime import datetime, timedelta

from connectors.base import ConnectorStats, PullBatch, with_expected
from connectors.hubspot.answers import PIPELINES, Pipelines
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.config import HubSpotConfig
from connectors.hubspot.counters import PullCounters
from connectors.hubspot.deletions import Deletions
from connectors.hubspot.normalize import DEAL_PROPERTIES, DealShape, RawDeal, StageMeta, opportunity
from connectors.hubspot.paging import DealList, Pages
from connectors.hubspot.partners import Partners
from connectors.hubspot.read import chunks
from connectors.hubspot.search import CappedSearch
from connectors.hubspot.watermark import HubSpotWatermark
from kpi_core import clock

DELETED_BATCH = 1000
"""Deleted deal ids per batch handed over."""


class DealPuller:
    """One pull: metadata first, then the deals (list or search), then the archived ones."""

    def __init__(self, client: HubSpotClient, config: HubSpotConfig, stats: ConnectorStats) -> None:
        self.client = client
        self.config = config
        self.stats = stats
        self.counters = PullCounters()
        self.shape = DealShape(
            channel_property=config.channel_property,
            timezone=config.timezone,
            partner_property=config.partner.deal_property,
        )
        extra = [config.channel_property]
        if config.partner.deal_property:
            extra.append(config.partner.deal_property)
        self.properties = list(dict.fromkeys([*DEAL_PROPERTIES, *extra]))
        self.stages: dict[str, StageMeta] = {}
        self.partners = Partners(client, config, self.counters)
        self.listing = DealList(client, config, self.counters)
        self.search = CappedSearch(client, config, self.properties, self.counters)
        self.run_start = clock.utcnow()
        self.deletions = Deletions(client, config, self.counters, None, self.run_start)

    def load_stages(self) -> dict[str, StageMeta]:
        answer = self.client.read(Pipelines, PIPELINES, self.client.apis.pipelines.get_all, "deals")
        self.stages = answer.stages()
        return self.stages

    def load_partner_type(self) -> tuple[str, int] | None:
        """(category, typeId) of the configured deal-to-company label; None in deal-property mode."""
        return self.partners.load_type()

    def pull(self, watermark: str | None) -> Iterator[PullBatch]:
        self.run_start = clock.utcnow()
        previous = HubSpotWatermark.load(watermark)
        self.deletions = Deletions(self.client, self.config, self.counters, previous, self.run_start)
        self.partners.forget_due()
        self.load_stages()
        self.load_partner_type()
        if previous is None:
            pages: Pages = self.listing.live(self.properties)
        else:
            pages = self.search.pages(previous.modified - timedelta(minutes=self.config.lookback_minutes))
        # The count first: an answer without its total stops the pull before any batch is handed over.
        live = self.deletions.count()
        # A first pull hands over every live deal: the count is its total (for the progress bar).
        expected = live if previous is None else None
        yield from with_expected(self._batches(pages), expected)
        deleted, listed = self.deletions.reconcile(live)
        self.counters.publish(self.stats)
        for ids in chunks(deleted, DELETED_BATCH):
            yield PullBatch(deleted_opportunity_ids=list(ids))
        yield PullBatch(
            partners=self.partners.names(everything=True),
            watermark=HubSpotWatermark(
                modified=self.run_start, live_deals=live, archived_listed=listed
            ).dump(),
        )

    def _batches(self, pages: Pages) -> Generator[PullBatch, None, None]:
        """Pages regrouped into batches of exactly ``association_batch_size`` deals (one association read
        each). A batch's watermark is the mark of the last page it holds whole: a page split between two
        batches is not passed until the second one. The last batch carries none: the pull's final
        watermark follows it once the archived deals are listed, so a wrong answer there leaves the stored
        watermark where it was (the next run reads that batch's deals again and finds them unchanged)."""
        size = self.config.association_batch_size
        pending: list[RawDeal] = []
        marks: list[tuple[int, datetime | None]] = []  # (end of a page in pending, its mark)
        with closing(pages):
            for deals, page_mark in pages:
                pending.extend(deals)
                marks.append((len(pending), page_mark))
                while len(pending) >= size:
                    whole = [m for end, m in marks if end <= size]
                    yield self._batch(pending[:size], whole[-1] if whole else None)
                    pending = pending[size:]
                    marks = [(end - size, m) for end, m in marks if end > size]
        if pending:
            yield self._batch(pending, None)

    def _batch(self, deals: list[RawDeal], mark: datetime | None) -> PullBatch:
        self.deletions.note_created(deals)
        partners = self.partners.of(deals)
        opportunities = [
            opportunity(
                d,
                shape=self.shape,
                stages=self.stages,
                partner_id=partners.get(d.id),
                fallback_modified=self.run_start,
            )
            for d in deals
        ]
        self.counters.deals += len(opportunities)
        self.partners.met(partners.values())
        watermark = None
        if mark is not None:
            # No count: a run resumed from here lists the archived deals (since the last listing).
            watermark = HubSpotWatermark(
                modified=min(mark, self.run_start), live_deals=None, archived_listed=self.deletions.listed_at
            ).dump()
        new_partners = self.partners.names(everything=watermark is not None)
        return PullBatch(opportunities=opportunities, partners=new_partners, watermark=watermark)
