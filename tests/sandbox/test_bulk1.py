"""Bulk API 1.0 query jobs, driven by simple-salesforce's real ``sf.bulk`` and, on the wire, by the
calls tap-salesforce 2.8.1's BULK mode makes (JSON job body, ``text/csv`` batch, XML batch info)."""

from __future__ import annotations

import csv
import io
import itertools
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
import requests
from simple_salesforce.exceptions import SalesforceGeneralError

from partnerkpi.sandbox.app import build_sandbox
from partnerkpi.sandbox.core import Sandbox
from partnerkpi.sandbox.salesforce import SalesforceEmulation
from partnerkpi.sandbox.salesforce.bulk1_state import EMPTY_CSV
from partnerkpi.sandbox.salesforce.ids import make_id
from partnerkpi.sandbox.testing import salesforce_client

NS = "{http://www.force.com/2009/06/asyncapi/dataload}"
OPPORTUNITIES = 2_000


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    sandbox = build_sandbox(seed=5, partners=20, opportunities=OPPORTUNITIES, hubspot=False)
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="module")
def sf(sandbox: Sandbox) -> Any:
    return salesforce_client(sandbox)


@pytest.fixture
def emulation(sandbox: Sandbox) -> SalesforceEmulation:
    emulation = sandbox.emulation("salesforce")
    assert isinstance(emulation, SalesforceEmulation)
    return emulation


class Wire:
    """Raw Bulk 1.0 calls the way tap-salesforce makes them (its headers, its content types)."""

    def __init__(self, sf: Any) -> None:
        self.session: requests.Session = sf.session
        self.base: str = sf.bulk_url
        self.token: str = sf.session_id

    def call(
        self, method: str, path: str, body: str = "", content_type: str = "application/json", **headers: str
    ) -> requests.Response:
        sent = {"X-SFDC-Session": self.token, "Content-Type": content_type, **headers}
        return self.session.request(method, self.base + path, data=body.encode(), headers=sent)

    def create(self, obj: str, content_type: str = "CSV", operation: str = "queryAll", **headers: str) -> str:
        body = json.dumps({"operation": operation, "object": obj, "contentType": content_type})
        answer = self.call("POST", "job", body, **headers)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def batch(self, job: str, soql: str, content_type: str = "text/csv") -> dict[str, str]:
        answer = self.call("POST", f"job/{job}/batch", soql, content_type)
        assert answer.status_code == 201, answer.text
        return xml_fields(answer.text)

    def csv_result(self, job: str, batch: str) -> list[dict[str, str]]:
        listing = ET.fromstring(self.call("GET", f"job/{job}/batch/{batch}/result").text)
        rows: list[dict[str, str]] = []
        for result in listing.iter(f"{NS}result"):
            text = self.call(
                "GET", f"job/{job}/batch/{batch}/result/{result.text}", content_type="text/csv"
            ).text
            if text != EMPTY_CSV:
                rows.extend(csv.DictReader(io.StringIO(text, newline="")))
        return rows


def xml_fields(text: str) -> dict[str, str]:
    return {child.tag.removeprefix(NS): child.text or "" for child in ET.fromstring(text)}


@pytest.fixture
def wire(sf: Any) -> Wire:
    return Wire(sf)


def _rest_ids(sf: Any, soql: str, deleted: bool = False) -> list[str]:
    return [r["Id"] for r in sf.query_all(soql, include_deleted=deleted)["records"]]


# -- through simple-salesforce's sf.bulk ---------------------------------------------------------------
def test_sf_bulk_query_returns_the_records_rest_returns(sf: Any) -> None:
    soql = "SELECT Id, Name, Amount, StageName FROM Opportunity WHERE Amount > 20000"
    bulk = sf.bulk.Opportunity.query(soql)
    rest = sf.query_all(soql)["records"]
    assert len(bulk) == len(rest) > 0
    assert [(r["Id"], r["Name"], r["Amount"], r["StageName"]) for r in bulk] == [
        (r["Id"], r["Name"], r["Amount"], r["StageName"]) for r in rest
    ]
    assert bulk[0]["attributes"] == {
        "type": "Opportunity",
        "url": f"/services/data/v59.0/sobjects/Opportunity/{bulk[0]['Id']}",
    }


def test_sf_bulk_query_all_includes_deleted_records_and_query_does_not(sf: Any) -> None:
    soql = "SELECT Id FROM Opportunity"
    live = [r["Id"] for r in sf.bulk.Opportunity.query(soql)]
    everything = [r["Id"] for r in sf.bulk.Opportunity.query_all(soql)]
    assert live == _rest_ids(sf, soql)
    assert everything == _rest_ids(sf, soql, deleted=True)
    assert len(everything) == OPPORTUNITIES > len(live)


def test_json_results_carry_dates_as_epoch_milliseconds(sf: Any) -> None:
    soql = "SELECT Id, CloseDate, SystemModstamp FROM Opportunity ORDER BY Id LIMIT 5"
    bulk = sf.bulk.Opportunity.query(soql)
    rest = sf.query(soql)["records"]
    for b, r in zip(bulk, rest, strict=True):
        modstamp = datetime.strptime(r["SystemModstamp"], "%Y-%m-%dT%H:%M:%S.%f%z")
        assert b["SystemModstamp"] == int(modstamp.timestamp() * 1000)
        close = datetime.strptime(r["CloseDate"], "%Y-%m-%d").replace(tzinfo=timezone.utc)
        assert b["CloseDate"] == int(close.timestamp() * 1000)


def test_sf_bulk_lazy_query_reads_every_result_file(sf: Any, emulation: SalesforceEmulation) -> None:
    emulation.bulk1.result_file_rows = 300
    try:
        files = list(sf.bulk.Opportunity.query_all("SELECT Id FROM Opportunity", lazy_operation=True))
    finally:
        emulation.bulk1.result_file_rows = 1_000_000
    assert [len(f) for f in files] == [300] * 6 + [200]
    assert [r["Id"] for f in files for r in f] == _rest_ids(sf, "SELECT Id FROM Opportunity", deleted=True)


def test_sf_bulk_query_with_bad_soql_fails_the_batch_with_its_reason(sf: Any) -> None:
    with pytest.raises(SalesforceGeneralError) as raised:
        sf.bulk.Opportunity.query("SELECT Id, Nope__c FROM Opportunity")
    assert "InvalidBatch : Failed to process query: INVALID_FIELD: No such column 'Nope__c'" in str(
        raised.value
    )


# -- on the wire, as tap-salesforce calls it -------------------------------------------------------------
def test_csv_job_answers_job_json_batch_xml_and_result_csv(sf: Any, wire: Wire) -> None:
    job = wire.create("Account")
    batch = wire.batch(job, "SELECT Id, Name FROM Account ORDER BY Id")
    assert batch["state"] == "Queued" and batch["jobId"] == job
    closed = wire.call("POST", f"job/{job}", json.dumps({"state": "Closed"}))
    assert closed.json()["state"] == "Closed"
    status = wire.call("GET", f"job/{job}/batch/{batch['id']}")
    assert status.headers["Content-Type"] == "application/xml"
    assert xml_fields(status.text)["state"] == "Completed"
    rows = wire.csv_result(job, batch["id"])
    assert [r["Id"] for r in rows] == _rest_ids(sf, "SELECT Id FROM Account ORDER BY Id", deleted=True)
    info = xml_fields(wire.call("GET", f"job/{job}").text)
    assert (info["state"], info["numberBatchesCompleted"], info["numberRecordsProcessed"]) == (
        "Closed",
        "1",
        str(len(rows)),
    )


def test_csv_result_of_a_query_that_matches_nothing_reads_records_not_found(wire: Wire) -> None:
    job = wire.create("Opportunity")
    batch = wire.batch(job, "SELECT Id FROM Opportunity WHERE Name = 'no such deal'")
    listing = ET.fromstring(wire.call("GET", f"job/{job}/batch/{batch['id']}/result").text)
    (result,) = [r.text for r in listing.iter(f"{NS}result")]
    answer = wire.call("GET", f"job/{job}/batch/{batch['id']}/result/{result}")
    assert answer.text == EMPTY_CSV


def test_csv_result_names_parent_fields_by_relationship_path(sf: Any, wire: Wire) -> None:
    job = wire.create("OpportunityPartner")
    batch = wire.batch(job, "SELECT Id, OpportunityId, AccountTo.Name FROM OpportunityPartner ORDER BY Id")
    rows = wire.csv_result(job, batch["id"])
    rest = sf.query_all(
        "SELECT Id, OpportunityId, AccountTo.Name FROM OpportunityPartner ORDER BY Id", include_deleted=True
    )["records"]
    assert len(rows) == len(rest) > 0
    assert [(r["Id"], r["AccountTo.Name"]) for r in rows] == [
        (r["Id"], (r["AccountTo"] or {}).get("Name") or "") for r in rest
    ]


def test_xml_job_answers_query_results_as_xml_sobjects(wire: Wire) -> None:
    job = wire.create("Account", content_type="XML")
    batch = wire.batch(job, "SELECT Id, Name FROM Account ORDER BY Id LIMIT 2", "application/xml")
    listing = ET.fromstring(wire.call("GET", f"job/{job}/batch/{batch['id']}/result").text)
    (result,) = [r.text for r in listing.iter(f"{NS}result")]
    root = ET.fromstring(wire.call("GET", f"job/{job}/batch/{batch['id']}/result/{result}").text)
    records = list(root.iter(f"{NS}records"))
    assert root.tag == f"{NS}queryResult" and len(records) == 2
    assert records[0].find(f"{NS}type").text == "Account"  # type: ignore[union-attr]


# -- errors in Bulk 1.0's own body ---------------------------------------------------------------------
def test_a_wrong_session_id_is_400_invalid_session_id_in_xml_or_json(wire: Wire) -> None:
    wire.token = "not-a-session"
    as_xml = wire.call("GET", "job/750Kj0000000001IAA", content_type="text/csv")
    as_json = wire.call("GET", "job/750Kj0000000001IAA")
    assert as_xml.status_code == as_json.status_code == 400
    assert xml_fields(as_xml.text) == {
        "exceptionCode": "InvalidSessionId",
        "exceptionMessage": "Invalid session id",
    }
    assert as_json.headers["Content-Type"] == "application/json"
    assert as_json.json() == {"exceptionCode": "InvalidSessionId", "exceptionMessage": "Invalid session id"}


def test_an_unknown_job_is_invalid_job_in_the_json_body_tap_salesforce_reads(wire: Wire) -> None:
    never_made = make_id("750", 62**8)  # a well-formed job id no counter of this sandbox reaches
    answer = wire.call("GET", f"job/{never_made}")
    assert answer.status_code == 400 and answer.headers["Content-Type"] == "application/json"
    assert answer.json()["exceptionCode"] == "InvalidJob"


def test_a_closed_job_refuses_new_batches_with_invalid_job_state(wire: Wire) -> None:
    job = wire.create("Account")
    wire.call("POST", f"job/{job}", json.dumps({"state": "Closed"}))
    answer = wire.call("POST", f"job/{job}/batch", "SELECT Id FROM Account", "text/csv")
    assert answer.status_code == 400 and xml_fields(answer.text)["exceptionCode"] == "InvalidJobState"


def test_an_aborted_jobs_queued_batch_is_not_processed_and_has_no_results(wire: Wire) -> None:
    job = wire.create("Account")
    batch = wire.batch(job, "SELECT Id FROM Account")
    wire.call("POST", f"job/{job}", json.dumps({"state": "Aborted"}))
    assert xml_fields(wire.call("GET", f"job/{job}/batch/{batch['id']}").text)["state"] == "NotProcessed"
    answer = wire.call("GET", f"job/{job}/batch/{batch['id']}/result", content_type="text/csv")
    assert xml_fields(answer.text) == {
        "exceptionCode": "InvalidBatch",
        "exceptionMessage": "Batch not completed",
    }


def test_a_dml_job_is_refused_with_invalid_job(wire: Wire) -> None:
    answer = wire.call(
        "POST", "job", json.dumps({"operation": "insert", "object": "Account", "contentType": "CSV"})
    )
    assert answer.status_code == 400 and answer.json()["exceptionCode"] == "InvalidJob"


def test_a_batch_querying_another_object_than_its_job_fails(wire: Wire) -> None:
    job = wire.create("Opportunity")
    batch = wire.batch(job, "SELECT Id FROM Account")
    status = xml_fields(wire.call("GET", f"job/{job}/batch/{batch['id']}").text)
    assert status["state"] == "Failed" and status["stateMessage"].startswith("InvalidBatch : ")


def test_an_unknown_async_url_is_invalid_url(wire: Wire) -> None:
    answer = wire.call("GET", "jobs", content_type="text/csv")
    assert answer.status_code == 400 and xml_fields(answer.text)["exceptionCode"] == "InvalidUrl"


# -- PK chunking -----------------------------------------------------------------------------------------
def _batches(wire: Wire, job: str) -> list[dict[str, str]]:
    listing = ET.fromstring(wire.call("GET", f"job/{job}/batch").text)
    return [{c.tag.removeprefix(NS): c.text or "" for c in b} for b in listing.iter(f"{NS}batchInfo")]


def test_pk_chunking_splits_the_query_into_id_range_batches(sf: Any, wire: Wire) -> None:
    job = wire.create("Opportunity", **{"Sforce-Enable-PKChunking": "true; chunkSize=500"})
    original = wire.batch(job, "SELECT Id FROM Opportunity")
    batches = _batches(wire, job)
    assert batches[0]["id"] == original["id"] and batches[0]["state"] == "NotProcessed"
    chunks = batches[1:]
    assert len(chunks) == OPPORTUNITIES // 500 and {b["state"] for b in chunks} == {"Completed"}
    ids = [[r["Id"] for r in wire.csv_result(job, b["id"])] for b in chunks]
    # Chunks are consecutive ranges of ids in base-62 order (the guide's PK Chunking Header page).
    assert [i for chunk in ids for i in chunk] == sorted(
        _rest_ids(sf, "SELECT Id FROM Opportunity", deleted=True)
    )
    assert all(max(a) < min(b) for a, b in itertools.pairwise(ids))


def test_pk_chunking_an_object_it_does_not_support_fails_the_batch(wire: Wire) -> None:
    job = wire.create("OpportunityPartner", **{"Sforce-Enable-PKChunking": "true"})
    wire.batch(job, "SELECT Id FROM OpportunityPartner")
    (batch,) = _batches(wire, job)
    assert batch["state"] == "Failed" and "PK chunking" in batch["stateMessage"]


def test_pk_chunk_size_above_250000_is_invalid_job(wire: Wire) -> None:
    body = json.dumps({"operation": "query", "object": "Account", "contentType": "CSV"})
    answer = wire.call("POST", "job", body, **{"Sforce-Enable-PKChunking": "chunkSize=250001"})
    assert answer.status_code == 400 and answer.json()["exceptionCode"] == "InvalidJob"


# -- ids and limits --------------------------------------------------------------------------------------
def test_job_batch_and_result_ids_are_never_reused_nor_shared_with_bulk_2_jobs(sf: Any, wire: Wire) -> None:
    seen: list[str] = []
    for _ in range(3):
        job = wire.create("Account")
        batch = wire.batch(job, "SELECT Id FROM Account LIMIT 1")
        results = ET.fromstring(wire.call("GET", f"job/{job}/batch/{batch['id']}/result").text)
        seen += [job, batch["id"], *(r.text or "" for r in results.iter(f"{NS}result"))]
        bulk2 = sf.restful(
            "jobs/query",
            method="POST",
            data=json.dumps({"operation": "query", "query": "SELECT Id FROM Account"}),
        )
        seen.append(bulk2["id"])
        for _ in range(10):  # only a finished job may be deleted (Bulk 2.0 "Delete a Query Job")
            if sf.restful(f"jobs/query/{bulk2['id']}")["state"] == "JobComplete":
                break
        sf.restful(f"jobs/query/{bulk2['id']}", method="DELETE")
    assert len(seen) == len(set(seen)) == 12


def test_limits_count_bulk_api_batches_against_the_daily_allowance(sf: Any, wire: Wire) -> None:
    before = sf.limits()["DailyBulkApiBatches"]
    job = wire.create("Account")
    wire.batch(job, "SELECT Id FROM Account")
    after = sf.limits()["DailyBulkApiBatches"]
    assert after["Max"] == 15_000 and after["Remaining"] == before["Remaining"] - 1


def test_pk_chunking_from_a_start_row_reads_only_the_ids_from_there(sf: Any, wire: Wire) -> None:
    every = sorted(_rest_ids(sf, "SELECT Id FROM Opportunity", deleted=True))
    start = every[1_000]
    job = wire.create("Opportunity", **{"Sforce-Enable-PKChunking": f"chunkSize=600; startRow={start}"})
    wire.batch(job, "SELECT Id FROM Opportunity")
    chunks = _batches(wire, job)[1:]
    ids = [[r["Id"] for r in wire.csv_result(job, b["id"])] for b in chunks]
    assert [len(c) for c in ids] == [600, 400]
    assert [i for chunk in ids for i in chunk] == every[1_000:]
