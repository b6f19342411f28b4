"""connectors.json_api.JsonApi: the shared call helper for a plain JSON API (the docs' Acme example)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import respx

from connectors.base import ConnectorStats
from connectors.errors import AuthError, ConnectionFailed, ConnectorError, UnexpectedAnswer
from connectors.json_api import JsonApi
from connectors.retry import RetryPolicy

BASE = "https://api.example-crm.test/v1"
FAST = RetryPolicy(attempts=3, initial_wait=0.0, max_wait=0.0)


@pytest.fixture
def api() -> Iterator[JsonApi]:
    client = JsonApi(
        "example 'eu'", BASE, ConnectorStats(), headers={"Authorization": "Bearer t0ken"}, policy=FAST
    )
    yield client
    client.close()


def test_a_request_answers_the_decoded_json_and_is_counted(api: JsonApi) -> None:
    with respx.mock(base_url=BASE) as crm:
        route = crm.get("/me").respond(json={"email": "bot@example.test"})
        assert api.request("GET", "/me") == {"email": "bot@example.test"}
    assert route.calls.last.request.headers["Authorization"] == "Bearer t0ken"
    assert (api.stats.api_calls, api.stats.retries) == (1, 0)


def test_rate_limits_and_server_errors_are_retried_and_each_attempt_counted(api: JsonApi) -> None:
    with respx.mock(base_url=BASE) as crm:
        crm.get("/deals").mock(
            side_effect=[
                httpx.Response(429, headers={"Retry-After": "0"}),
                httpx.Response(503),
                httpx.Response(200, json=[]),
            ]
        )
        assert api.request("GET", "/deals") == []
    assert (api.stats.api_calls, api.stats.retries) == (3, 2)


def test_a_refused_token_is_an_auth_error_naming_the_request_and_not_retried(api: JsonApi) -> None:
    with respx.mock(base_url=BASE) as crm:
        crm.get("/partners/1").respond(403)
        with pytest.raises(AuthError) as refused:
            api.request("GET", "/partners/1")
    assert str(refused.value) == "example 'eu': the API token was refused (HTTP 403) on GET /partners/1"
    assert "t0ken" not in str(refused.value) and api.stats.api_calls == 1


def test_another_status_is_a_connector_error_naming_the_request(api: JsonApi) -> None:
    with respx.mock(base_url=BASE) as crm:
        crm.post("/partners/batch-update").respond(422, json={"detail": "t0ken"})
        with pytest.raises(ConnectorError) as failed:
            api.request("POST", "/partners/batch-update", json=[])
    assert str(failed.value) == "example 'eu': POST /partners/batch-update answered HTTP 422"
    assert not isinstance(failed.value, AuthError)


def test_a_server_still_failing_after_the_attempts_names_the_status(api: JsonApi) -> None:
    with respx.mock(base_url=BASE) as crm:
        crm.get("/deals").respond(500)
        with pytest.raises(ConnectorError, match=r"GET /deals answered HTTP 500"):
            api.request("GET", "/deals")
    assert (api.stats.api_calls, api.stats.retries) == (3, 2)


def test_an_unreachable_host_is_connection_failed_after_the_attempts(api: JsonApi) -> None:
    with respx.mock(base_url=BASE) as crm:
        crm.get("/me").mock(side_effect=httpx.ConnectError("refused"))
        with pytest.raises(ConnectionFailed) as failed:
            api.request("GET", "/me")
    assert str(failed.value) == f"example 'eu': cannot reach {BASE}: ConnectError"
    assert api.stats.retries == 2


def test_a_body_that_is_not_json_is_an_unexpected_answer(api: JsonApi) -> None:
    with respx.mock(base_url=BASE) as crm:
        crm.get("/me").respond(200, text="<!DOCTYPE html><html>login</html>")
        with pytest.raises(UnexpectedAnswer) as odd:
            api.request("GET", "/me")
    assert str(odd.value) == (
        "unexpected answer to GET /me (example 'eu'): the body is not JSON (an HTML page)"
    )
