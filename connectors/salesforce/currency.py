"""The org's currencies as a kpi_core RateTable: CurrencyType (static rates, the corporate currency) and,
with advanced currency management, DatedConversionRate. A single-currency org has no CurrencyIsoCode
field and no CurrencyType rows: its one currency is the organization's default.

Salesforce's rates are relative to the org's corporate currency; when the reporting currency
(kpi.reporting_currency) is another of the org's currencies, the rates are re-based onto it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from connectors.errors import ConnectorError
from connectors.salesforce import soql
from connectors.salesforce.answers import CurrencyTypeRow, DatedRateRow
from connectors.salesforce.failures import SalesforceApiError
from connectors.salesforce.normalize import parse_date, text
from connectors.salesforce.reader import Reader
from kpi_core.money import DatedRate, RateTable, to_money

MISSING_OBJECT_CODES = frozenset({"INVALID_TYPE", "NOT_FOUND", "INVALID_TYPE_FOR_OPERATION"})


@dataclass
class OrgCurrencies:
    multi_currency: bool
    rates: RateTable
    """Rates into the reporting currency (Salesforce's, re-based when the corporate one differs)."""
    corporate: str

    @property
    def reporting(self) -> str:
        return self.rates.reporting_currency


def load(reader: Reader, *, multi_currency: bool, reporting_currency: str | None) -> OrgCurrencies:
    """Calls: multi-currency 2 (CurrencyType, DatedConversionRate: more pages past 2,000 dated rates);
    single-currency 1 (Organization)."""
    if not multi_currency:
        code = _org_currency(reader)
        if reporting_currency and reporting_currency != code:
            raise ConnectorError(
                f"this Salesforce org keeps every amount in {code} (single-currency org, no conversion rates), "
                f"but the reporting currency is {reporting_currency}: set kpi.reporting_currency to {code}"
            )
        return OrgCurrencies(False, RateTable(code), code)
    corporate, static = _currency_types(reader)
    dated = _dated(reader)
    return OrgCurrencies(True, rebase(corporate, static, dated, reporting_currency or corporate), corporate)


def static_rates(reader: Reader, reporting_currency: str | None) -> RateTable:
    """CurrencyType's rates into the reporting currency (one call): what Salesforce converts fields of
    objects other than Opportunity with."""
    corporate, static = _currency_types(reader)
    return rebase(corporate, static, [], reporting_currency or corporate)


def _currency_types(reader: Reader) -> tuple[str, dict[str, Decimal]]:
    static: dict[str, Decimal] = {}
    corporate: str | None = None
    for row in reader.records(
        soql.select(["IsoCode", "ConversionRate", "IsCorporate"], "CurrencyType"),
        what="reading CurrencyType",
        rows=CurrencyTypeRow,
    ):
        code, rate = text(row.get("IsoCode")), to_money(row.get("ConversionRate"))
        if code is None or rate is None or rate <= 0:
            continue
        static[code.upper()] = rate
        if row.get("IsCorporate") in (True, "true"):
            corporate = code.upper()
    if corporate is None:
        raise ConnectorError(
            "Salesforce's CurrencyType has no corporate currency (IsCorporate): cannot convert"
        )
    static[corporate] = Decimal(1)
    return corporate, static


def rebase(corporate: str, static: dict[str, Decimal], dated: list[DatedRate], reporting: str) -> RateTable:
    """A RateTable into ``reporting`` from Salesforce's rates (units of each currency per one unit of the
    corporate currency): rate(C in reporting) = rate(C) / rate(reporting), day by day where rates are dated."""
    if reporting == corporate:
        table = RateTable(corporate, static=dict(static))
        table.add_dated(dated)
        return table
    if reporting not in static:
        raise ConnectorError(
            f"the reporting currency {reporting} is not among this org's currencies ({', '.join(sorted(static))}): "
            "add it in Salesforce's currency setup or change kpi.reporting_currency"
        )
    source = RateTable(corporate, static=dict(static))
    source.add_dated(dated)
    base = static[reporting]
    table = RateTable(reporting, static={c: r / base for c, r in static.items()})
    series: dict[str, set[date]] = {}
    for rate in dated:
        series.setdefault(rate.currency.upper(), set()).update(d for d in (rate.start, rate.next_start) if d)
    reporting_days = series.get(reporting, set())
    rebased: list[DatedRate] = []
    for code in sorted(set(static) | set(series)):
        days = sorted(series.get(code, set()) | reporting_days)
        for i, day in enumerate(days):
            mine, theirs = source.rate_on(code, day), source.rate_on(reporting, day)
            if mine is None or not theirs:
                continue
            rebased.append(DatedRate(code, mine / theirs, day, days[i + 1] if i + 1 < len(days) else None))
    table.add_dated(rebased)
    return table


def _dated(reader: Reader) -> list[DatedRate]:
    query = soql.select(["IsoCode", "ConversionRate", "StartDate", "NextStartDate"], "DatedConversionRate")
    rates: list[DatedRate] = []
    try:
        for row in reader.records(query, what="reading DatedConversionRate", rows=DatedRateRow):
            code, rate, start = (
                text(row.get("IsoCode")),
                to_money(row.get("ConversionRate")),
                parse_date(row.get("StartDate")),
            )
            if code is None or rate is None or start is None:
                continue
            rates.append(DatedRate(code.upper(), rate, start, parse_date(row.get("NextStartDate"))))
    except SalesforceApiError as exc:
        if exc.code in MISSING_OBJECT_CODES or exc.status == 404:
            return []  # no advanced currency management: CurrencyType's rates apply
        raise
    return rates


def _org_currency(reader: Reader) -> str:
    for row in reader.records(
        soql.select(["DefaultCurrencyIsoCode"], "Organization", limit=1), what="reading the org's currency"
    ):
        code = text(row.get("DefaultCurrencyIsoCode"))
        if code:
            return code.upper()
    raise ConnectorError(
        "Salesforce did not say the organization's currency (Organization.DefaultCurrencyIsoCode)"
    )
