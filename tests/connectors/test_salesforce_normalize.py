"""connectors.salesforce.normalize record by record: status, amounts at the right rate, days in the
reporting time zone, malformed values; and the pull's watermark format. A page of records through the
Normalizer is in test_salesforce_normalizer.py, against the sandbox in test_salesforce_pull.py."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from connectors.salesforce.normalize import (
    Normalizer,
    OpportunityShape,
    StageMeta,
    parse_datetime,
    stage_meta,
)
from connectors.salesforce.watermark import SalesforceWatermark
from kpi_core.money import RateTable
from kpi_core.schema import Status
from tests.connectors.salesforce_samples import rates

STAGES = {
    "Prospecting": StageMeta(False, False, 0.1),
    "Closed Won": StageMeta(True, True, 1.0),
    "Closed Lost": StageMeta(True, False, 0.0),
}
SHAPE = OpportunityShape("PartnerAccountId", "LeadSource", True, "America/Los_Angeles", "USD")


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
    return Normalizer(
        shape=SHAPE,
        stages=STAGES,
        rates=rates(),
        today=today,
        fallback_modified=datetime(2026, 11, 22, tzinfo=timezone.utc),
    ).opportunity(base)


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
        return (
            Normalizer(
                shape=shape,
                stages=STAGES,
                rates=RateTable("USD"),
                today=date(2026, 1, 1),
                fallback_modified=datetime(2026, 1, 1, tzinfo=timezone.utc),
                primary_partners={"006C": "001R"},
            )
            .opportunity({"Id": opp_id, "StageName": "Closed Won"})
            .partner_id
        )

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
    loaded = SalesforceWatermark.load(SalesforceWatermark(modified=moment).dump())
    assert loaded is not None and loaded.modified == moment
    assert SalesforceWatermark.load(None) is None
