"""Period names and their windows (kpis.md, "Periods").

A period is parsed once into a ``PeriodSpec`` and resolved as of a day into a ``PeriodWindow`` with its
prior period. ``window(spec, as_of, fiscal_start, back)`` gives the window ``back`` units before P, so
that the prior period's own prior (needed for the trend of pipeline_change) follows the same rule;
``last_year_window`` gives the same window a year earlier (kpis.md, "Same period last year").
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date, timedelta

from kpi_core.result import PeriodWindow


class PeriodKind(str, enum.Enum):
    LAST_N_DAYS = "last_n_days"
    MONTH_TO_DATE = "month_to_date"
    QUARTER_TO_DATE = "quarter_to_date"
    YEAR_TO_DATE = "year_to_date"
    PREVIOUS_MONTH = "previous_month"
    PREVIOUS_QUARTER = "previous_quarter"
    PREVIOUS_YEAR = "previous_year"


_UNIT_MONTHS = {
    PeriodKind.MONTH_TO_DATE: 1,
    PeriodKind.QUARTER_TO_DATE: 3,
    PeriodKind.YEAR_TO_DATE: 12,
    PeriodKind.PREVIOUS_MONTH: 1,
    PeriodKind.PREVIOUS_QUARTER: 3,
    PeriodKind.PREVIOUS_YEAR: 12,
}
_LAST_N_DAYS = re.compile(r"last_([1-9][0-9]{0,3})_days")
_NAMED = {k.value: k for k in PeriodKind if k is not PeriodKind.LAST_N_DAYS}
KNOWN_PERIODS = "last_<N>_days (1 <= N <= 9999), " + ", ".join(_NAMED)


@dataclass(frozen=True, slots=True)
class PeriodSpec:
    name: str
    kind: PeriodKind
    days: int = 0
    """N of last_N_days; 0 for the other kinds."""


def parse_period(name: str) -> PeriodSpec:
    """The spec of a period name; ValueError naming the known kinds for anything else."""
    match = _LAST_N_DAYS.fullmatch(name)
    if match:
        return PeriodSpec(name, PeriodKind.LAST_N_DAYS, int(match.group(1)))
    kind = _NAMED.get(name)
    if kind is None:
        raise ValueError(f"unknown period {name!r} (known: {KNOWN_PERIODS})")
    return PeriodSpec(name, kind)


def _add_months(first_of_month: date, months: int) -> date:
    index = first_of_month.year * 12 + first_of_month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def unit_start(day: date, unit_months: int, fiscal_start: int) -> date:
    """First day of the month / fiscal quarter / fiscal year that contains ``day``.

    Fiscal quarters and years begin at ``fiscal_start`` (1..12); months ignore it."""
    if unit_months == 1:
        return day.replace(day=1)
    offset = (day.month - fiscal_start) % unit_months
    return _add_months(day.replace(day=1), -offset)


def window(spec: PeriodSpec, as_of: date, fiscal_start: int = 1, back: int = 0) -> tuple[date, date]:
    """``[first, last]`` of the period ``back`` units before P (0 = P itself, 1 = its prior period)."""
    if spec.kind is PeriodKind.LAST_N_DAYS:
        last = as_of - timedelta(days=spec.days * back)
        return last - timedelta(days=spec.days - 1), last
    months = _UNIT_MONTHS[spec.kind]
    current = unit_start(as_of, months, fiscal_start)
    if spec.kind in (PeriodKind.PREVIOUS_MONTH, PeriodKind.PREVIOUS_QUARTER, PeriodKind.PREVIOUS_YEAR):
        first = _add_months(current, -months * (back + 1))
        return first, _add_months(first, months) - timedelta(days=1)
    # *_to_date: as many days from the start of the earlier unit as have elapsed in the current one,
    # clamped to that unit's last day when it is shorter.
    elapsed = (as_of - current).days
    first = _add_months(current, -months * back)
    unit_last = _add_months(first, months) - timedelta(days=1)
    return first, min(first + timedelta(days=elapsed), unit_last)


def year_earlier(day: date) -> date:
    """The same calendar day a year before; Feb 29 becomes Feb 28 (it stays in February and never
    reaches past the day it stands for)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def last_year_window(
    spec: PeriodSpec, as_of: date, fiscal_start: int = 1, back: int = 0
) -> tuple[date, date]:
    """``[first, last]`` of the period as it stood on the same date a year earlier (``back=1``: that
    window's own prior period): a year-on-year comparison is read by date, for every kind."""
    return window(spec, year_earlier(as_of), fiscal_start, back)


def resolve_period(
    name: str | PeriodSpec, as_of: date, fiscal_start: int = 1, *, last_year: bool = False
) -> PeriodWindow:
    """The window of a period as of a day, with its prior period (and its last-year window if asked)."""
    spec = parse_period(name) if isinstance(name, str) else name
    first, last = window(spec, as_of, fiscal_start)
    prior_first, prior_last = window(spec, as_of, fiscal_start, back=1)
    if not last_year:
        return PeriodWindow(spec.name, as_of, first, last, prior_first, prior_last)
    ly_first, ly_last = last_year_window(spec, as_of, fiscal_start)
    return PeriodWindow(spec.name, as_of, first, last, prior_first, prior_last, ly_first, ly_last)
