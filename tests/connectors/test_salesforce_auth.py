"""The refresh-token grant (our own httpx call; simple-salesforce has none), with respx."""

from __future__ import annotations

import httpx
import pytest
import respx

from connectors.errors import AuthError, ConnectionFailed, UnexpectedAnswer
from connectors.salesforce.auth import exchange_refresh_token
from connectors.salesforce.config import RefreshTokenAuth

TOKEN_URL = "https://acme.my.salesforce.com/services/oauth2/token"
REFRESH = "5Aep861-refresh-token-secret"
CLIENT_SECRET = "client-secret-value-123"
AUTH = RefreshTokenAuth.model_validate(
    {
        "flow": "refresh_token",
        "consumer_key": "3MVG9-key",
        "consumer_secret": CLIENT_SECRET,
        "refresh_token": REFRESH,
    }
)


@respx.mock
def test_refresh_token_grant_answers_a_session() -> None:
    route = respx.post(TOKEN_URL).mock(
        return_value=httpx.Response(
            200,
            json={
                "access_token": "00Dxx!new-access",
                "instance_url": "https://acme.my.salesforce.com",
                "token_type": "Bearer",
                "issued_at": "1700000000000",
            },
        )
    )
    grant = exchange_refresh_token(TOKEN_URL, AUTH, ca_bundle=None, timeout=5)
    assert grant.access_token.get_secret_value() == "00Dxx!new-access"
    assert grant.instance_url == "https://acme.my.salesforce.com"
    sent = dict(httpx.QueryParams(route.calls.last.request.content.decode()))
    assert sent == {
        "grant_type": "refresh_token",
        "client_id": "3MVG9-key",
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH,
    }
    assert "00Dxx!new-access" not in repr(grant)


@respx.mock
def test_invalid_grant_is_an_auth_error_without_secrets() -> None:
    respx.post(TOKEN_URL).mock(
        return_value=httpx.Response(
            400, json={"error": "invalid_grant", "error_description": "expired access/refresh token"}
        )
    )
    with pytest.raises(AuthError) as caught:
        exchange_refresh_token(TOKEN_URL, AUTH, ca_bundle=None, timeout=5)
    message = str(caught.value)
    assert "invalid_grant" in message and "expired access/refresh token" in message
    assert REFRESH not in message and CLIENT_SECRET not in message
    assert caught.value.__cause__ is None


@respx.mock
def test_answer_without_a_token_is_an_unexpected_answer_naming_the_call() -> None:
    respx.post(TOKEN_URL).mock(return_value=httpx.Response(200, json={"instance_url": "https://x"}))
    with pytest.raises(UnexpectedAnswer, match="POST /services/oauth2/token: access_token: field required"):
        exchange_refresh_token(TOKEN_URL, AUTH, ca_bundle=None, timeout=5)
    assert issubclass(UnexpectedAnswer, ConnectionFailed) and not issubclass(UnexpectedAnswer, AuthError)


@respx.mock
def test_unreachable_token_endpoint_is_a_connection_failure() -> None:
    respx.post(TOKEN_URL).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(ConnectionFailed, match="cannot reach"):
        exchange_refresh_token(TOKEN_URL, AUTH, ca_bundle=None, timeout=5)
