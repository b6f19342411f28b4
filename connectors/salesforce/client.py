"""One logged-in Salesforce client and the way every call is made: under the retry policy, with one
session renewal when Salesforce says the session expired, and with simple-salesforce's errors turned into
the connector's (a message an ops engineer can act on, no secrets)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

import requests
from simple_salesforce.api import Salesforce, SFType
from simple_salesforce.bulk2 import SFBulk2Type
from simple_salesforce.exceptions import SalesforceError, SalesforceExpiredSession, SalesforceOperationError

from connectors.base import ConnectorStats
from connectors.errors import AuthError, BudgetExhausted, ConnectionFailed, ConnectorError
from connectors.retry import DEFAULT_POLICY, RetryHint, RetryPolicy
from connectors.salesforce.auth import LoginUnavailable, login, renewable, who
from connectors.salesforce.config import SalesforceConfig
from connectors.salesforce.transport import (
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

    def _count_call(self) -> None:
        self.stats.api_calls += 1

    def _count_retry(self, hint: RetryHint) -> None:
        self.stats.retries += 1

    @property
    def sf(self) -> Salesforce:
        if self._sf is None:
            self._sf = self.policy.call(
                lambda: login(self.config, self.session), self._login_classify, self._count_retry
            )
        return self._sf

    def _login_classify(self, exc: BaseException) -> RetryHint | None:
        if isinstance(exc, LoginUnavailable):
            return RetryHint(reason="login unavailable")
        return self._classify(exc)

    def renew(self) -> None:
        """Log in again (a new access token for the refresh-token flow)."""
        if not renewable(self.config):
            raise AuthError(
                "the Salesforce session expired and a session-id login cannot be renewed: "
                "give a new session_id, or configure a flow that can log in again (e.g. refresh_token)"
            )
        log.info("Salesforce session expired; logging in again (%s)", who(self.config))
        self._sf = None
        self.renewals += 1
        _ = self.sf

    @property
    def instance(self) -> str:
        return str(self.sf.sf_instance)

    def call(self, what: str, fn: Callable[[Salesforce], T]) -> T:
        """``fn(sf)`` under the retry policy; an expired session is renewed once and the call repeated."""
        renewed = False
        while True:
            try:
                return self.policy.call(lambda: fn(self.sf), self._classify, self._count_retry)
            except SalesforceExpiredSession:
                if renewed:
                    raise AuthError(
                        f"Salesforce refused the session again right after a new {who(self.config)} ({what})"
                    ) from None
                renewed = True
                self.renew()
            except (BudgetExhausted, ConnectorError):
                raise
            except SalesforceError as exc:
                raise translate(exc, what) from None
            except SalesforceOperationError as exc:  # a Bulk API 2.0 job that failed or was aborted
                raise ConnectorError(f"Salesforce Bulk API job failed ({what}): {str(exc)[:300]}") from None
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

    def close(self) -> None:
        self.session.close()


def translate(exc: SalesforceError, what: str) -> ConnectorError:
    """The connector's error for a Salesforce answer that was not retried (or ran out of retries)."""
    code = error_code(exc)
    message = error_message(exc)
    if is_request_limit(exc):
        return BudgetExhausted(
            f"Salesforce refused {what}: the org's daily API request limit is used up (REQUEST_LIMIT_EXCEEDED)"
        )
    text = f"Salesforce answered HTTP {exc.status}" + (f" {code}" if code else "") + f" to {what}"
    if message:
        text += f": {message}"
    return SalesforceApiError(text, exc.status, code)


def sobject(sf: Salesforce, name: str) -> SFType:
    """``sf.<name>`` typed as the sObject handle it is (simple-salesforce types it as a union)."""
    return cast(SFType, getattr(sf, name))


def sobject_bulk2(sf: Salesforce, name: str) -> SFBulk2Type:
    """``sf.bulk2.<name>``: a fresh Bulk API 2.0 handle on the current session."""
    handler: Any = sf.bulk2
    return cast(SFBulk2Type, getattr(handler, name))
