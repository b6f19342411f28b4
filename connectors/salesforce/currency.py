"""The org's currencies as a kpi_core RateTable: CurrencyType (static rates, the corporate currency) and,
with advanced currency management, DatedConversionRate. A single-currency org has no CurrencyIsoCode
field and no CurrencyType rows: its one currency is the organization's default."""

from __future__ import annotations

from dataclasses import dataclass

from connectors.errors import ConnectorError
from connectors.salesforce import soql
from connectors.salesforce.client import SalesforceApiError
from connectors.salesforce.normalize import parse_date, text
from connectors.salesforce.reader import Reader
from kpi_core.money import DatedRate, RateTable, to_money

MISSING_OBJECT_CODES = frozenset({"INVALID_TYPE", "NOT_FOUND", "INVALID_TYPE_FOR_OPERATION"})


@dataclass
class OrgCurrencies:
    multi_currency: bool
    rates: RateTable

    @property
    def corporate(self) -> str:
        return self.rates.reporting_currency


def load(reader: Reader, *, multi_currency: bool, reporting_currency: str | None) -> OrgCurrencies:
    """Calls: multi-currency 2 (CurrencyType, DatedConversionRate: more pages past 2,000 dated rates);
    single-currency 1 (Organization), or 0 when ``reporting_currency`` is configured."""
    if not multi_currency:
        return OrgCurrencies(False, RateTable(reporting_currency or _org_currency(reader)))
    table = static_rates(reader, reporting_currency)
    table.add_dated(_dated(reader))
    return OrgCurrencies(True, table)


def static_rates(reader: Reader, reporting_currency: str | None) -> RateTable:
    """CurrencyType's rates (one call): what Salesforce converts fields of objects other than
    Opportunity with."""
    static = {}
    corporate: str | None = None
    for row in reader.records(
        soql.select(["IsoCode", "ConversionRate", "IsCorporate"], "CurrencyType"), what="reading CurrencyType"
    ):
        code, rate = text(row.get("IsoCode")), to_money(row.get("ConversionRate"))
        if code is None or rate is None:
            continue
        static[code.upper()] = rate
        if row.get("IsCorporate") in (True, "true"):
            corporate = code.upper()
    if corporate is None:
        raise ConnectorError(
            "Salesforce's CurrencyType has no corporate currency (IsCorporate): cannot convert"
        )
    if reporting_currency and reporting_currency != corporate:
        raise ConnectorError(
            f"reporting_currency {reporting_currency} differs from the org's corporate currency {corporate}: "
            "Salesforce's rates are relative to the corporate currency; set reporting_currency to it"
        )
    return RateTable(corporate, static=static)


def _dated(reader: Reader) -> list[DatedRate]:
    query = soql.select(["IsoCode", "ConversionRate", "StartDate", "NextStartDate"], "DatedConversionRate")
    rates: list[DatedRate] = []
    try:
        for row in reader.records(query, what="reading DatedConversionRate"):
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
    raise ConnectorError("Salesforce did not say the organization's currency; set reporting_currency")
