"""Airbyte ``airbyte-source-hubspot`` 5.7.0, unpatched, against the sandbox: a first and an incremental read of
deals and companies with their associations, cross-checked with the portal's own data.

What it calls (its manifest.yaml and components.py): ``GET /crm/v3/schemas`` (custom object streams, twice),
``GET /properties/v2/{deal,company}/properties``; the first read (no state) lists ``/crm/v3/objects/{deal,
company}?associations=...`` in pages of 100; the incremental read searches ``POST /crm/v3/objects/{deal,
company}/search`` with top-level ``filters`` (hs_lastmodifieddate GTE/LTE its cursor, hs_object_id GTE) and
reads each page's associations with ``POST /crm/v4/associations/{deal,company}/{to}/batch/read`` (deal to
companies, contacts and line_items; company to contacts). Its cursor is inclusive (``updatedAt`` at the
bookmark is read again). ``discover`` is not run: it reads the legacy properties of every object type
(contacts first), which the sandbox does not hold; the catalog below is what a user selects.
"""

from __future__ import annotations

from typing import Any

from tests.conformance.checks import assert_incremental, assert_same_ids, at_bookmark
from tests.conformance.conftest import ConformanceFactory
from tests.conformance.harness import ClientRun, Conformance

CLIENT = "airbyte-source-hubspot"
STREAMS = ("deals", "companies")


def client_config(run: Conformance) -> dict[str, Any]:
    return {
        "credentials": {"credentials_title": "Private App Credentials", "access_token": run.hubspot_token},
        "start_date": "2020-01-01T00:00:00Z",
    }


def selected_catalog() -> dict[str, Any]:
    return {
        "streams": [
            {
                "stream": {
                    "name": name,
                    "json_schema": {},
                    "supported_sync_modes": ["full_refresh", "incremental"],
                    "source_defined_cursor": True,
                    "default_cursor_field": ["updatedAt"],
                },
                "sync_mode": "incremental",
                "cursor_field": ["updatedAt"],
                "destination_sync_mode": "append",
            }
            for name in STREAMS
        ]
    }


def _read(run: Conformance, state: list[dict[str, Any]] | None = None) -> ClientRun:
    files: dict[str, Any] = {"config.json": client_config(run), "catalog.json": selected_catalog()}
    args = ["read", "--config", "{dir}/config.json", "--catalog", "{dir}/catalog.json"]
    if state is not None:
        files["state.json"] = state
        args += ["--state", "{dir}/state.json"]
    return run.run(CLIENT, args, files=files).ok()


def _deal_companies(run: Conformance) -> dict[str, set[str]]:
    """Each live deal's associated companies, as the portal holds them."""
    portal = run.hubspot.portal
    with run.hubspot.lock:
        return {
            portal.deal_id(k): {a.company_id for a in portal.deal_associations(k)}
            for k in portal.deal_keys()
            if not portal.is_archived(k)
        }


def _truth(run: Conformance, kind: str) -> list[dict[str, Any]]:
    """id and updatedAt (hs_lastmodifieddate) of every live deal or company."""
    portal = run.hubspot.portal
    with run.hubspot.lock:
        if kind == "companies":
            records = list(portal.companies.values())
        else:
            records = [portal.deal(k) for k in portal.deal_keys() if not portal.is_archived(k)]
        return [{"id": r.id, "updatedAt": r.updated_at} for r in records if not r.archived]


def _bookmark(state: list[dict[str, Any]], stream: str) -> str:
    for entry in state:
        if entry["stream"]["stream_descriptor"]["name"] == stream:
            return str(entry["stream"]["stream_state"]["updatedAt"])
    raise AssertionError(f"no state for {stream}: {state}")


def test_airbyte_reads_every_deal_and_company_then_only_the_changed_deals(
    conformance: ConformanceFactory,
) -> None:
    run = conformance()
    first = _read(run)
    deals, companies = first.records("deals"), first.records("companies")
    assert_same_ids(deals, run.deal_ids(), key="id", what="first read: deals")
    assert_same_ids(companies, run.company_ids(), key="id", what="first read: companies")
    links = _deal_companies(run)
    assert {d["id"]: set(d.get("companies") or []) for d in deals} == links
    assert not any(d.get("contacts") or d.get("line_items") for d in deals), "the portal has none"
    assert first.calls["hubspot.schemas.list"] >= 1 and not first.unrouted

    state = first.airbyte_state()
    changed = run.change_deals(6)
    second = _read(run, state)
    boundary = at_bookmark(_truth(run, "deals"), "updatedAt", _bookmark(state, "deals"), key="id")
    assert_incremental(second.records("deals"), changed, key="id", boundary=boundary)
    companies_boundary = at_bookmark(
        _truth(run, "companies"), "updatedAt", _bookmark(state, "companies"), key="id"
    )
    assert_incremental(second.records("companies"), [], key="id", boundary=companies_boundary)
    # The search's top-level filters did the narrowing, and the associations came from the batch reads.
    assert second.calls["hubspot.deals.search"] >= 1 and not second.calls["hubspot.deals.list"]
    assert second.calls["hubspot.associations.batch_read"] >= 4  # deal->3 types, company->contacts
    for deal in second.records("deals"):
        assert set(deal.get("companies") or []) == links[deal["id"]], deal["id"]
    assert not second.unrouted
