"""Money: the one money type (Decimal) and conversion to the reporting currency.

A rate converts one unit of the reporting (corporate) currency into the other currency, as Salesforce's
CurrencyType.ConversionRate and DatedConversionRate do: amount_in_reporting = amount / rate.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

Money = Decimal

MAX_AMOUNT = Decimal("1e15")
"""Larger than any real deal (a CRM Currency field holds 16 integer digits at most): an amount at or
beyond it is a data error (``1e9999`` in an export), read as no amount, so it can never swamp a sum."""


def to_money(value: object) -> Money | None:
    """Parse a CRM amount (str, int, float, Decimal) into Decimal; None for empty, non-numeric or absurdly
    large values (see MAX_AMOUNT)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() and abs(value) < MAX_AMOUNT else None
    if isinstance(value, float):
        value = repr(value)
    text = str(value).strip()
    if not text:
        return None
    try:
        parsed = Decimal(text)
    except InvalidOperation:
        return None
    return parsed if parsed.is_finite() and abs(parsed) < MAX_AMOUNT else None


@dataclass(frozen=True, slots=True)
class DatedRate:
    currency: str
    rate: Decimal
    start: date
    next_start: date | None = None


@dataclass
class RateTable:
    """Conversion rates into ``reporting_currency``: a static rate per currency and, optionally,
    dated rates that apply from ``start`` (inclusive) to ``next_start`` (exclusive)."""

    reporting_currency: str
    static: dict[str, Decimal] = field(default_factory=dict)
    _dated: dict[str, list[DatedRate]] = field(default_factory=dict)
    _starts: dict[str, list[date]] = field(default_factory=dict)
    """Each dated series' start days, kept beside it for bisecting (rate_on runs once per record)."""

    def add_dated(self, rates: Iterable[DatedRate]) -> None:
        for rate in rates:
            self._dated.setdefault(rate.currency.upper(), []).append(rate)
        for code, series in self._dated.items():
            series.sort(key=lambda r: r.start)
            self._starts[code] = [r.start for r in series]

    def knows(self, currency: str | None) -> bool:
        code = (currency or self.reporting_currency).upper()
        return code == self.reporting_currency.upper() or code in self.static or code in self._dated

    def rate_on(self, currency: str, on: date | None) -> Decimal | None:
        """The rate in force on ``on`` (dated first, then static); None when unknown."""
        code = currency.upper()
        if code == self.reporting_currency.upper():
            return Decimal(1)
        series = self._dated.get(code)
        if series and on is not None:
            i = bisect.bisect_right(self._starts[code], on) - 1
            if i >= 0 and (series[i].next_start is None or on < series[i].next_start):  # type: ignore[operator]
                return series[i].rate
        return self.static.get(code)

    def convert(self, amount: Money | None, currency: str | None, on: date | None) -> Money | None:
        """``amount`` in the reporting currency, or None when the amount or its rate is unknown."""
        if amount is None:
            return None
        rate = self.rate_on(currency or self.reporting_currency, on)
        if rate is None or rate == 0:
            return None
        return amount / rate
