"""Who may call the portal: private-app tokens (they do not expire) and OAuth access tokens minted from a
refresh token at ``POST /oauth/v1/token`` or ``POST /oauth/2026-03/token`` (they expire after ``ttl`` seconds, HubSpot's 30 minutes by
default, or after ``Faults.session_expiry_after_calls`` calls)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import parse_qs

from partnerkpi.sandbox.core import Request, Response
from partnerkpi.sandbox.hubspot.errors import (
    correlation_id,
    error,
    expired_authentication,
    invalid_authentication,
)
from partnerkpi.sandbox.hubspot.portal import PORTAL_ID
from partnerkpi.sandbox.hubspot.schema import iso_ms

APP_ID = 1_234_567
USER_ID = 7_654_321
USER = "sandbox-admin@example.com"
HUB_DOMAIN = "partnerkpi-sandbox.hubspot.example"
SCOPES = (
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.objects.deals.read",
    "crm.objects.deals.write",
    "crm.schemas.companies.read",
    "crm.schemas.companies.write",
    "crm.schemas.deals.read",
    "crm.schemas.deals.write",
    "oauth",
)


@dataclass
class AccessToken:
    token: str
    refresh_token: str
    issued: float
    ttl: float
    calls: int = 0

    def expires_at(self) -> float:
        return self.issued + self.ttl


@dataclass
class Auth:
    private_tokens: tuple[str, ...] = ("pat-sandbox-1",)
    client_id: str = "sandbox-client-id"
    client_secret: str = "sandbox-client-secret"
    refresh_tokens: tuple[str, ...] = ("sandbox-refresh-token",)
    ttl: float = 1800.0
    clock: Callable[[], float] = time.time
    access: dict[str, AccessToken] = field(default_factory=dict)

    def kind(self, request: Request) -> str | None:
        """``private`` or ``oauth`` for a bearer token this portal knows (valid or not), else None."""
        token = bearer(request)
        if token in self.private_tokens:
            return "private"
        return "oauth" if token in self.access else None

    def check(self, request: Request, expiry_after_calls: int) -> Response | None:
        """None when the call may proceed, else HubSpot's 401."""
        token = bearer(request)
        if token is None:
            return invalid_authentication()
        if token in self.private_tokens:
            return None
        access = self.access.get(token)
        if access is None:
            return invalid_authentication()
        now = self.clock()
        access.calls += 1
        if expiry_after_calls and access.calls > expiry_after_calls and now < access.expires_at():
            access.ttl = max(0.0, now - access.issued)  # the token ends here, as if its time ran out
        if now >= access.expires_at():
            stamp = iso_ms(datetime.fromtimestamp(access.expires_at(), timezone.utc))
            return expired_authentication(int(now - access.expires_at()), stamp)
        return None

    def token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8"), keep_blank_values=True).items()}
        grant = form.get("grant_type")
        if grant != "refresh_token":
            return _oauth_error("BAD_GRANT_TYPE", "missing or invalid grant_type")
        if form.get("client_id") != self.client_id:
            return _oauth_error("BAD_CLIENT_ID", "missing or invalid client_id")
        if form.get("client_secret") != self.client_secret:
            return _oauth_error("BAD_CLIENT_SECRET", "missing or invalid client_secret")
        refresh = form.get("refresh_token") or ""
        if refresh not in self.refresh_tokens:
            return _oauth_error("BAD_REFRESH_TOKEN", "missing or invalid refresh token")
        access = AccessToken("oauth-" + secrets.token_hex(24), refresh, self.clock(), self.ttl)
        self.access[access.token] = access
        return Response.json(
            {
                "token_type": "bearer",
                "refresh_token": refresh,
                "access_token": access.token,
                "expires_in": int(self.ttl),
            }
        )

    def info(self, token: str) -> Response:
        access = self.access.get(token)
        now = self.clock()
        if access is None or now >= access.expires_at():
            return error(404, "OBJECT_NOT_FOUND", "Token not found")
        return Response.json(
            {
                "token": token,
                "user": USER,
                "hub_domain": HUB_DOMAIN,
                "scopes": list(SCOPES),
                "hub_id": PORTAL_ID,
                "app_id": APP_ID,
                "expires_in": int(access.expires_at() - now),
                "user_id": USER_ID,
                "token_type": "access",
            }
        )

    def private_app_info(self, request: Request) -> Response:
        """``POST /oauth/v2/private-apps/get/access-token-info`` ``{"tokenKey": ...}``: a private-app token's
        portal, app and scopes (how a check command verifies a private-app token)."""
        body = request.json() if request.body else None
        token = str((body or {}).get("tokenKey") or "") if isinstance(body, dict) else ""
        if token not in self.private_tokens:
            return error(400, "VALIDATION_ERROR", "Invalid token key: the token is unknown or was rotated.")
        return Response.json({"userId": USER_ID, "hubId": PORTAL_ID, "appId": APP_ID, "scopes": list(SCOPES)})


def bearer(request: Request) -> str | None:
    scheme, _, token = (request.header("Authorization") or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


_RFC6749_ERRORS = {
    "BAD_GRANT_TYPE": "unsupported_grant_type",
    "BAD_CLIENT_ID": "invalid_client",
    "BAD_CLIENT_SECRET": "invalid_client",
    "BAD_REFRESH_TOKEN": "invalid_grant",
}
"""HubSpot's OAuth errors carry RFC 6749's ``error`` / ``error_description`` besides its own ``status`` /
``message``, on the v1 and the newer token paths alike (changelog "New OAuth v3 API Endpoints and
Standardized Error Responses", whose example pairs ``invalid_grant`` with ``BAD_REFRESH_TOKEN``; the other
pairs are RFC 6749 section 5.2's codes for those cases)."""


def _oauth_error(status: str, message: str) -> Response:
    body = {
        "error": _RFC6749_ERRORS[status],
        "error_description": message,
        "status": status,
        "message": message,
        "correlationId": correlation_id(),
    }
    return Response.json(body, 400)
