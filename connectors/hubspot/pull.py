"""Reading deals, their partner companies, and the stage metadata out of HubSpot.

- First pull (no watermark): the list API, 100 deals a page, no cap. Later pulls: search on
  ``hs_lastmodifieddate >= watermark - lookback`` (no upper bound: a clock running behind HubSpot's
  loses nothing), sorted ascending, 200 a page; a search
  query stops at 10,000 results, so before its cursor gets there the query is restarted from the last
  value seen (ids already handed over at that value are skipped). Should 10,000 deals share one
  timestamp (no progress possible), the deals at that instant are walked by ``hs_object_id`` instead.
- Partners: the companies associated with the configured label (its typeId read from
  ``/crm/v4/associations/deals/companies/labels``), through v4 batch reads of up to 1,000 deals a call;
  or the company id a configured deal property holds. Their names are read 100 companies a call, when
  100 are due, when a batch carries a watermark (a run resumed from it does not see those deals again),
  or with the pull's last batch: a first pull's 500 partners take 5 calls, not one or more per batch.
- Deletions: archiving does not move ``hs_lastmodifieddate``, so search never sees it, and the
  ``archived=true`` list takes no date filter (its pages grow with every deal ever archived). So the
  deletions are found by count reconciliation: the watermark carries how many live deals HubSpot counted
  at the previous run's cut-off; a run expects that number plus the deals of its changed set created
  after that cut-off, and one search (``createdate <= this run's cut-off``, ``limit=1``, before the deals
  are read) reads HubSpot's ``total``. Only when the two differ (a deal was archived, or restored) are the archived deals listed,
  and those archived at or after the last listing - lookback are handed over as deleted (all of them on a
  first pull, or when HubSpot gives no ``archivedAt``). A first pull lists them and counts. A deletion
  masked by a restore in the same interval leaves the count unchanged: the archived deals are listed
  anyway once the last listing is ``archived_listing_interval_hours`` old. A no-change re-run reads deals
  twice: one search page and the count.
- Paging (list and search) reads ahead on a worker thread (connectors/lookahead.py, through
  :func:`cursor_pages`: up to one association batch's worth of pages, never a search page past the
  10,000 cap), so HubSpot's latency and the pacer's waits pass while the caller processes the pages
  before.
- The watermark handed over is the last ``hs_lastmodifieddate`` fully passed during a search, and the
  run's start once the pull is complete; never later than the run's start. Its text is that time, then
  ``live=N`` (final watermarks only: the count at that time) and ``archived_listed=TIME`` (the cut-off of
  the last archived listing); a plain time (the older format) is read as a run that listed them then.
- Every answer is checked (connectors/hubspot/answers.py) before anything of it is used: one that does not
  fit stops the pull with UnexpectedAnswer before its batch is handed over. The count is read before the
  deals and the pull's last batch of deals carries no watermark, so a wrong count or archived listing
  leaves the stored watermark as it was.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any

from hubspot.crm.associations.v4 import (
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.associations.v4 import Configuration as AssociationsConfiguration
from hubspot.crm.companies import BatchReadInputSimplePublicObjectId as CompanyBatchRead
from hubspot.crm.companies import SimplePublicObjectId as CompanyId
from hubspot.crm.deals import BatchReadInputSimplePublicObjectId as DealBatchRead
from hubspot.crm.deals import Filter, FilterGroup, PublicObjectSearchRequest
from hubspot.crm.deals import SimplePublicObjectId as DealId

from connectors.base import ConnectorStats, PullBatch
from connectors.errors import ConnectorError
from connectors.hubspot.answers import (
    ASSOCIATION_LABELS,
    LIST_DEALS,
    PIPELINES,
    READ_ASSOCIATIONS,
    READ_COMPANIES,
    READ_DEALS,
    SEARCH_DEALS,
    AssociationBatch,
    AssociationLabels,
    BatchRead,
    ObjectPage,
    Pipelines,
    SearchPage,
)
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.config import HubSpotConfig
from connectors.hubspot.normalize import (
    DEAL_PROPERTIES,
    DealShape,
    RawDeal,
    StageMeta,
    opportunity,
    parse_datetime,
    partner,
    text,
)
from connectors.lookahead import read_ahead
from kpi_core import clock
from kpi_core.schema import Partner

_MODEL_CONFIG = AssociationsConfiguration()
"""One configuration for every request model we build: the SDK otherwise deep-copies a fresh default
Configuration per model object (35 µs each: a third of a 1M-deal pull's time in the profile)."""

log = logging.getLogger(__name__)

LOOKAHEAD_THREAD = "hubspot-lookahead"
SEARCH_CAP = 10_000
"""HubSpot's search answers at most this many results per query; paging past it gives 400."""
MODIFIED = "hs_lastmodifieddate"
OBJECT_ID = "hs_object_id"
COMPANY_BATCH = 100


def to_millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


CREATED = "createdate"


def format_watermark(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat()


def parse_watermark(value: str) -> datetime:
    parsed = parse_datetime(value)
    if parsed is None:
        raise ConnectorError(f"HubSpot watermark {value!r} is not an ISO 8601 time; reset it to pull all")
    return parsed


@dataclass(frozen=True)
class Watermark:
    """Where the next pull starts, and what it needs to tell whether deals were archived since."""

    modified: datetime
    """Search from here (minus the lookback)."""
    live_deals: int | None = None
    """Live deals created at or before ``modified``, as HubSpot counted them (None: unknown)."""
    archived_listed: datetime | None = None
    """Cut-off of the last listing of the archived deals (None: unknown)."""

    def format(self) -> str:
        parts = [format_watermark(self.modified)]
        if self.live_deals is not None:
            parts.append(f"live={self.live_deals}")
        if self.archived_listed is not None:
            parts.append(f"archived_listed={format_watermark(self.archived_listed)}")
        return " ".join(parts)

    @classmethod
    def parse(cls, value: str) -> Watermark:
        """The format above; a plain time (older versions, which listed archived deals on every pull)
        is a run that listed them at that time."""
        head, *rest = value.split() or [value]
        modified = parse_watermark(head)
        fields = dict(part.partition("=")[::2] for part in rest)
        live = fields.get("live")
        listed = fields.get("archived_listed")
        try:
            live_deals = int(live) if live is not None else None
        except ValueError:
            raise ConnectorError(f"HubSpot watermark {value!r} has a bad live count; reset it") from None
        if not rest:
            return cls(modified, None, modified)
        return cls(modified, live_deals, parse_watermark(listed) if listed is not None else None)


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class StreamClosed(Exception):
    """The page stream was closed: a prefetch that has not been sent yet is not sent (nor retried)."""


Page = ObjectPage
"""A list or search page, checked (connectors/hubspot/answers.py) before anything of it is used."""
Pages = Generator[tuple[list[RawDeal], datetime | None], None, None]
"""Deal pages, each with the watermark it allows once handed over whole."""
PageFetch = Callable[[str | None, threading.Event], Page]


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


def search_room(consumed: int, page_size: int) -> bool:
    """Whether one more search page stays within the query's result cap."""
    return consumed + page_size <= SEARCH_CAP


@dataclass
class PullCounters:
    list_pages: int = 0
    search_pages: int = 0
    search_restarts: int = 0
    association_reads: int = 0
    deals: int = 0
    deleted: int = 0
    live_counts: int = 0
    archived_listings: int = 0

    def publish(self, stats: ConnectorStats) -> None:
        stats.extra.update({f"hubspot_{k}": v for k, v in vars(self).items()})


@dataclass
class _SearchCursor:
    """Where the search stream stands: the last modified value handed over and the ids seen at it."""

    low_ms: int
    ids_at_low: set[str] = field(default_factory=set)


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
        self.partner_type: tuple[str, int] | None = None
        self._partners_sent: set[str] = set()
        self._companies_due: set[str] = set()
        """Partner companies met in handed-over deals whose names are not read yet."""
        self.run_start = clock.utcnow()
        self.previous: Watermark | None = None
        self._created_since: set[str] = set()
        """Deals of this pull's changed set created after the previous count's cut-off."""

    # -- metadata ------------------------------------------------------------------------------------
    def load_stages(self) -> dict[str, StageMeta]:
        answer = self.client.read(Pipelines, PIPELINES, self.client.apis.pipelines.get_all, "deals")
        self.stages = answer.stages()
        return self.stages

    def load_partner_type(self) -> tuple[str, int] | None:
        """(category, typeId) of the configured deal-to-company label; None in deal-property mode."""
        label = self.config.partner.label
        if label is None:
            return None
        api = self.client.apis.association_labels
        answer = self.client.read(AssociationLabels, ASSOCIATION_LABELS, api.get_all, "deals", "companies")
        # Only a well-formed answer gets this far: a label missing from it is truly missing (config advice),
        # whereas an answer that does not fit was an UnexpectedAnswer above (a network or HubSpot fault).
        found = [r for r in answer.results if (r.label or "").strip().lower() == label.strip().lower()]
        if not found:
            known = sorted({r.label for r in answer.results if r.label})
            raise ConnectorError(
                f"HubSpot has no deal-to-company association label {label!r} (labels: "
                f"{', '.join(known) or 'none'}); create it in Settings > Objects > Deals > Associations, "
                "or set partner.association_label / partner.deal_property in the connector config"
            )
        found.sort(key=lambda r: r.category != "USER_DEFINED")
        self.partner_type = (found[0].category, found[0].type_id)
        return self.partner_type

    # -- the pull ------------------------------------------------------------------------------------
    def pull(self, watermark: str | None) -> Iterator[PullBatch]:
        self.run_start = clock.utcnow()
        self.previous = Watermark.parse(watermark) if watermark is not None else None
        self._created_since = set()
        self._companies_due = set()
        self.load_stages()
        self.load_partner_type()
        if self.previous is None:
            pages: Pages = self._listed()
        else:
            pages = self._searched(self.previous.modified - self._lookback())
        # The count first: an answer without its total stops the pull before any batch is handed over.
        live = self.live_count(self.run_start)
        yield from self._batches(pages)
        listed = self._archived_listed_at()
        deleted: list[str] = []
        if self._must_list_archived(live):
            deleted = list(self._archived(None if listed is None else listed - self._lookback()))
            self.counters.archived_listings += 1
            listed = self.run_start
        self.counters.deleted += len(deleted)
        self.counters.publish(self.stats)
        for ids in chunks(deleted, 1000):
            yield PullBatch(deleted_opportunity_ids=list(ids))
        yield PullBatch(
            partners=self._partner_records(self._companies_ready(everything=True)),
            watermark=Watermark(self.run_start, live, listed).format(),
        )

    def _lookback(self) -> timedelta:
        return timedelta(minutes=self.config.lookback_minutes)

    def _archived_listed_at(self) -> datetime | None:
        return self.previous.archived_listed if self.previous is not None else None

    def _must_list_archived(self, live: int) -> bool:
        """Whether deals may have been archived (or restored) since the last listing: the live count
        differs from the expected one, either is unknown, or the last listing is too old."""
        previous = self.previous
        if previous is None or previous.live_deals is None or previous.archived_listed is None:
            return True
        interval = timedelta(hours=self.config.archived_listing_interval_hours)
        if self.run_start - previous.archived_listed >= interval:
            return True
        expected = previous.live_deals + len(self._created_since)
        if live != expected:
            log.info("HubSpot counts %s live deals, %d expected: listing the archived deals", live, expected)
            return True
        return False

    def live_count(self, cutoff: datetime) -> int:
        """HubSpot's count of the live deals created at or before ``cutoff`` (search's ``total``;
        archived deals are never in a search). An answer without a total is UnexpectedAnswer: a count
        taken as zero or unknown would move the watermark's ``live=`` on nothing."""
        request = PublicObjectSearchRequest(
            filter_groups=[
                FilterGroup(
                    filters=[Filter(property_name=CREATED, operator="LTE", value=str(to_millis(cutoff)))]
                )
            ],
            properties=[OBJECT_ID],
            limit=1,
        )
        api = self.client.apis.deals_search
        page = self.client.read(SearchPage, SEARCH_DEALS, api.do_search, request)
        self.counters.live_counts += 1
        return page.total

    def _note_created(self, deals: Iterable[RawDeal]) -> None:
        """Remember the changed deals created after the previous count's cut-off, up to this one's."""
        previous = self.previous
        if previous is None or previous.live_deals is None:
            return
        for deal in deals:
            created = parse_datetime(deal.properties.get(CREATED))
            if created is not None and previous.modified < created <= self.run_start:
                self._created_since.add(deal.id)

    def _batches(self, pages: Pages) -> Iterator[PullBatch]:
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
        self._note_created(deals)
        partners = self._partner_ids(deals)
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
        self._companies_due.update(p for p in partners.values() if p not in self._partners_sent)
        watermark = None
        if mark is not None:
            # No count: a run resumed from here lists the archived deals (since the last listing).
            watermark = Watermark(min(mark, self.run_start), None, self._archived_listed_at()).format()
        new_partners = self._partner_records(self._companies_ready(everything=watermark is not None))
        return PullBatch(opportunities=opportunities, partners=new_partners, watermark=watermark)

    def _companies_ready(self, everything: bool) -> set[str]:
        """The due companies to read now: all of them when the batch carries a watermark (a run resumed
        from it does not read these deals again, so their partners must be stored with it), else only
        full reads of COMPANY_BATCH; the rest wait for a later batch or the pull's last one."""
        due = sorted(self._companies_due, key=_id_order)
        take = len(due) if everything else len(due) - len(due) % COMPANY_BATCH
        self._companies_due = set(due[take:])
        return set(due[:take])

    # -- listing (first pull) ------------------------------------------------------------------------
    def _list_pages(self, archived: bool, properties: Sequence[str]) -> Generator[list[RawDeal], None, None]:
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

        with closing(cursor_pages(fetch, depth=self._depth(self.config.page_size))) as pages:
            for page in pages:
                self.counters.list_pages += 1
                yield [d.raw_deal() for d in page.results]

    def _depth(self, page_size: int) -> int:
        """Pages fetched ahead: one association batch's worth, so that fetching goes on while the caller
        reads a batch's associations and companies and the pipeline stores it (one page ahead left the
        worker idle for most of that: 1.29x the rate-limit bound instead of 1.2 at 100k deals)."""
        return max(1, -(-self.config.association_batch_size // page_size))

    def _listed(self) -> Pages:
        first, *rest = list(chunks(self.properties, self.config.properties_per_request))
        with closing(self._list_pages(False, first)) as pages:
            for deals in pages:
                for more in rest:
                    deals = self._merge_properties(deals, more)
                yield deals, None

    def _merge_properties(self, deals: list[RawDeal], properties: Sequence[str]) -> list[RawDeal]:
        """Properties past the first chunk, read by batch (POST: no URL length limit) and merged in."""
        if not deals:
            return deals
        request = DealBatchRead(
            inputs=[DealId(id=d.id, local_vars_configuration=_MODEL_CONFIG) for d in deals],
            properties=list(properties),
            properties_with_history=[],
            local_vars_configuration=_MODEL_CONFIG,
        )
        api = self.client.apis.deals_batch
        answer = self.client.read(BatchRead, READ_DEALS, api.read, request, archived=False)
        extra = {r.id: r.properties for r in answer.results}
        return [
            RawDeal(d.id, {**d.properties, **extra.get(d.id, {})}, d.archived, d.archived_at, d.updated_at)
            for d in deals
        ]

    # -- searching (later pulls) ---------------------------------------------------------------------
    def _searched(self, since: datetime) -> Pages:
        cursor = _SearchCursor(low_ms=to_millis(since))
        while True:
            consumed, exhausted = 0, False
            start_low = cursor.low_ms
            with closing(self._search_query(cursor.low_ms, None)) as pages:
                for deals in pages:
                    consumed += len(deals)
                    fresh = [d for d in deals if not self._seen(cursor, start_low, d)]
                    self._advance(cursor, deals)
                    yield fresh, _from_millis(cursor.low_ms)
                    if not search_room(consumed, self.config.search_page_size):
                        break
                else:
                    exhausted = True
            if exhausted:
                return
            self.counters.search_restarts += 1
            if cursor.low_ms == start_low:
                # 10,000 deals at one instant: walk that instant by id, then go on after it.
                yield from self._walk_instant(cursor)
                cursor = _SearchCursor(low_ms=cursor.low_ms + 1)

    @staticmethod
    def _seen(cursor: _SearchCursor, start_low: int, deal: RawDeal) -> bool:
        modified = parse_datetime(deal.properties.get(MODIFIED))
        return modified is not None and to_millis(modified) == start_low and deal.id in cursor.ids_at_low

    @staticmethod
    def _advance(cursor: _SearchCursor, deals: Iterable[RawDeal]) -> None:
        for deal in deals:
            modified = parse_datetime(deal.properties.get(MODIFIED))
            if modified is None:
                continue
            ms = to_millis(modified)
            if ms > cursor.low_ms:
                cursor.low_ms, cursor.ids_at_low = ms, {deal.id}
            elif ms == cursor.low_ms:
                cursor.ids_at_low.add(deal.id)

    def _search_query(
        self, low_ms: int, high_ms: int | None, *, extra: Sequence[Filter] = (), sort: str = MODIFIED
    ) -> Generator[list[RawDeal], None, None]:
        filters = [
            Filter(property_name=MODIFIED, operator="GTE", value=str(low_ms)),
            *extra,
        ]
        if high_ms is not None:
            filters.append(Filter(property_name=MODIFIED, operator="LTE", value=str(high_ms)))
        api = self.client.apis.deals_search
        size = self.config.search_page_size

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
        with closing(cursor_pages(fetch, room, depth=self._depth(size))) as pages:
            for page in pages:
                self.counters.search_pages += 1
                yield [d.raw_deal() for d in page.results]

    def _walk_instant(self, cursor: _SearchCursor) -> Pages:
        instant = cursor.low_ms
        last_id = 0
        while True:
            consumed = 0
            progressed = False
            extra = [Filter(property_name=OBJECT_ID, operator="GT", value=str(last_id))]
            with closing(self._search_query(instant, instant, extra=extra, sort=OBJECT_ID)) as pages:
                for deals in pages:
                    consumed += len(deals)
                    fresh = [d for d in deals if d.id not in cursor.ids_at_low]
                    if deals:
                        last_id = max(last_id, max(int(d.id) for d in deals if d.id.isdigit()))
                        progressed = True
                    yield fresh, _from_millis(instant - 1)
                    if not search_room(consumed, self.config.search_page_size):
                        break
                else:
                    return
            if not progressed:
                return

    # -- associations and partners -------------------------------------------------------------------
    def _partner_ids(self, deals: Sequence[RawDeal]) -> dict[str, str]:
        prop = self.config.partner.deal_property
        if prop is not None:
            out: dict[str, str] = {}
            for d in deals:
                value = text(d.properties.get(prop))
                if value is not None:
                    out[d.id] = value
            return out
        if self.partner_type is None:
            return {}
        return self._labelled_companies([d.id for d in deals if not d.archived])

    def _labelled_companies(self, deal_ids: Sequence[str]) -> dict[str, str]:
        """deal id -> the lowest-id company associated with the partner label."""
        assert self.partner_type is not None
        category, type_id = self.partner_type
        found: dict[str, set[str]] = {}
        api = self.client.apis.association_batch
        todo: list[tuple[str, str | None]] = [(d, None) for d in deal_ids]
        while todo:
            batch, todo = (
                todo[: self.config.association_batch_size],
                todo[self.config.association_batch_size :],
            )
            request = BatchInputPublicFetchAssociationsBatchRequest(
                inputs=[
                    PublicFetchAssociationsBatchRequest(id=i, after=a, local_vars_configuration=_MODEL_CONFIG)
                    for i, a in batch
                ],
                local_vars_configuration=_MODEL_CONFIG,
            )
            answer = self.client.read(
                AssociationBatch, READ_ASSOCIATIONS, api.get_page, "deals", "companies", request
            )
            self.counters.association_reads += 1
            for result in answer.results:
                deal_id = result.source.id
                for target in result.to:
                    for kind in target.association_types:
                        if kind.type_id == type_id and kind.category == category:
                            found.setdefault(deal_id, set()).add(target.to_object_id)
                after = result.after
                if after is not None:
                    todo.append((deal_id, after))
        return {deal: min(ids, key=_id_order) for deal, ids in found.items()}

    def _partner_records(self, company_ids: set[str]) -> list[Partner]:
        if not company_ids:
            return []
        ordered = sorted(company_ids, key=_id_order)
        out: list[Partner] = []
        api = self.client.apis.companies_batch
        for ids in chunks(ordered, COMPANY_BATCH):
            request = CompanyBatchRead(
                inputs=[CompanyId(id=i, local_vars_configuration=_MODEL_CONFIG) for i in ids],
                properties=["name"],
                properties_with_history=[],
                local_vars_configuration=_MODEL_CONFIG,
            )
            answer = self.client.read(BatchRead, READ_COMPANIES, api.read, request, archived=False)
            named = {r.id: r.properties for r in answer.results}
            out.extend(partner(i, named.get(i)) for i in ids)
        self._partners_sent.update(ordered)
        return out

    # -- archived ------------------------------------------------------------------------------------
    def _archived(self, since: datetime | None) -> Iterator[str]:
        with closing(self._list_pages(True, [MODIFIED])) as pages:
            for deals in pages:
                for deal in deals:
                    if since is None or deal.archived_at is None or deal.archived_at >= since:
                        yield deal.id


def _id_order(value: str) -> tuple[int, str]:
    return (int(value), value) if value.isdigit() else (1 << 62, value)


def _from_millis(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000.0, tz=timezone.utc)
