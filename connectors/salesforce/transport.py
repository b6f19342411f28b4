"""The one HTTP session every Salesforce call goes through, and how its failures are read.

The session trusts exactly the configured CA (``trust_env=False``: REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE
would otherwise override ``verify``), puts a timeout on every call, counts calls, reads
``Sforce-Limit-Info`` on every answer and refuses a call that would take the org past the configured
share of its daily API budget. simple-salesforce builds login URLs as ``https://{domain}.salesforce.com``;
for a login host that is not under salesforce.com (the sandbox, a proxy) the session sends the calls
simple-salesforce addresses to https://login.salesforce.com to the configured login URL instead.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import certifi
import requests
import urllib3.exceptions
from simple_salesforce.exceptions import SalesforceError, SalesforceGeneralError, SalesforceRefusedRequest

from connectors.errors import BudgetExhausted
from connectors.retry import RetryHint, parse_retry_after

_LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")
REDIRECTED_LOGIN_DOMAIN = "partnerkpi-login"
"""The ``domain`` handed to simple-salesforce when logins go to a host outside salesforce.com."""

RETRYABLE_RECORD_CODES = frozenset({"UNABLE_TO_LOCK_ROW"})


def login_domain(login_url: str, *, needs_my_domain: bool = False) -> str:
    """simple-salesforce's ``domain`` for a login URL (``login``, ``test``, ``acme.my``). For a host outside
    salesforce.com it is ``login`` (the session redirects those calls; a JWT's audience stays
    https://login.salesforce.com), or a placeholder for flows that refuse ``login`` (client credentials)."""
    parts = urlsplit(login_url)
    host = parts.hostname or ""
    if host.endswith(".salesforce.com") and parts.port in (None, 443):
        return host[: -len(".salesforce.com")]
    return REDIRECTED_LOGIN_DOMAIN if needs_my_domain else "login"


def _redirected(login_url: str) -> bool:
    parts = urlsplit(login_url)
    return not ((parts.hostname or "").endswith(".salesforce.com") and parts.port in (None, 443))


class ApiBudget:
    """The org's daily API allowance as the last answer reported it, and the share this run may reach."""

    def __init__(self, share: float) -> None:
        self.share = share
        self.used: int | None = None
        self.limit: int | None = None

    def observe(self, limit_info: str | None) -> None:
        match = _LIMIT_INFO.search(limit_info or "")
        if match:
            self.used, self.limit = int(match.group(1)), int(match.group(2))

    @property
    def ceiling(self) -> int | None:
        return None if self.limit is None else int(self.limit * self.share)

    def ensure_room(self) -> None:
        """Raise BudgetExhausted when one more call would pass the ceiling."""
        ceiling = self.ceiling
        if self.used is not None and ceiling is not None and self.used + 1 > ceiling:
            raise BudgetExhausted(
                f"Salesforce API budget guard: {self.used:,} of the org's {self.limit:,} daily API calls are "
                f"used; this connector stops at {self.share:.0%} ({ceiling:,}). Wait for the 24-hour window to "
                "roll on, or raise budget_share in the connector config."
            )


@dataclass
class TransportEvents:
    """Callbacks the connector hangs its counters on."""

    on_call: Callable[[], None] | None = None


class SalesforceSession(requests.Session):
    """A requests session with the connector's trust, timeout, budget guard and login redirect."""

    def __init__(
        self,
        *,
        ca_bundle: Path | None,
        timeout: float,
        budget: ApiBudget,
        login_url: str,
        proxies: Mapping[str, str] | None = None,
        events: TransportEvents | None = None,
    ) -> None:
        super().__init__()
        self.trust_env = False
        self.verify = str(ca_bundle) if ca_bundle is not None else certifi.where()
        if proxies:
            self.proxies.update(proxies)
        self.timeout = timeout
        self.budget = budget
        self.events = events or TransportEvents()
        self._redirect_from: tuple[str, ...] = (
            (f"https://{REDIRECTED_LOGIN_DOMAIN}.salesforce.com/", "https://login.salesforce.com/")
            if _redirected(login_url)
            else ()
        )
        self._redirect_to = login_url.rstrip("/")
        self._local = threading.local()

    @property
    def last_call(self) -> str:
        """``METHOD /path`` of the last call sent on this thread, for messages: the path only, never the
        query string (a SOQL query's values may be customer data)."""
        value: str = getattr(self._local, "call", "") or "a Salesforce call"
        return value

    @property
    def last_retry_after(self) -> float | None:
        """Retry-After of the last answer on this thread (simple-salesforce's errors carry no headers)."""
        value: float | None = getattr(self._local, "retry_after", None)
        return value

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        target = url.decode() if isinstance(url, bytes) else url
        verb = method.decode() if isinstance(method, bytes) else method
        for prefix in self._redirect_from:
            if target.startswith(prefix):
                target = self._redirect_to + "/" + target[len(prefix) :]
                break
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        self._local.call = f"{verb.upper()} {urlsplit(target).path.rstrip('/') or '/'}"
        self.budget.ensure_room()
        if self.events.on_call is not None:
            self.events.on_call()
        response = super().request(verb, target, *args, **kwargs)
        self.budget.observe(response.headers.get("Sforce-Limit-Info"))
        self._local.retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return response


def _error_field(exc: SalesforceError, key: str, oauth_key: str) -> str | None:
    """``key`` of a Salesforce error body's first error (a JSON list of {message, errorCode, fields}), or
    ``key`` (else ``oauth_key``) of a JSON object (the OAuth form, {error, error_description}); "" when it
    has neither, None when the body is text that is not JSON."""
    content: Any = exc.content
    if isinstance(content, (bytes, str)):
        try:
            content = json.loads(content)
        except ValueError:
            return None
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get(key) or "")
    if isinstance(content, dict):
        return str(content.get(key) or content.get(oauth_key) or "")
    return ""


def error_code(exc: SalesforceError) -> str:
    """The ``errorCode`` of a Salesforce error body."""
    return _error_field(exc, "errorCode", "error") or ""


def error_message(exc: SalesforceError) -> str:
    """The first ``message`` of a Salesforce error body, short, for an ops engineer (a body that is not
    JSON: its text)."""
    message = _error_field(exc, "message", "error_description")
    if message is None:
        content = exc.content
        return (content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content))[:200]
    return message[:300]


CUT_OFF = (
    requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.ProtocolError,
    http.client.IncompleteRead,
    ConnectionResetError,
)
"""An answer whose body was cut off or reset half way: requests raises ChunkedEncodingError (urllib3's
ProtocolError around IncompleteRead or ConnectionResetError) while reading it, outside its ConnectionError."""


def classifier(session: SalesforceSession) -> Callable[[BaseException], RetryHint | None]:
    """How the retry policy reads an exception: 429, 5xx, dropped connections and answers cut off half
    way are retried (honouring Retry-After); 4xx answers, an answer that is not what the API documents
    (UnexpectedAnswer: a proxy page, malformed JSON) and an untrusted certificate are not;
    UNABLE_TO_LOCK_ROW is (a row lock clears)."""

    def classify(exc: BaseException) -> RetryHint | None:
        if isinstance(exc, (BudgetExhausted, requests.exceptions.SSLError)):  # retrying cannot fix trust
            return None
        if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
            return RetryHint(reason=f"connection problem ({type(exc).__name__})")
        if isinstance(exc, CUT_OFF):
            return RetryHint(reason=f"answer cut off half way ({type(exc).__name__})")
        if isinstance(exc, SalesforceGeneralError) and (exc.status == 429 or exc.status >= 500):
            return RetryHint(after=session.last_retry_after, reason=f"HTTP {exc.status}")
        if isinstance(exc, SalesforceError) and error_code(exc) in RETRYABLE_RECORD_CODES:
            return RetryHint(after=session.last_retry_after, reason=error_code(exc))
        if is_throttled(exc):
            return RetryHint(
                after=session.last_retry_after, reason="REQUEST_LIMIT_EXCEEDED (concurrent requests)"
            )
        return None

    return classify


def _limit_exceeded(exc: BaseException) -> bool:
    return isinstance(exc, SalesforceRefusedRequest) and error_code(exc) == "REQUEST_LIMIT_EXCEEDED"


def is_request_limit(exc: BaseException) -> bool:
    """403 REQUEST_LIMIT_EXCEEDED "TotalRequests Limit exceeded.": the org's daily allowance is used up."""
    return _limit_exceeded(exc) and "TotalRequests" in error_message(exc)  # type: ignore[arg-type]


def is_throttled(exc: BaseException) -> bool:
    """403 REQUEST_LIMIT_EXCEEDED for anything but the daily total (e.g. ConcurrentPerOrgLongTxn):
    Salesforce's throttling answer (it sends no 429); it clears, so it is retried."""
    return _limit_exceeded(exc) and "TotalRequests" not in error_message(exc)  # type: ignore[arg-type]
