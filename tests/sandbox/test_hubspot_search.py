"""The HubSpot emulation's search through hubspot-api-client: filters and sorts against the seed's truth,
the limit of 200, the 10,000-result cap (paging past it answers 400, as HubSpot does) and the separate
search rate limit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hubspot.crm.deals import ApiException, PublicObjectSearchRequest

from partnerkpi.sandbox.generator import SeedOpportunity
from tests.sandbox.hubspot_portal import Portal, PortalFactory, body_of

DEAL_BASE = 9_000_000_000


def _search(portal: Portal, **body: Any) -> Any:
    return portal.deals_search.do_search(public_object_search_request=PublicObjectSearchRequest(**body))


def _all_ids(portal: Portal, **body: Any) -> Iterator[str]:
    after = None
    while True:
        page = _search(portal, after=after, limit=200, **body)
        yield from (r.id for r in page.results)
        if page.paging is None:
            return
        after = page.paging.next.after


def _live(portal: Portal) -> list[SeedOpportunity]:
    return [o for o in portal.data.opportunities if not o.deleted]


def _ids(opps: list[SeedOpportunity]) -> list[str]:
    return [str(DEAL_BASE + o.key) for o in opps]


def test_eq_on_a_calculated_bool_matches_the_won_deals(portal: Portal) -> None:
    won = [o for o in _live(portal) if o.stage == "closed_won"]
    groups = [{"filters": [{"propertyName": "hs_is_closed_won", "operator": "EQ", "value": "true"}]}]
    first = _search(portal, filter_groups=groups, limit=5)
    assert first.total == len(won)
    assert list(_all_ids(portal, filter_groups=groups)) == _ids(won)  # default order: by id


def test_between_and_in_and_or_groups(portal: Portal) -> None:
    groups = [
        {
            "filters": [
                {"propertyName": "amount", "operator": "BETWEEN", "value": "5000", "highValue": "20000"},
                {"propertyName": "deal_currency_code", "operator": "IN", "values": ["EUR", "GBP"]},
            ]
        },
        {"filters": [{"propertyName": "amount", "operator": "NOT_HAS_PROPERTY"}]},
    ]
    expected = [
        o
        for o in _live(portal)
        if (o.amount is not None and 5000 <= o.amount <= 20000 and o.currency in ("EUR", "GBP"))
        or o.amount is None
    ]
    assert list(_all_ids(portal, filter_groups=groups)) == _ids(expected)


def test_modified_range_in_epoch_millis_sorted_descending(portal: Portal) -> None:
    live = _live(portal)
    pivot = sorted(o.modified_at for o in live)[len(live) // 2]
    millis = str(int(pivot.timestamp() * 1000))
    groups = [{"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": millis}]}]
    found = list(
        _all_ids(
            portal,
            filter_groups=groups,
            sorts=[{"propertyName": "hs_lastmodifieddate", "direction": "DESCENDING"}],
        )
    )
    expected = [o for o in live if o.modified_at >= pivot]
    assert sorted(found) == sorted(_ids(expected))
    by_id = {str(DEAL_BASE + o.key): o for o in live}
    stamps = [by_id[i].modified_at for i in found]
    assert stamps == sorted(stamps, reverse=True)


def test_search_sees_an_edit_made_in_the_portal(portal: Portal) -> None:
    target = str(DEAL_BASE + _live(portal)[0].key)
    since = str(int((datetime.now(timezone.utc) - timedelta(minutes=1)).timestamp() * 1000))
    groups = [{"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GT", "value": since}]}]
    assert _search(portal, filter_groups=groups).total == 0
    portal.emulation.admin("update_deal", {"id": target, "dealstage": "closedwon", "amount": "1234"})
    answer = _search(portal, filter_groups=groups, properties=["dealstage", "amount", "hs_is_closed_won"])
    assert [r.id for r in answer.results] == [target]
    assert answer.results[0].properties == {
        "dealstage": "closedwon",
        "amount": "1234",
        "hs_is_closed_won": "true",
    }


def test_contains_token_and_neq(portal: Portal) -> None:
    live = _live(portal)
    groups = [
        {
            "filters": [
                {"propertyName": "dealname", "operator": "CONTAINS_TOKEN", "value": "1*"},
                {"propertyName": "deal_currency_code", "operator": "NEQ", "value": "usd"},
            ]
        }
    ]
    expected = [o for o in live if str(o.key).startswith("1") and o.currency != "USD"]
    assert list(_all_ids(portal, filter_groups=groups)) == _ids(expected)


def test_limit_above_200_is_refused(portal: Portal) -> None:
    with pytest.raises(ApiException) as raised:
        _search(portal, limit=201)
    assert raised.value.status == 400
    assert body_of(raised.value)["category"] == "VALIDATION_ERROR"


def test_paging_past_10000_results_answers_400(portal_factory: PortalFactory) -> None:
    portal = portal_factory(seed=3, partners=10, opportunities=10_400)
    live = len(_live(portal))
    assert live > 10_000
    portal.sandbox.reset_counters()
    sorts = [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}]
    seen: list[str] = []
    after = None
    with pytest.raises(ApiException) as raised:
        while True:
            page = _search(portal, after=after, limit=200, sorts=sorts, properties=["hs_lastmodifieddate"])
            assert page.total == live
            seen.extend(r.id for r in page.results)
            assert page.paging is not None  # there is always more: the cap stops us, not the data
            after = page.paging.next.after
    assert len(seen) == 10_000 and after == "10000"
    assert raised.value.status == 400
    assert body_of(raised.value)["category"] == "VALIDATION_ERROR"
    assert portal.counter("hubspot.deals.search") == 51

    # HubSpot's remedy: restart the query after the last value seen; the rest then fits under the cap.
    last = portal.deals.get_by_id(seen[-1], properties=["hs_lastmodifieddate"]).properties[
        "hs_lastmodifieddate"
    ]
    cursor = str(int(datetime.fromisoformat(last.replace("Z", "+00:00")).timestamp() * 1000))
    groups = [{"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GT", "value": cursor}]}]
    rest = list(_all_ids(portal, filter_groups=groups, sorts=sorts))
    assert len(set(seen) | set(rest)) == live


def test_search_has_its_own_rate_limit_and_no_rate_headers(portal: Portal) -> None:
    portal.emulation.limits.monotonic = lambda: 1000.0  # one frozen second
    portal.emulation.faults.search_rate_per_second = 2
    _, status, headers = portal.deals_search.do_search_with_http_info(
        public_object_search_request=PublicObjectSearchRequest(limit=1)
    )
    assert status == 200
    assert not any(k.lower().startswith("x-hubspot-ratelimit") for k in headers)
    _search(portal, limit=1)
    with pytest.raises(ApiException) as raised:
        _search(portal, limit=1)
    assert raised.value.status == 429
    body = body_of(raised.value)
    assert body["errorType"] == "RATE_LIMIT" and body["policyName"] == "SECONDLY"
    assert portal.deals.get_page(limit=1).results  # other endpoints are not held by the search limit
    portal.emulation.limits.monotonic = lambda: 1001.5
    assert _search(portal, limit=1).total > 0


def test_the_modified_date_index_answers_as_the_full_scan_does(portal: Portal) -> None:
    live = _live(portal)
    touched = _ids(live[:3])
    for deal_id in touched:
        portal.emulation.admin("update_deal", {"id": deal_id, "amount": "42"})
    portal.emulation.archive_deal(_ids(live[5:6])[0])
    stamps = sorted(o.modified_at for o in live)
    low = str(int(stamps[len(stamps) // 4].timestamp() * 1000))
    high = stamps[3 * len(stamps) // 4].isoformat()
    bounded = [
        {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": low},
        {"propertyName": "hs_lastmodifieddate", "operator": "LT", "value": high},
    ]
    open_ended = [{"propertyName": "hs_lastmodifieddate", "operator": "GT", "value": low}]
    scan = [{"propertyName": "hs_object_id", "operator": "HAS_PROPERTY"}]  # forces the full scan
    for filters in (bounded, open_ended):
        for direction in ("ASCENDING", "DESCENDING"):
            sorts = [{"propertyName": "hs_lastmodifieddate", "direction": direction}]
            indexed = list(_all_ids(portal, filter_groups=[{"filters": filters}], sorts=sorts))
            scanned = list(_all_ids(portal, filter_groups=[{"filters": filters + scan}], sorts=sorts))
            assert indexed == scanned and indexed
        by_id = list(_all_ids(portal, filter_groups=[{"filters": filters}]))
        assert by_id == sorted(by_id, key=int)
    recent = list(_all_ids(portal, filter_groups=[{"filters": open_ended}]))
    assert set(touched) <= set(recent)  # edited deals are found through the index too
