"""Logging in: every flow through simple-salesforce's own login, except the refresh-token grant, which
simple-salesforce lacks: that one is our own ``POST /services/oauth2/token`` (httpx), after which
simple-salesforce runs on the session id and instance URL it answered.

Every flow hands back a client on the session id it got (``on_session``): renewing an expired session is
SalesforceClient's job, not simple-salesforce's. Error messages name the flow, the user and Salesforce's
error code, never a secret.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import certifi
import httpx
import requests
from pydantic import BaseModel, Field, SecretStr
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed

from connectors.answers import parse_json_answer
from connectors.errors import AuthError, ConnectionFailed
from connectors.salesforce.config import (
    ClientCredentialsAuth,
    JwtAuth,
    OAuthPasswordAuth,
    PasswordAuth,
    RefreshTokenAuth,
    SalesforceConfig,
    SessionAuth,
)
from connectors.salesforce.transport import SalesforceSession, login_domain

TOKEN_PATH = "/services/oauth2/token"


class LoginUnavailable(ConnectionFailed):
    """The login endpoint could not be reached or failed on its side: worth another try."""


class TokenAnswer(BaseModel):
    """What a refresh_token grant answers and the connector reads (RFC 6749 section 5.1, plus
    Salesforce's instance_url). The token is a SecretStr from the moment it is read."""

    access_token: SecretStr = Field(min_length=1)
    instance_url: str = Field(min_length=1)


@dataclass(frozen=True)
class TokenGrant:
    access_token: SecretStr
    instance_url: str


def _ssl_context(ca_bundle: Path | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else certifi.where())


def exchange_refresh_token(
    token_url: str,
    auth: RefreshTokenAuth,
    *,
    ca_bundle: Path | None,
    timeout: float,
    proxy: str | None = None,
) -> TokenGrant:
    """A fresh access token for a refresh token (OAuth 2.0 refresh_token grant)."""
    data = {
        "grant_type": "refresh_token",
        "client_id": auth.consumer_key,
        "client_secret": auth.consumer_secret.get_secret_value(),
        "refresh_token": auth.refresh_token.get_secret_value(),
    }
    try:
        with httpx.Client(
            verify=_ssl_context(ca_bundle), trust_env=False, timeout=timeout, proxy=proxy
        ) as client:
            response = client.post(token_url, data=data, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise ConnectionFailed(
            f"cannot reach the Salesforce token endpoint {token_url}: {type(exc).__name__}"
        ) from None
    if response.status_code >= 500 or response.status_code == 429:
        raise LoginUnavailable(
            f"the Salesforce token endpoint {token_url} answered HTTP {response.status_code}"
        )
    if response.status_code != 200:
        try:
            body: Any = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        code = str(body.get("error") or f"HTTP {response.status_code}")
        detail = str(body.get("error_description") or "")[:200]
        raise AuthError(
            f"Salesforce refused the refresh token for consumer key {auth.consumer_key} ({code}"
            + (f": {detail}" if detail else "")
            + "); issue a new refresh token for the connected app"
        )
    grant = parse_json_answer(TokenAnswer, response.content, f"POST {TOKEN_PATH}")
    return TokenGrant(grant.access_token, grant.instance_url)


_LOGIN_FIELDS: dict[type[BaseModel], tuple[str, ...]] = {
    PasswordAuth: ("username", "password", "security_token"),
    OAuthPasswordAuth: ("username", "password", "consumer_key", "consumer_secret"),
    JwtAuth: ("username", "consumer_key", "private_key"),
    ClientCredentialsAuth: ("consumer_key", "consumer_secret"),
}
"""The flows simple-salesforce logs in with at login_url: the auth fields each passes, as the keywords of
the same name (but ``private_key``, which simple-salesforce calls ``privatekey``)."""
_KEYWORD = {"private_key": "privatekey"}


def _reveal(value: str | SecretStr) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def _flow_kwargs(config: SalesforceConfig, session: SalesforceSession) -> dict[str, Any]:
    """simple-salesforce's keyword arguments for the configured flow."""
    auth = config.auth
    common: dict[str, Any] = {"session": session, "version": config.api_version, "parse_float": Decimal}
    domain = login_domain(config.login_url, needs_my_domain=isinstance(auth, ClientCredentialsAuth))
    if isinstance(auth, SessionAuth):
        return {
            **common,
            "session_id": auth.session_id.get_secret_value(),
            "instance_url": config.instance_url,
        }
    if isinstance(auth, RefreshTokenAuth):
        grant = exchange_refresh_token(
            (config.instance_url or config.login_url) + TOKEN_PATH,
            auth,
            ca_bundle=config.ca_bundle,
            timeout=config.timeout_seconds,
            proxy=(config.proxies or {}).get("https"),
        )
        return {
            **common,
            "session_id": grant.access_token.get_secret_value(),
            "instance_url": grant.instance_url,
        }
    credentials = {
        _KEYWORD.get(name, name): _reveal(getattr(auth, name)) for name in _LOGIN_FIELDS[type(auth)]
    }
    return {**common, **credentials, "domain": domain}


def who(config: SalesforceConfig) -> str:
    """The login's identity in words, for messages (never a secret)."""
    auth = config.auth
    user = getattr(auth, "username", None) or getattr(auth, "consumer_key", None)
    return f"{auth.flow} login" + (f" as {user}" if user else "")


def login(config: SalesforceConfig, session: SalesforceSession) -> Salesforce:
    """A logged-in simple-salesforce client on ``session``; AuthError / ConnectionFailed otherwise."""
    where = config.login_url if not isinstance(config.auth, SessionAuth) else config.instance_url
    try:
        return on_session(Salesforce(**_flow_kwargs(config, session)), config, session)
    except SalesforceAuthenticationFailed as exc:
        if isinstance(exc.code, int) and (exc.code >= 500 or exc.code == 429):
            raise LoginUnavailable(f"Salesforce's login at {where} answered HTTP {exc.code}") from None
        detail = (exc.auth_message or "")[:200]
        raise AuthError(
            f"Salesforce refused the {who(config)} at {where} ({exc.code}"
            + (f": {detail}" if detail else "")
            + ")"
        ) from None
    except requests.exceptions.SSLError:
        raise ConnectionFailed(
            f"TLS verification failed for {where}: set ca_bundle to the CA that signed its certificate"
        ) from None
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise LoginUnavailable(f"cannot reach Salesforce at {where}: {type(exc).__name__}") from None
    except (AttributeError, KeyError, TypeError, ValueError):
        # simple-salesforce's token login reads a JSON object; a 5xx answers a list (or HTML, which
        # fails to decode: requests' JSONDecodeError is a ValueError)
        raise LoginUnavailable(
            f"Salesforce's login at {where} gave an answer that is not a login result"
        ) from None


def on_session(sf: Salesforce, config: SalesforceConfig, session: SalesforceSession) -> Salesforce:
    """The logged-in client as a session-id client (no call is made). simple-salesforce keeps a login
    flow's credentials and logs in again by itself on a 401, rewriting the client's session id from
    whichever thread saw the 401; a session-id client raises SalesforceExpiredSession instead, and
    SalesforceClient renews once, under its lock, for every thread."""
    if sf.auth_type == "direct":
        return sf
    return Salesforce(
        session_id=sf.session_id,
        instance=sf.sf_instance,
        session=session,
        version=config.api_version,
        parse_float=Decimal,
    )


def renewable(config: SalesforceConfig) -> bool:
    """Whether an expired session can be renewed without a person (every flow but a bare session id)."""
    return not isinstance(config.auth, SessionAuth)
