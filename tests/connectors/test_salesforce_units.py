"""Unit tests of the Salesforce connector's pure parts: config, SOQL, normalization, transport rules,
write and provision shapes. The HTTP behaviour is tested against the sandbox (test_salesforce_pull.py,
test_salesforce_write.py, test_salesforce_resilience.py)."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from pydantic import ValidationError
from simple_salesforce.exceptions import (
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from connectors.base import FieldKind, FieldSpec, ProvisionAction
from connectors.errors import BudgetExhausted, ConnectorError
from connectors.salesforce import SalesforceConfig, currency, soql
from connectors.salesforce.config import JwtAuth
from connectors.salesforce.failures import SalesforceApiError, translate
from connectors.salesforce.normalize import (
    OpportunityShape,
    StageMeta,
    opportunity,
    parse_datetime,
    stage_meta,
)
from connectors.salesforce.provision import field_metadata, incompatibility
from connectors.salesforce.pull import format_watermark, parse_watermark
from connectors.salesforce.transport import (
    REDIRECTED_LOGIN_DOMAIN,
    ApiBudget,
    SalesforceSession,
    classifier,
    login_domain,
)
from connectors.salesforce.write import (
    SaveResult,
    _bulk_error,
    _csv_row,
    _result,
    json_value,
    to_account_currency,
)
from kpi_core.money import DatedRate, RateTable
from kpi_core.schema import Status

SECRET = "s3cr3t-Value-Never-Shown"


def config(**overrides: Any) -> SalesforceConfig:
    data: dict[str, Any] = {
        "name": "sf",
        "type": "salesforce",
        "auth": {
            "flow": "password",
            "username": "u@example.com",
            "password": SECRET,
            "security_token": SECRET,
        },
    }
    data.update(overrides)
    return SalesforceConfig.model_validate(data)


# -- config ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "auth",
    [
        {"flow": "password", "username": "u", "password": SECRET, "security_token": SECRET},
        {
            "flow": "oauth_password",
            "username": "u",
            "password": SECRET,
            "consumer_key": "ck",
            "consumer_secret": SECRET,
        },
        {"flow": "jwt", "username": "u", "consumer_key": "ck", "private_key": SECRET},
        {"flow": "refresh_token", "consumer_key": "ck", "consumer_secret": SECRET, "refresh_token": SECRET},
    ],
)
def test_every_flow_validates_and_hides_its_secrets(auth: dict[str, Any]) -> None:
    cfg = config(auth=auth)
    assert cfg.auth.flow == auth["flow"]
    assert SECRET not in repr(cfg)
    assert SECRET not in str(cfg.model_dump())
    assert SECRET not in cfg.model_dump_json()


def test_defaults_follow_the_issue() -> None:
    cfg = config()
    assert cfg.partner.mode == "partner_account"
    assert cfg.partner.opportunity_field == "PartnerAccountId"
    assert (cfg.channel_field, cfg.lookback_minutes, cfg.bulk_threshold, cfg.page_size) == (
        "LeadSource",
        10,
        50_000,
        2_000,
    )
    assert cfg.budget_share == 0.8
    assert cfg.partner_object == "Account"


def test_session_flow_needs_instance_url() -> None:
    with pytest.raises(ValidationError, match="instance_url"):
        config(auth={"flow": "session", "session_id": SECRET})
    cfg = config(
        auth={"flow": "session", "session_id": SECRET}, instance_url="https://acme.my.salesforce.com/x"
    )
    assert cfg.instance_url == "https://acme.my.salesforce.com"


def test_client_credentials_needs_my_domain() -> None:
    auth = {"flow": "client_credentials", "consumer_key": "ck", "consumer_secret": SECRET}
    with pytest.raises(ValidationError, match="My Domain"):
        config(auth=auth)
    assert config(auth=auth, login_url="https://acme.my.salesforce.com").auth.flow == "client_credentials"


def test_unknown_keys_and_bad_names_are_errors() -> None:
    with pytest.raises(ValidationError):
        config(colour="blue")
    with pytest.raises(ValidationError, match="API name"):
        config(channel_field="LeadSource FROM Account --")
    with pytest.raises(ValidationError, match="lookup_field needs field"):
        config(partner={"mode": "lookup_field"})
    with pytest.raises(ValidationError):
        config(auth={"flow": "password", "username": "u"})
    with pytest.raises(ValidationError, match="https"):
        config(login_url="http://login.salesforce.com")
    with pytest.raises(ValidationError, match="time zone"):
        config(timezone="Mars/Olympus")


def test_lookup_field_mode_reads_the_configured_field() -> None:
    cfg = config(partner={"mode": "lookup_field", "field": "Partner__c"})
    assert cfg.partner.opportunity_field == "Partner__c"
    assert config(partner={"mode": "opportunity_partner"}).partner.opportunity_field is None


def test_relative_ca_bundle_starts_at_the_config_dir(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("x")
    cfg = SalesforceConfig.model_validate(
        {**config().model_dump(mode="json"), "auth": config().auth, "ca_bundle": "ca.pem"},
        context={"config_dir": tmp_path},
    )
    assert cfg.ca_bundle == tmp_path / "ca.pem"
    with pytest.raises(ValidationError, match="does not exist"):
        config(ca_bundle=str(tmp_path / "missing.pem"))


# -- SOQL --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["O'Brien", "back\\slash", "x' OR Name != '", "\\' OR Id != null OR Name = '", 'quote"d', "line\nbreak"],
)
def test_a_value_cannot_change_the_query(value: str) -> None:
    literal = soql.string(value)
    assert literal.startswith("'") and literal.endswith("'")
    body = literal[1:-1]
    # every quote inside is escaped by an odd run of backslashes: the literal never ends early
    i = 0
    while i < len(body):
        if body[i] == "\\":
            i += 2
            continue
        assert body[i] not in "'\n", literal
        i += 1
    # and it decodes back to the value
    unescape = {v: k for k, v in soql._ESCAPES.items()}
    decoded, i = [], 0
    while i < len(body):
        pair = body[i : i + 2]
        if pair in unescape:
            decoded.append(unescape[pair])
            i += 2
        else:
            decoded.append(body[i])
            i += 1
    assert "".join(decoded) == value


def test_names_are_checked() -> None:
    assert soql.select(["Id", "Account.Name"], "Opportunity") == "SELECT Id, Account.Name FROM Opportunity"
    for bad in ["Id, (SELECT Id FROM Account)", "Name; DELETE", "", "1Field", "Id FROM Account WHERE"]:
        with pytest.raises(soql.SoqlError):
            soql.name(bad)


def test_query_building() -> None:
    since = datetime(2026, 3, 1, 12, 30, tzinfo=timezone.utc)
    query = soql.select(
        ["Id", "StageName"],
        "Opportunity",
        where=[soql.condition("SystemModstamp", ">=", since), soql.condition("IsDeleted", "=", False)],
        order_by=["SystemModstamp", "Id"],
        children=[
            soql.child(
                ["AccountToId"], "OpportunityPartnersFrom", [soql.condition("IsPrimary", "=", True)], 1
            )
        ],
    )
    assert query == (
        "SELECT Id, StageName, (SELECT AccountToId FROM OpportunityPartnersFrom WHERE IsPrimary = true LIMIT 1) "
        "FROM Opportunity WHERE SystemModstamp >= 2026-03-01T12:30:00Z AND IsDeleted = false "
        "ORDER BY SystemModstamp, Id"
    )
    assert soql.is_in("Id", ["a", "b'"]) == "Id IN ('a', 'b\\'')"
    assert soql.count("Opportunity") == "SELECT COUNT() FROM Opportunity"
    with pytest.raises(soql.SoqlError):
        soql.in_list([])
    with pytest.raises(soql.SoqlError):
        soql.condition("Id", "LIKE", "x")
    with pytest.raises(soql.SoqlError):
        soql.literal(datetime(2026, 1, 1))


# -- normalize ---------------------------------------------------------------------------------------

STAGES = {
    "Prospecting": StageMeta(False, False, 0.1),
    "Closed Won": StageMeta(True, True, 1.0),
    "Closed Lost": StageMeta(True, False, 0.0),
}
SHAPE = OpportunityShape("PartnerAccountId", "LeadSource", True, "America/Los_Angeles", "USD")


def rates() -> RateTable:
    table = RateTable("USD", static={"EUR": Decimal("0.9"), "GBP": Decimal("0.8")})
    table.add_dated(
        [
            DatedRate("EUR", Decimal("0.8"), date(2026, 3, 1), date(2026, 4, 1)),
            DatedRate("EUR", Decimal("0.5"), date(2026, 4, 1), None),
        ]
    )
    return table


def normalized(record: dict[str, Any], today: date = date(2026, 11, 22)) -> Any:
    base = {
        "Id": "006A",
        "StageName": "Closed Won",
        "Amount": 800.0,
        "CloseDate": "2026-03-15",
        "CreatedDate": "2026-01-02T05:00:00.000+0000",
        "Probability": 100.0,
        "SystemModstamp": "2026-03-15T10:00:00.000+0000",
        "LeadSource": "Web",
        "CurrencyIsoCode": "EUR",
        "PartnerAccountId": "001P",
    }
    base.update(record)
    return opportunity(
        base,
        shape=SHAPE,
        stages=STAGES,
        rates=rates(),
        today=today,
        fallback_modified=datetime(2026, 11, 22, tzinfo=timezone.utc),
    )


def test_closed_eur_deal_uses_the_dated_rate_of_its_close_day() -> None:
    opp = normalized({})
    assert opp.status is Status.WON
    assert opp.amount == Decimal(1000)  # 800 EUR / 0.8 (March's rate)
    assert (opp.amount_original, opp.currency) == (Decimal("800.0"), "EUR")
    assert opp.closed_on == date(2026, 3, 15) and opp.expected_close_on is None
    assert opp.probability == 1.0
    assert opp.partner_id == "001P" and opp.channel == "Web"
    assert opp.modified_at == datetime(2026, 3, 15, 10, tzinfo=timezone.utc)


def test_open_deal_uses_todays_rate_and_keeps_the_expected_close() -> None:
    opp = normalized({"StageName": "Prospecting", "Probability": 10, "CloseDate": "2026-12-01"})
    assert opp.status is Status.OPEN
    assert opp.amount == Decimal(1600)  # 800 / 0.5, the rate in force today
    assert opp.closed_on is None and opp.expected_close_on == date(2026, 12, 1)
    assert opp.probability == pytest.approx(0.1)


def test_created_on_is_the_day_in_the_reporting_time_zone() -> None:
    assert normalized({}).created_on == date(2026, 1, 1)  # 05:00 UTC is still Jan 1 in Los Angeles


def test_status_comes_from_stage_metadata_only() -> None:
    assert normalized({"StageName": "Closed Lost"}).status is Status.LOST
    unknown = normalized({"StageName": "Won (old label)"})
    assert unknown.status is None and unknown.stage == "Won (old label)"
    assert stage_meta({"ApiName": "X", "IsClosed": "true", "IsWon": "false", "DefaultProbability": "0"}) == (
        "X",
        StageMeta(True, False, 0.0),
    )


def test_malformed_values_become_none_and_never_raise() -> None:
    opp = normalized(
        {
            "Amount": "twelve",
            "CloseDate": "2026-13-45",
            "CreatedDate": "yesterday",
            "Probability": "n/a",
            "LeadSource": " ",
        }
    )
    assert opp.amount is None and opp.amount_original is None
    assert (
        opp.closed_on is None and opp.created_on is None and opp.probability is None and opp.channel is None
    )
    assert normalized({"SystemModstamp": None}).modified_at == datetime(2026, 11, 22, tzinfo=timezone.utc)


def test_unknown_currency_gives_no_amount() -> None:
    opp = normalized({"CurrencyIsoCode": "JPY"})
    assert opp.amount is None and opp.amount_original == Decimal("800.0") and opp.currency == "JPY"


def test_bulk_csv_strings_normalize_like_rest() -> None:
    opp = normalized({"Amount": "800", "Probability": "100", "SystemModstamp": "2026-03-15T10:00:00.000Z"})
    assert opp.amount == Decimal(1000)
    assert opp.modified_at == datetime(2026, 3, 15, 10, tzinfo=timezone.utc)


def test_partner_from_the_primary_opportunity_partner_map() -> None:
    shape = OpportunityShape(None, "LeadSource", False, "UTC", "USD")

    def partner_of(opp_id: str) -> str | None:
        return opportunity(
            {"Id": opp_id, "StageName": "Closed Won"},
            shape=shape,
            stages=STAGES,
            rates=RateTable("USD"),
            today=date(2026, 1, 1),
            fallback_modified=datetime(2026, 1, 1, tzinfo=timezone.utc),
            primary_partners={"006C": "001R"},
        ).partner_id

    assert partner_of("006C") == "001R"
    assert partner_of("006D") is None


def test_datetime_and_watermark_round_trip() -> None:
    assert parse_datetime("2020-10-22T21:03:23.000+0000") == datetime(
        2020, 10, 22, 21, 3, 23, tzinfo=timezone.utc
    )
    assert parse_datetime("2020-10-22T23:03:23.000+0200") == datetime(
        2020, 10, 22, 21, 3, 23, tzinfo=timezone.utc
    )
    moment = datetime(2026, 11, 22, 21, 0, 0, 123000, tzinfo=timezone.utc)
    assert parse_watermark(format_watermark(moment)) == moment
    assert parse_watermark(None) is None


# -- transport ---------------------------------------------------------------------------------------


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


def error(cls: type[Exception], status: int, body: Any) -> Any:
    return cls("https://x/y", status, "query", json.dumps(body).encode())


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


def test_request_limit_becomes_budget_exhausted() -> None:
    exc = error(
        SalesforceRefusedRequest,
        403,
        [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}],
    )
    assert isinstance(translate(exc, "reading"), BudgetExhausted)
    other = translate(
        error(SalesforceMalformedRequest, 400, [{"errorCode": "INVALID_FIELD", "message": "No such column"}]),
        "reading X",
    )
    assert "INVALID_FIELD" in str(other) and "reading X" in str(other) and "No such column" in str(other)


# -- write -------------------------------------------------------------------------------------------


def test_json_values() -> None:
    assert json_value(Decimal("63.15")) == 63.15
    assert json_value(Decimal("1000.00")) == 1000
    assert json_value(datetime(2026, 11, 22, 21, 0, tzinfo=timezone.utc)) == "2026-11-22T21:00:00.000Z"
    assert json_value(None) is None and json_value("A 81 (won 50%)") == "A 81 (won 50%)"


def test_currency_values_are_converted_into_the_accounts_currency_exactly() -> None:
    table = rates()
    assert to_account_currency(Decimal("100.00"), "EUR", table) == (Decimal("90.00"), None)
    assert to_account_currency(Decimal("100.00"), "USD", table) == (Decimal("100.00"), None)
    assert to_account_currency(Decimal("1.005"), "EUR", table) == (Decimal("0.9045"), None)  # not rounded
    value, problem = to_account_currency(Decimal(1), "JPY", table)
    assert value is None and problem is not None and "JPY" in problem.message


def test_record_answers() -> None:
    assert _result("001", SaveResult.model_validate({"id": "001", "success": True, "errors": []})).ok
    locked = _result(
        "001",
        SaveResult.model_validate(
            {
                "success": False,
                "errors": [{"statusCode": "UNABLE_TO_LOCK_ROW", "message": "lock", "fields": []}],
            }
        ),
    )
    assert not locked.ok and locked.errors[0].retryable
    invalid = _result(
        "002",
        SaveResult.model_validate(
            {
                "success": False,
                "errors": [
                    {
                        "statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                        "message": "no",
                        "fields": ["Score__c"],
                    }
                ],
            }
        ),
    )
    assert invalid.errors[0].field == "Score__c" and not invalid.errors[0].retryable


# -- provision ---------------------------------------------------------------------------------------


def test_field_metadata_by_kind() -> None:
    score = FieldSpec(
        "KPI_Score__c", "Partner quality score", FieldKind.NUMBER, "0-100", precision=5, scale=1
    )
    assert field_metadata(score) == {
        "label": "Partner quality score",
        "description": "0-100",
        "inlineHelpText": "0-100",
        "type": "Number",
        "precision": 5,
        "scale": 1,
    }
    assert field_metadata(FieldSpec("A__c", "a", FieldKind.CURRENCY))["type"] == "Currency"
    assert field_metadata(FieldSpec("A__c", "a", FieldKind.PERCENT))["type"] == "Percent"
    assert field_metadata(FieldSpec("A__c", "a", FieldKind.DATETIME))["type"] == "DateTime"
    assert field_metadata(FieldSpec("A__c", "a", FieldKind.TEXT, length=255))["type"] == "Text"
    assert field_metadata(FieldSpec("A__c", "a", FieldKind.TEXT, length=2000))["type"] == "LongTextArea"


def test_incompatible_types_are_named() -> None:
    spec = FieldSpec("Won__c", "Won revenue", FieldKind.CURRENCY)
    assert incompatibility(spec, {"type": "currency"}, "Account") is None
    why = incompatibility(spec, {"type": "string", "length": 80}, "Account")
    assert why is not None and "Account.Won__c exists as a string field" in why and "Currency" in why
    text = FieldSpec("Why__c", "Why", FieldKind.TEXT, length=255)
    assert incompatibility(text, {"type": "string", "length": 80}, "Account") is not None
    assert ProvisionAction.REFUSED.value == "refused"


# -- currencies --------------------------------------------------------------------------------------


class StubReader:
    """Answers queries by the object they read; raises for objects the org lacks."""

    def __init__(self, answers: dict[str, list[dict[str, Any]]], missing: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.answers = answers
        self.missing = missing
        self.queries: list[str] = []

    def records(self, query: str, *, include_deleted: bool = False, what: str = "", rows: Any = None) -> Any:
        self.queries.append(query)
        sobject = query.split(" FROM ")[1].split(" ")[0]
        if sobject in self.missing:
            raise SalesforceApiError(f"sObject type '{sobject}' is not supported", 400, "INVALID_TYPE")
        found = self.answers.get(sobject, [])
        for row in found if rows is not None else ():  # the reader checks each row, as Reader.records does
            rows.model_validate(row)
        return iter(found)


CURRENCY_TYPES = [
    {"IsoCode": "USD", "ConversionRate": 1, "IsCorporate": True},
    {"IsoCode": "EUR", "ConversionRate": Decimal("0.9"), "IsCorporate": False},
]


def test_multi_currency_org_with_dated_rates() -> None:
    reader = StubReader(
        {
            "CurrencyType": CURRENCY_TYPES,
            "DatedConversionRate": [
                {
                    "IsoCode": "EUR",
                    "ConversionRate": Decimal("0.8"),
                    "StartDate": "0001-01-01",
                    "NextStartDate": "2026-04-01",
                },
                {
                    "IsoCode": "EUR",
                    "ConversionRate": Decimal("0.5"),
                    "StartDate": "2026-04-01",
                    "NextStartDate": "9999-12-31",
                },
            ],
        }
    )
    found = currency.load(reader, multi_currency=True, reporting_currency=None)  # type: ignore[arg-type]
    assert found.corporate == "USD" and found.multi_currency
    assert found.rates.rate_on("EUR", date(2026, 3, 31)) == Decimal("0.8")
    assert found.rates.rate_on("EUR", date(2026, 4, 1)) == Decimal("0.5")


def test_without_advanced_currency_management_the_static_rates_apply() -> None:
    reader = StubReader({"CurrencyType": CURRENCY_TYPES}, missing={"DatedConversionRate"})
    found = currency.load(reader, multi_currency=True, reporting_currency="USD")  # type: ignore[arg-type]
    assert found.rates.rate_on("EUR", date(2026, 3, 31)) == Decimal("0.9")


def test_single_currency_org_reads_the_organization_currency_once() -> None:
    reader = StubReader({"Organization": [{"DefaultCurrencyIsoCode": "eur"}]})
    found = currency.load(reader, multi_currency=False, reporting_currency="EUR")  # type: ignore[arg-type]
    assert (found.reporting, found.multi_currency, len(reader.queries)) == ("EUR", False, 1)
    with pytest.raises(ConnectorError, match=r"set kpi\.reporting_currency to EUR"):
        currency.load(reader, multi_currency=False, reporting_currency="USD")  # type: ignore[arg-type]


def test_rates_are_rebased_onto_a_reporting_currency_other_than_the_corporate_one() -> None:
    reader = StubReader(
        {
            "CurrencyType": [
                *CURRENCY_TYPES,
                {"IsoCode": "GBP", "ConversionRate": Decimal("0.8"), "IsCorporate": False},
            ],
            "DatedConversionRate": [
                {
                    "IsoCode": "EUR",
                    "ConversionRate": Decimal("0.8"),
                    "StartDate": "0001-01-01",
                    "NextStartDate": "2026-04-01",
                },
                {
                    "IsoCode": "EUR",
                    "ConversionRate": Decimal("0.5"),
                    "StartDate": "2026-04-01",
                    "NextStartDate": None,
                },
                {
                    "IsoCode": "GBP",
                    "ConversionRate": Decimal("0.4"),
                    "StartDate": "2026-03-15",
                    "NextStartDate": None,
                },
            ],
        }
    )
    found = currency.load(reader, multi_currency=True, reporting_currency="EUR")  # type: ignore[arg-type]
    rates = found.rates
    assert (found.corporate, found.reporting) == ("USD", "EUR")
    # 100 USD in March = 80 EUR; in April = 50 EUR
    assert rates.convert(Decimal(100), "USD", date(2026, 3, 1)) == Decimal(80)
    assert rates.convert(Decimal(100), "USD", date(2026, 4, 2)) == Decimal(50)
    assert rates.convert(Decimal(100), "EUR", date(2026, 4, 2)) == Decimal(100)
    # GBP: 0.4 per USD from March 15 on: 40 GBP = 100 USD = 80 EUR (March 20) or 50 EUR (April)
    assert rates.convert(Decimal(40), "GBP", date(2026, 3, 20)) == Decimal(80)
    assert rates.convert(Decimal(40), "GBP", date(2026, 4, 20)) == Decimal(50)
    # static rates, for writes: 1 EUR = 0.8 GBP / 0.9 EUR per USD
    assert rates.static["GBP"] == Decimal("0.8") / Decimal("0.9")
    with pytest.raises(ConnectorError, match="JPY is not among"):
        currency.load(reader, multi_currency=True, reporting_currency="JPY")  # type: ignore[arg-type]


# -- the project's config loader -----------------------------------------------------------------------


def test_the_config_loader_reads_a_salesforce_connector(tmp_path: Path) -> None:
    from partnerkpi.config.loader import load_config

    (tmp_path / "key.pem").write_text("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n")
    (tmp_path / "ca.pem").write_text("x")
    (tmp_path / "partnerkpi.yaml").write_text(
        "version: 1\n"
        "connectors:\n"
        "  - name: salesforce\n"
        "    type: salesforce\n"
        "    login_url: https://acme.my.salesforce.com\n"
        "    ca_bundle: ca.pem\n"
        "    auth: {flow: jwt, username: int@acme.com, consumer_key: 3MVG9x, private_key_file: key.pem}\n"
        "    partner: {mode: opportunity_partner}\n"
        "kpi: {timezone: Europe/Berlin, reporting_currency: EUR}\n"
    )
    loaded = load_config(tmp_path / "partnerkpi.yaml").connectors[0]
    assert isinstance(loaded, SalesforceConfig)
    assert loaded.ca_bundle == tmp_path / "ca.pem"
    assert isinstance(loaded.auth, JwtAuth)
    assert (loaded.timezone, loaded.reporting_currency) == ("Europe/Berlin", "EUR")  # they follow kpi
    assert loaded.auth.private_key.get_secret_value().startswith("-----BEGIN PRIVATE KEY-----")
    assert "MIIE" not in repr(loaded)


def test_bulk_rows_and_errors() -> None:
    row = _csv_row({"attributes": {"type": "Account"}, "id": "001A", "Score__c": 81.5, "Note__c": None})
    assert row == {"Id": "001A", "Score__c": "81.5", "Note__c": "#N/A"}
    error = _bulk_error("FIELD_CUSTOM_VALIDATION_EXCEPTION:Scores are locked: ask ops:Score__c,Note__c")
    assert (error.code, error.message, error.field) == (
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "Scores are locked: ask ops",
        "Score__c",
    )
    locked = _bulk_error("UNABLE_TO_LOCK_ROW:unable to obtain exclusive access:--")
    assert locked.retryable and locked.field is None
