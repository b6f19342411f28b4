"""simple-salesforce logs in to the sandbox by every flow, over HTTPS trusting the sandbox CA."""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceExpiredSession

from partnerkpi.sandbox.app import build_sandbox
from partnerkpi.sandbox.core import Sandbox
from partnerkpi.sandbox.salesforce import SalesforceCredentials, SalesforceEmulation
from partnerkpi.sandbox.testing import salesforce_session

CREDS = SalesforceCredentials()


def _content(error: Any) -> Any:
    """The parsed error body simple-salesforce keeps on its exception."""
    return error.content


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    sandbox = build_sandbox(partners=5, opportunities=100, hubspot=False)
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def session(sandbox: Sandbox) -> Iterator[requests.Session]:
    sandbox.reset_counters()
    s = salesforce_session(sandbox)
    yield s
    s.close()


def _emulation(sandbox: Sandbox) -> SalesforceEmulation:
    emulation = sandbox.emulation("salesforce")
    assert isinstance(emulation, SalesforceEmulation)
    return emulation


def _count_accounts(sf: Any) -> int:
    return int(sf.query("SELECT COUNT() FROM Account")["totalSize"])


def _private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey) -> tuple[str, str]:
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private.decode(), public.decode()


def test_soap_login_with_security_token(sandbox: Sandbox, session: requests.Session) -> None:
    sf = Salesforce(
        username=CREDS.username, password=CREDS.password, security_token=CREDS.security_token, session=session
    )
    assert sf.sf_instance == sandbox.instance
    assert _count_accounts(sf) == 10  # 5 partners and 5 customers
    assert sandbox.counters["salesforce.soap_login"] == 1


def test_soap_login_refused_with_invalid_login(session: requests.Session) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as raised:
        Salesforce(
            username=CREDS.username, password="wrong", security_token=CREDS.security_token, session=session
        )
    assert raised.value.code == "INVALID_LOGIN"
    assert "Invalid username, password, security token" in raised.value.auth_message


def test_oauth_password_flow(sandbox: Sandbox, session: requests.Session) -> None:
    sf = Salesforce(
        username=CREDS.username,
        password=CREDS.password,
        consumer_key=CREDS.consumer_key,
        consumer_secret=CREDS.consumer_secret,
        session=session,
    )
    assert sf.sf_instance == sandbox.instance
    assert _count_accounts(sf) == 10
    assert sandbox.counters["salesforce.oauth_token"] == 1


def test_oauth_password_flow_errors(session: requests.Session) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as raised:
        Salesforce(
            username=CREDS.username,
            password="nope",
            consumer_key=CREDS.consumer_key,
            consumer_secret=CREDS.consumer_secret,
            session=session,
        )
    assert (raised.value.code, raised.value.auth_message) == ("invalid_grant", "authentication failure")
    with pytest.raises(SalesforceAuthenticationFailed) as raised:
        Salesforce(
            username=CREDS.username,
            password=CREDS.password,
            consumer_key="other",
            consumer_secret="x",
            session=session,
        )
    assert raised.value.code == "invalid_client_id"


def test_jwt_bearer_flow_with_registered_key(sandbox: Sandbox, session: requests.Session) -> None:
    key = _private_key()
    private_pem, public_pem = _pem(key)
    emulation = _emulation(sandbox)
    emulation.register_jwt_key(public_pem)
    try:
        sf = Salesforce(
            username=CREDS.username, consumer_key=CREDS.consumer_key, privatekey=private_pem, session=session
        )
        assert _count_accounts(sf) == 10
        stranger_pem, _ = _pem(_private_key())
        with pytest.raises(SalesforceAuthenticationFailed) as raised:
            Salesforce(
                username=CREDS.username,
                consumer_key=CREDS.consumer_key,
                privatekey=stranger_pem,
                session=session,
            )
        assert (raised.value.code, raised.value.auth_message) == ("invalid_grant", "invalid assertion")
    finally:
        emulation.credentials.jwt_public_key_pem = None


def test_jwt_claims_are_checked(sandbox: Sandbox, session: requests.Session) -> None:
    private_pem, _ = _pem(_private_key())
    base = {
        "iss": CREDS.consumer_key,
        "sub": CREDS.username,
        "aud": "https://login.salesforce.com",
        "exp": int(time.time()) + 60,
    }
    url = f"{sandbox.url}/services/oauth2/token"
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    for change, error in (
        ({"aud": "https://example.com"}, "invalid_grant"),
        ({"iss": "someone-else"}, "invalid_client_id"),
        ({"sub": "intruder@example.com"}, "invalid_grant"),
        ({"exp": int(time.time()) - 10}, "invalid_grant"),
    ):
        assertion = jwt.encode({**base, **change}, private_pem, algorithm="RS256")
        answer = session.post(url, data={"grant_type": grant, "assertion": assertion})
        assert answer.status_code == 400
        assert answer.json()["error"] == error
    hs256 = jwt.encode(base, "a-shared-secret-of-enough-length-for-hs256", algorithm="HS256")
    assert (
        session.post(url, data={"grant_type": grant, "assertion": hs256}).json()["error"] == "invalid_grant"
    )
    good = jwt.encode(base, private_pem, algorithm="RS256")
    assert "access_token" in session.post(url, data={"grant_type": grant, "assertion": good}).json()


def test_client_credentials_flow(sandbox: Sandbox, session: requests.Session) -> None:
    sf = Salesforce(
        consumer_key=CREDS.consumer_key,
        consumer_secret=CREDS.consumer_secret,
        domain="partnerkpi-sandbox.my",
        session=session,
    )
    assert sf.sf_instance == sandbox.instance
    assert _count_accounts(sf) == 10


def test_session_id_and_instance_url(sandbox: Sandbox, session: requests.Session) -> None:
    token = session.post(
        f"{sandbox.url}/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": CREDS.consumer_key,
            "client_secret": CREDS.consumer_secret,
            "username": CREDS.username,
            "password": CREDS.password + CREDS.security_token,
        },
    ).json()
    sf = Salesforce(session_id=token["access_token"], instance_url=token["instance_url"], session=session)
    assert _count_accounts(sf) == 10


def test_refresh_token_grant_with_httpx(sandbox: Sandbox) -> None:
    with httpx.Client(
        verify=ssl.create_default_context(cafile=str(sandbox.ca_path)), trust_env=False
    ) as client:
        answer = client.post(
            f"{sandbox.url}/services/oauth2/token",
            data={
                "grant_type": "refresh_token",
                "client_id": CREDS.consumer_key,
                "client_secret": CREDS.consumer_secret,
                "refresh_token": CREDS.refresh_token,
            },
        )
        assert answer.status_code == 200
        body = answer.json()
        assert body["instance_url"] == sandbox.url
        assert body["token_type"] == "Bearer"
        assert "refresh_token" not in body  # a refresh grant does not hand out a new one
        refused = client.post(
            f"{sandbox.url}/services/oauth2/token",
            data={"grant_type": "refresh_token", "client_id": CREDS.consumer_key, "refresh_token": "stale"},
        )
        assert refused.status_code == 400
        assert refused.json() == {
            "error": "invalid_grant",
            "error_description": "expired access/refresh token",
        }
    with requests.Session() as s:
        s.trust_env = False
        s.verify = str(sandbox.ca_path)
        sf = Salesforce(session_id=body["access_token"], instance_url=body["instance_url"], session=s)
        assert _count_accounts(sf) == 10


def test_session_expiry_answers_401_invalid_session_id(sandbox: Sandbox, session: requests.Session) -> None:
    emulation = _emulation(sandbox)
    sf = Salesforce(
        username=CREDS.username, password=CREDS.password, security_token=CREDS.security_token, session=session
    )
    direct = Salesforce(session_id=sf.session_id, instance_url=sandbox.url, session=session)
    emulation.faults.session_expiry_after_calls = 2
    try:
        _count_accounts(direct)
        _count_accounts(direct)
        with pytest.raises(SalesforceExpiredSession) as raised:
            _count_accounts(direct)
        assert raised.value.status == 401
        assert _content(raised.value) == [
            {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
        ]
        # A login-based client logs in again by itself and carries on.
        before = sandbox.counters["salesforce.soap_login"]
        for _ in range(3):
            assert _count_accounts(sf) == 10
        assert sandbox.counters["salesforce.soap_login"] > before
    finally:
        emulation.faults.session_expiry_after_calls = 0


def test_no_or_unknown_token_is_401(sandbox: Sandbox, session: requests.Session) -> None:
    answer = session.get(
        f"{sandbox.url}/services/data/v59.0/limits", headers={"Authorization": "Bearer nope"}
    )
    assert answer.status_code == 401
    assert answer.json()[0]["errorCode"] == "INVALID_SESSION_ID"


def test_sdk_without_the_sandbox_ca_fails_tls(sandbox: Sandbox) -> None:
    untrusting = salesforce_session(sandbox)
    untrusting.verify = True  # the machine's default CAs only
    with pytest.raises(requests.exceptions.SSLError):
        Salesforce(
            username=CREDS.username,
            password=CREDS.password,
            security_token=CREDS.security_token,
            session=untrusting,
        )
