"""connectors.salesforce.transport without a server: the API budget guard, the login domain, the CA
bundle the session trusts, and which failures are retried. Against the sandbox: test_salesforce_resilience.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from simple_salesforce.exceptions import (
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from connectors.errors import BudgetExhausted
from connectors.salesforce.transport import (
    REDIRECTED_LOGIN_DOMAIN,
    ApiBudget,
    SalesforceSession,
    classifier,
    login_domain,
)
from tests.connectors.salesforce_samples import error


def test_budget_guard_stops_before_the_share_is_passed() -> None:
    budget = ApiBudget(0.8)
    budget.ensure_room()  # nothing known yet
    budget.observe("api-usage=798/1000")
    budget.ensure_room()
    budget.observe("api-usage=800/1000; per-app-api-usage=2/250(appName=x)")
    with pytest.raises(BudgetExhausted, match="800 of the org's 1,000 daily API calls"):
        budget.ensure_room()


def test_login_domain() -> None:
    assert login_domain("https://login.salesforce.com") == "login"
    assert login_domain("https://test.salesforce.com") == "test"
    assert login_domain("https://acme.my.salesforce.com") == "acme.my"
    assert login_domain("https://127.0.0.1:8443") == "login"
    assert login_domain("https://127.0.0.1:8443", needs_my_domain=True) == REDIRECTED_LOGIN_DOMAIN


def session(tmp_path: Path) -> SalesforceSession:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    return SalesforceSession(ca_bundle=ca, timeout=5, budget=ApiBudget(0.8), login_url="https://127.0.0.1:1")


def test_session_ignores_the_ca_environment_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    s = session(tmp_path)
    settings = s.merge_environment_settings("https://127.0.0.1:1/x", {}, None, s.verify, None)
    assert settings["verify"] == str(tmp_path / "ca.pem")


def test_classifier(tmp_path: Path) -> None:
    s = session(tmp_path)
    classify = classifier(s)
    s._local.retry_after = 7.0
    hint = classify(error(SalesforceGeneralError, 429, [{"errorCode": "REQUEST_LIMIT", "message": "slow"}]))
    assert hint is not None and hint.after == 7.0
    assert classify(error(SalesforceGeneralError, 503, "down")) is not None
    assert classify(requests.ConnectionError("reset")) is not None
    assert classify(requests.Timeout("slow")) is not None
    assert (
        classify(error(SalesforceMalformedRequest, 400, [{"errorCode": "MALFORMED_QUERY", "message": "x"}]))
        is None
    )
    assert (
        classify(error(SalesforceResourceNotFound, 404, [{"errorCode": "NOT_FOUND", "message": "x"}])) is None
    )
    assert (
        classify(error(SalesforceRefusedRequest, 403, [{"errorCode": "INSUFFICIENT_ACCESS", "message": "x"}]))
        is None
    )
    assert (
        classify(
            error(SalesforceMalformedRequest, 400, [{"errorCode": "UNABLE_TO_LOCK_ROW", "message": "x"}])
        )
        is not None
    )
    assert classify(BudgetExhausted("stop")) is None
    throttled = [
        {"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "ConcurrentPerOrgLongTxn Limit exceeded."}
    ]
    assert classify(error(SalesforceRefusedRequest, 403, throttled)) is not None
    daily = [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}]
    assert classify(error(SalesforceRefusedRequest, 403, daily)) is None
