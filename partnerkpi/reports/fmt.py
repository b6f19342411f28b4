"""How report figures read to a person: money without cents and with separators, rates as percents,
signed changes. One place, so that the HTML, the terminal and the history view say the same thing."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from kpi_core.registry import KpiFigure, Unit
from kpi_core.result import Number

DASH = "–"
"""Shown for a figure that is not defined (never a zero)."""

_COMPACT = ((Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"), (Decimal(10) ** 3, "K"))


def money(value: Decimal | None) -> str:
    """Whole units with thousands separators: ``1,234,568``."""
    if value is None:
        return DASH
    return f"{value.quantize(Decimal(1), rounding=ROUND_HALF_UP):,}"


def money_compact(value: Decimal | None) -> str:
    """Three significant digits with a unit: ``1.23M``, ``456K``, ``980``."""
    if value is None:
        return DASH
    for scale, unit in _COMPACT:
        if abs(value) >= scale:
            scaled = value / scale
            places = 2 if abs(scaled) < 10 else 1 if abs(scaled) < 100 else 0
            return f"{scaled:.{places}f}{unit}"
    return money(value)


def signed_money_compact(value: Decimal | None) -> str:
    if value is None:
        return DASH
    return ("+" if value > 0 else "") + money_compact(value)


def rate(value: float | None, places: int = 1) -> str:
    """A ratio as a percent: ``0.6315`` -> ``63.2%``."""
    return DASH if value is None else f"{value * 100:.{places}f}%"


def signed_rate(value: float | None, places: int = 0) -> str:
    """A relative change as a signed percent: ``+12%``, ``−4%``."""
    if value is None:
        return DASH
    text = f"{abs(value) * 100:,.{places}f}%"
    return sign(value) + text


def score(value: float | None) -> str:
    return DASH if value is None else f"{value:.1f}"


def signed_score(value: float | None) -> str:
    return DASH if value is None else sign(value) + f"{abs(value):.1f}"


def count(value: int | None, separators: bool = True) -> str:
    """``1,234``; ``1234`` without ``separators`` (the terminal scorecard's narrow columns)."""
    if value is None:
        return DASH
    return f"{value:,}" if separators else str(value)


def days(value: float | None) -> str:
    return DASH if value is None else f"{value:.1f}"


def percentile(value: float | None) -> str:
    """A percentile rank 0..1 as a whole number 0..100."""
    return DASH if value is None else f"{value * 100:.0f}"


def day(d: date) -> str:
    """A day as the HTML report writes it: ``3 Nov 2026``."""
    return f"{d.day} {d:%b %Y}"


def span(first: date, last: date) -> str:
    """A range of days: ``1 Oct 2026 – 31 Oct 2026``."""
    return f"{day(first)} – {day(last)}"


def sign(value: float | Decimal) -> str:
    """The sign a person reads: a real minus sign, a plus, or nothing for zero."""
    return "+" if value > 0 else "−" if value < 0 else ""


def trend(change: float | Decimal | None) -> str:
    """``up``, ``dn`` (down) or ``eq`` (no change); ``na`` when undefined: the report's CSS classes."""
    if change is None:
        return "na"
    return "up" if change > 0 else "dn" if change < 0 else "eq"


def _as_money(value: Number) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


UNIT_FORMAT: Mapping[Unit, Callable[[Number], str]] = {
    Unit.MONEY: lambda v: money(_as_money(v)),
    Unit.RATE: lambda v: rate(float(v)),
    Unit.COUNT: lambda v: count(int(v)),
    Unit.DAYS: lambda v: days(float(v)),
    Unit.SCORE: lambda v: score(float(v)),
}
"""How a figure of each unit reads (kpi_core.registry gives each figure its unit)."""


def figure(kpi: KpiFigure, value: Number | None, count_separators: bool = True) -> str:
    """A figure's value as its unit reads; ``count_separators=False`` writes counts as plain digits."""
    if value is None:
        return DASH
    if kpi.unit is Unit.COUNT and not count_separators:
        return count(int(value), separators=False)
    return UNIT_FORMAT[kpi.unit](value)
