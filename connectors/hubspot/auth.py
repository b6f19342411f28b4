"""Access tokens: a private app's fixed token, or OAuth access tokens renewed from a refresh token.

hubspot-api-client has the token endpoint but no renewal logic, so the OAuth refresh is our own httpx
call ``POST {host}/oauth/v1/token`` (grant_type=refresh_token). Access tokens live 30 minutes; a new one
is fetched once ``refresh_margin`` of its life is left, and at once after a 401. No message raised here
carries a secret: HubSpot's answer is reduced to its status and category, and any secret that it echoes
is masked.
"""

from __future__ import annotations

import logging
import ssl
import threading
from pathlib import Path
from typing import Protocol

import certifi
import httpx
from pydantic import SecretStr

from connectors.errors import AuthError, ConnectionFailed
from connectors.hubspot.config import OAuthAuth, PrivateAppAuth
from connectors.hubspot.pacing import Ticker
from connectors.retry import DEFAULT_POLICY, RetryHint, RetryPolicy, parse_retry_after

log = logging.getLogger(__name__)

TOKEN_PATH = "/oauth/v1/token"
DEFAULT_LIFETIME = 1800.0
REFRESH_MARGIN = 300.0
"""Seconds before expiry at which a token is renewed (at 25 of its 30 minutes)."""


class TokenSource(Protocol):
    @property
    def can_refresh(self) -> bool: ...

    def token(self) -> str:
        """A token valid now (renewed first when it is about to expire)."""
        ...

    def refresh(self) -> None:
        """Fetch a new token now (after a 401)."""
        ...


class StaticToken:
    """A private app's token: it does not expire and cannot be renewed."""

    can_refresh = False

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def token(self) -> str:
        return self._token.get_secret_value()

    def refresh(self) -> None:
        raise AuthError("HubSpot refused the private app token (401): check that the app is installed")

    def __repr__(self) -> str:
        return "StaticToken(**********)"


def _mask(text: str, secrets: list[SecretStr]) -> str:
    for secret in secrets:
        value = secret.get_secret_value()
        if value:
            text = text.replace(value, "**********")
    return text


class OAuthTokens:
    """OAuth access tokens for one app install, renewed from its refresh token."""

    can_refresh = True

    def __init__(
        self,
        auth: OAuthAuth,
        *,
        host: str,
        ticker: Ticker,
        ca_bundle: Path | None = None,
        timeout: float = 30.0,
        policy: RetryPolicy = DEFAULT_POLICY,
        http: httpx.Client | None = None,
        refresh_margin: float = REFRESH_MARGIN,
    ) -> None:
        self._auth = auth
        self._refresh_token = auth.refresh_token
        self._url = host.rstrip("/") + TOKEN_PATH
        self._ticker = ticker
        self._policy = policy
        self._margin = refresh_margin
        self._http = http or httpx.Client(
            verify=ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else certifi.where()),
            timeout=timeout,
            trust_env=False,
        )
        self._access: SecretStr | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.refreshes = 0

    def __repr__(self) -> str:
        return f"OAuthTokens(client_id={self._auth.client_id!r}, token=**********)"

    def token(self) -> str:
        with self._lock:
            if self._access is None or self._ticker.monotonic() >= self._expires_at - self._margin:
                self._fetch()
            assert self._access is not None
            return self._access.get_secret_value()

    def refresh(self) -> None:
        with self._lock:
            self._fetch()

    def close(self) -> None:
        self._http.close()

    def _fetch(self) -> None:
        form = {
            "grant_type": "refresh_token",
            "client_id": self._auth.client_id,
            "client_secret": self._auth.client_secret.get_secret_value(),
            "refresh_token": self._refresh_token.get_secret_value(),
        }
        try:
            response = self._policy.call(lambda: self._post(form), _classify)
        except httpx.HTTPError as exc:
            raise ConnectionFailed(
                f"cannot reach HubSpot's token endpoint {self._url}: {type(exc).__name__}"
            ) from None
        except _RetryableAnswer as exc:
            raise ConnectionFailed(
                f"HubSpot's token endpoint kept answering {exc.response.status_code}; try again later"
            ) from None
        if response.status_code != 200:
            raise AuthError(self._refusal(response))
        try:
            payload = response.json()
            access = str(payload["access_token"])
            lifetime = float(payload.get("expires_in") or DEFAULT_LIFETIME)
        except (ValueError, KeyError, TypeError):
            raise AuthError(
                f"HubSpot's token endpoint answered {response.status_code} without an access token"
            ) from None
        self._access = SecretStr(access)
        self._expires_at = self._ticker.monotonic() + min(lifetime, DEFAULT_LIFETIME)
        if payload.get("refresh_token"):
            self._refresh_token = SecretStr(str(payload["refresh_token"]))
        self.refreshes += 1
        log.info("HubSpot OAuth access token renewed (valid %.0f s)", lifetime)

    def _post(self, form: dict[str, str]) -> httpx.Response:
        response = self._http.post(self._url, data=form)
        if response.status_code == 429 or response.status_code >= 500:
            raise _RetryableAnswer(response)
        return response

    def _refusal(self, response: httpx.Response) -> str:
        category = ""
        message = ""
        try:
            body = response.json()
            if isinstance(body, dict):
                category = str(body.get("status") or body.get("error") or body.get("category") or "")
                message = str(body.get("message") or body.get("error_description") or "")
        except ValueError:
            pass
        secrets = [self._auth.client_secret, self._refresh_token, self._auth.refresh_token]
        detail = _mask(f"{category}: {message}" if category else message, secrets)[:200]
        return (
            f"HubSpot refused the OAuth refresh for client {self._auth.client_id} "
            f"({response.status_code}{' ' + detail if detail else ''}); re-authorize the app to get a new "
            "refresh token, or check client_id and client_secret"
        )


class _RetryableAnswer(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def _classify(exc: BaseException) -> RetryHint | None:
    if isinstance(exc, _RetryableAnswer):
        return RetryHint(
            after=parse_retry_after(exc.response.headers.get("Retry-After")),
            reason=f"token endpoint HTTP {exc.response.status_code}",
        )
    if isinstance(exc, (httpx.TransportError,)):
        return RetryHint(reason=f"token endpoint {type(exc).__name__}")
    return None


def token_source(
    auth: PrivateAppAuth | OAuthAuth,
    *,
    host: str,
    ticker: Ticker,
    ca_bundle: Path | None,
    timeout: float,
    policy: RetryPolicy = DEFAULT_POLICY,
    http: httpx.Client | None = None,
) -> StaticToken | OAuthTokens:
    if isinstance(auth, PrivateAppAuth):
        return StaticToken(auth.token)
    return OAuthTokens(
        auth, host=host, ticker=ticker, ca_bundle=ca_bundle, timeout=timeout, policy=policy, http=http
    )
