"""HubSpot connector pieces that need no server: config, pacing (injected ticker), normalization, value
formatting, error reading, 207 mapping, and the OAuth refresh (respx)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from itertools import pairwise
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr, ValidationError
from urllib3.exceptions import MaxRetryError, ProtocolError, SSLError

from connectors.base import FieldKind, FieldSpec
from connectors.errors import AuthError, BudgetExhausted, ConnectionFailed
from connectors.hubspot import HubSpotConfig
from connectors.hubspot.auth import OAuthTokens, StaticToken
from connectors.hubspot.config import OAuthAuth
from connectors.hubspot.failures import HubSpotApiError, classify, translate
from connectors.hubspot.normalize import DealShape, RawDeal, StageMeta, day_of, opportunity, parse_datetime
from connectors.hubspot.pacing import DailyBudget, Pacer, RateHeaders, WindowLimiter
from connectors.hubspot.provision import definition, incompatibility
from connectors.hubspot.write import UnwritableValue, _results, format_value
from connectors.retry import RetryPolicy
from kpi_core.schema import Status

HOST = "https://api.example-hubspot.test"


class FakeTicker:
    """Monotonic time that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def base_config(**extra: Any) -> dict[str, Any]:
    return {"name": "hs", "type": "hubspot", "auth": {"flow": "private_app", "token": "pat-1"}, **extra}


# -- config --------------------------------------------------------------------------------------------
def test_config_defaults_and_secret_hidden() -> None:
    config = HubSpotConfig.model_validate(base_config())
    assert config.host == "https://api.hubapi.com"
    assert config.partner.label == "Partner"
    assert config.channel_property == "hs_analytics_source"
    assert config.lookback_minutes == 10
    assert "pat-1" not in repr(config)


def test_config_deal_property_mode_and_both_refused() -> None:
    config = HubSpotConfig.model_validate(base_config(partner={"deal_property": "partner_company_id"}))
    assert config.partner.label is None
    with pytest.raises(ValidationError):
        HubSpotConfig.model_validate(
            base_config(partner={"deal_property": "x", "association_label": "Partner"})
        )


def test_config_oauth_and_shorthand_and_errors() -> None:
    oauth = HubSpotConfig.model_validate(
        base_config(auth={"flow": "oauth", "client_id": "c", "client_secret": "s3", "refresh_token": "r3"})
    )
    assert isinstance(oauth.auth, OAuthAuth)
    assert "s3" not in repr(oauth) and "r3" not in repr(oauth)
    short = HubSpotConfig.model_validate({"name": "hs", "type": "hubspot", "access_token": "pat-9"})
    assert short.auth.flow == "private_app"
    with pytest.raises(ValidationError):
        HubSpotConfig.model_validate(base_config(host="http://insecure.example"))
    with pytest.raises(ValidationError):
        HubSpotConfig.model_validate(base_config(unknown_key=1))
    with pytest.raises(ValidationError):
        HubSpotConfig.model_validate(base_config(page_size=101))


# -- pacing ----------------------------------------------------------------------------------------------
def test_window_limiter_never_exceeds_limit_in_any_interval() -> None:
    ticker = FakeTicker()
    limiter = WindowLimiter(5, 10.0, ticker)
    sent = []
    for _ in range(17):
        limiter.acquire()
        sent.append(ticker.now)
    for start in sent:
        assert sum(1 for t in sent if start <= t < start + 10.0) <= 5
    assert sent[4] == sent[0]  # the first five go at once
    assert sent[5] >= sent[0] + 10.0


def test_pacer_adopts_header_allowance_and_blocks_on_low_remaining() -> None:
    ticker = FakeTicker()
    pacer = Pacer(
        requests_per_10s=100,
        searches_per_second=4,
        headroom=0.9,
        daily_share=0.8,
        use_headers=True,
        ticker=ticker,
    )
    pacer.observe(
        {
            "X-HubSpot-RateLimit-Max": "20",
            "X-HubSpot-RateLimit-Remaining": "19",
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
        }
    )
    assert pacer.general.limit == 18
    pacer.observe({"X-HubSpot-RateLimit-Max": "20", "X-HubSpot-RateLimit-Remaining": "0"})
    before = ticker.now
    pacer.before(is_search=False)
    assert ticker.now >= before + 10.0


def test_search_is_spaced_to_its_own_rate() -> None:
    ticker = FakeTicker()
    pacer = Pacer(
        requests_per_10s=1000,
        searches_per_second=4,
        headroom=1.0,
        daily_share=1.0,
        use_headers=True,
        ticker=ticker,
    )
    times = []
    for _ in range(9):
        pacer.before(is_search=True)
        times.append(ticker.now)
    assert all(b - a >= 0.25 for a, b in pairwise(times))
    assert times[-1] - times[0] < 8 * 0.3  # paced, not stalled


def test_daily_budget_guard() -> None:
    budget = DailyBudget(0.8)
    budget.observe(
        RateHeaders.parse({"X-HubSpot-RateLimit-Daily": "1000", "X-HubSpot-RateLimit-Daily-Remaining": "250"})
    )
    budget.ensure_room()
    budget.observe(
        RateHeaders.parse({"X-HubSpot-RateLimit-Daily": "1000", "X-HubSpot-RateLimit-Daily-Remaining": "200"})
    )
    with pytest.raises(BudgetExhausted, match="800 of the portal's 1,000"):
        budget.ensure_room()


def test_rate_headers_parse_tolerates_garbage() -> None:
    parsed = RateHeaders.parse({"x-hubspot-ratelimit-max": "abc", "X-HubSpot-RateLimit-Remaining": "7"})
    assert parsed.max is None and parsed.remaining == 7


# -- normalization ---------------------------------------------------------------------------------------
STAGES = {
    "won": StageMeta("Won", True, 1.0),
    "lost": StageMeta("Lost", True, 0.0),
    "open": StageMeta("Open", False, 0.4),
    "closed_noprob": StageMeta("Closed?", True, None),
}
SHAPE = DealShape(channel_property="hs_analytics_source", timezone="UTC")
NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)


def deal(**props: str | None) -> RawDeal:
    return RawDeal("901", props)


def test_won_deal_normalized() -> None:
    o = opportunity(
        deal(
            dealstage="won",
            amount="1000",
            deal_currency_code="eur",
            amount_in_home_currency="1086.96",
            closedate="2026-03-31T00:00:00.000Z",
            createdate="2026-01-05T23:30:00.000Z",
            hs_analytics_source="REFERRALS",
            hs_lastmodifieddate="2026-04-01T10:00:00.123Z",
        ),
        shape=SHAPE,
        stages=STAGES,
        partner_id="501",
        fallback_modified=NOW,
    )
    assert o.status is Status.WON
    assert o.amount == Decimal("1086.96") and o.amount_original == Decimal("1000") and o.currency == "EUR"
    assert o.closed_on == date(2026, 3, 31) and o.expected_close_on is None
    assert o.created_on == date(2026, 1, 5)
    assert o.channel == "REFERRALS" and o.partner_id == "501" and o.probability == 1.0
    assert o.modified_at == datetime(2026, 4, 1, 10, 0, 0, 123000, tzinfo=timezone.utc)


def test_bad_values_become_none_and_unknown_stage_has_no_status() -> None:
    o = opportunity(
        deal(dealstage="retired", amount="n/a", amount_in_home_currency="", closedate="not a date"),
        shape=SHAPE,
        stages=STAGES,
        partner_id=None,
        fallback_modified=NOW,
    )
    assert o.status is None and o.amount is None and o.amount_original is None
    assert o.expected_close_on is None and o.created_on is None and o.modified_at == NOW


def test_open_deal_and_closed_stage_without_probability_asks_hs_is_closed_won() -> None:
    open_deal = opportunity(
        deal(dealstage="open", closedate="2026-12-01T00:00:00Z"),
        shape=SHAPE,
        stages=STAGES,
        partner_id=None,
        fallback_modified=NOW,
    )
    assert open_deal.status is Status.OPEN and open_deal.expected_close_on == date(2026, 12, 1)
    assert open_deal.closed_on is None and open_deal.probability == 0.4
    closed = opportunity(
        deal(dealstage="closed_noprob", hs_is_closed_won="true"),
        shape=SHAPE,
        stages=STAGES,
        partner_id=None,
        fallback_modified=NOW,
    )
    assert closed.status is Status.WON


def test_created_day_in_reporting_time_zone_but_midnight_utc_keeps_its_day() -> None:
    evening = parse_datetime("2026-01-06T03:00:00Z")
    assert day_of(evening, "America/New_York") == date(2026, 1, 5)
    assert day_of(parse_datetime("2026-01-06T00:00:00Z"), "America/New_York") == date(2026, 1, 6)
    assert parse_datetime("1767657600000") == datetime(2026, 1, 6, tzinfo=timezone.utc)


# -- writing ---------------------------------------------------------------------------------------------
def spec(kind: FieldKind, length: int = 255) -> FieldSpec:
    return FieldSpec("x", "X", kind, length=length)


def test_format_values() -> None:
    assert format_value(Decimal("1E+3"), spec(FieldKind.CURRENCY)) == "1000"
    assert format_value(Decimal("63.15"), spec(FieldKind.PERCENT)) == "63.15"
    assert format_value(0.1, spec(FieldKind.NUMBER)) == "0.1"
    assert format_value(None, spec(FieldKind.NUMBER)) == ""
    moment = datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
    assert format_value(moment, spec(FieldKind.DATETIME)) == "2026-05-01T12:00:00.123Z"
    assert format_value("abcdef", spec(FieldKind.TEXT, length=3)) == "abc"
    with pytest.raises(UnwritableValue):
        format_value("soon", spec(FieldKind.DATETIME))
    with pytest.raises(UnwritableValue):
        format_value(Decimal("NaN"), spec(FieldKind.NUMBER))


def test_207_errors_mapped_to_their_records() -> None:
    answer = SimpleNamespace(
        results=[SimpleNamespace(id="1"), SimpleNamespace(id="3")],
        errors=[
            SimpleNamespace(category="CONFLICT", message="modified meanwhile", context={"ids": ["2"]}),
            SimpleNamespace(category="OBJECT_NOT_FOUND", message="gone", context={"ids": ["4"]}),
        ],
    )
    results = _results([("1", {}), ("2", {}), ("3", {}), ("4", {})], answer)
    by_id = {r.partner_id: r for r in results}
    assert by_id["1"].ok and by_id["3"].ok
    assert not by_id["2"].ok and by_id["2"].errors[0].retryable and by_id["2"].errors[0].code == "CONFLICT"
    assert not by_id["4"].ok and not by_id["4"].errors[0].retryable


def test_property_definitions_and_incompatibility() -> None:
    rate = FieldSpec("partner_win_rate", "Win rate", FieldKind.PERCENT, description="Deals won of closed.")
    body = definition(rate, "partner_kpis")
    assert body["type"] == "number" and body["label"] == "Win rate (%)"
    assert "63.15 means 63.15 %" in body["description"]
    money = definition(FieldSpec("partner_revenue", "Revenue", FieldKind.CURRENCY), "partner_kpis")
    assert money["showCurrencySymbol"] is True
    assert definition(FieldSpec("at", "At", FieldKind.DATETIME), "g")["type"] == "datetime"
    assert incompatibility(rate, SimpleNamespace(type="number", field_type="number")) is None
    why = incompatibility(rate, SimpleNamespace(type="string", field_type="text"))
    assert why is not None and "type string" in why and "left unchanged" in why


# -- reading errors --------------------------------------------------------------------------------------
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


# -- OAuth refresh (our own httpx call) ------------------------------------------------------------------
OAUTH = OAuthAuth(
    flow="oauth",
    client_id="client-1",
    client_secret=SecretStr("secret-xyz"),
    refresh_token=SecretStr("refresh-abc"),
)
FAST = RetryPolicy(attempts=3, initial_wait=0.0, max_wait=0.0)


def tokens(ticker: FakeTicker) -> OAuthTokens:
    return OAuthTokens(OAUTH, host=HOST, ticker=ticker, policy=FAST, http=httpx.Client())


@respx.mock
def test_oauth_refresh_sends_the_grant_and_renews_before_expiry() -> None:
    route = respx.post(f"{HOST}/oauth/v1/token").mock(
        side_effect=[
            httpx.Response(
                200, json={"access_token": "at-1", "refresh_token": "refresh-abc", "expires_in": 1800}
            ),
            httpx.Response(
                200, json={"access_token": "at-2", "refresh_token": "refresh-abc", "expires_in": 1800}
            ),
        ]
    )
    ticker = FakeTicker()
    source = tokens(ticker)
    assert source.token() == "at-1"
    sent = dict(httpx.QueryParams(route.calls.last.request.content.decode()))
    assert sent == {
        "grant_type": "refresh_token",
        "client_id": "client-1",
        "client_secret": "secret-xyz",
        "refresh_token": "refresh-abc",
    }
    ticker.now += 24 * 60
    assert source.token() == "at-1" and route.call_count == 1
    ticker.now += 60 + 1  # past 25 minutes: renewed before the 30-minute expiry
    assert source.token() == "at-2" and route.call_count == 2
    assert "at-2" not in repr(source) and "secret-xyz" not in repr(source)


@respx.mock
def test_oauth_refusal_is_an_auth_error_without_secrets() -> None:
    respx.post(f"{HOST}/oauth/v1/token").mock(
        return_value=httpx.Response(
            400,
            json={"status": "BAD_REFRESH_TOKEN", "message": "missing or invalid refresh token refresh-abc"},
        )
    )
    with pytest.raises(AuthError) as caught:
        tokens(FakeTicker()).token()
    message = str(caught.value)
    assert "BAD_REFRESH_TOKEN" in message and "client-1" in message
    assert "refresh-abc" not in message and "secret-xyz" not in message


@respx.mock
def test_oauth_endpoint_5xx_retried_then_connection_failed() -> None:
    route = respx.post(f"{HOST}/oauth/v1/token").mock(return_value=httpx.Response(503, text="busy"))
    with pytest.raises(ConnectionFailed, match="503"):
        tokens(FakeTicker()).token()
    assert route.call_count == 3


@respx.mock
def test_forced_refresh_after_401() -> None:
    respx.post(f"{HOST}/oauth/v1/token").mock(
        side_effect=[
            httpx.Response(200, json={"access_token": "at-1", "expires_in": 1800}),
            httpx.Response(200, json={"access_token": "at-2", "expires_in": 1800}),
        ]
    )
    source = tokens(FakeTicker())
    assert source.token() == "at-1"
    source.refresh()
    assert source.token() == "at-2"


def test_private_app_token_cannot_refresh() -> None:
    token = StaticToken(SecretStr("pat-secret"))
    assert token.token() == "pat-secret" and not token.can_refresh
    assert "pat-secret" not in repr(token)
    with pytest.raises(AuthError):
        token.refresh()
