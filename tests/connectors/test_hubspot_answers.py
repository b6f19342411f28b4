"""Every answer the HubSpot connector reads is checked before it is believed (connectors/hubspot/answers.py,
HubSpotClient.read): what HubSpot documents and the pull relies on is required, an answer that does not fit
is UnexpectedAnswer naming the call (exit 3), a body cut off or reset is retried like a 5xx, and only a
well-formed answer can lead to config advice. The models alone, then the client with a fake SDK call, then
a few reads against the sandbox that the sync does not make (account details, daily limit, token info)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from pydantic import BaseModel
from urllib3.exceptions import IncompleteRead, ProtocolError

from connectors.answers import parse_answer
from connectors.base import CheckStatus, PullBatch
from connectors.errors import ConnectionFailed, ConnectorError, UnexpectedAnswer
from connectors.hubspot import HubSpotConfig, HubSpotConnector
from connectors.hubspot import answers as a
from connectors.hubspot.failures import classify, translate
from connectors.hubspot.normalize import parse_datetime
from connectors.hubspot.read import read_daily_limit
from connectors.retry import RetryPolicy
from kpi_core import clock
from partnerkpi.exit_codes import exit_code_of
from partnerkpi.sandbox.hubspot.portal import PORTAL_ID
from tests.connectors.test_hubspot_sandbox import T0, UNPACED, Portal, portal, read_mark

HOST = "https://api.example-hubspot.test"
FAST = RetryPolicy(attempts=3, initial_wait=0.0, max_wait=0.0)
DEAL = {"id": "901", "properties": {"dealname": "A", "amount": "10"}, "archived": False}
STAGE = {"id": "closedwon", "label": "Closed Won", "metadata": {"isClosed": "true", "probability": "1.0"}}


def problem(model: type[BaseModel], payload: Any, call: str = "CALL") -> str:
    with pytest.raises(UnexpectedAnswer) as caught:
        parse_answer(model, payload, call)
    assert caught.value.call == call and exit_code_of(caught.value) == 3
    return caught.value.problem


# -- the models --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "required"),
    [
        (a.ObjectPage, ["results"]),
        (a.SearchPage, ["results", "total"]),
        (a.BatchRead, ["status", "results"]),
        (a.AssociationBatch, ["status", "results"]),
        (a.AssociationLabels, ["results"]),
        (a.Pipelines, ["results"]),
        (a.Properties, ["results"]),
        (a.AccountDetails, ["portalId"]),
        (a.TokenInfo, ["hub_id", "scopes"]),
    ],
)
def test_an_empty_answer_fits_no_model_and_every_missing_field_is_named(
    model: type[BaseModel], required: list[str]
) -> None:
    said = problem(model, {})
    for name in required:
        assert f"{name}: field required" in said


def test_a_deal_without_an_id_or_properties_is_refused_and_the_value_never_repeated() -> None:
    assert "results.0.id: field required" in problem(a.ObjectPage, {"results": [{"properties": {}}]})
    assert "results.0.id" in problem(a.ObjectPage, {"results": [{"id": " ", "properties": {}}]})
    assert "results.0.properties" in problem(a.ObjectPage, {"results": [{"id": "1"}]})
    nested = {"results": [{"id": "1", "properties": {"amount": {"secret-value": 1}}}]}
    said = problem(a.ObjectPage, nested)
    assert "results.0.properties.amount" in said and "secret-value" not in said


def test_a_deal_page_is_read_into_raw_deals_with_numbers_as_text() -> None:
    page = parse_answer(
        a.ObjectPage, {"results": [{**DEAL, "id": 901}], "paging": {"next": {"after": 7}}}, "C"
    )
    deal = page.results[0].raw_deal()
    assert (deal.id, dict(deal.properties), deal.archived) == ("901", DEAL["properties"], False)
    assert page.after == "7"
    assert parse_answer(a.ObjectPage, {"results": []}, "C").after is None
    assert "paging.next.after" in problem(a.ObjectPage, {"results": [], "paging": {"next": {}}})


@pytest.mark.parametrize(
    ("total", "words"),
    [("12", "total: input should be a valid integer"), (-1, "total"), (True, "total"), (None, "total")],
)
def test_a_search_total_must_be_a_count(total: Any, words: str) -> None:
    assert words in problem(a.SearchPage, {"results": [], "total": total})


def test_a_search_total_smaller_than_its_page_is_refused() -> None:
    assert "total is smaller" in problem(a.SearchPage, {"results": [DEAL, {**DEAL, "id": "902"}], "total": 1})
    assert parse_answer(a.SearchPage, {"results": [DEAL], "total": 40}, "C").total == 40


def test_stage_metadata_must_say_closed_or_not_and_a_probability_from_0_to_1() -> None:
    def pipelines(*stages: Any) -> dict[str, Any]:
        return {"results": [{"id": "default", "stages": list(stages)}]}

    stages = parse_answer(
        a.Pipelines,
        pipelines(STAGE, {**STAGE, "id": "open", "metadata": {"isClosed": "false", "probability": "0.2"}}),
        "C",
    ).stages()
    assert (stages["closedwon"].is_closed, stages["closedwon"].probability) == (True, 1.0)
    assert (stages["open"].is_closed, stages["open"].probability) == (False, 0.2)
    said = problem(a.Pipelines, pipelines({**STAGE, "metadata": {}}))
    assert "metadata.isClosed: field required" in said and "metadata.probability: field required" in said
    assert "probability" in problem(
        a.Pipelines, pipelines({**STAGE, "metadata": {"isClosed": "true", "probability": "1.5"}})
    )
    assert "isClosed" in problem(
        a.Pipelines, pipelines({**STAGE, "metadata": {"isClosed": "maybe", "probability": "1"}})
    )
    assert "stages" in problem(a.Pipelines, {"results": [{"id": "default"}]})
    assert parse_answer(a.Pipelines, {"results": []}, "C").stages() == {}  # well-formed: no pipelines


def test_association_answers_need_the_deal_the_company_and_the_types() -> None:
    good = {
        "status": "COMPLETE",
        "results": [
            {
                "from": {"id": "901"},
                "to": [{"toObjectId": 5001, "associationTypes": [{"category": "USER_DEFINED", "typeId": 8}]}],
                "paging": {"next": {"after": "500"}},
            }
        ],
    }
    result = parse_answer(a.AssociationBatch, good, "C").results[0]
    assert (result.source.id, result.to[0].to_object_id, result.after) == ("901", "5001", "500")
    assert result.to[0].association_types[0].type_id == 8
    assert "results.0.from" in problem(a.AssociationBatch, {"status": "COMPLETE", "results": [{"to": []}]})
    labels = {"results": [{"label": "Partner"}]}
    said = problem(a.AssociationLabels, labels)
    assert "results.0.category" in said and "results.0.typeId" in said


def test_account_details_daily_limits_and_token_info() -> None:
    assert parse_answer(a.AccountDetails, {"portalId": 123, "timeZone": "US/Eastern"}, "C").portal_id == 123
    assert "portalId" in problem(a.AccountDetails, {"portalId": 0})
    limits = parse_answer(
        a.DailyLimits,
        [
            {"name": "other", "usageLimit": 1, "currentUsage": 0},
            {"name": "api-calls-daily", "usageLimit": 500000, "currentUsage": 12},
        ],
        "C",
    )
    found = limits.api_calls()
    assert found is not None and (found.usage_limit, found.current_usage) == (500000, 12)
    assert "list" in problem(a.DailyLimits, {})
    assert "scopes" in problem(a.TokenInfo, {"hub_id": 1})


# -- the classifier and the client -------------------------------------------------------------------------
class FakeApiException(Exception):
    def __init__(self, status: int, body: str = "{}") -> None:
        super().__init__(f"({status})")
        self.status, self.body, self.headers = status, body, {}


@pytest.mark.parametrize(
    "exc",
    [
        ProtocolError("Connection broken", IncompleteRead(10, 20)),
        IncompleteRead(10, 20),
        http.client.IncompleteRead(b"{", 20),
        ConnectionResetError(104, "reset"),
        FakeApiException(503),
    ],
    ids=["protocol_error", "urllib3_incomplete_read", "http_client_incomplete_read", "reset", "5xx"],
)
def test_a_body_cut_off_or_reset_is_retried_like_a_5xx(exc: BaseException) -> None:
    assert classify(exc) is not None


def test_an_unexpected_answer_is_not_retried() -> None:
    assert classify(UnexpectedAnswer("GET /x", "results: field required")) is None


def test_persistent_5xx_and_dropped_bodies_are_connection_class_naming_the_call() -> None:
    call = "POST /crm/v3/objects/deals/search"
    failing = translate(FakeApiException(502, '{"message": "bad gateway"}'), HOST, call)
    assert isinstance(failing, ConnectionFailed) and exit_code_of(failing) == 3
    assert "502" in str(failing) and call in str(failing)
    cut = translate(ProtocolError("Connection broken", IncompleteRead(1, 2)), HOST, call)
    assert isinstance(cut, ConnectionFailed) and call in str(cut)


class FakeResponse:
    def __init__(self, data: bytes) -> None:
        self.data = data


class FakeSdkCall:
    """An SDK method called with ``_preload_content=False``: each attempt gives the next of ``answers``."""

    def __init__(self, *answers: bytes | BaseException) -> None:
        self.answers = list(answers)
        self.calls = 0

    def __call__(self, *args: Any, _preload_content: bool = True, **kwargs: Any) -> FakeResponse:
        assert _preload_content is False  # the body is read (and can break) inside the retried attempt
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return FakeResponse(answer)


@pytest.fixture
def connector() -> Iterator[HubSpotConnector]:
    config = HubSpotConfig.model_validate(
        {
            "name": "hs",
            "type": "hubspot",
            "host": HOST,
            "auth": {"flow": "private_app", "token": "pat-1"},
            "rate_limits": UNPACED,
        }
    )
    built = HubSpotConnector(config, retry_policy=FAST)
    yield built
    built.close()


def test_read_retries_a_cut_off_body_then_checks_the_whole_one(connector: HubSpotConnector) -> None:
    good = json.dumps({"results": [DEAL], "total": 1}).encode()
    fake = FakeSdkCall(ProtocolError("Connection broken", IncompleteRead(5, 9)), good)
    page = connector.client.read(a.SearchPage, a.SEARCH_DEALS, fake)
    assert fake.calls == 2 and page.total == 1 and connector.stats.retries == 1


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"<!DOCTYPE html><html><body>Back soon</body></html>", "not JSON (an HTML page)"),
        (b'{"results": [{"id": ', "JSON cut short"),
        (b"{}", "total: field required"),
    ],
)
def test_read_of_a_whole_body_that_does_not_fit_is_unexpected_at_once(
    connector: HubSpotConnector, body: bytes, words: str
) -> None:
    fake = FakeSdkCall(body, body, body)
    with pytest.raises(UnexpectedAnswer) as caught:
        connector.client.read(a.SearchPage, a.SEARCH_DEALS, fake)
    assert fake.calls == 1
    assert str(caught.value).startswith(f"unexpected answer to {a.SEARCH_DEALS}: ") and words in str(
        caught.value
    )


# -- against the sandbox: the label advice, and the reads a sync does not make -------------------------------
@pytest.fixture
def tiny() -> Iterator[Portal]:
    with portal(40, partners=4) as p:
        yield p


def break_answers(p: Portal, endpoint: str, spec: dict[str, Any]) -> None:
    p.emulation.faults.answer_faults = {f"hubspot.{endpoint}": spec}
    p.emulation.answer_fault_calls.clear()


def test_only_a_well_formed_answer_without_the_label_gives_config_advice(tiny: Portal) -> None:
    labels = {"results": [{"category": "HUBSPOT_DEFINED", "typeId": 6, "label": "Primary"}]}
    break_answers(tiny, "associations.labels", {"kind": "json", "body": labels})
    with pytest.raises(ConnectorError, match="create it in Settings") as caught:
        tiny.connector().puller().load_partner_type()
    assert not isinstance(caught.value, UnexpectedAnswer) and "Primary" in str(caught.value)
    for spec in ({"kind": "json", "body": {}}, {"kind": "html"}, {"kind": "malformed"}):
        break_answers(tiny, "associations.labels", spec)
        with pytest.raises(UnexpectedAnswer) as unexpected:
            tiny.connector().puller().load_partner_type()
        assert a.ASSOCIATION_LABELS in str(unexpected.value) and "Settings" not in str(unexpected.value)


def test_account_details_give_the_portal_id_and_a_wrong_answer_is_unexpected(tiny: Portal) -> None:
    connector = tiny.connector()
    assert connector.account().portal_id == PORTAL_ID
    for spec in (
        {"kind": "json", "body": {}},
        {"kind": "json", "body": {"portalId": "n/a"}},
        {"kind": "html"},
    ):
        break_answers(tiny, "account.details", spec)
        with pytest.raises(UnexpectedAnswer, match=r"^unexpected answer to GET /account-info/v3/details: "):
            connector.account()


def test_the_daily_limit_is_read_and_a_wrong_answer_is_unexpected(tiny: Portal) -> None:
    connector = tiny.connector()
    limit = read_daily_limit(connector.client)
    assert limit is not None and limit.usage_limit > 0
    break_answers(tiny, "limits.daily", {"kind": "json", "body": {}})
    with pytest.raises(UnexpectedAnswer, match="GET /integrations/v1/limit/daily"):
        read_daily_limit(connector.client)


def test_a_wrong_token_info_fails_the_check_naming_the_call_never_the_token(tiny: Portal) -> None:
    auth = {
        "flow": "oauth",
        "client_id": "sandbox-client-id",
        "client_secret": "sandbox-client-secret",
        "refresh_token": "sandbox-refresh-token",
    }
    connector = tiny.connector(auth=auth)
    break_answers(tiny, "oauth.token_info", {"kind": "json", "body": {"hub_id": PORTAL_ID}})
    results = {r.name: r for r in connector.check()}
    line = results["hubspot.credentials"]
    assert line.status is CheckStatus.FAIL
    assert a.TOKEN_INFO in line.message and "scopes: field required" in line.message
    assert connector.client.tokens.token() not in line.message


def test_a_wrong_pipelines_answer_fails_the_check_instead_of_no_stages(tiny: Portal) -> None:
    connector = tiny.connector()
    break_answers(tiny, "pipelines.list", {"kind": "json", "body": {}, "after": 1})  # the token check passes
    results = {r.name: r for r in connector.check()}
    assert results["hubspot.credentials"].status is CheckStatus.OK
    line = results["hubspot.pipelines"]
    assert (
        line.status is CheckStatus.FAIL
        and a.PIPELINES in line.message
        and "no deal pipeline" not in line.message
    )


# -- the read-ahead path: a page fetched ahead and found wrong -----------------------------------------------
def pull_until_stopped(connector: HubSpotConnector, watermark: str | None) -> tuple[list[PullBatch], str]:
    handed: list[PullBatch] = []
    with pytest.raises(UnexpectedAnswer) as caught:
        for batch in connector.pull(watermark):
            handed.append(batch)
    return handed, str(caught.value)


def test_a_wrong_page_read_ahead_stops_the_first_pull_and_no_watermark_was_handed_over() -> None:
    with portal(300, partners=4) as p:
        connector = p.connector(page_size=50, association_batch_size=100)
        break_answers(
            p, "deals.list", {"kind": "json", "body": {"results": [{"properties": {}}]}, "after": 4}
        )
        handed, message = pull_until_stopped(connector, None)
        assert a.LIST_DEALS in message and "results.0.id" in message
        assert 0 < len(handed) < 3 and all(b.watermark is None for b in handed)


def test_a_wrong_search_page_read_ahead_leaves_no_watermark_past_deals_not_handed_over() -> None:
    with portal(300, partners=4) as p:
        connector = p.connector(search_page_size=10, association_batch_size=20)
        with clock.frozen(T0):
            first = list(connector.pull(None))
        with clock.frozen(T0 + timedelta(hours=1)):
            p.emulation.touch_deals(60)
        break_answers(p, "deals.search", {"kind": "json", "body": {}, "after": 4})  # the count, 3 pages
        with clock.frozen(T0 + timedelta(hours=2)):
            handed, message = pull_until_stopped(connector, first[-1].watermark)
        assert a.SEARCH_DEALS in message
        stored = {o.id for b in handed for o in b.opportunities}
        marks = [read_mark(b.watermark).modified for b in handed if b.watermark]
        assert marks and len(stored) < 60
        portal_deals = p.emulation.portal
        for key in portal_deals.deal_keys():
            deal = portal_deals.deal(key)
            modified = parse_datetime(deal.props["hs_lastmodifieddate"])
            if modified is not None and T0 < modified < max(marks):
                assert deal.id in stored, "a watermark passed a deal that was not handed over"
