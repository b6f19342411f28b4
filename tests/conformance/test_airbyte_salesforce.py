"""Airbyte's Salesforce source (airbyte-source-salesforce 2.10.3) against a fresh sandbox, unpatched: OAuth
refresh_token login, describeGlobal, one describe per stream, then Bulk API 2.0 ``queryAll`` jobs per
30-day SystemModstamp slice, up to 20 at once, each polled, downloaded by Sforce-Locator and deleted.

A first sync and an incremental one of Opportunity, Account and OpportunityPartner (the partner link our
connector reads in its opportunity_partner mode) are cross-checked against the sandbox's own records:
same ids (deleted ones too: queryAll reads the recycle bin), same values, and in the incremental run the
records changed in between and only those (plus what Airbyte's 600-second lookback re-reads)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from tests.conformance.catalogs import airbyte_configured_catalog
from tests.conformance.checks import assert_incremental, assert_same_ids, at_bookmark, instant, live
from tests.conformance.conftest import ConformanceFactory
from tests.conformance.harness import ClientRun, Conformance

CLIENT = "airbyte-source-salesforce"
STREAMS = ("Opportunity", "Account", "OpportunityPartner")
LOOKBACK = timedelta(seconds=600)
"""source_salesforce.streams.DEFAULT_LOOKBACK_SECONDS: an incremental run starts this far before its state."""
CONFIG = ["--config", "{dir}/config.json"]
READ = ["read", *CONFIG, "--catalog", "{dir}/catalog.json"]


def _config(run: Conformance) -> dict[str, Any]:
    oauth = run.salesforce_oauth()
    return {
        "client_id": oauth["client_id"],
        "client_secret": oauth["client_secret"],
        "refresh_token": oauth["refresh_token"],
        "is_sandbox": False,
        "start_date": "2023-09-01T00:00:00Z",  # before the oldest record (Accounts: 2023-10-01)
    }


def _configured(catalog: dict[str, Any]) -> dict[str, Any]:
    """Incremental append of STREAMS on their default cursor, as a user picks them in Airbyte's UI; each
    is offered with SystemModstamp as cursor and Id as key (what the describe answers lead it to)."""
    configured = airbyte_configured_catalog(catalog, STREAMS)
    for entry in configured["streams"]:
        name = entry["stream"]["name"]
        assert entry["sync_mode"] == "incremental", name
        assert entry["cursor_field"] == ["SystemModstamp"], name
        assert entry["primary_key"] == [["Id"]], name
    return configured


def _truth(run: Conformance, obj: str) -> list[dict[str, Any]]:
    """Every record of ``obj`` the sandbox holds, recycle bin included (what queryAll answers)."""
    return run.salesforce.state(obj, soql=f"SELECT Id FROM {obj}")


def _slice_end(result: ClientRun, stream: str) -> str:
    for state in result.airbyte_state():
        if state.get("stream", {}).get("stream_descriptor", {}).get("name") == stream:
            return str(state["stream"]["stream_state"]["slices"][-1]["end"])
    raise AssertionError(f"no state for {stream}: {result.airbyte_state()!r:.500}")


_DELETED = re.compile(r"'DELETE' request to '[^']*/jobs/query/(\w+)' with response code '204'")


def _deleted_jobs(result: ClientRun) -> list[str]:
    """The Bulk job ids Airbyte deleted, from its own log lines (one per DELETE it made)."""
    return [m.group(1) for line in result.logs("INFO") if (m := _DELETED.search(line))]


def _assert_first_sync(run: Conformance, first: ClientRun) -> None:
    assert first.logs("ERROR") == [], first.logs("ERROR")[:3]
    assert not first.unrouted, dict(first.unrouted)
    for obj in STREAMS:
        truth = _truth(run, obj)
        records = first.records(obj)
        assert_same_ids(records, [r["Id"] for r in truth], what=f"first sync of {obj}")
        assert_same_ids(live(records), [r["Id"] for r in truth if not r["IsDeleted"]], what=f"live {obj}")
    truth = {r["Id"]: r for r in _truth(run, "Opportunity")}
    for record in first.records("Opportunity"):
        want = truth[record["Id"]]
        assert instant(record["SystemModstamp"]) == instant(want["SystemModstamp"]), record["Id"]
        assert record["StageName"] == want["StageName"] and record["CloseDate"] == str(want["CloseDate"])
        # an empty CSV cell (null) comes out as an absent key
        assert record.get("PartnerAccountId") == want["PartnerAccountId"], record["Id"]
        assert (record.get("Amount") is None) == (want["Amount"] is None), record["Id"]
        if want["Amount"] is not None:
            assert abs(float(record["Amount"]) - float(want["Amount"])) < 0.005, record["Id"]
    links = {(r["OpportunityId"], r["AccountToId"]) for r in first.records("OpportunityPartner")}
    assert links == {(r["OpportunityId"], r["AccountToId"]) for r in _truth(run, "OpportunityPartner")}
    # Many slices ran as concurrent Bulk 2.0 jobs, each deleted after download: no id served twice.
    created = first.calls["salesforce.bulk2_query_create"]
    assert created > 3 * len(STREAMS), first.calls
    assert first.calls["salesforce.bulk2_job_delete"] == created
    assert first.calls["salesforce.bulk2_query_results"] == created
    deleted = _deleted_jobs(first)
    assert len(deleted) == created and len(set(deleted)) == created, "a Bulk job id was handed out twice"


def test_airbyte_salesforce_first_and_incremental_sync_match_the_sandbox(
    conformance: ConformanceFactory,
) -> None:
    run = conformance(opportunities=600, partners=12)
    check = run.run(CLIENT, ["check", *CONFIG], files={"config.json": _config(run)}).ok()
    statuses = [m["connectionStatus"]["status"] for m in check.messages if m["type"] == "CONNECTION_STATUS"]
    assert statuses == ["SUCCEEDED"], check.stdout[-1500:]
    discovered = run.run(CLIENT, ["discover", *CONFIG]).ok()
    first = run.run(CLIENT, READ, files={"catalog.json": _configured(discovered.catalog())}).ok()
    _assert_first_sync(run, first)

    # Between the runs: a rep edits some amounts, and one opportunity gets another partner.
    before = {obj: _truth(run, obj) for obj in STREAMS}
    changed = run.change_opportunities(8)
    moved = next(
        r["Id"]
        for r in before["Opportunity"]
        if r["PartnerAccountId"] and not r["IsDeleted"] and r["Id"] not in changed
    )
    current = next(r["PartnerAccountId"] for r in before["Opportunity"] if r["Id"] == moved)
    other = next(a for a in sorted(run.account_ids()) if a != current)
    run.salesforce.update_opportunity(moved, PartnerAccountId=other)
    moved_link = next(r["Id"] for r in before["OpportunityPartner"] if r["OpportunityId"] == moved)

    second = run.run(
        CLIENT, [*READ, "--state", "{dir}/state.json"], files={"state.json": first.airbyte_state()}
    )
    second.ok()
    assert second.logs("ERROR") == [] and not second.unrouted, second.logs("ERROR")[:3]
    expected = {"Opportunity": [*changed, moved], "Account": [], "OpportunityPartner": [moved_link]}
    for obj in STREAMS:
        bookmark = (instant(_slice_end(first, obj)) - LOOKBACK).isoformat()
        boundary = at_bookmark(before[obj], "SystemModstamp", bookmark)
        assert_incremental(second.records(obj), expected[obj], boundary=boundary, what=f"incremental {obj}")
    link = next(r for r in second.records("OpportunityPartner") if r["Id"] == moved_link)
    assert link["AccountToId"] == other
    assert second.calls["salesforce.bulk2_query_create"] == second.calls["salesforce.bulk2_job_delete"]
    assert not set(_deleted_jobs(second)) & set(_deleted_jobs(first)), "a job id came back in the next run"
