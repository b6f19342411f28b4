"""normalize.Normalizer remembers what repeats from record to record (stages, currencies, days, rates,
percentages, ids): a record must normalize the same whatever records came before it on the page."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.salesforce.normalize import Normalizer, OpportunityShape, StageMeta
from kpi_core.money import DatedRate, RateTable

STAGES = {
    "Closed Won": StageMeta(True, True, 1.0),
    "Closed Lost": StageMeta(True, False, 0.0),
    "Prospecting": StageMeta(False, False, 0.1),
}
RATES = RateTable("USD", static={"USD": Decimal(1), "EUR": Decimal("0.9"), "GBP": Decimal("0.8")})
RATES.add_dated(
    [
        DatedRate("EUR", Decimal("0.95"), date(2026, 1, 1), date(2026, 7, 1)),
        DatedRate("EUR", Decimal("0.85"), date(2026, 7, 1)),
    ]
)
NOW = datetime(2026, 10, 31, 12, tzinfo=timezone.utc)
TODAY = date(2026, 10, 31)

value = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 120),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-10, max_value=200),
    st.sampled_from(
        [
            "Closed Won",
            " Closed Won ",
            "Closed Lost",
            "Prospecting",
            "Teleported",
            "",
            "EUR",
            "eur",
            "GBP",
            "JPY",
            "2026-03-15",
            "2026-08-01",
            "2026-02-30",
            "2026-03-15T10:00:00.000Z",
            "2026-03-15T23:30:00.000+0000",
            "2026-03-15T23:30:00.000-0800",
            " 2026-03-15T10:00:00.000Z",
            "2026-03-15T10:00:00",
            "80.0",
            "100",
            "1e9999",
            "NaN",
            "001A",
            "001B ",
        ]
    ),
)
FIELDS = (
    "StageName",
    "Amount",
    "CloseDate",
    "CreatedDate",
    "Probability",
    "SystemModstamp",
    "PartnerAccountId",
    "LeadSource",
    "CurrencyIsoCode",
)
record = st.fixed_dictionaries(
    {"Id": st.sampled_from(["006A", "006B", "006C"])}, optional=dict.fromkeys(FIELDS, value)
)
shape = st.builds(
    OpportunityShape,
    partner_field=st.sampled_from(["PartnerAccountId", None]),
    channel_field=st.just("LeadSource"),
    multi_currency=st.booleans(),
    timezone=st.sampled_from(["UTC", "America/Los_Angeles", "Asia/Kolkata"]),
    reporting_currency=st.just("USD"),
)
PRIMARY = {"006A": "001P", "006C": "001Q"}


def alone(row: dict[str, Any], form: OpportunityShape) -> Any:
    return Normalizer(  # a fresh one: the record alone
        shape=form,
        stages=STAGES,
        rates=RATES,
        today=TODAY,
        fallback_modified=NOW,
        primary_partners=PRIMARY,
    ).opportunity(row)


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(record, min_size=1, max_size=12), form=shape)
def test_a_page_normalizes_each_record_as_it_would_alone(
    rows: list[dict[str, Any]], form: OpportunityShape
) -> None:
    page = Normalizer(
        shape=form, stages=STAGES, rates=RATES, today=TODAY, fallback_modified=NOW, primary_partners=PRIMARY
    )
    for row in rows:
        together, by_itself = page.opportunity(row), alone(row, form)
        assert together == by_itself
        assert repr(together.amount) == repr(by_itself.amount)  # the same Decimal, digit for digit


def test_the_page_path_keeps_the_rules() -> None:
    form = OpportunityShape("PartnerAccountId", "LeadSource", True, "America/Los_Angeles", "USD")
    page = Normalizer(shape=form, stages=STAGES, rates=RATES, today=TODAY, fallback_modified=NOW)
    won = {
        "Id": "006A",
        "StageName": "Closed Won",
        "Amount": "950",
        "CurrencyIsoCode": "eur",
        "CloseDate": "2026-03-15",
        "CreatedDate": "2026-01-01T05:00:00.000Z",
        "Probability": "100",
        "SystemModstamp": "2026-03-15T10:00:00.000+0000",
        "PartnerAccountId": " 001P ",
        "LeadSource": "Web",
    }
    first = page.opportunity(won)
    again = page.opportunity({**won, "CloseDate": "2026-08-01"})  # another day: another dated rate
    assert first.amount == Decimal(1000) and again.amount == Decimal(950) / Decimal("0.85")
    assert first.currency == "EUR" and first.partner_id == "001P" and first.probability == 1.0
    assert first.created_on == date(2025, 12, 31)  # 05:00 UTC is still Dec 31 in Los Angeles
    assert first.modified_at == datetime(2026, 3, 15, 10, tzinfo=timezone.utc)
    assert first.modified_at.tzinfo is timezone.utc
    assert page.opportunity({**won, "StageName": "Teleported"}).status is None
    assert page.opportunity({**won, "CurrencyIsoCode": "JPY"}).amount is None
