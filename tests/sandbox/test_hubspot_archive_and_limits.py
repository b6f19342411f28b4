"""The HubSpot emulation where it follows the real API, through hubspot-api-client: archiving (DELETE one,
batch archive) for deals and companies, the search filter and body limits of HubSpot's search reference,
and number property values HubSpot refuses (an amount of "1e400") answered with its 400 body, never a 500.
"""

from __future__ import annotations

import json
import ssl
from typing import Any

import httpx
import pytest
from hubspot.crm.companies import ApiException as CompaniesApiException
from hubspot.crm.companies import BatchInputSimplePublicObjectId as CompanyIds
from hubspot.crm.companies import BatchReadInputSimplePublicObjectId as CompanyReadIds
from hubspot.crm.companies import PublicObjectSearchRequest as CompanySearch
from hubspot.crm.deals import (
    ApiException,
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.deals.exceptions import NotFoundException

from tests.sandbox.hubspot_portal import TOKEN, Portal, body_of

DEAL_BASE = 9_000_000_000


def _live_ids(portal: Portal, n: int) -> list[str]:
    return [str(DEAL_BASE + o.key) for o in portal.data.opportunities if not o.deleted][:n]


def _found(portal: Portal, deal_id: str) -> int:
    """How many deals a search for this id finds (1 while it is live)."""
    request = PublicObjectSearchRequest(
        filter_groups=[{"filters": [{"propertyName": "hs_object_id", "operator": "EQ", "value": deal_id}]}]
    )
    total: int = portal.deals_search.do_search(public_object_search_request=request).total
    return total


def _listed(portal: Portal, archived: bool) -> set[str]:
    ids: set[str] = set()
    after = None
    while True:
        page = portal.deals.get_page(limit=100, after=after, archived=archived)
        ids.update(r.id for r in page.results)
        if page.paging is None:
            return ids
        after = page.paging.next.after


def _post(portal: Portal, path: str, body: Any) -> httpx.Response:
    """A raw request, for bodies the SDK's models would refuse before sending."""
    with httpx.Client(
        verify=ssl.create_default_context(cafile=str(portal.sandbox.ca_path)), trust_env=False
    ) as client:
        return client.post(
            f"{portal.sandbox.url}{path}", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
        )


# -- archive ---------------------------------------------------------------------------------------


def test_delete_of_a_deal_answers_204_and_moves_it_from_list_get_and_search_to_the_archived_listing(
    portal: Portal,
) -> None:
    victim = _live_ids(portal, 1)[0]
    modified = portal.deals.get_by_id(victim, properties=["hs_lastmodifieddate"]).properties
    assert _found(portal, victim) == 1 and victim in _listed(portal, archived=False)
    portal.sandbox.reset_counters()

    assert portal.deals.archive(victim) is None  # the SDK's answer to a 204
    assert portal.counter("hubspot.deals.archive") == 1

    assert victim not in _listed(portal, archived=False)
    assert victim in _listed(portal, archived=True)
    assert _found(portal, victim) == 0
    with pytest.raises(NotFoundException):
        portal.deals.get_by_id(victim)
    archived = portal.deals.get_by_id(victim, archived=True, properties=["hs_lastmodifieddate"])
    assert archived.archived is True and archived.archived_at is not None
    assert archived.properties["hs_lastmodifieddate"] == modified["hs_lastmodifieddate"]
    with pytest.raises(ApiException) as raised:  # an archived deal cannot be updated any more
        portal.deals.update(
            victim, simple_public_object_input=SimplePublicObjectInput(properties={"amount": "1"})
        )
    assert raised.value.status == 404


def test_delete_of_an_unknown_or_already_archived_deal_also_answers_204(portal: Portal) -> None:
    victim = _live_ids(portal, 1)[0]
    archived_before = portal.emulation.state()["archived_deals"]
    portal.deals.archive(victim)
    first = portal.emulation.deal_state(victim)
    portal.deals.archive(victim)  # again: nothing changes, still 204
    portal.deals.archive("9999999999999")  # no such deal: 204, as HubSpot answers
    assert portal.emulation.state()["archived_deals"] == archived_before + 1
    assert (
        portal.deals.get_by_id(victim, archived=True).archived_at
        == portal.deals.get_by_id(victim, archived=True).archived_at
    )
    assert portal.emulation.deal_state(victim) == first


def test_batch_archive_of_deals_answers_204_and_archives_every_input(portal: Portal) -> None:
    ids = _live_ids(portal, 4)
    archived_before = portal.emulation.state()["archived_deals"]
    answer = portal.deals_batch.archive(
        batch_input_simple_public_object_id=BatchInputSimplePublicObjectId(
            inputs=[{"id": i} for i in ids[:3]]
        )
    )
    assert answer is None
    assert portal.emulation.state()["archived_deals"] == archived_before + 3
    assert [_found(portal, i) for i in ids] == [0, 0, 0, 1]
    assert set(ids[:3]) <= _listed(portal, archived=True)
    assert ids[3] in _listed(portal, archived=False)


def test_batch_archive_checks_its_inputs_before_archiving_anything(portal: Portal) -> None:
    ids = _live_ids(portal, 101)
    archived_before = portal.emulation.state()["archived_deals"]
    missing_id = _post(portal, "/crm/v3/objects/deals/batch/archive", {"inputs": [{"id": ids[0]}, {}]})
    assert missing_id.status_code == 400
    assert missing_id.json()["category"] == "VALIDATION_ERROR" and "[id]" in missing_id.json()["message"]
    with pytest.raises(ApiException) as raised:
        portal.deals_batch.archive(
            batch_input_simple_public_object_id=BatchInputSimplePublicObjectId(
                inputs=[{"id": i} for i in ids]
            )
        )
    assert raised.value.status == 400 and body_of(raised.value)["category"] == "VALIDATION_ERROR"
    assert portal.emulation.state()["archived_deals"] == archived_before


def test_archiving_companies_one_and_in_a_batch_takes_them_out_of_get_search_and_batch_read(
    portal: Portal,
) -> None:
    companies = portal.hs.crm.companies
    one, two, kept = portal.emulation.portal.customer_ids[:3]
    search = companies.search_api
    everyone = search.do_search(public_object_search_request=CompanySearch(limit=200)).total

    assert companies.basic_api.archive(one) is None
    assert (
        companies.batch_api.archive(batch_input_simple_public_object_id=CompanyIds(inputs=[{"id": two}]))
        is None
    )

    with pytest.raises(CompaniesApiException) as raised:
        companies.basic_api.get_by_id(one)
    assert raised.value.status == 404
    assert companies.basic_api.get_by_id(two, archived=True).archived is True
    assert search.do_search(public_object_search_request=CompanySearch(limit=200)).total == everyone - 2
    read = companies.batch_api.read(
        batch_read_input_simple_public_object_id=CompanyReadIds(
            inputs=[{"id": one}, {"id": kept}], properties=["name"], properties_with_history=[]
        )
    )
    assert [r.id for r in read.results] == [kept]
    assert read.errors[0].context == {"ids": [one]}


# -- search limits ---------------------------------------------------------------------------------


def _groups(*sizes: int) -> list[dict[str, Any]]:
    """Filter groups of the given sizes; every filter holds for every deal (amount >= -1 ... or none)."""
    return [
        {
            "filters": [
                {"propertyName": "hs_object_id", "operator": "GT", "value": str(-i)} for i in range(size)
            ]
        }
        for size in sizes
    ]


def _search(portal: Portal, groups: list[dict[str, Any]], **body: Any) -> Any:
    request = PublicObjectSearchRequest(filter_groups=groups, limit=1, **body)
    return portal.deals_search.do_search(public_object_search_request=request)


def test_a_search_at_hubspots_documented_filter_limits_is_answered(portal: Portal) -> None:
    live = len(_live_ids(portal, 10_000))
    assert _search(portal, _groups(1, 1, 1, 1, 1)).total == live  # five groups
    assert _search(portal, _groups(6, 6, 6)).total == live  # six in a group, 18 in all


@pytest.mark.parametrize(
    ("sizes", "says"),
    [
        ((1, 1, 1, 1, 1, 1), "Too many filter groups: 6. The maximum is 5."),
        ((7,), "Too many filters in a filter group: 7. The maximum is 6."),
        ((6, 6, 6, 1), "Too many filters: 19. The maximum is 18 across all filter groups."),
    ],
)
def test_a_search_beyond_the_filter_limits_is_hubspots_400_validation_error(
    portal: Portal, sizes: tuple[int, ...], says: str
) -> None:
    with pytest.raises(ApiException) as raised:
        _search(portal, _groups(*sizes))
    body = body_of(raised.value)
    assert raised.value.status == 400
    assert body["status"] == "error" and body["category"] == "VALIDATION_ERROR"
    assert body["message"] == says and body["correlationId"]


def test_a_search_body_over_3000_characters_is_a_400(portal: Portal) -> None:
    assert _search(portal, _groups(1), properties=["p" * 50] * 50).total > 0  # about 2,800 characters
    with pytest.raises(ApiException) as raised:
        _search(portal, _groups(1), properties=["p" * 50] * 60)  # about 3,300
    assert raised.value.status == 400
    assert body_of(raised.value)["category"] == "VALIDATION_ERROR"
    assert "maximum is 3000" in body_of(raised.value)["message"]


# -- number property values --------------------------------------------------------------------------


def _refused(raised: pytest.ExceptionInfo[ApiException], value: str, prop: str = "amount") -> None:
    body = body_of(raised.value)
    assert raised.value.status == 400
    assert body["status"] == "error" and body["category"] == "VALIDATION_ERROR"
    prefix = "Property values were not valid: "
    assert body["message"].startswith(prefix)
    [problem] = json.loads(body["message"].removeprefix(prefix))
    assert problem["message"] == f"{value} was not a valid number." and problem["propertyValue"] == value
    assert problem["name"] == prop and problem["isValid"] is False
    assert body["errors"] == [
        {
            "message": f"{value} was not a valid number.",
            "code": "INVALID_DOUBLE",
            "context": {"propertyName": [prop]},
        }
    ]


@pytest.mark.parametrize(
    "value",
    [
        "1e400",
        "-1E400",
        "1" + "0" * 400,
        "NaN",
        "Infinity",
        "-Infinity",
        "1e5",
        "1,000",
        "1_000",
        "\u0661\u0662",
    ],
)
def test_a_number_property_value_hubspot_cannot_store_is_a_400_not_a_500(portal: Portal, value: str) -> None:
    deal = _live_ids(portal, 1)[0]
    before = portal.emulation.deal_state(deal)["properties"]["amount"]
    with pytest.raises(ApiException) as raised:
        portal.deals.update(
            deal, simple_public_object_input=SimplePublicObjectInput(properties={"amount": value})
        )
    _refused(raised, value)
    assert portal.emulation.deal_state(deal)["properties"]["amount"] == before


def test_an_overflowing_amount_is_refused_on_create_and_batch_update_and_nothing_is_written(
    portal: Portal,
) -> None:
    deals_before = portal.emulation.state()["deals"]
    with pytest.raises(ApiException) as created:
        portal.deals.create(
            simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
                properties={"dealname": "too big", "amount": "1e400"}
            )
        )
    _refused(created, "1e400")
    assert portal.emulation.state()["deals"] == deals_before
    first, second = _live_ids(portal, 2)
    with pytest.raises(ApiException) as updated:
        portal.deals_batch.update(
            batch_input_simple_public_object_batch_input=BatchInputSimplePublicObjectBatchInput(
                inputs=[
                    {"id": first, "properties": {"amount": "5"}},
                    {"id": second, "properties": {"amount": "1e400"}},
                ]
            )
        )
    _refused(updated, "1e400")
    assert portal.emulation.deal_state(first)["properties"]["amount"] != "5"


def test_a_huge_but_valid_amount_is_stored_and_converted_to_the_cent(portal: Portal) -> None:
    deal = _live_ids(portal, 1)[0]
    amount = "123456789012345678901234567890123.456"  # 33 digits: past Decimal's default 28
    written = portal.deals.update(
        deal,
        simple_public_object_input=SimplePublicObjectInput(
            properties={"amount": f" {amount} ", "deal_currency_code": "USD"}
        ),
    )
    assert written.properties["amount"] == amount  # blanks trimmed, as HubSpot still does
    home = portal.emulation.deal_state(deal)["properties"]["amount_in_home_currency"]
    assert home == "123456789012345678901234567890123.46"


def test_a_date_value_out_of_range_is_a_400_not_a_500(portal: Portal) -> None:
    deal = _live_ids(portal, 1)[0]
    with pytest.raises(ApiException) as raised:
        portal.deals.update(
            deal, simple_public_object_input=SimplePublicObjectInput(properties={"closedate": "9" * 20})
        )
    assert raised.value.status == 400 and "INVALID_DATE" in body_of(raised.value)["message"]
