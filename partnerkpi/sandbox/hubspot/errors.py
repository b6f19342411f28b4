"""HubSpot's error bodies, as its APIs answer them (and as hubspot-api-client's models parse them).

Sources: HubSpot's error-handling and usage-details docs, and bodies quoted in public issue threads
(``EXPIRED_AUTHENTICATION`` with ``context["expire time"]``, ``RATE_LIMIT`` with ``policyName``,
``BAD_REFRESH_TOKEN`` from ``/oauth/v1/token``). The SDK's ``StandardError`` model (the items of a 207's
``errors``) requires ``status, category, message, context, links, errors``: they are always present here.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from partnerkpi.sandbox.core import Response

INVALID_AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more "
    "details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
CLOUDFLARE_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>"
    "\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"
)
URI_TOO_LONG = (
    "<html>\r\n<head><title>414 Request-URI Too Large</title></head>\r\n<body>\r\n<center><h1>414 Request-URI "
    "Too Large</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"
)


class HubSpotError(Exception):
    """Raised inside a handler; the emulation turns it into HubSpot's JSON error body."""

    def __init__(
        self,
        status: int,
        category: str,
        message: str,
        context: dict[str, list[str]] | None = None,
        sub_category: str | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.message = message
        self.context = context
        self.sub_category = sub_category
        self.errors = errors

    def response(self) -> Response:
        return error(self.status, self.category, self.message, self.context, self.sub_category, self.errors)


def correlation_id() -> str:
    return str(uuid.uuid4())


def error(
    status: int,
    category: str,
    message: str,
    context: dict[str, list[str]] | None = None,
    sub_category: str | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> Response:
    body: dict[str, Any] = {"status": "error", "message": message, "correlationId": correlation_id()}
    if context is not None:
        body["context"] = context
    if errors is not None:
        body["errors"] = errors
    body["category"] = category
    if sub_category is not None:
        body["subCategory"] = sub_category
    return Response.json(body, status)


def invalid_authentication() -> Response:
    return error(401, "INVALID_AUTHENTICATION", INVALID_AUTH_MESSAGE)


def expired_authentication(seconds_ago: int, expired_at: str) -> Response:
    return error(
        401,
        "EXPIRED_AUTHENTICATION",
        f"The OAuth token used to make this call expired {seconds_ago} second(s) ago.",
        {"expire time": [expired_at]},
    )


def rate_limited(policy: str, retry_after: int | None) -> Response:
    message = {
        "DAILY": "You have reached your daily limit.",
        "SECONDLY": "You have reached your secondly limit.",
        "TEN_SECONDLY_ROLLING": "You have reached your ten_secondly_rolling limit.",
    }[policy]
    body = {
        "status": "error",
        "message": message,
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id(),
        "policyName": policy,
        "requestId": uuid.uuid4().hex,
    }
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return Response.json(body, 429, headers)


def invalid_property_values(problems: list[dict[str, Any]]) -> HubSpotError:
    """HubSpot's answer to unknown properties or bad values: one 400 for the whole request, the problems
    both in the message and as ``errors`` (the body HubSpot sends, as quoted in
    Atlas-Authority/marketing-automation#206)."""
    detail = json.dumps(problems, separators=(",", ":"))
    errors = [
        {"message": p["message"], "code": p["error"], "context": {"propertyName": [p["name"]]}}
        for p in problems
    ]
    return HubSpotError(400, "VALIDATION_ERROR", f"Property values were not valid: {detail}", errors=errors)


def property_problem(name: str, code: str, message: str, value: str | None = None) -> dict[str, Any]:
    problem: dict[str, Any] = {
        "isValid": False,
        "message": message,
        "error": code,
        "name": name,
        "localizedErrorMessage": message,
    }
    if value is not None:
        problem["propertyValue"] = value
    return problem


def standard_error(
    category: str, message: str, context: dict[str, list[str]], sub_category: str | None = None
) -> dict[str, Any]:
    """One item of a 207's ``errors`` (the SDK's StandardError)."""
    item: dict[str, Any] = {
        "status": "error",
        "category": category,
        "message": message,
        "context": context,
        "links": {},
        "errors": [],
    }
    if sub_category is not None:
        item["subCategory"] = sub_category
    return item


def missing_scopes(required: list[str]) -> Response:
    """403 for a call the app's scopes do not cover (the body quoted in HubSpot/hubspot-api-nodejs#268)."""
    body = {
        "status": "error",
        "message": "This app hasn't been granted all required scopes to make this call. Read more about "
        "required scopes here: https://developers.hubspot.com/scopes.",
        "correlationId": correlation_id(),
        "errors": [
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredScopes": required},
            }
        ],
        "links": {"scopes": "https://developers.hubspot.com/scopes"},
        "category": "MISSING_SCOPES",
    }
    return Response.json(body, 403)
