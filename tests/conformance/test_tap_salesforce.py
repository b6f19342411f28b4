"""singer-io tap-salesforce 2.8.1 against a fresh sandbox: discover, then a first and an incremental sync
of Opportunity, Account and OpportunityPartner (the partner link our connector reads), in BULK mode (its
default: Bulk API 1.0 queryAll jobs, CSV results) and in REST mode (``queryAll``).

What the tap does on the wire (tap_salesforce/salesforce/bulk.py, rest.py, __init__.py):
- OAuth refresh-token login at login.salesforce.com, one describe per sObject at discover and sync.
- ``SELECT <every field> FROM X WHERE SystemModstamp >= <bookmark> ORDER BY SystemModstamp ASC``,
  the bookmark written with six fractional digits (``2023-10-01T00:00:00.000000Z``) on every
  incremental run: the literal form the sandbox once refused as MALFORMED_QUERY.
- BULK: POST job (JSON body, contentType CSV), POST batch (text/csv), POST job state Closed, GET batch
  until Completed, GET result list (XML), GET each result (CSV).

Cross-checks against the sandbox's own data: the same ids, each once, with deleted rows flagged (the tap
reads with queryAll); the same Amount and StageName per opportunity; on the incremental run the
opportunities edited between the runs, and beside them only the records sitting on the saved bookmark
(the tap's cursor is inclusive, ``>=``).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conformance.catalogs import select_singer_streams
from tests.conformance.checks import assert_incremental, assert_same_ids, at_bookmark, ids_of, live
from tests.conformance.harness import ClientRun, Conformance

CLIENT = "tap-salesforce"
STREAMS = ("Opportunity", "Account", "OpportunityPartner")
CHANGED = 6


def _config(run: Conformance, api_type: str) -> dict[str, Any]:
    oauth = run.salesforce_oauth()
    return {
        "client_id": oauth["client_id"],
        "client_secret": oauth["client_secret"],
        "refresh_token": oauth["refresh_token"],
        "start_date": "2000-01-01T00:00:00Z",
        "api_type": api_type,
        "select_fields_by_default": True,
    }


def _sync(run: Conformance, state: dict[str, Any] | None = None) -> ClientRun:
    args = ["--config", "{dir}/config.json", "--properties", "{dir}/catalog.json"]
    files: dict[str, Any] = {}
    if state is not None:
        files["state.json"] = state
        args += ["--state", "{dir}/state.json"]
    return run.run(CLIENT, args, files=files).ok()


def _amount(value: Any) -> float | None:
    """The sandbox's ground truth keeps amounts as decimal strings; clients emit numbers."""
    return None if value is None else float(value)


def _truth(run: Conformance, obj: str, fields: str = "Id, IsDeleted, SystemModstamp") -> list[dict[str, Any]]:
    """Every record of ``obj``, deleted ones too (what a queryAll reader sees)."""
    return run.salesforce.state(obj, soql=f"SELECT {fields} FROM {obj}")


@pytest.mark.parametrize("api_type", ["BULK", "REST"])
def test_tap_salesforce_first_and_incremental_sync_match_the_sandbox(conformance: Any, api_type: str) -> None:
    run: Conformance = conformance()
    config = _config(run, api_type)
    discovered = run.run(
        CLIENT, ["--config", "{dir}/config.json", "--discover"], files={"config.json": config}
    )
    catalog = discovered.ok().json()
    selected = select_singer_streams(
        catalog, STREAMS, replication_method="INCREMENTAL", replication_key="SystemModstamp"
    )
    run.write("catalog.json", selected)

    first = _sync(run)
    assert not first.unrouted, first.unrouted
    if api_type == "BULK":
        # One Bulk 1.0 job, batch and result per stream; no REST query at all.
        for endpoint in ("job_create", "batch_create", "job_update", "result_list", "result_get"):
            assert first.calls[f"salesforce.bulk1_{endpoint}"] == len(STREAMS), (endpoint, first.calls)
        assert first.calls["salesforce.query"] == 0
    else:
        assert first.calls["salesforce.query"] >= len(STREAMS)
        assert not any(k.startswith("salesforce.bulk1_") for k in first.calls)

    for stream in STREAMS:
        records = first.records(stream)
        truth = _truth(run, stream)
        assert_same_ids(records, ids_of(truth), what=f"{api_type} first sync of {stream} (deleted included)")
        assert_same_ids(live(records), ids_of(live(truth)), what=f"{api_type} first sync of live {stream}")

    expected = {r["Id"]: r for r in _truth(run, "Opportunity", "Id, Amount, StageName")}
    for record in first.records("Opportunity"):
        want = expected[record["Id"]]
        assert (record["Amount"], record["StageName"]) == (_amount(want["Amount"]), want["StageName"]), (
            record["Id"]
        )

    state = first.singer_state()
    bookmarks = {s: state["bookmarks"][s]["SystemModstamp"] for s in STREAMS}
    assert all(b.endswith(".000000Z") for b in bookmarks.values()), bookmarks
    changed = run.change_opportunities(CHANGED)

    second = _sync(run, state)
    assert not second.unrouted, second.unrouted
    if api_type == "BULK":
        batches = [b.soql for j in run.salesforce.bulk1.jobs.values() for b in j.batches.values()]
        assert sum(f"SystemModstamp >= {bookmarks['Opportunity']}" in q for q in batches) == 1, batches
    for stream in STREAMS:
        boundary = at_bookmark(_truth(run, stream), "SystemModstamp", bookmarks[stream])
        assert_incremental(
            second.records(stream),
            changed if stream == "Opportunity" else [],
            boundary=boundary,
            what=f"{api_type} incremental sync of {stream} from {bookmarks[stream]}",
        )
    edited = {r["Id"]: r for r in second.records("Opportunity") if r["Id"] in set(changed)}
    amounts = {
        r["Id"]: _amount(r["Amount"]) for r in _truth(run, "Opportunity", "Id, Amount") if r["Id"] in edited
    }
    assert {i: r["Amount"] for i, r in edited.items()} == amounts
