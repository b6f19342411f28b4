"""kpis.md "Periods": every kind, its prior period, inclusive bounds, fiscal quarters, leap years."""

from __future__ import annotations

from datetime import date

import pytest

from kpi_core import PeriodKind, Status, parse_period, resolve_period
from kpi_core.periods import window
from tests.kpi_core.builders import opp, prior, run, value


def span(name: str, as_of: date, fiscal: int = 1) -> tuple[date, date, date, date]:
    w = resolve_period(name, as_of, fiscal)
    assert w.name == name and w.as_of == as_of
    return w.first, w.last, w.prior_first, w.prior_last


def test_last_n_days_ends_on_as_of_and_its_prior_is_the_n_days_before() -> None:
    assert span("last_15_days", date(2024, 3, 31)) == (
        date(2024, 3, 17),
        date(2024, 3, 31),
        date(2024, 3, 2),
        date(2024, 3, 16),
    )
    assert span("last_1_days", date(2024, 1, 1)) == (date(2024, 1, 1),) * 2 + (date(2023, 12, 31),) * 2


def test_last_365_days_across_a_leap_day() -> None:
    first, last, prior_first, prior_last = span("last_365_days", date(2024, 12, 31))
    assert (first, last) == (date(2025 - 1, 1, 2), date(2024, 12, 31))
    assert (prior_first, prior_last) == (date(2023, 1, 2), date(2024, 1, 1))


def test_month_to_date_and_its_prior_clamped_to_a_shorter_month() -> None:
    assert span("month_to_date", date(2024, 3, 15)) == (
        date(2024, 3, 1),
        date(2024, 3, 15),
        date(2024, 2, 1),
        date(2024, 2, 15),
    )
    assert span("month_to_date", date(2024, 3, 31))[2:] == (date(2024, 2, 1), date(2024, 2, 29))
    assert span("month_to_date", date(2023, 3, 31))[2:] == (date(2023, 2, 1), date(2023, 2, 28))
    assert span("month_to_date", date(2024, 1, 1)) == (
        date(2024, 1, 1),
        date(2024, 1, 1),
        date(2023, 12, 1),
        date(2023, 12, 1),
    )


def test_quarter_to_date_calendar_and_fiscal() -> None:
    assert span("quarter_to_date", date(2024, 5, 10)) == (
        date(2024, 4, 1),
        date(2024, 5, 10),
        date(2024, 1, 1),
        date(2024, 2, 9),
    )
    # fiscal year from February: quarters begin Feb, May, Aug, Nov
    assert span("quarter_to_date", date(2024, 5, 10), fiscal=2) == (
        date(2024, 5, 1),
        date(2024, 5, 10),
        date(2024, 2, 1),
        date(2024, 2, 10),
    )
    assert span("quarter_to_date", date(2024, 1, 15), fiscal=2)[:2] == (date(2023, 11, 1), date(2024, 1, 15))
    # the 92nd day of a quarter against a 90-day prior quarter: clamped to its last day
    assert span("quarter_to_date", date(2023, 6, 30))[2:] == (date(2023, 1, 1), date(2023, 3, 31))


def test_year_to_date_fiscal_and_leap() -> None:
    # 61 days into leap 2024 (Jan 1 .. Mar 1); the prior is the first 61 days of 2023, to Mar 2
    assert span("year_to_date", date(2024, 3, 1)) == (
        date(2024, 1, 1),
        date(2024, 3, 1),
        date(2023, 1, 1),
        date(2023, 3, 2),
    )
    assert span("year_to_date", date(2024, 2, 29))[2:] == (date(2023, 1, 1), date(2023, 3, 1))
    assert span("year_to_date", date(2024, 12, 31))[2:] == (date(2023, 1, 1), date(2023, 12, 31))
    assert span("year_to_date", date(2024, 3, 1), fiscal=4) == (
        date(2023, 4, 1),
        date(2024, 3, 1),
        date(2022, 4, 1),
        date(2023, 3, 2),
    )


def test_previous_month_quarter_year_are_whole_units() -> None:
    assert span("previous_month", date(2024, 3, 15)) == (
        date(2024, 2, 1),
        date(2024, 2, 29),
        date(2024, 1, 1),
        date(2024, 1, 31),
    )
    assert span("previous_month", date(2024, 1, 31)) == (
        date(2023, 12, 1),
        date(2023, 12, 31),
        date(2023, 11, 1),
        date(2023, 11, 30),
    )
    assert span("previous_quarter", date(2024, 4, 1)) == (
        date(2024, 1, 1),
        date(2024, 3, 31),
        date(2023, 10, 1),
        date(2023, 12, 31),
    )
    assert span("previous_quarter", date(2024, 4, 1), fiscal=2) == (
        date(2023, 11, 1),
        date(2024, 1, 31),
        date(2023, 8, 1),
        date(2023, 10, 31),
    )
    assert span("previous_year", date(2018, 1, 1)) == (
        date(2017, 1, 1),
        date(2017, 12, 31),
        date(2016, 1, 1),
        date(2016, 12, 31),
    )
    assert span("previous_year", date(2024, 6, 1), fiscal=7)[:2] == (date(2022, 7, 1), date(2023, 6, 30))


def test_the_prior_of_the_prior_follows_the_same_rule() -> None:
    spec = parse_period("month_to_date")
    assert window(spec, date(2024, 3, 31), back=2) == (date(2024, 1, 1), date(2024, 1, 31))
    assert window(parse_period("last_7_days"), date(2024, 3, 31), back=2) == (
        date(2024, 3, 11),
        date(2024, 3, 17),
    )


@pytest.mark.parametrize(
    "name", ["last_0_days", "last_07_days", "last_10000_days", "last_days", "this_month", "Month_To_Date", ""]
)
def test_unknown_period_names_are_rejected(name: str) -> None:
    with pytest.raises(ValueError, match="unknown period"):
        parse_period(name)


def test_parse_gives_the_kind_and_n() -> None:
    assert parse_period("last_30_days").kind is PeriodKind.LAST_N_DAYS
    assert parse_period("last_30_days").days == 30
    assert parse_period("previous_quarter").kind is PeriodKind.PREVIOUS_QUARTER


def test_first_and_last_day_of_a_period_are_inclusive() -> None:
    as_of = date(2024, 3, 31)
    inside = [opp(Status.WON, closed=date(2024, 3, 17)), opp(Status.WON, closed=date(2024, 3, 31))]
    outside = [opp(Status.WON, closed=date(2024, 3, 16)), opp(Status.WON, closed=date(2024, 4, 1))]
    result = run(inside + outside, as_of=as_of, periods=["last_15_days"])
    assert value(result, "deal_count") == 2
    # the prior period is [Mar 2, Mar 16]: the Mar 16 deal, on its last day
    assert prior(result, "deal_count") == 1
