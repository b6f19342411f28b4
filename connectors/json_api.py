"""A JSON API over HTTPS on the shared call helper: the client a connector for a plain REST CRM needs,
so that its code is about the CRM, not about retries (docs/connectors.md's Acme example).

Each request runs under the retry policy (429, 5xx and dropped connections retried, a server's
Retry-After honoured), is counted in the connector's stats, and what still fails becomes the connector's
error naming the request: 401/403 an ``AuthError``, an unreachable host ``ConnectionFailed``, a body
that is not JSON ``UnexpectedAnswer``, any other status a ``ConnectorError``. No message holds a header
(the token) or a body.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from connectors.answers import decode_json
from connectors.base import ConnectorStats
from connectors.calls import Caller
from connectors.errors import AuthError, ConnectionFailed, ConnectorError
from connectors.retry import DEFAULT_POLICY, RetryHint, RetryPolicy, parse_retry_after


@dataclass(frozen=True, slots=True)
class Request:
    """One request, as the errors name it."""

    method: str
    path: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


class JsonApi(Caller[Request]):
    """``request(method, path, ...)`` answers the decoded JSON body, or raises the connector's error."""

    def __init__(
        self,
        subject: str,
        base_url: str,
        stats: ConnectorStats,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30,
        policy: RetryPolicy = DEFAULT_POLICY,
    ) -> None:
        super().__init__(stats, policy)
        self.subject = subject
        """Who is calling, in every message (``acme 'acme-eu'``)."""
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, headers=dict(headers or {}), timeout=timeout)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        def once() -> Any:
            self.count_call()
            response = self.http.request(method, path, **kwargs)
            response.raise_for_status()
            return decode_json(response.content, f"{call} ({self.subject})")

        call = Request(method, path)
        return self.guarded(once, call)

    def close(self) -> None:
        self.http.close()

    def classify(self, exc: BaseException) -> RetryHint | None:
        if isinstance(exc, httpx.HTTPStatusError):
            status = exc.response.status_code
            if status == 429 or status >= 500:
                after = parse_retry_after(exc.response.headers.get("Retry-After"))
                return RetryHint(after, f"HTTP {status}")
            return None
        if isinstance(exc, httpx.TransportError):
            return RetryHint(reason=type(exc).__name__)
        return None

    def translate(self, exc: BaseException, call: Request) -> BaseException:
        if isinstance(exc, httpx.HTTPStatusError):
            status = exc.response.status_code
            if status in (401, 403):
                return AuthError(f"{self.subject}: the API token was refused (HTTP {status}) on {call}")
            return ConnectorError(f"{self.subject}: {call} answered HTTP {status}")
        if isinstance(exc, httpx.TransportError):
            return ConnectionFailed(f"{self.subject}: cannot reach {self.base_url}: {type(exc).__name__}")
        return exc
