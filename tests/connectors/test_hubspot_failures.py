"""connectors.hubspot.failures: which SDK failures are retried (classify), and what error each becomes
(translate), never with a secret from the answer body."""

from __future__ import annotations

from urllib3.exceptions import MaxRetryError, ProtocolError, SSLError

from connectors.errors import AuthError, BudgetExhausted, ConnectionFailed
from connectors.hubspot.failures import HubSpotApiError, classify, translate
from tests.connectors.hubspot_fakes import HOST


class FakeApiException(Exception):
    def __init__(self, status: int, body: str = "", headers: dict[str, str] | None = None) -> None:
        super().__init__(f"({status})")
        self.status = status
        self.body = body
        self.headers = headers or {}


def test_classify() -> None:
    hint = classify(FakeApiException(429, '{"policyName":"TEN_SECONDLY_ROLLING"}', {"Retry-After": "2"}))
    assert hint is not None and hint.after == 2.0
    assert classify(FakeApiException(429, '{"policyName":"DAILY"}')) is None
    assert classify(FakeApiException(502, "<html>")) is not None
    assert classify(FakeApiException(400, "{}")) is None
    assert classify(MaxRetryError(None, "/x", ProtocolError("reset"))) is not None  # type: ignore[arg-type]
    assert classify(MaxRetryError(None, "/x", SSLError("bad cert"))) is None  # type: ignore[arg-type]


def test_translate_never_leaks_body_secrets_and_names_the_problem() -> None:
    tls = translate(MaxRetryError(None, "/x", SSLError("cert")), HOST)  # type: ignore[arg-type]
    assert isinstance(tls, ConnectionFailed) and "ca_bundle" in str(tls)
    daily = translate(FakeApiException(429, '{"policyName":"DAILY","message":"daily"}'), HOST)
    assert isinstance(daily, BudgetExhausted)
    bad = translate(FakeApiException(400, '{"category":"VALIDATION_ERROR","message":"bad value"}'), HOST)
    assert isinstance(bad, HubSpotApiError) and bad.status == 400 and "bad value" in str(bad)
    assert isinstance(translate(FakeApiException(401, "{}"), HOST), AuthError)
