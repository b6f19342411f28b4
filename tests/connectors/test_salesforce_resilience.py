"""Logins, session expiry, faults, throttling, the API budget guard, trust and check() against the sandbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from requests.adapters import HTTPAdapter

from connectors.base import CheckStatus
from connectors.errors import AuthError, BudgetExhausted, ConnectionFailed
from connectors.retry import RetryPolicy
from partnerkpi.exit_codes import exit_code_of
from partnerkpi.sandbox.core import Sandbox
from tests.connectors.test_salesforce_fixtures import (
    SPEC_MAP,
    SPECS,
    connector,
    deleted,
    emulation,
    opportunities,
)

SandboxFactory = Callable[..., Sandbox]


def expected_ids(sandbox: Sandbox) -> set[str]:
    rows = emulation(sandbox).state("Opportunity", soql="SELECT Id FROM Opportunity WHERE IsDeleted = false")
    return {str(r["Id"]) for r in rows}


def oauth_creds(sandbox: Sandbox) -> dict[str, str]:
    creds = emulation(sandbox).credentials
    return {"consumer_key": creds.consumer_key, "consumer_secret": creds.consumer_secret}


# -- every login flow ----------------------------------------------------------------------------------


def jwt_auth(sandbox: Sandbox) -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    emulation(sandbox).register_jwt_key(public.decode())
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    creds = emulation(sandbox).credentials
    return {
        "flow": "jwt",
        "username": creds.username,
        "consumer_key": creds.consumer_key,
        "private_key": private,
    }


FLOWS: dict[str, Callable[[Sandbox], dict[str, Any]]] = {
    "oauth_password": lambda sb: {
        "flow": "oauth_password",
        "username": emulation(sb).credentials.username,
        "password": emulation(sb).credentials.password,
        **oauth_creds(sb),
    },
    "client_credentials": lambda sb: {"flow": "client_credentials", **oauth_creds(sb)},
    "refresh_token": lambda sb: {
        "flow": "refresh_token",
        "refresh_token": emulation(sb).credentials.refresh_token,
        **oauth_creds(sb),
    },
    "jwt": jwt_auth,
}


@pytest.mark.parametrize("flow", sorted(FLOWS))
def test_every_login_flow_pulls(flow: str, sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(opportunities=200, hubspot=False)
    with connector(sandbox, auth=FLOWS[flow](sandbox)) as conn:
        assert set(opportunities(conn.pull(None))) == expected_ids(sandbox)
    assert sandbox.counters["salesforce.oauth_token"] == 1
    assert sandbox.counters["salesforce.soap_login"] == 0


def test_session_flow_pulls_and_cannot_be_renewed(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(opportunities=200, hubspot=False)
    with connector(sandbox) as login:
        session_id = login.client.sf.session_id
    auth = {"flow": "session", "session_id": session_id}
    with connector(sandbox, auth=auth, instance_url=sandbox.url) as conn:
        assert set(opportunities(conn.pull(None))) == expected_ids(sandbox)
        emulation(sandbox).expire_sessions()
        with pytest.raises(AuthError, match="cannot be renewed") as caught:
            list(conn.pull(None))
    assert session_id not in str(caught.value)


def test_wrong_password_is_an_auth_error_without_the_secret(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(opportunities=20, hubspot=False)
    auth = {
        "flow": "password",
        "username": "partner-ops@example.com",
        "password": "hunter2-wrong",
        "security_token": "TOKENX",
    }
    with connector(sandbox, auth=auth) as conn, pytest.raises(AuthError) as caught:
        list(conn.pull(None))
    message = str(caught.value)
    assert "INVALID_LOGIN" in message and "partner-ops@example.com" in message
    assert "hunter2-wrong" not in message and "TOKENX" not in message
    assert exit_code_of(caught.value) == 3


def test_invalid_refresh_token_is_an_auth_error(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(opportunities=20, hubspot=False)
    auth = {"flow": "refresh_token", "refresh_token": "5Aep-not-valid", **oauth_creds(sandbox)}
    with connector(sandbox, auth=auth) as conn, pytest.raises(AuthError, match="invalid_grant") as caught:
        list(conn.pull(None))
    assert "5Aep-not-valid" not in str(caught.value)
    assert oauth_creds(sandbox)["consumer_secret"] not in str(caught.value)


def test_an_untrusted_certificate_is_refused(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(opportunities=20, hubspot=False)
    # REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE are set on this machine; without ca_bundle the connector trusts
    # certifi's CAs, which did not sign the sandbox's certificate.
    with (
        connector(sandbox, ca_bundle=None) as conn,
        pytest.raises(ConnectionFailed, match="TLS verification failed"),
    ):
        list(conn.pull(None))


# -- session expiry mid-run ------------------------------------------------------------------------------


def test_session_expiry_mid_pull_with_a_login_flow(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(opportunities=5_000, hubspot=False, faults={"session_expiry_after_calls": 4})
    with connector(sandbox) as conn:
        pulled = opportunities(conn.pull(None))
    assert set(pulled) == expected_ids(sandbox)
    assert sandbox.counters["salesforce.soap_login"] >= 3  # simple-salesforce logged in again, more than once


def test_session_expiry_mid_pull_with_the_refresh_token_flow(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(opportunities=5_000, hubspot=False, faults={"session_expiry_after_calls": 4})
    auth = FLOWS["refresh_token"](sandbox)
    with connector(sandbox, auth=auth) as conn:
        pulled = opportunities(conn.pull(None))
        assert conn.client.renewals >= 2
    assert set(pulled) == expected_ids(sandbox)
    assert sandbox.counters["salesforce.oauth_token"] == 1 + conn.client.renewals


def test_session_expired_by_the_admin_mid_pull_is_renewed_once(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(opportunities=5_000, hubspot=False)
    auth = FLOWS["refresh_token"](sandbox)
    with connector(sandbox, auth=auth) as conn:
        batches = conn.pull(None)
        seen = [next(batches), next(batches)]  # metadata, partners, deletions, then the first page
        emulation(sandbox).expire_sessions()
        seen += list(batches)
        assert conn.client.renewals == 1
    assert set(opportunities(seen)) == expected_ids(sandbox)


# -- faults and throttling --------------------------------------------------------------------------------


def test_injected_5xx_and_dropped_connections_are_retried(sandbox_factory: SandboxFactory) -> None:
    clean = sandbox_factory(seed=7, opportunities=3_000, hubspot=False)
    with connector(clean) as conn:
        reference = list(conn.pull(None))
    faulty = sandbox_factory(
        seed=7, opportunities=3_000, hubspot=False, faults={"error_rate": 0.25, "drop_rate": 0.1}
    )
    policy = RetryPolicy(attempts=12, initial_wait=0.01, max_wait=0.02)
    with connector(faulty, policy=policy) as conn:
        batches = list(conn.pull(None))
        assert conn.stats.retries > 0
    assert faulty.counters["salesforce.fault.5xx"] > 0 and faulty.counters["salesforce.fault.dropped"] > 0
    assert opportunities(batches) == opportunities(reference)
    assert deleted(batches) == deleted(reference)


def test_5xx_that_never_clears_fails_with_a_clear_message(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(opportunities=20, hubspot=False)
    with connector(sandbox) as conn:
        assert conn.client.sf.session_id  # logged in before the faults start
        emulation(sandbox).faults.update({"error_rate": 1.0})
        with pytest.raises(Exception) as caught:
            list(conn.pull(None))
    assert "HTTP 500 UNKNOWN_EXCEPTION" in str(caught.value)
    assert sandbox.counters["salesforce.fault.5xx"] == 6  # the policy's attempts


class _TooManyRequests(HTTPAdapter):
    """Answers the first ``times`` queries with 429 and Retry-After, as a proxy or gateway in front of
    Salesforce may (the sandbox, like Salesforce, never sends 429)."""

    def __init__(self, times: int) -> None:
        super().__init__()
        self.left = times

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        if "/query" in (request.url or "") and self.left > 0:
            self.left -= 1
            response = requests.Response()
            response.status_code = 429
            response._content = b'[{"message":"Too many requests","errorCode":"TOO_MANY_REQUESTS"}]'
            response.headers.update({"Retry-After": "0", "Content-Type": "application/json"})
            response.url, response.request = request.url or "", request
            return response
        return super().send(request, *args, **kwargs)


def test_429_answers_are_retried(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(opportunities=300, hubspot=False)
    with connector(sandbox) as conn:
        conn.client.session.mount("https://", _TooManyRequests(3))
        assert set(opportunities(conn.pull(None))) == expected_ids(sandbox)
        assert conn.stats.retries == 3


def test_throttling_answers_are_retried(sandbox_factory: SandboxFactory) -> None:
    # Salesforce throttles with 403 REQUEST_LIMIT_EXCEEDED (ConcurrentPerOrgLongTxn), never with 429.
    sandbox = sandbox_factory(opportunities=200, hubspot=False, faults={"rate_limit_per_second": 3})
    policy = RetryPolicy(attempts=10, initial_wait=0.2, max_wait=0.5)
    with connector(sandbox, policy=policy) as conn:
        assert set(opportunities(conn.pull(None))) == expected_ids(sandbox)
        assert conn.stats.retries > 0


# -- the API budget guard -----------------------------------------------------------------------------------


def test_budget_guard_stops_the_run_before_the_share_is_used(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(opportunities=5_000, hubspot=False)
    org = emulation(sandbox)
    org.set_usage(79_996)  # of 100,000; the connector may use up to 80%
    with connector(sandbox) as conn, pytest.raises(BudgetExhausted) as caught:
        list(conn.pull(None))
    assert org.api_usage == 80_000
    assert "80,000 of the org's 100,000 daily API calls" in str(caught.value)
    assert "80%" in str(caught.value) and exit_code_of(caught.value) == 1


def test_the_orgs_own_limit_is_a_budget_error(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(opportunities=50, hubspot=False, faults={"daily_limit": 10})
    with connector(sandbox, budget_share=1.0) as conn:
        assert conn.client.sf.session_id
        emulation(sandbox).set_usage(10)
        with pytest.raises(BudgetExhausted, match="REQUEST_LIMIT_EXCEEDED"):
            list(conn.pull(None))


# -- check() -------------------------------------------------------------------------------------------------


def test_check_reports_credentials_access_fields_and_budget(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(opportunities=50, hubspot=False)
    with connector(sandbox) as conn:
        before = {r.name: r for r in conn.check(SPECS)}
        conn.provision_fields(SPECS[:4])
        after = {r.name: r for r in conn.check(SPECS)}
    assert before["salesforce.credentials"].status is CheckStatus.OK
    assert before["salesforce.opportunities"].status is CheckStatus.OK
    assert before["salesforce.stages"].message == "OpportunityStage readable: 6 stages, 2 closed, 1 won"
    assert "multi-currency" in before["salesforce.opportunities"].message
    assert before["salesforce.field.KPI_Won_Revenue__c"].status is CheckStatus.WARN
    assert "partnerkpi provision" in before["salesforce.field.KPI_Won_Revenue__c"].message
    assert after["salesforce.field.KPI_Won_Revenue__c"].status is CheckStatus.OK
    assert after["salesforce.field.KPI_Score_Breakdown__c"].status is CheckStatus.WARN
    budget = after["salesforce.api_budget"]
    assert budget.status is CheckStatus.OK and "of 100,000 daily API calls used" in budget.message


def test_check_fails_clearly(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(opportunities=50, hubspot=False)
    with connector(sandbox, channel_field="Channel__c") as conn:
        results = {r.name: r for r in conn.check([SPEC_MAP["KPI_Won_Revenue__c"]])}
        emulation(sandbox).set_usage(85_000)
        budget = next(r for r in conn.check() if r.name == "salesforce.api_budget")
    assert results["salesforce.opportunities"].status is CheckStatus.FAIL
    assert "Channel__c" in results["salesforce.opportunities"].message
    assert budget.status is CheckStatus.FAIL and "raise budget_share" in budget.message
    auth = {"flow": "password", "username": "nobody@example.com", "password": "x", "security_token": "y"}
    with connector(sandbox, auth=auth) as bad:
        lines = bad.check()
    assert [(r.name, r.status) for r in lines] == [("salesforce.credentials", CheckStatus.FAIL)]
    assert "INVALID_LOGIN" in lines[0].message
