"""Auth, limits and faults of the HubSpot emulation: private-app tokens, OAuth refresh through
``/oauth/v1/token`` (with httpx trusting the sandbox CA), expiry by time and by calls, the rate-limit headers
and 429 bodies, the daily limit, injected 5xx, and TLS refused to a client that does not trust the CA."""

from __future__ import annotations

import ssl
from typing import Any

import httpx
import pytest
import urllib3
from hubspot import HubSpot
from hubspot.crm.deals.exceptions import ApiException, ServiceException, UnauthorizedException

from tests.sandbox.hubspot_portal import Portal, PortalFactory, body_of, clients


def _refresh(portal: Portal, **overrides: str) -> httpx.Response:
    form = {
        "grant_type": "refresh_token",
        "client_id": "sandbox-client-id",
        "client_secret": "sandbox-client-secret",
        "refresh_token": "sandbox-refresh-token",
        **overrides,
    }
    context = ssl.create_default_context(cafile=str(portal.sandbox.ca_path))
    with httpx.Client(verify=context, trust_env=False) as client:
        return client.post(f"{portal.sandbox.url}/oauth/v1/token", data=form)


def _oauth_portal(portal: Portal) -> tuple[Portal, str]:
    answer = _refresh(portal)
    assert answer.status_code == 200
    token = answer.json()["access_token"]
    return clients(portal.sandbox, portal.emulation, portal.data, token), token


def test_refresh_token_grant_gives_a_working_access_token(portal: Portal) -> None:
    answer = _refresh(portal)
    body = answer.json()
    assert answer.status_code == 200
    assert body["expires_in"] == 1800 and body["token_type"] == "bearer"
    assert body["refresh_token"] == "sandbox-refresh-token"
    oauth, token = _oauth_portal(portal)
    assert oauth.deals.get_page(limit=1).results
    info = oauth.hs.oauth.access_tokens_api.get(token)
    assert "crm.objects.deals.read" in info.scopes and info.expires_in > 0
    assert portal.counter("hubspot.oauth.token") == 2


@pytest.mark.parametrize(
    ("override", "status"),
    [
        ({"refresh_token": "stolen"}, "BAD_REFRESH_TOKEN"),
        ({"client_id": "other-app"}, "BAD_CLIENT_ID"),
        ({"grant_type": "password"}, "BAD_GRANT_TYPE"),
    ],
)
def test_refresh_errors(portal: Portal, override: dict[str, str], status: str) -> None:
    answer = _refresh(portal, **override)
    assert answer.status_code == 400 and answer.json()["status"] == status


def test_unknown_token_is_401_invalid_authentication(portal: Portal) -> None:
    stranger = clients(portal.sandbox, portal.emulation, portal.data, "pat-na1-unknown")
    with pytest.raises(UnauthorizedException) as raised:
        stranger.deals.get_page(limit=1)
    body = body_of(raised.value)
    assert set(body) == {"status", "message", "correlationId", "category"}
    assert body["category"] == "INVALID_AUTHENTICATION" and body["status"] == "error"
    assert body["message"].startswith("Authentication credentials not found.")


def test_access_tokens_expire_after_their_time(portal: Portal) -> None:
    now = [1_000_000.0]
    portal.emulation.auth.clock = lambda: now[0]
    oauth, token = _oauth_portal(portal)
    oauth.deals.get_page(limit=1)
    now[0] += 1800 + 5
    with pytest.raises(UnauthorizedException) as raised:
        oauth.deals.get_page(limit=1)
    body = body_of(raised.value)
    assert body["category"] == "EXPIRED_AUTHENTICATION"
    assert body["message"] == "The OAuth token used to make this call expired 5 second(s) ago."
    assert list(body["context"]) == ["expire time"]
    with pytest.raises(Exception) as info:
        oauth.hs.oauth.access_tokens_api.get(token)
    assert getattr(info.value, "status", None) == 404
    renewed, _ = _oauth_portal(portal)  # a refresh mints a new one
    assert renewed.deals.get_page(limit=1).results


def test_access_tokens_expire_after_n_calls(portal: Portal) -> None:
    portal.emulation.faults.session_expiry_after_calls = 2
    oauth, _ = _oauth_portal(portal)
    oauth.deals.get_page(limit=1)
    oauth.deals.get_page(limit=1)
    with pytest.raises(UnauthorizedException) as raised:
        oauth.deals.get_page(limit=1)
    assert body_of(raised.value)["category"] == "EXPIRED_AUTHENTICATION"
    assert portal.deals.get_page(limit=1).results  # private-app tokens do not expire


def _headers(raw: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in dict(raw).items()}


def test_rate_limit_headers_and_the_429_of_the_burst_window(portal: Portal) -> None:
    portal.emulation.limits.monotonic = lambda: 500.0
    portal.emulation.faults.rate_limit_per_second = 0.3  # 3 calls per 10 s
    remaining = []
    for _ in range(3):
        _, status, raw = portal.deals.get_page_with_http_info(limit=1)
        headers = _headers(raw)
        assert status == 200
        assert headers["x-hubspot-ratelimit-max"] == "3"
        assert headers["x-hubspot-ratelimit-interval-milliseconds"] == "10000"
        assert headers["x-hubspot-ratelimit-daily"] == "650000"
        remaining.append(int(headers["x-hubspot-ratelimit-remaining"]))
    assert remaining == [2, 1, 0]
    with pytest.raises(ApiException) as raised:
        portal.deals.get_page(limit=1)
    assert raised.value.status == 429
    body = body_of(raised.value)
    assert body["status"] == "error" and body["errorType"] == "RATE_LIMIT"
    assert body["policyName"] == "TEN_SECONDLY_ROLLING" and body["correlationId"]
    assert raised.value.headers["Retry-After"] == "10"
    assert raised.value.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    portal.emulation.limits.monotonic = lambda: 510.5  # the window has rolled
    assert portal.deals.get_page(limit=1).results


def test_429_without_retry_after_when_configured(portal_factory: PortalFactory) -> None:
    portal = portal_factory(retry_after=False)
    portal.emulation.limits.monotonic = lambda: 500.0
    portal.emulation.faults.rate_limit_per_second = 0.1
    portal.deals.get_page(limit=1)
    with pytest.raises(ApiException) as raised:
        portal.deals.get_page(limit=1)
    assert raised.value.status == 429 and "Retry-After" not in raised.value.headers


def test_daily_limit_for_private_apps_and_no_daily_headers_for_oauth(portal: Portal) -> None:
    oauth, _ = _oauth_portal(portal)
    _, _, raw = oauth.deals.get_page_with_http_info(limit=1)
    headers = _headers(raw)
    assert "x-hubspot-ratelimit-max" in headers and "x-hubspot-ratelimit-daily" not in headers
    portal.emulation.faults.daily_limit = portal.emulation.limits.daily_used + 1
    portal.deals.get_page(limit=1)
    with pytest.raises(ApiException) as raised:
        portal.deals.get_page(limit=1)
    assert raised.value.status == 429 and body_of(raised.value)["policyName"] == "DAILY"
    assert oauth.deals.get_page(limit=1).results  # OAuth apps have no daily limit


def test_injected_5xx_are_shaped_like_hubspots(portal: Portal) -> None:
    portal.emulation.faults.error_rate = 1.0
    statuses = set()
    for _ in range(12):
        with pytest.raises(ServiceException) as raised:
            portal.deals.get_page(limit=1)
        statuses.add(raised.value.status)
        if raised.value.status == 502:
            assert "<html>" in raised.value.body
        else:
            assert body_of(raised.value)["status"] == "error"
    assert statuses == {500, 502}
    assert portal.counter("hubspot.fault.5xx") == 12


def test_a_client_that_does_not_trust_the_ca_fails_tls(portal: Portal) -> None:
    untrusting = HubSpot(access_token="pat-sandbox-1", host=portal.sandbox.url, retry=urllib3.Retry(0))
    with pytest.raises(urllib3.exceptions.MaxRetryError) as raised:
        untrusting.crm.deals.basic_api.get_page(limit=1)
    assert isinstance(raised.value.reason, urllib3.exceptions.SSLError)
    assert portal.counter("hubspot.deals.list") == 0


def test_private_app_token_info_for_a_check_command(portal: Portal) -> None:
    context = ssl.create_default_context(cafile=str(portal.sandbox.ca_path))
    url = f"{portal.sandbox.url}/oauth/v2/private-apps/get/access-token-info"
    with httpx.Client(verify=context, trust_env=False) as client:
        known = client.post(url, json={"tokenKey": "pat-sandbox-1"})
        unknown = client.post(url, json={"tokenKey": "pat-na1-rotated"})
        account = client.get(
            f"{portal.sandbox.url}/account-info/v3/details", headers={"Authorization": "Bearer pat-sandbox-1"}
        )
    assert known.status_code == 200 and "crm.objects.deals.read" in known.json()["scopes"]
    assert unknown.status_code == 400
    assert account.json()["companyCurrency"] == "USD"
