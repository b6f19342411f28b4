"""What a failed HubSpot call means: retried or not (:func:`classify`), and the connector's error for
what still fails after the retries (:func:`translate`): one line naming the call, no secrets, no raw bodies.

The SDK raises one ApiException class per sub-package, so an error answer is recognised by its shape
(``status``, ``body``, ``headers``) rather than its class.
"""

from __future__ import annotations

import http.client
import json
from typing import Any

from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import MaxRetryError, SSLError

from connectors.errors import AuthError, BudgetExhausted, ConnectionFailed, ConnectorError
from connectors.retry import RetryHint, parse_retry_after


class HubSpotApiError(ConnectorError):
    """HubSpot answered with an error that retrying does not cure (a 4xx other than 401/429)."""

    def __init__(self, message: str, status: int, category: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.category = category


def http_status(exc: BaseException) -> int | None:
    """The HTTP status of an SDK ApiException (each SDK sub-package has its own class)."""
    status = getattr(exc, "status", None)
    if isinstance(status, int) and hasattr(exc, "body") and hasattr(exc, "headers"):
        return status
    return None


def error_body(exc: BaseException) -> dict[str, Any]:
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            parsed = json.loads(body)
        except ValueError:
            return {"message": body[:200]}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def header(exc: BaseException, name: str) -> str | None:
    headers = getattr(exc, "headers", None)
    if headers is None:
        return None
    value = headers.get(name)
    return str(value) if value is not None else None


def is_daily_limit(exc: BaseException) -> bool:
    return http_status(exc) == 429 and str(error_body(exc).get("policyName", "")).upper() == "DAILY"


DROPPED = (Urllib3Error, http.client.HTTPException, ConnectionError, TimeoutError)
"""A connection that failed or dropped, before or during the answer: urllib3's errors (ProtocolError and
IncompleteRead for a body cut off or reset half way), http.client's, a reset socket, a timeout."""


def classify(exc: BaseException) -> RetryHint | None:
    """429 (but not the daily limit), 5xx and dropped connections (a body cut off or reset half way
    among them) are retried, honouring Retry-After; a TLS failure (untrusted certificate) and other
    answers are not."""
    status = http_status(exc)
    if status is not None:
        if status == 429 and not is_daily_limit(exc):
            return RetryHint(after=parse_retry_after(header(exc, "Retry-After")), reason="HTTP 429")
        if status >= 500:
            return RetryHint(after=parse_retry_after(header(exc, "Retry-After")), reason=f"HTTP {status}")
        return None
    if isinstance(exc, MaxRetryError):
        if isinstance(exc.reason, SSLError):
            return None
        return RetryHint(reason=f"connection problem ({type(exc.reason).__name__})")
    if isinstance(exc, SSLError):
        return None
    if isinstance(exc, DROPPED):
        return RetryHint(reason=f"connection problem ({type(exc).__name__})")
    return None


def translate(exc: BaseException, host: str, call: str | None = None) -> BaseException:
    """An exception the connector raises instead: a one-line message naming ``call`` (the request that
    failed) when known, no secrets, no raw bodies. What is still failing after the retries (5xx, dropped
    connections) is connection-class, on data calls as on the first call of a run."""
    if isinstance(exc, ConnectorError):
        return exc
    status = http_status(exc)
    if status is not None:
        body = error_body(exc)
        category = str(body.get("category") or body.get("errorType") or "")
        message = str(body.get("message") or "")[:300]
        where = (
            f"HubSpot answered {status}{' ' + category if category else ''}{' to ' + call if call else ''}"
        )
        if status == 401:
            return AuthError(f"{where}: the access token was refused ({message or 'unauthorized'})")
        if status == 403:
            return AuthError(f"{where}: the token lacks a scope for this call ({message or 'forbidden'})")
        if is_daily_limit(exc):
            return BudgetExhausted(
                f"{where}: the portal's daily API allowance is used up; try after midnight"
            )
        if status == 0:
            return ConnectionFailed(f"cannot reach HubSpot at {host}: TLS failure (check ca_bundle)")
        if status >= 500:
            return ConnectionFailed(f"{where}, after retries: HubSpot is failing; try again later")
        return HubSpotApiError(f"{where}: {message}", status, category)
    if (isinstance(exc, MaxRetryError) and isinstance(exc.reason, SSLError)) or isinstance(exc, SSLError):
        return ConnectionFailed(
            f"cannot reach HubSpot at {host}: its TLS certificate is not trusted (set ca_bundle to the CA "
            "that signed it)"
        )
    if isinstance(exc, DROPPED):
        reason = exc.reason if isinstance(exc, MaxRetryError) else exc
        during = f" during {call}" if call else ""
        return ConnectionFailed(
            f"cannot reach HubSpot at {host}{during} ({type(reason).__name__}), after retries"
        )
    return exc
