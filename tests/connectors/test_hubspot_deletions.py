"""How the HubSpot puller finds archived (deleted) deals: by comparing HubSpot's count of live deals with
the count it expects, listing the archived deals only on a difference, on a first pull, on an older
watermark, or when the last listing is older than ``archived_listing_interval_hours``. Through the SDK
against the sandbox, counted by the sandbox's own call counters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from connectors.base import PullBatch
from connectors.errors import ConnectorError
from connectors.hubspot import HubSpotConnector
from connectors.hubspot.deletions import live_count
from connectors.hubspot.watermark import HubSpotWatermark
from kpi_core import clock
from tests.connectors.test_hubspot_sandbox import T0, Portal, deleted, opportunities, portal, read_mark


@pytest.fixture
def small() -> Iterator[Portal]:
    with portal(2_000) as p:
        yield p


def pull_at(p: Portal, connector: HubSpotConnector, at: datetime, watermark: str | None) -> list[PullBatch]:
    p.sandbox.reset_counters()
    with clock.frozen(at):
        return list(connector.pull(watermark))


def final_watermark(batches: list[PullBatch]) -> str:
    mark = batches[-1].watermark
    assert mark is not None
    return mark


def deal_reads(p: Portal) -> dict[str, int]:
    return {k: p.count(k) for k in ("deals.search", "deals.list", "deals.batch_read")}


def test_the_sandbox_search_total_counts_every_match_not_the_page(small: Portal) -> None:
    client = small.connector().client
    portal = small.emulation.portal
    created = sorted(
        datetime.fromisoformat(
            (portal.deal(portal.deal_key(i) or 0).props["createdate"] or "").replace("Z", "+00:00")
        )
        for i in small.live_deal_ids()
    )
    middle = created[len(created) // 2]
    assert live_count(client, T0) == len(created) > 200
    assert live_count(client, middle) == sum(1 for c in created if c <= middle)
    assert live_count(client, created[0] - timedelta(seconds=1)) == 0


def test_a_first_pull_lists_the_archived_deals_and_records_the_count(small: Portal) -> None:
    connector = small.connector()
    first = pull_at(small, connector, T0, None)
    assert deleted(first) == small.archived_deal_ids()
    mark = read_mark(final_watermark(first))
    assert mark == HubSpotWatermark(modified=T0, live_deals=len(small.live_deal_ids()), archived_listed=T0)
    assert small.count("deals.search") == 1  # the count: one call more than before


def test_a_no_change_rerun_reads_deals_twice_and_lists_no_archived_deal(small: Portal) -> None:
    connector = small.connector()
    first = pull_at(small, connector, T0, None)
    second = pull_at(small, connector, T0 + timedelta(hours=1), final_watermark(first))
    assert opportunities(second) == {} and deleted(second) == set()
    assert deal_reads(small) == {"deals.search": 2, "deals.list": 0, "deals.batch_read": 0}
    assert connector.stats.extra["hubspot_archived_listings"] == 0
    mark = read_mark(final_watermark(second))
    assert mark == HubSpotWatermark(
        modified=T0 + timedelta(hours=1), live_deals=len(small.live_deal_ids()), archived_listed=T0
    )


def test_an_archived_deal_is_reported_as_deleted_on_the_next_run(small: Portal) -> None:
    connector = small.connector()
    first = pull_at(small, connector, T0, None)
    victim = sorted(opportunities(first), key=int)[10]
    with clock.frozen(T0 + timedelta(hours=1)):
        small.emulation.archive_deal(victim)
    second = pull_at(small, connector, T0 + timedelta(hours=2), final_watermark(first))
    assert deleted(second) == {victim}
    assert small.count("deals.list") >= 1
    third = pull_at(small, connector, T0 + timedelta(hours=3), final_watermark(second))
    assert deleted(third) == set() and small.count("deals.list") == 0  # counted again: nothing new


def test_a_created_and_an_archived_deal_in_one_interval_are_both_caught(small: Portal) -> None:
    connector = small.connector()
    first = pull_at(small, connector, T0, None)
    victim = sorted(opportunities(first), key=int)[20]
    with clock.frozen(T0 + timedelta(hours=1)):
        created = small.emulation.create_deal({"dealname": "new one", "amount": "1200"})["id"]
        small.emulation.archive_deal(victim)
    second = pull_at(small, connector, T0 + timedelta(hours=2), final_watermark(first))
    assert created in opportunities(second)
    assert deleted(second) == {victim}
    mark = read_mark(final_watermark(second))
    assert mark.live_deals == len(small.live_deal_ids())


def test_a_created_deal_alone_does_not_list_the_archived_deals(small: Portal) -> None:
    connector = small.connector()
    first = pull_at(small, connector, T0, None)
    with clock.frozen(T0 + timedelta(hours=1)):
        created = small.emulation.create_deal({"dealname": "new one"})["id"]
    second = pull_at(small, connector, T0 + timedelta(hours=2), final_watermark(first))
    assert set(opportunities(second)) == {created}
    assert small.count("deals.list") == 0 and deleted(second) == set()


def test_the_safety_valve_lists_the_archived_deals_after_the_interval(small: Portal) -> None:
    """A deal created with a back-dated createdate (not counted as new) hides an archived one from the
    count; the listing after ``archived_listing_interval_hours`` still reports the deletion."""
    connector = small.connector(archived_listing_interval_hours=6)
    first = pull_at(small, connector, T0, None)
    victim = sorted(opportunities(first), key=int)[30]
    with clock.frozen(T0 + timedelta(hours=1)):
        small.emulation.archive_deal(victim)
        small.emulation.create_deal({"dealname": "imported", "createdate": "2026-01-05T10:00:00.000Z"})
    masked = pull_at(small, connector, T0 + timedelta(hours=2), final_watermark(first))
    assert deleted(masked) == set() and small.count("deals.list") == 0  # the count cannot tell
    still = pull_at(small, connector, T0 + timedelta(hours=5), final_watermark(masked))
    assert deleted(still) == set() and small.count("deals.list") == 0
    valve = pull_at(small, connector, T0 + timedelta(hours=6), final_watermark(still))
    assert deleted(valve) == {victim}
    assert small.count("deals.list") >= 1
    assert read_mark(final_watermark(valve)).archived_listed == T0 + timedelta(hours=6)
    after = pull_at(small, connector, T0 + timedelta(hours=7), final_watermark(valve))
    assert small.count("deals.list") == 0 and deleted(after) == set()


def test_the_older_plain_time_watermark_still_works(small: Portal) -> None:
    connector = small.connector()
    pull_at(small, connector, T0, None)
    victim = sorted(small.live_deal_ids(), key=int)[40]
    with clock.frozen(T0 + timedelta(hours=1)):
        small.emulation.archive_deal(victim)
        small.emulation.touch_deals(5)
    old = T0.isoformat()  # what earlier versions stored
    second = pull_at(small, connector, T0 + timedelta(hours=2), old)
    assert len(opportunities(second)) == 5
    assert deleted(second) == {victim}  # archived since the old watermark only
    assert small.count("deals.list") >= 1  # no count to compare with: listed as before
    mark = read_mark(final_watermark(second))
    later = T0 + timedelta(hours=2)
    assert mark == HubSpotWatermark(
        modified=later, live_deals=len(small.live_deal_ids()), archived_listed=later
    )
    third = pull_at(small, connector, T0 + timedelta(hours=3), final_watermark(second))
    assert deal_reads(small) == {"deals.search": 2, "deals.list": 0, "deals.batch_read": 0}
    assert deleted(third) == set()


def test_a_watermark_left_mid_pull_makes_the_resumed_run_list_since_the_last_listing(small: Portal) -> None:
    """Mid-pull watermarks carry no count: a run resumed from one lists the archived deals, from the
    last listing's cut-off (not from the mid-pull mark, which may be hours later)."""
    connector = small.connector(association_batch_size=100)
    first = pull_at(small, connector, T0, None)
    victim = sorted(opportunities(first), key=int)[50]
    with clock.frozen(T0 + timedelta(hours=1)):
        small.emulation.archive_deal(victim)
    with clock.frozen(T0 + timedelta(hours=3)):
        small.emulation.touch_deals(300)
    second = pull_at(small, connector, T0 + timedelta(hours=4), final_watermark(first))
    mid = next(b.watermark for b in second if b.watermark and b.opportunities)
    assert mid is not None
    parsed = read_mark(mid)
    assert parsed.live_deals is None and parsed.archived_listed == T0
    assert parsed.modified > T0 + timedelta(hours=2)
    resumed = pull_at(small, connector, T0 + timedelta(hours=5), mid)
    assert deleted(resumed) == {victim}


def test_a_bad_watermark_is_a_clear_error(small: Portal) -> None:
    with pytest.raises(ConnectorError, match="not an ISO 8601 time"):
        HubSpotWatermark.load("yesterday live=3")
    with pytest.raises(ConnectorError, match="bad live count"):
        HubSpotWatermark.load(f"{T0.isoformat()} live=many archived_listed={T0.isoformat()}")
