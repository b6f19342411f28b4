"""connectors.salesforce.currency.load over a stub reader: multi-currency orgs with and without dated
rates, single-currency orgs, and rates rebased onto a reporting currency other than the corporate one."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from connectors.errors import ConnectorError
from connectors.salesforce import currency
from connectors.salesforce.failures import SalesforceApiError


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
