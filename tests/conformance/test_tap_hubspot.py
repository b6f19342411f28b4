"""singer-io tap-hubspot 4.5.0 against a fresh sandbox: discovery, a first and an incremental sync of
deals and companies, the deal-company link as the tap emits it, and OAuth refresh, cross-checked with the
sandbox's own data.

What the tap calls for these streams (tap_hubspot/__init__.py of 4.5.0):

- auth: ``POST /oauth/2026-03/token`` (grant ``refresh_token``, form body with ``redirect_uri``) before
  the first call and whenever its token is 10 minutes from expiry;
- discovery: ``/crm/v3/properties/contacts`` and ``/crm/v3/properties/tickets`` (a 403 skips the stream:
  the sandbox app has deals and companies scopes only), ``/properties/v1/deals/properties`` and
  ``/crm/v3/properties/deals`` (deals), ``/companies/v2/properties`` (companies), ``/crm/v3/schemas``
  (custom objects), again at the start of a sync;
- deals: ``/deals/v1/deal/paged`` with ``includeAllProperties`` and ``includeAssociations`` paged by
  ``offset`` / ``hasMore``, every time from the first deal; it keeps those whose ``hs_lastmodifieddate``
  timestamp is at or after its bookmark (inclusive: the deals on the bookmark come back);
- companies: ``/companies/v2/companies/paged`` (``has-more``) for ids and modified dates, then
  ``/companies/v2/companies/{id}`` for each company at or after its bookmark.

The tap takes its catalog with ``--properties`` (its main checks ``args.properties``, not ``--catalog``).
"""

from __future__ import annotations

from typing import Any

from tests.conformance.catalogs import select_singer_streams
from tests.conformance.checks import assert_incremental, assert_same_ids, at_bookmark
from tests.conformance.conftest import ConformanceFactory
from tests.conformance.harness import ClientRun, Conformance

CLIENT = "tap-hubspot"
EXPECTED_ENDPOINTS = {
    "hubspot.oauth.token_2026_03",
    "hubspot.scopes.missing",
    "hubspot.legacy.properties.list",
    "hubspot.legacy.companies.properties",
    "hubspot.properties.list",
    "hubspot.schemas.list",
    "hubspot.legacy.deals.paged",
    "hubspot.legacy.companies.paged",
    "hubspot.legacy.companies.get",
}


def client_config(run: Conformance) -> dict[str, Any]:
    return {
        "start_date": "2020-01-01T00:00:00Z",
        "redirect_uri": "https://localhost/callback",
        **run.hubspot_oauth(),
    }


def selected_catalog(run: Conformance) -> dict[str, Any]:
    """discover, then deals and companies ticked as a user would, with the deals' associations field."""
    discovered = run.run(
        CLIENT, ["--config", "{dir}/config.json", "--discover"], files={"config.json": client_config(run)}
    )
    catalog = select_singer_streams(discovered.ok().json(), ["deals", "companies"])
    deals = next(s for s in catalog["streams"] if s["tap_stream_id"] == "deals")
    for entry in deals["metadata"]:
        if entry["breadcrumb"] == ["properties", "associations"]:
            entry["metadata"]["selected"] = True
    return catalog


def _sync(run: Conformance, catalog: dict[str, Any], state: Any = None) -> ClientRun:
    files: dict[str, Any] = {"catalog.json": catalog}
    args = ["--config", "{dir}/config.json", "--properties", "{dir}/catalog.json"]
    if state is not None:
        files["state.json"] = state
        args += ["--state", "{dir}/state.json"]
    return run.run(CLIENT, args, files=files).ok()


def _modified(run: Conformance, kind: str) -> list[dict[str, Any]]:
    """The sandbox's live deals or companies: id and hs_lastmodifieddate."""
    emulation = run.hubspot
    with emulation.lock:
        if kind == "companies":
            records = list(emulation.portal.companies.values())
        else:
            portal = emulation.portal
            records = [portal.deal(k) for k in portal.deal_keys() if not portal.is_archived(k)]
        return [{"id": r.id, "modified": r.updated_at} for r in records]


def test_tap_hubspot_syncs_every_deal_and_company_then_only_the_changed_ones(
    conformance: ConformanceFactory,
) -> None:
    run = conformance(opportunities=600)
    catalog = selected_catalog(run)

    first = _sync(run, catalog)
    deals, companies = first.records("deals"), first.records("companies")
    assert_same_ids(deals, run.deal_ids(), key="dealId", what="first run's deals")
    assert_same_ids(companies, run.company_ids(), key="companyId", what="first run's companies")
    assert first.calls["hubspot.oauth.token_2026_03"] >= 1 and first.calls["hubspot.oauth.token"] == 0
    assert set(first.calls) <= EXPECTED_ENDPOINTS, set(first.calls) - EXPECTED_ENDPOINTS

    # Values and the deal-company link, as the tap emits them (property_* at the top level as
    # {value, timestamp, source, sourceId}, the legacy associations object), against the sandbox's records.
    for deal in deals:
        truth = run.hubspot.deal_state(str(deal["dealId"]))
        props = truth["properties"]
        assert deal["property_dealname"]["value"] == props["dealname"]
        assert deal["property_dealstage"]["value"] == props["dealstage"]
        if props["amount"] is not None:
            assert float(deal["property_amount"]["value"]) == float(props["amount"])
        linked = [int(a["company_id"]) for a in truth["associations"]]
        assert deal["associations"]["associatedCompanyIds"] == linked, deal["dealId"]
    assert sum(bool(d["associations"]["associatedCompanyIds"]) for d in deals) > len(deals) // 2
    names = {c.id: c.props["name"] for c in run.hubspot.portal.companies.values()}
    assert {str(c["companyId"]): c["property_name"]["value"] for c in companies} == names

    state = first.singer_state()
    bookmarks = state["bookmarks"]
    deals_on_bookmark = at_bookmark(
        _modified(run, "deals"), "modified", bookmarks["deals"]["property_hs_lastmodifieddate"], key="id"
    )
    companies_on_bookmark = at_bookmark(
        _modified(run, "companies"),
        "modified",
        bookmarks["companies"]["property_hs_lastmodifieddate"],
        key="id",
    )
    assert len(deals_on_bookmark) >= 1 and len(companies_on_bookmark) >= 1  # the newest ones, re-read

    changed_deals = run.change_deals(6)
    renamed = sorted(run.company_ids(), key=int)[2]
    run.hubspot.edit_company_property(renamed, "name", "Renamed Partner Ltd")

    second = _sync(run, catalog, state)
    assert_incremental(
        second.records("deals"),
        changed_deals,
        key="dealId",
        boundary=deals_on_bookmark,
        what="incremental deals",
    )
    assert_incremental(
        second.records("companies"),
        [renamed],
        key="companyId",
        boundary=companies_on_bookmark,
        what="incremental companies",
    )
    amounts = {str(d["dealId"]): float(d["property_amount"]["value"]) for d in second.records("deals")}
    for deal_id in changed_deals:
        assert amounts[deal_id] == float(run.hubspot.deal_state(deal_id)["properties"]["amount"])
    renamed_record = next(c for c in second.records("companies") if str(c["companyId"]) == renamed)
    assert renamed_record["property_name"]["value"] == "Renamed Partner Ltd"
    # The tap pages through every deal again (it has no server-side filter): same paged calls as the first run.
    assert second.calls["hubspot.legacy.deals.paged"] == first.calls["hubspot.legacy.deals.paged"]
    assert second.calls["hubspot.legacy.companies.get"] == len(second.records("companies"))
