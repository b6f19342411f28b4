"""The legacy v1/v2 endpoints tap-hubspot 4.5 reads (deals, companies, property definitions), their paging
and error bodies, the 403 for objects outside the sandbox app's scopes, and OAuth refresh on the
date-versioned ``/oauth/2026-03/token`` path."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from partnerkpi.sandbox.hubspot.schema import parse_instant
from tests.sandbox.hubspot_portal import TOKEN, Portal, PortalFactory

REFRESH_FORM = {
    "grant_type": "refresh_token",
    "client_id": "sandbox-client-id",
    "client_secret": "sandbox-client-secret",
    "refresh_token": "sandbox-refresh-token",
    "redirect_uri": "https://example.com/callback",
}


@pytest.fixture(name="http")
def http_fixture(portal: Portal) -> Iterator[httpx.Client]:
    context = ssl.create_default_context(cafile=str(portal.sandbox.ca_path))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(
        base_url=portal.sandbox.url, verify=context, trust_env=False, headers=headers
    ) as client:
        yield client


def ms(text: str | None) -> int:
    moment = parse_instant(text or "")
    assert moment is not None
    return int(moment.timestamp() * 1000)


def live_deal_ids(portal: Portal) -> list[int]:
    """The sandbox's own truth: every deal not archived."""
    inner = portal.emulation.portal
    return [int(inner.deal_id(k)) for k in inner.deal_keys() if not inner.is_archived(k)]


def assert_hubspot_error(answer: httpx.Response, status: int, category: str) -> dict[str, Any]:
    body: dict[str, Any] = answer.json()
    assert answer.status_code == status
    assert body["status"] == "error" and body["category"] == category
    assert body["message"] and body["correlationId"]
    return body


# -- deals ------------------------------------------------------------------------------------------
def test_deals_paged_pages_by_offset_through_every_live_deal_once(portal: Portal, http: httpx.Client) -> None:
    seen: list[int] = []
    params: dict[str, Any] = {"limit": 40}
    pages = 0
    while True:
        body = http.get("/deals/v1/deal/paged", params=params).json()
        pages += 1
        assert set(body) == {"deals", "hasMore", "offset"}
        seen += [d["dealId"] for d in body["deals"]]
        if not body["hasMore"]:
            break
        assert body["offset"] == body["deals"][-1]["dealId"]
        params["offset"] = body["offset"]
    live = live_deal_ids(portal)
    assert seen == live and pages == -(-len(live) // 40)
    assert portal.counter("hubspot.legacy.deals.paged") == pages


def test_deals_paged_limit_defaults_to_100_and_is_cut_to_250(portal: Portal, http: httpx.Client) -> None:
    assert len(http.get("/deals/v1/deal/paged").json()["deals"]) == 100
    live = len(live_deal_ids(portal))
    assert live > 250
    assert len(http.get("/deals/v1/deal/paged", params={"limit": 1000}).json()["deals"]) == 250


def test_deals_paged_carries_no_properties_unless_asked(http: httpx.Client) -> None:
    deal = http.get("/deals/v1/deal/paged", params={"limit": 1}).json()["deals"][0]
    assert deal["properties"] == {} and "associations" not in deal and "imports" not in deal
    assert deal["portalId"] and deal["isDeleted"] is False


def test_deal_properties_come_in_the_legacy_value_and_versions_shape(
    portal: Portal, http: httpx.Client
) -> None:
    params = [("limit", "1"), ("properties", "dealname"), ("properties", "hs_lastmodifieddate,closedate")]
    deal = http.get("/deals/v1/deal/paged", params=params).json()["deals"][0]
    record = portal.emulation.deal_state(str(deal["dealId"]))["properties"]
    props = deal["properties"]
    assert set(props) == {"dealname", "hs_lastmodifieddate", "closedate"}
    modified = ms(record["hs_lastmodifieddate"])
    stamp = props["hs_lastmodifieddate"]
    assert stamp["value"] == str(modified) and stamp["timestamp"] == modified  # what the tap bookmarks on
    assert props["closedate"]["value"] == str(ms(record["closedate"]))  # dates as epoch ms strings
    name = props["dealname"]
    assert name["value"] == record["dealname"] and name["source"] and "sourceId" in name
    assert name["versions"] == [
        {
            "name": "dealname",
            "value": record["dealname"],
            "timestamp": modified,
            "source": name["source"],
            "sourceVid": [],
        }
    ]


def test_include_all_properties_gives_every_set_property_and_leaves_unset_ones_out(
    portal: Portal, http: httpx.Client
) -> None:
    for deal in http.get("/deals/v1/deal/paged", params={"includeAllProperties": "true"}).json()["deals"]:
        record = portal.emulation.deal_state(str(deal["dealId"]))["properties"]
        assert set(deal["properties"]) == {k for k, v in record.items() if v is not None}


def test_include_associations_lists_the_deals_companies(portal: Portal, http: httpx.Client) -> None:
    body = http.get("/deals/v1/deal/paged", params={"includeAssociations": "true", "limit": 60}).json()
    linked = 0
    for deal in body["deals"]:
        expected = [
            int(a["company_id"]) for a in portal.emulation.deal_state(str(deal["dealId"]))["associations"]
        ]
        assert deal["associations"]["associatedCompanyIds"] == expected
        assert deal["associations"]["associatedVids"] == []
        assert deal["properties"]["num_associated_contacts"]["value"] == "0"
        linked += bool(expected)
    assert linked > 0


def test_archived_deals_leave_the_legacy_lists_and_their_get_is_404(
    portal: Portal, http: httpx.Client
) -> None:
    gone = str(live_deal_ids(portal)[0])
    portal.emulation.archive_deal(gone)
    ids = [d["dealId"] for d in http.get("/deals/v1/deal/paged", params={"limit": 250}).json()["deals"]]
    assert int(gone) not in ids
    assert_hubspot_error(http.get(f"/deals/v1/deal/{gone}"), 404, "OBJECT_NOT_FOUND")


def test_deal_get_answers_every_set_property_and_its_companies(portal: Portal, http: httpx.Client) -> None:
    deal_id = live_deal_ids(portal)[0]
    deal = http.get(f"/deals/v1/deal/{deal_id}").json()
    state = portal.emulation.deal_state(str(deal_id))
    assert deal["dealId"] == deal_id
    assert {k: v["value"] for k, v in deal["properties"].items() if k == "dealname"} == {
        "dealname": state["properties"]["dealname"]
    }
    assert deal["associations"]["associatedCompanyIds"] == [
        int(a["company_id"]) for a in state["associations"]
    ]
    assert_hubspot_error(http.get("/deals/v1/deal/123"), 404, "OBJECT_NOT_FOUND")


def test_recently_modified_deals_are_newest_first_within_30_days(portal: Portal, http: httpx.Client) -> None:
    # The seed's deals were last modified before its end date, more than 30 days ago: none is "recent".
    assert http.get("/deals/v1/deal/recent/modified").json() == {
        "results": [],
        "hasMore": False,
        "offset": 0,
        "total": 0,
    }
    ids = live_deal_ids(portal)
    touched = portal.emulation.touch_deals(5, str(ids[10]))
    body = http.get("/deals/v1/deal/recent/modified", params={"count": 2}).json()
    assert body["total"] == 5 and body["hasMore"] is True and body["offset"] == 2
    assert [d["dealId"] for d in body["results"]] == [ids[14], ids[13]]  # touched 1 ms apart, in id order
    rest = http.get("/deals/v1/deal/recent/modified", params={"count": 2, "offset": 4}).json()
    assert [d["dealId"] for d in rest["results"]] == [ids[10]] and rest["hasMore"] is False
    since = ms(touched["since"]) + 2  # exclusive: the deals stamped since+3 and since+4 only
    after = http.get("/deals/v1/deal/recent/modified", params={"since": since}).json()
    assert [d["dealId"] for d in after["results"]] == [ids[14], ids[13]]


def test_recently_modified_count_is_cut_to_100(portal_factory: PortalFactory) -> None:
    portal = portal_factory()
    portal.emulation.touch_deals(150)
    context = ssl.create_default_context(cafile=str(portal.sandbox.ca_path))
    with httpx.Client(verify=context, trust_env=False, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        body = http.get(f"{portal.sandbox.url}/deals/v1/deal/recent/modified", params={"count": 500}).json()
    assert len(body["results"]) == 100 and body["total"] == 150 and body["hasMore"] is True


# -- companies ---------------------------------------------------------------------------------------
def test_companies_paged_pages_with_has_more_and_offset(portal: Portal, http: httpx.Client) -> None:
    seen: list[int] = []
    params: dict[str, Any] = {"limit": 5, "properties": ["name", "hs_lastmodifieddate"]}
    while True:
        body = http.get("/companies/v2/companies/paged", params=params).json()
        assert set(body) == {"companies", "has-more", "offset"}
        for company in body["companies"]:
            assert set(company["properties"]) == {"name", "hs_lastmodifieddate"}
            assert company["properties"]["hs_lastmodifieddate"]["timestamp"] == int(
                company["properties"]["hs_lastmodifieddate"]["value"]
            )
        seen += [c["companyId"] for c in body["companies"]]
        if not body["has-more"]:
            break
        params["offset"] = body["offset"]
    assert seen == sorted(int(c) for c in portal.emulation.portal.companies)


def test_company_get_answers_all_properties_and_404s_an_unknown_id(
    portal: Portal, http: httpx.Client
) -> None:
    company_id = sorted(portal.emulation.portal.companies)[0]
    record = portal.emulation.portal.companies[company_id]
    company = http.get(f"/companies/v2/companies/{company_id}").json()
    assert company["companyId"] == int(company_id)
    assert {k: v["value"] for k, v in company["properties"].items()} == {
        k: str(ms(v)) if k in ("createdate", "hs_lastmodifieddate") else v
        for k, v in record.props.items()
        if v is not None
    }
    assert company["additionalDomains"] == [] and company["isDeleted"] is False
    assert_hubspot_error(http.get("/companies/v2/companies/42"), 404, "OBJECT_NOT_FOUND")


def test_recently_modified_companies_put_an_edited_company_first(portal: Portal, http: httpx.Client) -> None:
    company_id = sorted(portal.emulation.portal.companies)[3]
    portal.emulation.edit_company_property(company_id, "name", "Renamed Ltd")
    body = http.get("/companies/v2/companies/recent/modified").json()
    assert body["total"] == 1 and body["results"][0]["companyId"] == int(company_id)
    assert body["results"][0]["properties"]["name"]["value"] == "Renamed Ltd"


# -- property definitions ------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/properties/v1/deals/properties", "/properties/v2/deals/properties"])
def test_legacy_deal_properties_list_the_same_definitions_as_v3(
    portal: Portal, http: httpx.Client, path: str
) -> None:
    legacy = http.get(path).json()
    assert isinstance(legacy, list)
    v3 = {p.name: p.type for p in portal.properties.get_all("deals").results}
    assert {p["name"]: p["type"] for p in legacy} == v3
    stage = next(p for p in legacy if p["name"] == "dealstage")
    assert stage["options"] and stage["hubspotDefined"] is True and stage["readOnlyDefinition"] is True
    assert isinstance(stage["createdAt"], int)


def test_a_property_created_through_v3_shows_in_the_legacy_lists(portal: Portal, http: httpx.Client) -> None:
    from hubspot.crm.properties import PropertyCreate

    portal.properties.create(
        "companies",
        PropertyCreate(
            name="partner_score",
            label="Partner score",
            type="number",
            field_type="number",
            group_name="companyinformation",
        ),
    )
    for path in ("/properties/v1/companies/properties", "/companies/v2/properties"):
        custom = next(p for p in http.get(path).json() if p["name"] == "partner_score")
        assert (
            custom["hubspotDefined"] is False and custom["type"] == "number" and custom["formField"] is True
        )


# -- errors and auth ---------------------------------------------------------------------------------
def test_a_bad_number_in_a_legacy_query_is_a_validation_error(http: httpx.Client) -> None:
    body = assert_hubspot_error(
        http.get("/deals/v1/deal/paged", params={"offset": "abc"}), 400, "VALIDATION_ERROR"
    )
    assert "offset" in body["message"]


def test_an_unknown_legacy_path_answers_hubspots_404_body(http: httpx.Client) -> None:
    for path in ("/deals/v1/nothing/here", "/companies/v3/whatever", "/properties/v9/deals/properties"):
        assert_hubspot_error(http.get(path), 404, "OBJECT_NOT_FOUND")


def test_legacy_endpoints_need_a_token(portal: Portal) -> None:
    context = ssl.create_default_context(cafile=str(portal.sandbox.ca_path))
    with httpx.Client(verify=context, trust_env=False) as bare:
        answer = bare.get(f"{portal.sandbox.url}/deals/v1/deal/paged")
    assert_hubspot_error(answer, 401, "INVALID_AUTHENTICATION")


@pytest.mark.parametrize("object_type", ["contacts", "tickets"])
def test_objects_outside_the_apps_scopes_answer_403_missing_scopes(
    http: httpx.Client, object_type: str
) -> None:
    body = assert_hubspot_error(http.get(f"/crm/v3/properties/{object_type}"), 403, "MISSING_SCOPES")
    assert body["errors"][0]["context"]["requiredScopes"]
    assert body["links"]["scopes"].startswith("https://developers.hubspot.com/")


# -- OAuth on the date-versioned path ------------------------------------------------------------------
def test_refresh_on_the_2026_03_token_path_gives_a_token_the_legacy_endpoints_take(
    portal: Portal, http: httpx.Client
) -> None:
    answer = http.post("/oauth/2026-03/token", data=REFRESH_FORM, headers={"Authorization": ""})
    body = answer.json()
    assert answer.status_code == 200 and body["token_type"] == "bearer" and body["expires_in"] == 1800
    assert body["refresh_token"] == "sandbox-refresh-token"
    deals = http.get(
        "/deals/v1/deal/paged",
        params={"limit": 1},
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert deals.status_code == 200 and deals.json()["deals"]
    assert portal.counter("hubspot.oauth.token_2026_03") == 1 and portal.counter("hubspot.oauth.token") == 0


@pytest.mark.parametrize(
    ("override", "status", "rfc6749"),
    [
        ({"grant_type": "password"}, "BAD_GRANT_TYPE", "unsupported_grant_type"),
        ({"client_secret": "wrong"}, "BAD_CLIENT_SECRET", "invalid_client"),
        ({"refresh_token": "revoked"}, "BAD_REFRESH_TOKEN", "invalid_grant"),
    ],
)
def test_both_token_paths_refuse_alike_with_hubspots_and_rfc6749s_fields(
    http: httpx.Client, override: dict[str, str], status: str, rfc6749: str
) -> None:
    form = {**REFRESH_FORM, **override}
    for path in ("/oauth/2026-03/token", "/oauth/v1/token"):
        answer = http.post(path, data=form)
        body = answer.json()
        assert answer.status_code == 400, path
        assert body["status"] == status and body["error"] == rfc6749, path
        assert body["message"] and body["error_description"] == body["message"], path
