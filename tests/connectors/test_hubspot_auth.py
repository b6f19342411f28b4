"""connectors.hubspot.auth: the OAuth refresh (our own httpx call, with respx) renews before expiry, on a
401, and fails without secrets; a private app token cannot refresh."""

from __future__ import annotations

import httpx
import pytest
import respx
from pydantic import SecretStr

from connectors.errors import AuthError, ConnectionFailed
from connectors.hubspot.auth import OAuthTokens, StaticToken
from connectors.hubspot.config import OAuthAuth
from connectors.retry import RetryPolicy
from tests.connectors.hubspot_fakes import HOST, FakeTicker

OAUTH = OAuthAuth(
    flow="oauth",
    client_id="client-1",
    client_secret=SecretStr("secret-xyz"),
    refresh_token=SecretStr("refresh-abc"),
)
FAST = RetryPolicy(attempts=3, initial_wait=0.0, max_wait=0.0)


def tokens(ticker: FakeTicker) -> OAuthTokens:
    return OAuthTokens(OAUTH, host=HOST, ticker=ticker, policy=FAST, http=httpx.Client())


@respx.mock
def test_oauth_refresh_sends_the_grant_and_renews_before_expiry() -> None:
    route = respx.post(f"{HOST}/oauth/v1/token").mock(
        side_effect=[
            httpx.Response(
                200, json={"access_token": "at-1", "refresh_token": "refresh-abc", "expires_in": 1800}
            ),
            httpx.Response(
                200, json={"access_token": "at-2", "refresh_token": "refresh-abc", "expires_in": 1800}
            ),
        ]
    )
    ticker = FakeTicker()
    source = tokens(ticker)
    assert source.token() == "at-1"
    sent = dict(httpx.QueryParams(route.calls.last.request.content.decode()))
    assert sent == {
        "grant_type": "refresh_token",
        "client_id": "client-1",
        "client_secret": "secret-xyz",
        "refresh_token": "refresh-abc",
    }
    ticker.now += 24 * 60
    assert source.token() == "at-1" and route.call_count == 1
    ticker.now += 60 + 1  # past 25 minutes: renewed before the 30-minute expiry
    assert source.token() == "at-2" and route.call_count == 2
    assert "at-2" not in repr(source) and "secret-xyz" not in repr(source)


@respx.mock
def test_oauth_refusal_is_an_auth_error_without_secrets() -> None:
    respx.post(f"{HOST}/oauth/v1/token").mock(
        return_value=httpx.Response(
            400,
            json={"status": "BAD_REFRESH_TOKEN", "message": "missing or invalid refresh token refresh-abc"},
        )
    )
    with pytest.raises(AuthError) as caught:
        tokens(FakeTicker()).token()
    message = str(caught.value)
    assert "BAD_REFRESH_TOKEN" in message and "client-1" in message
    assert "refresh-abc" not in message and "secret-xyz" not in message


@respx.mock
def test_oauth_endpoint_5xx_retried_then_connection_failed() -> None:
    route = respx.post(f"{HOST}/oauth/v1/token").mock(return_value=httpx.Response(503, text="busy"))
    with pytest.raises(ConnectionFailed, match="503"):
        tokens(FakeTicker()).token()
    assert route.call_count == 3


@respx.mock
def test_forced_refresh_after_401() -> None:
    respx.post(f"{HOST}/oauth/v1/token").mock(
        side_effect=[
            httpx.Response(200, json={"access_token": "at-1", "expires_in": 1800}),
            httpx.Response(200, json={"access_token": "at-2", "expires_in": 1800}),
        ]
    )
    source = tokens(FakeTicker())
    assert source.token() == "at-1"
    source.refresh()
    assert source.token() == "at-2"


def test_private_app_token_cannot_refresh() -> None:
    token = StaticToken(SecretStr("pat-secret"))
    assert token.token() == "pat-secret" and not token.can_refresh
    assert "pat-secret" not in repr(token)
    with pytest.raises(AuthError):
        token.refresh()
