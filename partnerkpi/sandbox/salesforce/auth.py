"""Logins: the SOAP ``login()`` simple-salesforce posts for username/password/token, and the OAuth token
endpoint (password, client_credentials, JWT bearer, refresh_token). Answers and errors have the shapes
the real endpoints give: a SOAP fault with INVALID_LOGIN, OAuth 400 ``{error, error_description}``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import jwt

from partnerkpi.sandbox.core import Request, Response

JWT_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")


@dataclass
class SalesforceCredentials:
    """What the emulated org accepts. Defaults are the documented sandbox credentials."""

    username: str = "partner-ops@example.com"
    password: str = "sandbox-password"
    security_token: str = "SANDBOXTOKEN0000"
    consumer_key: str = "3MVG9partnerkpi.sandbox.consumer.key"
    consumer_secret: str = "sandbox-consumer-secret"
    refresh_token: str = "5Aep861partnerkpi.sandbox.refresh.token"
    jwt_public_key_pem: str | None = None
    """The connected app's certificate key; None = accept any RS256-signed assertion with the right claims."""


@dataclass
class Sessions:
    """Issued access tokens and how many authenticated calls each has made."""

    org_id: str
    calls: dict[str, int] = field(default_factory=dict)

    def issue(self) -> str:
        token = f"{self.org_id[:15]}!AQ{secrets.token_urlsafe(72)}"
        self.calls[token] = 0
        return token

    def expire_all(self) -> None:
        self.calls.clear()


def instance_url(request: Request) -> str:
    host = request.header("Host") or "127.0.0.1"
    return f"https://{host}"


# -- SOAP ------------------------------------------------------------------------------------------------
def _soap_fault(code: str, message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<soapenv:Body><soapenv:Fault><faultcode>sf:{code}</faultcode><faultstring>{code}: {escape(message)}</faultstring>"
        f'<detail><sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>{code}</sf:exceptionCode>'
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage></sf:LoginFault></detail>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return Response.text(body, 500, "text/xml;charset=UTF-8")


def soap_login(
    request: Request, version: str, creds: SalesforceCredentials, sessions: Sessions, user_id: str
) -> Response:
    try:
        root = ET.fromstring(request.body)
    except ET.ParseError:
        return _soap_fault("INVALID_LOGIN", "Invalid username, password, security token; or user locked out.")
    values = {el.tag.rsplit("}", 1)[-1]: (el.text or "") for el in root.iter()}
    username = values.get("username", "")
    password = values.get("password", "")
    if username != creds.username or password != creds.password + creds.security_token:
        return _soap_fault("INVALID_LOGIN", "Invalid username, password, security token; or user locked out.")
    token = sessions.issue()
    base = instance_url(request)
    org15 = sessions.org_id[:15]
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><loginResponse><result>"
        f"<metadataServerUrl>{base}/services/Soap/m/{version}/{org15}</metadataServerUrl>"
        "<passwordExpired>false</passwordExpired><sandbox>false</sandbox>"
        f"<serverUrl>{base}/services/Soap/u/{version}/{org15}</serverUrl>"
        f"<sessionId>{escape(token)}</sessionId><userId>{user_id}</userId>"
        f"<userInfo><organizationId>{sessions.org_id}</organizationId><userName>{escape(creds.username)}</userName>"
        "<userTimeZone>UTC</userTimeZone></userInfo>"
        "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
    )
    return Response.text(body, 200, "text/xml;charset=UTF-8")


# -- OAuth -----------------------------------------------------------------------------------------------
def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return Response.json({"error": error, "error_description": description}, status)


def _token_answer(
    request: Request, creds: SalesforceCredentials, sessions: Sessions, user_id: str, **extra: str
) -> Response:
    token = sessions.issue()
    issued = str(int(time.time() * 1000))
    base = instance_url(request)
    identity = f"https://login.salesforce.com/id/{sessions.org_id}/{user_id}"
    signature = base64.b64encode(
        hmac.new(creds.consumer_secret.encode(), (identity + issued).encode(), hashlib.sha256).digest()
    )
    return Response.json(
        {
            "access_token": token,
            **extra,
            "instance_url": base,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued,
            "signature": signature.decode(),
        }
    )


def _client(form: dict[str, str], request: Request) -> tuple[str, str | None]:
    auth = request.header("Authorization") or ""
    if auth.lower().startswith("basic "):
        try:
            key, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            return key, secret
        except (ValueError, UnicodeDecodeError):
            return "", ""
    return form.get("client_id", ""), form.get("client_secret")


def _check_jwt(assertion: str, creds: SalesforceCredentials, own_url: str) -> Response | None:
    try:
        header = jwt.get_unverified_header(assertion)
        if header.get("alg") != "RS256":
            return _oauth_error("invalid_grant", "invalid assertion")
        if creds.jwt_public_key_pem:
            claims: dict[str, Any] = jwt.decode(
                assertion,
                creds.jwt_public_key_pem,
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_aud": False, "verify_iat": False, "verify_nbf": False},
            )
        else:
            claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        return _oauth_error("invalid_grant", "invalid assertion")
    if claims.get("iss") != creds.consumer_key:
        return _oauth_error("invalid_client_id", "client identifier invalid")
    if claims.get("aud") not in (*JWT_AUDIENCES, own_url):  # My Domain / community URLs are audiences too
        return _oauth_error("invalid_grant", "audience is invalid")
    try:
        expires = float(claims.get("exp", 0))
    except (TypeError, ValueError):
        return _oauth_error("invalid_grant", "invalid assertion")
    if expires < time.time():
        return _oauth_error("invalid_grant", "expired assertion")
    if claims.get("sub") != creds.username:
        return _oauth_error("invalid_grant", "user hasn't approved this consumer")
    return None


def oauth_token(request: Request, creds: SalesforceCredentials, sessions: Sessions, user_id: str) -> Response:
    form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
    for key, values in request.query.items():
        form.setdefault(key, values[0])
    grant = form.get("grant_type", "")
    if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
        failure = _check_jwt(form.get("assertion", ""), creds, instance_url(request))
        return failure or _token_answer(request, creds, sessions, user_id, scope="api")
    client_id, client_secret = _client(form, request)
    if grant not in ("password", "client_credentials", "refresh_token"):
        return _oauth_error("unsupported_grant_type", "grant type not supported")
    if client_id != creds.consumer_key:
        return _oauth_error("invalid_client_id", "client identifier invalid")
    if grant == "refresh_token":
        if client_secret is not None and client_secret != creds.consumer_secret:
            return _oauth_error("invalid_client", "invalid client credentials")
        if form.get("refresh_token") != creds.refresh_token:
            return _oauth_error("invalid_grant", "expired access/refresh token")
        return _token_answer(request, creds, sessions, user_id, scope="api refresh_token")
    if client_secret != creds.consumer_secret:
        return _oauth_error("invalid_client", "invalid client credentials")
    if grant == "client_credentials":
        return _token_answer(request, creds, sessions, user_id, scope="api")
    password = form.get("password", "")
    if form.get("username") != creds.username or password not in (
        creds.password,
        creds.password + creds.security_token,
    ):
        return _oauth_error("invalid_grant", "authentication failure")
    return _token_answer(request, creds, sessions, user_id)
