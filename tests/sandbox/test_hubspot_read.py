"""Reading the HubSpot emulation with hubspot-api-client: list paging with associations, archived deals,
get by id, association labels, pipelines, and the seed mapped into HubSpot's shapes."""

from __future__ import annotations

import math
import ssl
from bisect import bisect_right
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from hubspot.crm.deals import ApiException as DealsApiException
from hubspot.crm.deals.exceptions import NotFoundException

from kpi_core.clock import utcnow
from partnerkpi.sandbox.generator import UNKNOWN_STAGE, SeedData
from partnerkpi.sandbox.hubspot import CHANNEL_SOURCES, PARTNER_LABEL_TYPE_ID, UNKNOWN_STAGE_ID
from tests.sandbox.hubspot_portal import TOKEN, Portal, PortalFactory, body_of

DEAL_BASE = 9_000_000_000
PARTNER_BASE = 5_000_000_000


def _live(data: SeedData) -> list[int]:
    return [o.key for o in data.opportunities if not o.deleted]


def test_pages_all_deals_with_associations_in_pages_of_100(portal: Portal) -> None:
    portal.sandbox.reset_counters()
    seen: list[dict[str, Any]] = []
    after = None
    while True:
        page = portal.deals.get_page(
            limit=100, after=after, properties=["dealname", "amount", "dealstage"], associations=["companies"]
        )
        seen.extend({"id": r.id, "assoc": r.associations, "props": r.properties} for r in page.results)
        if page.paging is None:
            break
        after = page.paging.next.after
        link = urlsplit(page.paging.next.link)
        assert f"{link.scheme}://{link.netloc}{link.path}" == portal.sandbox.url + "/crm/v3/objects/deals"
        assert parse_qs(link.query)["after"] == [after]  # the link alone fetches the next page
        assert parse_qs(link.query)["associations"] == ["companies"]
    live = _live(portal.data)
    assert [s["id"] for s in seen] == [str(DEAL_BASE + k) for k in live]
    assert portal.counter("hubspot.deals.list") == math.ceil(len(live) / 100)
    by_key = {o.key: o for o in portal.data.opportunities}
    for item in seen:
        o = by_key[int(str(item["id"])) - DEAL_BASE]
        props = item["props"]
        assert isinstance(props, dict) and set(props) == {"dealname", "amount", "dealstage"}
        assert all(v is None or isinstance(v, str) for v in props.values())
        assoc = item["assoc"]
        if o.partner_key is None:
            assert assoc is None  # direct deals have no company
            continue
        assert assoc is not None
        entries = {(a.id, a.type) for a in assoc["companies"].results}
        assert (str(PARTNER_BASE + o.partner_key), "partner") in entries
        assert (str(PARTNER_BASE + o.partner_key), "deal_to_company_unlabeled") in entries


def test_some_deals_have_an_unlabelled_customer_company_besides_the_partner(portal: Portal) -> None:
    partner_ids = [str(DEAL_BASE + o.key) for o in portal.data.opportunities if o.partner_key][:40]
    answer = portal.associations.get_page(
        from_object_type="deals",
        to_object_type="companies",
        batch_input_public_fetch_associations_batch_request={"inputs": [{"id": i} for i in partner_ids]},
    )
    assert not hasattr(answer, "errors") and len(answer.results) == len(partner_ids)  # a 200
    customer_links = 0
    for result in answer.results:
        labelled = [t for t in result.to if any(a.label == "Partner" for a in t.association_types)]
        assert len(labelled) == 1
        assert int(labelled[0].to_object_id) < PARTNER_BASE + 100_000  # the partner company
        partner_types = {(a.category, a.type_id) for a in labelled[0].association_types}
        assert partner_types == {("HUBSPOT_DEFINED", 341), ("USER_DEFINED", PARTNER_LABEL_TYPE_ID)}
        for other in result.to:
            if other is not labelled[0]:
                customer_links += 1
                assert all(a.category == "HUBSPOT_DEFINED" for a in other.association_types)
    assert customer_links > 0


def test_association_batch_read_reports_direct_deals_as_207_errors(portal: Portal) -> None:
    direct = next(o.key for o in portal.data.opportunities if o.partner_key is None)
    partner = next(o.key for o in portal.data.opportunities if o.partner_key is not None)
    answer = portal.associations.get_page(
        from_object_type="deals",
        to_object_type="companies",
        batch_input_public_fetch_associations_batch_request={
            "inputs": [{"id": str(DEAL_BASE + direct)}, {"id": str(DEAL_BASE + partner)}]
        },
    )
    assert [r._from.id for r in answer.results] == [str(DEAL_BASE + partner)]
    assert answer.num_errors == 1
    assert answer.errors[0].sub_category == "crm.associations.NO_ASSOCIATIONS_FOUND"
    assert answer.errors[0].context["fromObjectId"] == [str(DEAL_BASE + direct)]


def test_association_batch_read_refuses_more_than_1000_inputs(portal: Portal) -> None:
    from hubspot.crm.associations.v4 import ApiException

    with pytest.raises(ApiException) as raised:
        portal.associations.get_page(
            from_object_type="deals",
            to_object_type="companies",
            batch_input_public_fetch_associations_batch_request={
                "inputs": [{"id": str(i)} for i in range(1001)]
            },
        )
    assert raised.value.status == 400
    assert body_of(raised.value)["category"] == "VALIDATION_ERROR"


def test_association_labels_list_the_user_defined_partner_label(portal: Portal) -> None:
    labels = portal.labels.get_all(from_object_type="deals", to_object_type="companies").results
    by_id = {label.type_id: label for label in labels}
    assert by_id[341].category == "HUBSPOT_DEFINED" and by_id[341].label is None
    assert by_id[PARTNER_LABEL_TYPE_ID].category == "USER_DEFINED"
    assert by_id[PARTNER_LABEL_TYPE_ID].label == "Partner"


def test_archived_deals_are_listed_only_with_archived_true(portal: Portal) -> None:
    deleted = [str(DEAL_BASE + o.key) for o in portal.data.opportunities if o.deleted]
    victim = str(DEAL_BASE + _live(portal.data)[3])
    before = portal.emulation.deal_state(victim)["properties"]["hs_lastmodifieddate"]
    portal.emulation.admin("archive_deal", {"id": victim})
    listed = portal.deals.get_page(limit=100, archived=True)
    assert sorted(r.id for r in listed.results) == sorted([*deleted, victim])
    assert all(r.archived and r.archived_at is not None for r in listed.results)
    live = portal.deals.get_page(limit=100)
    assert victim not in {r.id for r in live.results}
    after = portal.deals.get_by_id(victim, archived=True, properties=["hs_lastmodifieddate"])
    assert after.properties["hs_lastmodifieddate"] == before  # archiving does not bump it
    with pytest.raises(NotFoundException):
        portal.deals.get_by_id(victim)


def test_get_by_id_and_the_404_of_an_unknown_deal(portal: Portal) -> None:
    key = _live(portal.data)[0]
    deal = portal.deals.get_by_id(str(DEAL_BASE + key))
    assert set(deal.properties) == {
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    }
    assert deal.properties["hs_object_id"] == deal.id
    with pytest.raises(NotFoundException) as raised:
        portal.deals.get_by_id("123")
    assert body_of(raised.value)["category"] == "OBJECT_NOT_FOUND"


def test_properties_parameter_takes_commas_and_repeats(portal: Portal) -> None:
    url = f"{portal.sandbox.url}/crm/v3/objects/deals?limit=2&properties=dealname,amount&properties=pipeline"
    with httpx.Client(
        verify=ssl.create_default_context(cafile=str(portal.sandbox.ca_path)), trust_env=False
    ) as client:
        answer = client.get(url, headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert set(answer["results"][0]["properties"]) == {"dealname", "amount", "pipeline"}
    assert answer["results"][0]["createdAt"].endswith("Z")


def test_pipelines_give_stage_metadata_as_strings(portal: Portal) -> None:
    pipelines = portal.pipelines.get_all(object_type="deals").results
    assert len(pipelines) == 2
    stage_ids = set()
    for pipeline in pipelines:
        for stage in pipeline.stages:
            stage_ids.add(stage.id)
            assert stage.metadata["isClosed"] in ("true", "false")
            assert isinstance(stage.metadata["probability"], str)
            float(stage.metadata["probability"])
    assert UNKNOWN_STAGE_ID not in stage_ids
    deals = portal.deals.get_page(limit=100, properties=["dealstage", "pipeline"]).results
    assert {d.properties["dealstage"] for d in deals} <= stage_ids | {UNKNOWN_STAGE_ID}
    assert {d.properties["pipeline"] for d in deals} == {p.id for p in pipelines}


def test_dirty_records_carry_a_stage_no_pipeline_knows(portal_factory: PortalFactory) -> None:
    portal = portal_factory(opportunities=3000)
    dirty = [o for o in portal.data.opportunities if o.stage == UNKNOWN_STAGE and not o.deleted]
    assert dirty, "the seed has dirty records"
    deal = portal.deals.get_by_id(str(DEAL_BASE + dirty[0].key), properties=["dealstage"])
    assert deal.properties["dealstage"] == UNKNOWN_STAGE_ID


def test_seed_values_map_to_hubspot_properties(portal: Portal) -> None:
    names = [
        "amount",
        "deal_currency_code",
        "amount_in_home_currency",
        "hs_is_closed_won",
        "hs_analytics_source",
        "closedate",
    ]
    results = []
    after = None
    while True:
        page = portal.deals.get_page(limit=100, after=after, properties=names)
        results.extend(page.results)
        if page.paging is None:
            break
        after = page.paging.next.after
    rates: dict[str, list[tuple[date, Decimal]]] = {}
    for dated in sorted(portal.data.dated_rates, key=lambda r: r.start):
        rates.setdefault(dated.currency, []).append((dated.start, dated.rate))
    by_key = {o.key: o for o in portal.data.opportunities}
    checked_foreign_closed = checked_foreign_open = 0
    for deal in results:
        o = by_key[int(deal.id) - DEAL_BASE]
        p = deal.properties
        assert p["deal_currency_code"] == o.currency
        assert p["hs_is_closed_won"] == ("true" if o.stage == "closed_won" else "false")
        assert p["hs_analytics_source"] == (CHANNEL_SOURCES[o.channel] if o.channel else None)
        assert p["closedate"] == f"{o.close_date.isoformat()}T00:00:00.000Z"
        if o.amount is None:
            assert p["amount"] is None and p["amount_in_home_currency"] is None
            continue
        assert Decimal(p["amount"]) == o.amount
        if o.currency == "USD":
            assert Decimal(p["amount_in_home_currency"]) == o.amount
            continue
        closed = o.stage in ("closed_won", "closed_lost")
        day = o.close_date if closed else utcnow().date()
        table = rates[o.currency]
        rate = table[max(0, bisect_right([d for d, _ in table], day) - 1)][1]
        assert abs(Decimal(p["amount_in_home_currency"]) - o.amount / rate) <= Decimal("0.005")
        if closed:
            checked_foreign_closed += 1
        else:
            checked_foreign_open += 1
    assert checked_foreign_closed > 0 and checked_foreign_open > 0


def test_companies_are_the_partners_and_some_customers(portal: Portal) -> None:
    page = portal.companies.get_page(limit=100, properties=["name", "domain", "type"])
    partners = [c for c in page.results if c.properties["type"] == "PARTNER"]
    assert [c.properties["name"] for c in partners] == [p.name for p in portal.data.partners]
    assert all(c.properties["domain"] for c in page.results)
    assert len(page.results) > len(partners)


def test_an_unknown_query_type_is_refused_by_the_sdk_not_the_server(portal: Portal) -> None:
    with pytest.raises(DealsApiException) as raised:
        portal.deals.get_by_id("not-a-number")
    assert raised.value.status == 404
