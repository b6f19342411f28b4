"""dlt's verified Salesforce source (dlt 1.31, simple-salesforce 1.12) against a fresh sandbox: a first
and an incremental load of its ``opportunity`` (cursor SystemModstamp) and ``account`` (cursor
LastModifiedDate) resources into dlt's filesystem destination.

What the source does on the wire (sources/salesforce/helpers/records.py: ``get_records``): a SOAP
login, one describe per sObject (it reads ``compoundFieldName`` of every field), then
``sf.bulk.<Object>.query_all("SELECT <every field> FROM X WHERE <cursor> > <last value> ORDER BY
<cursor> ASC", lazy_operation=True)``: Bulk API 1.0 queryAll jobs with JSON results, whose datetimes
arrive as epoch milliseconds and which the source turns back into ``%Y-%m-%dT%H:%M:%S.%fZ`` strings
(the six-digit literal it then sends as its next cursor). The source has no OpportunityPartner
resource, so it reads no partner link.

Cross-checks against the sandbox's own data: the same ids, each once, deleted rows flagged; the same
Amount and the same SystemModstamp instant per opportunity (the epoch milliseconds were right); on the
incremental load exactly the opportunities edited between the runs (its cursor is exclusive, ``>``)
and no account.
"""

from __future__ import annotations

from typing import Any

from tests.conformance.catalogs import dlt_loads, dlt_program, read_jsonl
from tests.conformance.checks import assert_incremental, assert_same_ids, ids_of, instant, live
from tests.conformance.harness import Conformance

CHANGED = 6
BODY = """
from salesforce import salesforce_source
from salesforce.helpers.client import SecurityTokenAuth

credentials = SecurityTokenAuth(user_name={username!r}, password={password!r}, security_token={token!r})
source = salesforce_source(credentials=credentials).with_resources("opportunity", "account")
report(pipeline.run(source, loader_file_format="jsonl"))
"""


def _program(run: Conformance) -> str:
    oauth = run.salesforce_oauth()
    body = BODY.format(username=oauth["username"], password=oauth["password"], token=oauth["security_token"])
    return dlt_program(run, body)


def _rows(run: Conformance, table: str, loads: list[str]) -> list[dict[str, Any]]:
    return read_jsonl(run.root / "dlt-out", table, loads)


def _amount(value: Any) -> float | None:
    """The sandbox's ground truth keeps amounts as decimal strings; clients emit numbers."""
    return None if value is None else float(value)


def _truth(run: Conformance, obj: str, fields: str) -> list[dict[str, Any]]:
    return run.salesforce.state(obj, soql=f"SELECT {fields} FROM {obj}")


def test_dlt_salesforce_first_and_incremental_load_match_the_sandbox(conformance: Any) -> None:
    run: Conformance = conformance()
    first = run.run_python("dlt", _program(run)).ok()
    assert not first.unrouted, first.unrouted
    assert first.calls["salesforce.bulk1_job_create"] == 2 and first.calls["salesforce.query"] == 0, (
        first.calls
    )
    loads = dlt_loads(first)

    opportunities = _rows(run, "opportunity", loads)
    truth = _truth(run, "Opportunity", "Id, IsDeleted, Amount, SystemModstamp")
    assert_same_ids(
        opportunities, ids_of(truth), key="id", what="first load of opportunity (deleted included)"
    )
    assert_same_ids(
        live(opportunities, "is_deleted"),
        ids_of(live(truth)),
        key="id",
        what="first load of live opportunity",
    )
    by_id = {r["Id"]: r for r in truth}
    for row in opportunities:
        want = by_id[row["id"]]
        assert row.get("amount") == _amount(want["Amount"]), row["id"]
        assert instant(row["system_modstamp"]) == instant(want["SystemModstamp"]), row["id"]
    accounts = _rows(run, "account", loads)
    assert_same_ids(accounts, ids_of(_truth(run, "Account", "Id")), key="id", what="first load of account")

    changed = run.change_opportunities(CHANGED)
    second = run.run_python("dlt", _program(run)).ok()
    assert not second.unrouted, second.unrouted
    again = dlt_loads(second)
    assert_incremental(_rows(run, "opportunity", again), changed, key="id", what="incremental opportunity")
    assert _rows(run, "account", again) == []
    amounts = {
        r["Id"]: _amount(r["Amount"])
        for r in _truth(run, "Opportunity", "Id, Amount")
        if r["Id"] in set(changed)
    }
    assert {r["id"]: r["amount"] for r in _rows(run, "opportunity", again)} == amounts
