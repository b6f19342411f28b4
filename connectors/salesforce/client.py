"""One logged-in Salesforce client and the way every call is made: under the retry policy
(:class:`connectors.calls.Caller`), with one session renewal when Salesforce says the session expired, and
with simple-salesforce's errors turned into the connector's (:mod:`connectors.salesforce.failures`).

Calls may come from two threads at once (the reader fetches the next page on a worker thread while the
pull works on the current one). The requests session and its connection pool are shared; what is not
safe to share is guarded: the counters (by ``Caller``), and logging in. simple-salesforce would log in
again by itself on a 401, from whichever thread saw it, rewriting the shared client's session id under the
other thread's feet; so the client runs on the session id of a login (``auth.login`` hands back such a
client) and renewing is done here, once per expired session, under a lock: a thread whose session was
already replaced by another thread's renewal just takes the new one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from simple_salesforce.api import Salesforce, SFType
from simple_salesforce.bulk2 import SFBulk2Type
from simple_salesforce.exceptions import SalesforceExpiredSession

from connectors.base import ConnectorStats
from connectors.calls import Caller
from connectors.errors import AuthError
from connectors.retry import DEFAULT_POLICY, RetryHint, RetryPolicy
from connectors.salesforce.auth import LoginUnavailable, login, renewable, who
from connectors.salesforce.config import SalesforceConfig
from connectors.salesforce.failures import failure
from connectors.salesforce.transport import ApiBudget, SalesforceSession, TransportEvents, classifier

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class SalesforceCall:
    """One call, as :class:`~connectors.calls.Caller`'s hooks see it."""

    what: str
    """What the call is for, in messages (``counting changed Opportunities``)."""
    subject: str | None = None
    """The SOQL object it reads, in messages; never the query's values."""
    used: Salesforce | None = None
    """The logged-in client the last attempt ran on."""
    renewed_to: Salesforce | None = None
    """The client this call's own renewal logged in (refused again: the login is no good)."""


class SalesforceClient(Caller[SalesforceCall]):
    def __init__(
        self, config: SalesforceConfig, stats: ConnectorStats, policy: RetryPolicy = DEFAULT_POLICY
    ) -> None:
        super().__init__(stats, policy)
        self.config = config
        self.budget = ApiBudget(config.budget_share)
        self.session = SalesforceSession(
            ca_bundle=config.ca_bundle,
            timeout=config.timeout_seconds,
            budget=self.budget,
            login_url=config.login_url,
            proxies=config.proxies,
            events=TransportEvents(on_call=self.count_call),
        )
        self._classify = classifier(self.session)
        self._sf: Salesforce | None = None
        self.renewals = 0
        self._login_lock = threading.Lock()

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
            lambda: login(self.config, self.session), self._login_classify, self.count_retry
        )

    def _login_classify(self, exc: BaseException) -> RetryHint | None:
        if isinstance(exc, LoginUnavailable):
            return RetryHint(reason="login unavailable")
        return self._classify(exc)

    def renew_session(self, expired: Salesforce | None = None) -> None:
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
        """``fn(sf)`` under the retry policy; an expired session is renewed once and the call repeated
        (the errors: connectors/salesforce/failures.py)."""
        call = SalesforceCall(what, subject)

        def attempt() -> T:
            call.used = self.sf
            return fn(call.used)

        return self.guarded(attempt, call)

    # -- Caller's hooks -------------------------------------------------------------------------------
    def classify(self, exc: BaseException) -> RetryHint | None:
        return self._classify(exc)

    def renew(self, exc: BaseException, call: SalesforceCall) -> bool:
        if not isinstance(exc, SalesforceExpiredSession):
            return False
        if call.used is not None and call.used is call.renewed_to:
            raise AuthError(
                f"Salesforce refused the session again right after a new {who(self.config)} ({call.what})"
            ) from None
        self.renew_session(expired=call.used)
        call.renewed_to = self._sf
        return True

    def translate(self, exc: BaseException, call: SalesforceCall) -> BaseException:
        return failure(exc, call.what, lambda: self.call_name(call.what, call.subject), self.policy.attempts)

    def close(self) -> None:
        self.session.close()


def sobject(sf: Salesforce, name: str) -> SFType:
    """``sf.<name>`` typed as the sObject handle it is (simple-salesforce types it as a union)."""
    return cast(SFType, getattr(sf, name))


def sobject_bulk2(sf: Salesforce, name: str) -> SFBulk2Type:
    """``sf.bulk2.<name>``: a fresh Bulk API 2.0 handle on the current session."""
    handler: Any = sf.bulk2
    return cast(SFBulk2Type, getattr(handler, name))
