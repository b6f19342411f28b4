"""The HubSpot v3/v4 calls third-party clients make (Airbyte source-hubspot 5.7, dlt's verified hubspot source),
answered as HubSpot answers them: custom-object schemas, top-level search filters, associations to object
types the portal has none of, and the companies list with ``associations=deals``."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from partnerkpi.sandbox.hubspot.schema import parse_instant
from tests.sandbox.hubspot_portal import TOKEN, Portal, PortalFactory

DEAL_BASE = 9_000_000_000
PARTNER_BASE = 5_000_000_000


@pytest.fixture(name="http")
def http_fixture(portal: Portal) -> Iterator[httpx.Client]:
    with _client(portal) as client:
        yield client


@contextmanager
def _client(portal: Portal) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=portal.sandbox.url,
        headers={"Authorization": f"Bearer {TOKEN}"},
        verify=ssl.create_default_context(cafile=str(portal.sandbox.ca_path)),
        trust_env=False,
        timeout=60,
    ) as client:
        yield client


def _modified_ms(portal: Portal, deal_id: str) -> int:
    record = portal.emulation.portal.deal(int(deal_id) - DEAL_BASE)
    moment = parse_instant(record.props["hs_lastmodifieddate"] or "")
    assert moment is not None
    return round(moment.timestamp() * 1000)


def _live_ids(portal: Portal) -> list[str]:
    return [str(DEAL_BASE + o.key) for o in portal.data.opportunities if not o.deleted]


# -- custom object schemas -------------------------------------------------------------------------------
def test_schemas_of_a_portal_without_custom_objects_are_an_empty_list(http: httpx.Client) -> None:
    answer = http.get("/crm/v3/schemas")
    assert answer.status_code == 200
    assert answer.json() == {"results": []}


def test_owners_list_the_portals_one_user_and_no_archived_ones(http: httpx.Client) -> None:
    (owner,) = http.get("/crm/v3/owners/").json()["results"]  # dlt asks with the trailing slash
    assert owner["archived"] is False and owner["email"] and owner["id"].isdigit()
    assert http.get("/crm/v3/owners", params={"archived": "true"}).json() == {"results": []}


# -- top-level search filters ----------------------------------------------------------------------------
def _airbyte_body(low: int, high: int, from_id: int, after: int = 0) -> dict[str, Any]:
    """The incremental search body of Airbyte source-hubspot 5.7's manifest (base_crm_search_incremental)."""
    return {
        "limit": 200,
        "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
        "filters": [
            {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": str(low)},
            {"propertyName": "hs_lastmodifieddate", "operator": "LTE", "value": str(high)},
            {"propertyName": "hs_object_id", "operator": "GTE", "value": str(from_id)},
        ],
        "properties": ["dealname", "hs_lastmodifieddate"],
        "after": str(after),
    }


def test_top_level_filters_narrow_the_search(portal: Portal, http: httpx.Client) -> None:
    ids = _live_ids(portal)
    stamps = sorted(_modified_ms(portal, i) for i in ids)
    low, high = stamps[len(stamps) // 3], stamps[2 * len(stamps) // 3]
    expected = sorted((i for i in ids if low <= _modified_ms(portal, i) <= high), key=int)
    answer = http.post("/crm/v3/objects/deal/search", json=_airbyte_body(low, high, 0)).json()
    assert answer["total"] == len(expected) < len(ids)
    assert [r["id"] for r in answer["results"]] == expected[:200]


def test_top_level_filters_are_anded_with_every_filter_group(portal: Portal, http: httpx.Client) -> None:
    ids = _live_ids(portal)
    middle = ids[len(ids) // 2]
    groups = [
        {"filters": [{"propertyName": "dealstage", "operator": "EQ", "value": "closedwon"}]},
        {"filters": [{"propertyName": "dealstage", "operator": "EQ", "value": "10295105"}]},
    ]
    body = {
        "filterGroups": groups,
        "filters": [{"propertyName": "hs_object_id", "operator": "GT", "value": middle}],
        "limit": 200,
    }
    found = [r["id"] for r in http.post("/crm/v3/objects/deals/search", json=body).json()["results"]]
    deals = portal.emulation.portal
    expected = [
        i
        for i in ids
        if int(i) > int(middle)
        and deals.deal(int(i) - DEAL_BASE).props["dealstage"] in ("closedwon", "10295105")
    ]
    assert found == expected and expected


def test_airbyte_restarts_past_the_10000_cap_on_hs_object_id_and_sees_every_deal_once(
    portal_factory: PortalFactory,
) -> None:
    portal = portal_factory(seed=3, partners=10, opportunities=10_400)
    ids = _live_ids(portal)
    assert len(ids) > 10_000
    seen: list[str] = []
    with _client(portal) as http:
        from_id, after = 0, 0
        while True:  # HubspotCRMSearchPaginationStrategy, step by step
            answer = http.post(
                "/crm/v3/objects/deals/search", json=_airbyte_body(0, 2**42, from_id, after)
            ).json()
            page = [r["id"] for r in answer["results"]]
            seen.extend(page)
            if after + len(page) >= 10_000:
                from_id, after = int(page[-1]) + 1, 0
                continue
            if len(page) < 200 or not answer.get("paging"):
                break
            after += len(page)
        refused = http.post("/crm/v3/objects/deals/search", json=_airbyte_body(0, 2**42, 0, 10_000))
    assert seen == ids  # every deal once, in id order, though the query restarted past 10,000
    assert refused.status_code == 400 and refused.json()["category"] == "VALIDATION_ERROR"


# -- associations to object types the portal has none of ------------------------------------------------
@pytest.mark.parametrize("to", ["contacts", "line_items", "contact", "0-8"])
def test_a_deal_has_no_contacts_or_line_items_rather_than_a_404(
    portal: Portal, http: httpx.Client, to: str
) -> None:
    deal = _live_ids(portal)[0]
    v3 = http.get(f"/crm/v3/objects/deals/{deal}/associations/{to}")
    v4 = http.get(f"/crm/v4/objects/deal/{deal}/associations/{to}")
    assert (v3.status_code, v3.json()) == (200, {"results": []})
    assert (v4.status_code, v4.json()) == (200, {"results": []})
    batch = http.post(f"/crm/v4/associations/deal/{to}/batch/read", json={"inputs": [{"id": deal}]})
    assert batch.status_code == 207
    body = batch.json()
    assert body["results"] == [] and body["numErrors"] == 1
    assert body["errors"][0]["subCategory"] == "crm.associations.NO_ASSOCIATIONS_FOUND"


def test_a_company_has_no_contacts_rather_than_a_404(portal: Portal, http: httpx.Client) -> None:
    company = str(PARTNER_BASE + 1)
    answer = http.post("/crm/v4/associations/company/contacts/batch/read", json={"inputs": [{"id": company}]})
    assert answer.status_code == 207 and answer.json()["results"] == []
    assert http.get(f"/crm/v3/objects/companies/{company}/associations/contacts").json() == {"results": []}


def test_an_unknown_object_type_is_a_404_in_hubspots_error_format(portal: Portal, http: httpx.Client) -> None:
    deal = _live_ids(portal)[0]
    for answer in (
        http.get(f"/crm/v3/objects/deals/{deal}/associations/gizmos"),
        http.post("/crm/v4/associations/deals/gizmos/batch/read", json={"inputs": [{"id": deal}]}),
    ):
        assert answer.status_code == 404
        body = answer.json()
        assert body["status"] == "error" and body["category"] == "OBJECT_NOT_FOUND"
        assert "gizmos" in body["message"] and body["correlationId"]


def test_a_list_asking_for_associations_of_an_unknown_type_is_refused_as_hubspot_does(
    http: httpx.Client,
) -> None:
    answer = http.get("/crm/v3/objects/companies", params={"associations": "false"})
    assert answer.status_code == 400
    assert answer.json()["message"] == "Unable to infer object type from: false"


def test_v4_reads_a_companys_deals_with_the_inverse_association_types(
    portal: Portal, http: httpx.Client
) -> None:
    partner = portal.data.partners[0]
    company = str(PARTNER_BASE + partner.key)
    expected = sorted(
        str(DEAL_BASE + o.key)
        for o in portal.data.opportunities
        if o.partner_key == partner.key and not o.deleted
    )
    answer = http.post("/crm/v4/associations/companies/deals/batch/read", json={"inputs": [{"id": company}]})
    assert answer.status_code == 200
    (result,) = answer.json()["results"]
    assert sorted(str(t["toObjectId"]) for t in result["to"]) == expected
    types = {(a["category"], a["typeId"]) for t in result["to"] for a in t["associationTypes"]}
    assert {("HUBSPOT_DEFINED", 342), ("USER_DEFINED", 8)} <= types


# -- the companies list with associations, as dlt reads it -----------------------------------------------
def _follow(http: httpx.Client, first: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Pages by ``paging.next.link`` alone, as dlt's verified source does."""
    page: dict[str, Any] | None = first
    while page is not None:
        yield page
        link = page.get("paging", {}).get("next", {}).get("link")
        page = http.get(link).json() if link else None


def test_the_companies_list_links_each_company_to_its_deals(portal_factory: PortalFactory) -> None:
    portal = portal_factory(opportunities=1500)
    with _client(portal) as http:
        _check_company_links(portal, http)


def _check_company_links(portal: Portal, http: httpx.Client) -> None:
    first = http.get(  # dlt's CRM_COMPANIES_ENDPOINT and its params, as requests joins them
        "/crm/v3/objects/companies?associations=contacts,deals,products,tickets,quotes"
        "&properties=name%2Cdomain&limit=5"
    ).json()
    linked: dict[str, set[str]] = {}
    companies = 0
    for page in _follow(http, first):
        for company in page["results"]:
            companies += 1
            assert set(company["properties"]) == {"name", "domain"}  # later pages keep the properties
            deals = company.get("associations", {}).get("deals")
            assert set(company.get("associations", {})) <= {"deals"}  # no contacts, tickets...: omitted
            if deals is None:
                continue
            ids = {row["id"] for part in _follow(http, deals) for row in part["results"]}
            linked[company["id"]] = ids
    assert companies == len(portal.emulation.portal.companies)
    expected: dict[str, set[str]] = {}
    for key in range(1, len(portal.data.opportunities) + 1):
        if portal.emulation.portal.is_archived(key):
            continue
        for a in portal.emulation.portal.deal_associations(key):
            expected.setdefault(a.company_id, set()).add(str(DEAL_BASE + key))
    assert linked == expected
    assert any(len(ids) > 100 for ids in linked.values())  # the embedded page of 100 was followed


def test_companies_and_deals_share_one_association_rendering(portal: Portal, http: httpx.Client) -> None:
    deal = next(o for o in portal.data.opportunities if o.partner_key is not None and not o.deleted)
    company = str(PARTNER_BASE + (deal.partner_key or 0))
    got_deal = http.get(f"/crm/v3/objects/deals/{DEAL_BASE + deal.key}", params={"associations": "companies"})
    got_company = http.get(f"/crm/v3/objects/companies/{company}", params={"associations": "deal"})
    to_company = got_deal.json()["associations"]["companies"]["results"]
    assert {"id": company, "type": "deal_to_company_unlabeled"} in to_company
    rows = [
        row for page in _follow(http, got_company.json()["associations"]["deals"]) for row in page["results"]
    ]
    assert {"id": str(DEAL_BASE + deal.key), "type": "company_to_deal_unlabeled"} in rows
    assert {"id": str(DEAL_BASE + deal.key), "type": "partner"} in rows
