"""What a Salesforce call that still fails after the retries means: the connector's error, one line
naming the call (what it was for, and the request sent where it matters), no secrets, no raw bodies.

Failures that retrying did not cure are connection-class (ConnectionFailed, exit 3), as at login: a 5xx
that persists, a connection dropped or an answer cut off half way every time say the CRM cannot be reached
just as a login that keeps failing does; nothing the operator's config could fix, and the next scheduled
run may well succeed. A body that is not JSON (an HTML page, JSON cut short) is UnexpectedAnswer naming
the call. 4xx answers stay SalesforceApiError (exit 1).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import requests
from simple_salesforce.exceptions import SalesforceError, SalesforceOperationError

from connectors.answers import looks_like
from connectors.errors import BudgetExhausted, ConnectionFailed, ConnectorError, UnexpectedAnswer
from connectors.salesforce.transport import CUT_OFF, error_code, error_message, is_request_limit


class SalesforceApiError(ConnectorError):
    """Salesforce answered an error that retrying does not cure."""

    def __init__(self, message: str, status: int, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def translate(exc: SalesforceError, what: str, attempts: int | None = None) -> ConnectorError:
    """The connector's error for a Salesforce answer that was not retried (or ran out of retries: a 5xx
    or 429 after ``attempts`` is connection-class)."""
    code = error_code(exc)
    message = error_message(exc)
    if is_request_limit(exc):
        return BudgetExhausted(
            f"Salesforce refused {what}: the org's daily API request limit is used up (REQUEST_LIMIT_EXCEEDED)"
        )
    text = f"Salesforce answered HTTP {exc.status}" + (f" {code}" if code else "") + f" to {what}"
    if message:
        text += f": {message}"
    if exc.status >= 500 or exc.status == 429:
        return ConnectionFailed(text + (f" ({attempts} attempts)" if attempts else ""))
    return SalesforceApiError(text, exc.status, code)


def failure(exc: BaseException, what: str, sent: Callable[[], str], attempts: int) -> BaseException:
    """The error to raise for ``exc``, which ended the ``attempts`` of the call for ``what`` (``sent()``:
    the request this thread sent last, for the messages that need it); ``exc`` itself when unknown."""
    if isinstance(exc, SalesforceError):
        return translate(exc, what, attempts)
    if isinstance(exc, SalesforceOperationError):  # a Bulk API 2.0 job that failed or was aborted
        return ConnectorError(f"Salesforce Bulk API job failed ({what}): {str(exc)[:300]}")
    if isinstance(exc, json.JSONDecodeError):  # requests' JSONDecodeError, raised by simple-salesforce
        return UnexpectedAnswer(sent(), f"the body is not JSON ({looks_like(exc.doc)})")
    if isinstance(exc, requests.exceptions.SSLError):
        return ConnectionFailed(
            f"TLS verification failed talking to Salesforce ({what}): set ca_bundle to the CA that "
            "signed the server's certificate"
        )
    if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
        return ConnectionFailed(
            f"Salesforce could not be reached ({what}) after {attempts} attempts: {type(exc).__name__}"
        )
    if isinstance(exc, CUT_OFF):
        return ConnectionFailed(f"Salesforce's answer to {sent()} was cut off half way, {attempts} times")
    return exc
