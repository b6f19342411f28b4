"""The Salesforce answers the connector reads are checked before they are believed
(connectors/salesforce/answers.py), the classifier retries a body cut off half way, and what cannot be
cured is connection-class: unit tests of the models and the classifier, then through simple-salesforce
over HTTPS against the sandbox (the client's one call wrapper, the read-ahead thread, the watermark)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from datetime import datetime

import pytest
import requests
import requests.structures
import urllib3.exceptions
from simple_salesforce.exceptions import SalesforceGeneralError, SalesforceMalformedRequest

from connectors.answers import parse_answer
from connectors.errors import ConnectionFailed, UnexpectedAnswer
from connectors.salesforce import answers, soql
from connectors.salesforce.answers import Describe, StageRow
from connectors.salesforce.failures import SalesforceApiError, translate
from connectors.salesforce.transport import ApiBudget, SalesforceSession, classifier
from connectors.salesforce.watermark import SalesforceWatermark
from partnerkpi.exit_codes import exit_code_of
from partnerkpi.sandbox.core import Sandbox
from tests.connectors.test_salesforce_fixtures import FAST_RETRIES, connector, emulation
from tests.connectors.test_salesforce_lookahead import lookahead_threads

SandboxFactory = Callable[..., Sandbox]
CALL = "GET /services/data/v59.0/query on Opportunity (reading)"
FIELDS = ["Id", "StageName", "Account.Name"]


def record(**values: object) -> dict[str, object]:
    return {
        "attributes": {"type": "Opportunity"},
        "Id": "006A",
        "StageName": "Won",
        "Account": None,
        **values,
    }


# -- query pages -------------------------------------------------------------------------------------------
def test_a_page_that_fits_is_believed() -> None:
    page = answers.query_page({"totalSize": 1, "done": True, "records": [record()]}, FIELDS, CALL)
    assert page.totalSize == 1 and page.records[0]["Id"] == "006A" and page.nextRecordsUrl is None


def test_an_empty_page_names_the_call_and_the_missing_fields() -> None:
    with pytest.raises(UnexpectedAnswer) as caught:
        answers.query_page({}, FIELDS, CALL)
    assert str(caught.value) == (
        f"unexpected answer to {CALL}: totalSize: field required; done: field required; records: field required"
    )


def test_a_page_not_done_without_a_next_url_is_not_taken_for_the_last_one() -> None:
    with pytest.raises(UnexpectedAnswer, match="done is false but there is no nextRecordsUrl"):
        answers.query_page({"totalSize": 5000, "done": False, "records": [record()]}, FIELDS, CALL)


def test_a_record_without_a_field_asked_for_is_named_by_its_index() -> None:
    rows = [record(), {"attributes": {}, "Id": "006B"}]
    with pytest.raises(UnexpectedAnswer) as caught:
        answers.query_page({"totalSize": 2, "done": True, "records": rows}, FIELDS, CALL)
    assert str(caught.value).endswith("records.1: no Account, StageName")


def test_a_relationship_field_is_carried_by_its_nested_record() -> None:
    nested = record(Account={"attributes": {}, "Name": "Partner 1"})
    assert answers.query_page({"totalSize": 1, "done": True, "records": [nested]}, FIELDS, CALL).records


def test_a_record_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(UnexpectedAnswer, match=r"records\.0: not an object"):
        answers.query_page({"totalSize": 1, "done": True, "records": ["006A"]}, FIELDS, CALL)


def test_a_count_of_the_wrong_type_is_refused_never_read_as_zero() -> None:
    for total in ("4", None, True, -1):
        with pytest.raises(UnexpectedAnswer, match="totalSize"):
            answers.query_page({"totalSize": total, "done": True, "records": []}, [], CALL)


STAGE_FIELDS = ["ApiName", "IsClosed", "IsWon", "DefaultProbability"]


def stage_page(**row: object) -> dict[str, object]:
    full = {"ApiName": "Closed Won", "IsClosed": True, "IsWon": True, "DefaultProbability": 100, **row}
    return {"totalSize": 1, "done": True, "records": [full]}


def test_stage_rows_must_say_closed_and_won_as_booleans() -> None:
    assert answers.query_page(stage_page(), STAGE_FIELDS, CALL, StageRow).records
    for bad in ({"IsClosed": None}, {"IsWon": "maybe"}, {"ApiName": ""}):
        with pytest.raises(UnexpectedAnswer, match=r"records\.0: (IsClosed|IsWon|ApiName)"):
            answers.query_page(stage_page(**bad), STAGE_FIELDS, CALL, StageRow)


def test_the_message_never_repeats_a_value_of_the_answer() -> None:
    with pytest.raises(UnexpectedAnswer) as caught:
        answers.query_page(stage_page(IsWon="Acme-Secret-Deal"), STAGE_FIELDS, CALL, StageRow)
    assert "Acme-Secret-Deal" not in str(caught.value)


# -- describe, bulk jobs, bulk result sets ------------------------------------------------------------------
def test_a_describe_needs_named_fields() -> None:
    good = {"name": "Account", "fields": [{"name": "Id", "type": "id"}, {"name": "X__c", "type": "double"}]}
    assert set(parse_answer(Describe, good, CALL).by_name()) == {"Id", "X__c"}
    with pytest.raises(UnexpectedAnswer, match=r"fields\.0\.name: field required"):
        parse_answer(Describe, {"name": "Account", "fields": [{"type": "id"}]}, CALL)


def test_a_bulk_job_in_a_state_the_api_does_not_document_is_refused() -> None:
    assert answers.bulk_job({"id": "750A", "state": "JobComplete"}, CALL).state == "JobComplete"
    with pytest.raises(UnexpectedAnswer, match="state is none of Aborted, Failed, InProgress, JobComplete"):
        answers.bulk_job({"id": "750A", "state": "Completed"}, CALL)


CSV = b'"Id","StageName","Account.Name"\n"006A","Won",""\n"006B","Lost","P1"\n'


def test_a_bulk_result_set_is_read_with_its_locator() -> None:
    headers = requests.structures.CaseInsensitiveDict(
        {"sforce-numberofrecords": "2", "Sforce-Locator": "MTAwMDA"}
    )
    rows, locator = answers.bulk_result_page(headers, CSV, FIELDS, CALL)
    assert rows == [
        {"Id": "006A", "StageName": "Won", "Account.Name": None},
        {"Id": "006B", "StageName": "Lost", "Account.Name": "P1"},
    ]
    assert locator == "MTAwMDA"
    last = {"Sforce-NumberOfRecords": "2", "Sforce-Locator": "null"}
    assert answers.bulk_result_page(last, CSV, FIELDS, CALL)[1] is None


@pytest.mark.parametrize(
    ("headers", "body", "problem"),
    [
        ({"Sforce-Locator": "null"}, CSV, "Sforce-NumberOfRecords: field required"),
        ({"Sforce-NumberOfRecords": "2"}, CSV, "Sforce-Locator: field required"),  # not "the last set"
        ({"Sforce-NumberOfRecords": "two", "Sforce-Locator": "null"}, CSV, "Sforce-NumberOfRecords"),
        (
            {"Sforce-NumberOfRecords": "2", "Sforce-Locator": "null"},
            b'"Id"\n"006A"\n"006B"\n',
            "lacks StageName",
        ),
        (
            {"Sforce-NumberOfRecords": "3", "Sforce-Locator": "null"},
            CSV,
            "2 CSV rows where Sforce-NumberOfRecords",
        ),
        ({"Sforce-NumberOfRecords": "0", "Sforce-Locator": "null"}, b"<html>down</html>", "lacks Id"),
    ],
)
def test_a_bulk_result_set_that_does_not_fit_is_refused(
    headers: dict[str, str], body: bytes, problem: str
) -> None:
    with pytest.raises(UnexpectedAnswer) as caught:
        answers.bulk_result_page(headers, body, FIELDS, CALL)
    assert problem in str(caught.value) and CALL in str(caught.value)


def test_the_fields_of_a_query_are_those_it_selects() -> None:
    query = soql.select(FIELDS, "Opportunity", where=[soql.condition("Name", "=", "a, b FROM X")])
    assert soql.selected(query) == (FIELDS, "Opportunity")
    assert soql.selected(soql.count("Opportunity")) == ([], "Opportunity")
    with_child = soql.select(["Id"], "Account", children=[soql.child(["Id"], "Contacts")])
    assert soql.selected(with_child) == (["Id"], "Account")


# -- the classifier and what retries cannot cure ------------------------------------------------------------
CUT_OFF = [
    requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead"),
    urllib3.exceptions.ProtocolError("Connection broken", ConnectionResetError(104, "reset")),
    http.client.IncompleteRead(b"{", 100),
    ConnectionResetError(104, "Connection reset by peer"),
]


@pytest.mark.parametrize("exc", CUT_OFF, ids=lambda e: type(e).__name__)
def test_a_body_cut_off_half_way_is_retried(exc: BaseException) -> None:
    classify = classifier(connector_session())
    hint = classify(exc)
    assert hint is not None and "cut off" in hint.reason


def test_an_answer_that_is_not_the_apis_is_not_retried() -> None:
    classify = classifier(connector_session())
    assert classify(UnexpectedAnswer(CALL, "x")) is None
    assert classify(requests.exceptions.JSONDecodeError("Expecting value", "<html>", 0)) is None


def connector_session() -> SalesforceSession:
    return SalesforceSession(
        ca_bundle=None, timeout=5, budget=ApiBudget(0.8), login_url="https://login.salesforce.com"
    )


def test_a_5xx_that_persists_is_connection_class_like_at_login() -> None:
    body = json.dumps([{"errorCode": "SERVER_UNAVAILABLE", "message": "down"}]).encode()
    persistent = translate(SalesforceGeneralError("u", 503, "query", body), "reading X", 6)
    assert isinstance(persistent, ConnectionFailed) and exit_code_of(persistent) == 3
    assert (
        str(persistent) == "Salesforce answered HTTP 503 SERVER_UNAVAILABLE to reading X: down (6 attempts)"
    )
    refused = translate(SalesforceMalformedRequest("u", 400, "query", b"[]"), "reading X", 6)
    assert isinstance(refused, SalesforceApiError) and exit_code_of(refused) == 1


# -- through the client against the sandbox ------------------------------------------------------------------
def test_an_html_200_is_an_unexpected_answer_naming_the_call_and_is_not_retried(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(opportunities=20, hubspot=False)
    with connector(sandbox) as conn:
        conn.reader.count("SELECT COUNT() FROM Opportunity")  # logged in
        emulation(sandbox).faults.answer_faults = {"salesforce.query": {"kind": "html"}}
        sandbox.reset_counters()
        with pytest.raises(UnexpectedAnswer) as caught:
            conn.reader.count(soql.count("Opportunity"), what="counting changed Opportunities")
    assert str(caught.value) == (
        "unexpected answer to GET /services/data/v59.0/query on Opportunity (counting changed Opportunities): "
        "the body is not JSON (an HTML page)"
    )
    assert sandbox.counters["salesforce.query"] == 1 and exit_code_of(caught.value) == 3


def test_a_body_cut_off_once_is_read_again_and_always_is_connection_failed(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(opportunities=300, hubspot=False)
    org = emulation(sandbox)
    query = soql.select(["Id", "Amount"], "Opportunity")
    with connector(sandbox) as conn:
        expected = [r for page in conn.reader.pages(query) for r in page]
        org.faults.answer_faults = {"salesforce.query": {"kind": "reset", "times": 1}}
        org.answer_fault_calls.clear()
        assert [r for page in conn.reader.pages(query) for r in page] == expected
        assert conn.stats.retries == 1
        org.faults.answer_faults = {"salesforce.query": {"kind": "truncated"}}
        with pytest.raises(ConnectionFailed) as caught:
            list(conn.reader.pages(query, what="reading X"))
    assert str(caught.value) == (
        "Salesforce's answer to GET /services/data/v59.0/query on Opportunity (reading X) was cut off half way, "
        f"{FAST_RETRIES.attempts} times"
    )


def test_a_broken_page_read_ahead_raises_where_it_is_taken_after_the_good_ones(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(opportunities=500, hubspot=False)
    org = emulation(sandbox)
    with connector(sandbox, page_size=200) as conn:
        conn.reader.count("SELECT COUNT() FROM Opportunity")
        org.faults.answer_faults = {"salesforce.query": {"kind": "json", "body": {"done": True}, "after": 1}}
        org.answer_fault_calls.clear()
        pages = conn.reader.pages(soql.select(["Id"], "Opportunity"), what="reading X")
        assert len(next(pages)) == 200  # page 2 is fetched on the worker thread meanwhile
        with pytest.raises(UnexpectedAnswer) as caught:
            next(pages)
    message = str(caught.value)
    assert message.startswith("unexpected answer to GET /services/data/v59.0/query/")  # the next page's call
    assert message.endswith("on Opportunity (reading X): totalSize: field required; records: field required")
    assert not lookahead_threads()


def test_a_page_re_read_in_the_lookback_window_never_moves_the_watermark_back(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(opportunities=50, hubspot=False)
    org = emulation(sandbox)
    ids = [
        r["Id"] for r in org.state("Opportunity", soql="SELECT Id FROM Opportunity WHERE IsDeleted = false")
    ]
    for record_id in ids[:5]:
        org.update_opportunity(record_id, Amount="1234.00")
    with connector(sandbox) as conn:
        stored = [b.watermark for b in conn.pull(None) if b.watermark][-1]
        marks = [b.watermark for b in conn.pull(stored) if b.watermark]
    assert marks, "the pull hands over its final watermark"
    assert all(moment(m) >= moment(stored) for m in marks), (stored, marks)


def moment(mark: str) -> datetime:
    found = SalesforceWatermark.load(mark)
    assert found is not None
    return found.modified


def test_a_5xx_that_never_clears_on_a_data_call_is_exit_3(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(opportunities=20, hubspot=False)
    with connector(sandbox) as conn:
        conn.reader.count("SELECT COUNT() FROM Opportunity")  # logged in before the faults start
        emulation(sandbox).faults.update({"error_rate": 1.0})
        with pytest.raises(ConnectionFailed) as caught:
            list(conn.pull(None))
    assert exit_code_of(caught.value) == 3
    assert str(caught.value).startswith(
        "Salesforce answered HTTP 500 UNKNOWN_EXCEPTION to describing Opportunity"
    )
    assert str(caught.value).endswith(f"({FAST_RETRIES.attempts} attempts)")
