"""One logged-in Salesforce client and the way every call is made: under the retry policy, with one
session renewal when Salesforce says the session expired, and with simple-salesforce's errors turned into
the connector's (a message an ops engineer can act on, no secrets).

Calls may come from two threads at once (the reader fetches the next page on a worker thread while the
pull works on the current one). The requests session and its connection pool are shared; what is not
safe to share is guarded here: the counters, and logging in. simple-salesforce would log in again by
itself on a 401, from whichever thread saw it, rewriting the shared client's session id under the other
thread's feet; so the client runs on the session id of a login (``auth.login`` hands back such a
client) and renewing is done here, once per expired session, under a lock: a thread whose session was
already replaced by another thread's renewal just takes the new one.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

import requests
from simple_salesforce.api import Salesforce, SFType
from simple_salesforce.bulk2 import SFBulk2Type
from simple_salesforce.exceptions import SalesforceError, SalesforceExpiredSession, SalesforceOperationError

from connectors.answers import looks_like
from connectors.base import ConnectorStats
from connectors.errors import AuthError, BudgetExhausted, ConnectionFailed, ConnectorError, UnexpectedAnswer
from connectors.retry import DEFAULT_POLICY, RetryHint, RetryPolicy
from connectors.salesforce.auth import LoginUnavailable, login, renewable, who
from connectors.salesforce.config import SalesforceConfig
from connectors.salesforce.transport import (
    CUT_OFF,
    ApiBudget,
    SalesforceSession,
    TransportEvents,
    classifier,
    error_code,
    error_message,
    is_request_limit,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


class SalesforceApiError(ConnectorError):
    """Salesforce answered an error that retrying does not cure."""

    def __init__(self, message: str, status: int, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class SalesforceClient:
    def __init__(
        self, config: SalesforceConfig, stats: ConnectorStats, policy: RetryPolicy = DEFAULT_POLICY
    ) -> None:
        self.config = config
        self.stats = stats
        self.policy = policy
        self.budget = ApiBudget(config.budget_share)
        self.session = SalesforceSession(
            ca_bundle=config.ca_bundle,
            timeout=config.timeout_seconds,
            budget=self.budget,
            login_url=config.login_url,
            proxies=config.proxies,
            events=TransportEvents(on_call=self._count_call),
        )
        self._classify = classifier(self.session)
        self._sf: Salesforce | None = None
        self.renewals = 0
        self._login_lock = threading.Lock()
        self._count_lock = threading.Lock()

    def _count_call(self) -> None:
        with self._count_lock:
            self.stats.api_calls += 1

    def _count_retry(self, hint: RetryHint) -> None:
        with self._count_lock:
            self.stats.retries += 1

    @property
    def sf(self) -> Salesforce:
        current = self._sf
        if current is not None:
            return current
        with self._login_lock:
            if self._sf is None:
                self._sf = self._login()
            return self._sf

    def _login(self) -> Salesforce:
        return self.policy.call(
            lambda: login(self.config, self.session), self._login_classify, self._count_retry
        )

    def _login_classify(self, exc: BaseException) -> RetryHint | None:
        if isinstance(exc, LoginUnavailable):
            return RetryHint(reason="login unavailable")
        return self._classify(exc)

    def renew(self, expired: Salesforce | None = None) -> None:
        """Log in again (a new access token for the refresh-token flow). ``expired``: the client whose
        session Salesforce refused; when another thread has replaced it already, its login is taken."""
        if not renewable(self.config):
            raise AuthError(
                "the Salesforce session expired and a session-id login cannot be renewed: "
                "give a new session_id, or configure a flow that can log in again (e.g. refresh_token)"
            )
        with self._login_lock:
            if expired is not None and self._sf is not None and self._sf is not expired:
                return
            log.info("Salesforce session expired; logging in again (%s)", who(self.config))
            self._sf = None
            self.renewals += 1
            self._sf = self._login()

    @property
    def instance(self) -> str:
        return str(self.sf.sf_instance)

    def call_name(self, what: str, subject: str | None = None) -> str:
        """The call this thread sent last, for messages: ``GET /services/data/v59.0/query on Opportunity
        (counting changed Opportunities)`` (``subject``: the SOQL object; never the query's values)."""
        return self.session.last_call + (f" on {subject}" if subject else "") + f" ({what})"

    def read(
        self,
        what: str,
        fn: Callable[[Salesforce], Any],
        check: Callable[[Any, str], T],
        subject: str | None = None,
    ) -> T:
        """``fn(sf)`` as ``call`` makes it, its answer believed only once ``check(answer, call)`` passes
        (connectors/salesforce/answers.py). The check runs in the same attempt, on the thread that sent
        the call, so the call it names is the one that answered; an answer that fails it is not retried
        (UnexpectedAnswer: Salesforce answered, with something else than its API documents)."""
        return self.call(what, lambda sf: check(fn(sf), self.call_name(what, subject)), subject)

    def call(self, what: str, fn: Callable[[Salesforce], T], subject: str | None = None) -> T:
        """``fn(sf)`` under the retry policy; an expired session is renewed once and the call repeated.

        Failures that retrying did not cure are connection-class (ConnectionFailed, exit 3), as at login:
        a 5xx that persists, a connection dropped or an answer cut off half way every time, say the CRM
        cannot be reached just as a login that keeps failing does; nothing the operator's config could
        fix, and the next scheduled run may well succeed. A body that is not JSON (an HTML page, JSON cut
        short) is UnexpectedAnswer naming the call. 4xx answers stay SalesforceApiError (exit 1)."""
        renewed_to: Salesforce | None = None
        used: Salesforce | None = None

        def attempt() -> T:
            nonlocal used
            used = self.sf
            return fn(used)

        while True:
            try:
                return self.policy.call(attempt, self._classify, self._count_retry)
            except SalesforceExpiredSession:
                if used is not None and used is renewed_to:
                    raise AuthError(
                        f"Salesforce refused the session again right after a new {who(self.config)} ({what})"
                    ) from None
                self.renew(expired=used)
                renewed_to = self._sf
            except (BudgetExhausted, ConnectorError):
                raise
            except SalesforceError as exc:
                raise translate(exc, what, self.policy.attempts) from None
            except SalesforceOperationError as exc:  # a Bulk API 2.0 job that failed or was aborted
                raise ConnectorError(f"Salesforce Bulk API job failed ({what}): {str(exc)[:300]}") from None
            except json.JSONDecodeError as exc:  # requests' JSONDecodeError, raised by simple-salesforce
                raise UnexpectedAnswer(
                    self.call_name(what, subject), f"the body is not JSON ({looks_like(exc.doc)})"
                ) from None
            except requests.exceptions.SSLError:
                raise ConnectionFailed(
                    f"TLS verification failed talking to Salesforce ({what}): set ca_bundle to the CA that "
                    "signed the server's certificate"
                ) from None
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise ConnectionFailed(
                    f"Salesforce could not be reached ({what}) after {self.policy.attempts} attempts: "
                    f"{type(exc).__name__}"
                ) from None
            except CUT_OFF:
                raise ConnectionFailed(
                    f"Salesforce's answer to {self.call_name(what, subject)} was cut off half way, "
                    f"{self.policy.attempts} times"
                ) from None

    def close(self) -> None:
        self.session.close()


def translate(exc: SalesforceError, what: str, attempts: int | None = None) -> ConnectorError:
    """The connector's error for a Salesforce answer that was not retried (or ran out of retries: a 5xx
    or 429 after ``attempts`` is connection-class, see ``SalesforceClient.call``)."""
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


def sobject(sf: Salesforce, name: str) -> SFType:
    """``sf.<name>`` typed as the sObject handle it is (simple-salesforce types it as a union)."""
    return cast(SFType, getattr(sf, name))


def sobject_bulk2(sf: Salesforce, name: str) -> SFBulk2Type:
    """``sf.bulk2.<name>``: a fresh Bulk API 2.0 handle on the current session."""
    handler: Any = sf.bulk2
    return cast(SFBulk2Type, getattr(handler, name))
