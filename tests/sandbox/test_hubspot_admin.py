"""The HubSpot emulation through the sandbox's admin API (as ``make demo`` and other tests drive it) and the
company search."""

from __future__ import annotations

import ssl

import httpx
from hubspot.crm.companies import PublicObjectSearchRequest

from tests.sandbox.hubspot_portal import Portal

DEAL_BASE = 9_000_000_000


def _admin(portal: Portal) -> httpx.Client:
    context = ssl.create_default_context(cafile=str(portal.sandbox.ca_path))
    return httpx.Client(base_url=f"{portal.sandbox.url}/__admin__", verify=context, trust_env=False)


def test_admin_api_moves_a_stage_and_reads_counters_and_state(portal: Portal) -> None:
    deal_id = str(DEAL_BASE + next(o.key for o in portal.data.opportunities if not o.deleted))
    portal.sandbox.reset_counters()
    portal.deals.get_page(limit=3)
    with _admin(portal) as admin:
        moved = admin.post("/hubspot/update_deal", json={"id": deal_id, "dealstage": "closedwon"})
        assert moved.status_code == 200 and moved.json()["hs_is_closed_won"] == "true"
        assert admin.get("/counters").json() == {"hubspot.deals.list": 1}
        state = admin.post("/hubspot/state", json={}).json()
        assert state["deals"] == len(portal.data.opportunities) and state["edited_deals"] == 1
        truth = admin.post("/hubspot/deal", json={"id": deal_id}).json()
        assert truth["properties"]["dealstage"] == "closedwon"
        refused = admin.post("/hubspot/update_deal", json={"id": deal_id, "properties": {"nope": "1"}})
        assert refused.status_code == 400 and "PROPERTY_DOESNT_EXIST" in refused.json()["error"]
        assert admin.post("/hubspot/no_such_action", json={}).status_code == 404
        faults = admin.post("/hubspot/faults", json={"search_rate_per_second": 3}).json()
        assert faults["search_rate_per_second"] == 3
    assert portal.emulation.faults.search_rate_per_second == 3
    deal = portal.deals.get_by_id(deal_id, properties=["dealstage"])
    assert deal.properties["dealstage"] == "closedwon"


def test_admin_create_deal_for_a_partner_labels_the_association(portal: Portal) -> None:
    partner = str(5_000_000_000 + portal.data.partners[2].key)
    created = portal.emulation.admin(
        "create_deal", {"properties": {"dealname": "Walk-in", "amount": "50"}, "company_id": partner}
    )
    links = portal.associations.get_page(
        from_object_type="deals",
        to_object_type="companies",
        batch_input_public_fetch_associations_batch_request={"inputs": [{"id": created["id"]}]},
    )
    assert {t.label for t in links.results[0].to[0].association_types} == {None, "Partner"}


def test_company_search_by_type(portal: Portal) -> None:
    answer = portal.hs.crm.companies.search_api.do_search(
        public_object_search_request=PublicObjectSearchRequest(
            filter_groups=[{"filters": [{"propertyName": "type", "operator": "EQ", "value": "PARTNER"}]}],
            sorts=[{"propertyName": "name", "direction": "DESCENDING"}],
            properties=["name"],
            limit=100,
        )
    )
    assert answer.total == len(portal.data.partners)
    assert [c.properties["name"] for c in answer.results] == sorted(
        (p.name for p in portal.data.partners), reverse=True
    )
