"""kpis.md "Same period last year": each period kind's last-year window by hand (fiscal years, to-date
clamps, leap days), a hand-computed group against last year, and the last-year pipeline rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from kpi_core import (
    GroupKey,
    GroupKind,
    KpiSettings,
    Opportunity,
    PipelineSource,
    Status,
    compute,
    resolve_period,
)
from kpi_core.periods import last_year_window, parse_period, year_earlier
from tests.kpi_core.builders import group, opp, run

WON, LOST, OPEN = Status.WON, Status.LOST, Status.OPEN
BOTH = ["prior", "last_year"]


def last_year(name: str, as_of: date, fiscal: int = 1) -> tuple[date | None, date | None]:
    w = resolve_period(name, as_of, fiscal, last_year=True)
    return w.last_year_first, w.last_year_last


def own_prior(name: str, as_of: date, fiscal: int = 1) -> tuple[date, date]:
    return last_year_window(parse_period(name), as_of, fiscal, back=1)


def test_without_last_year_a_period_has_no_last_year_window() -> None:
    w = resolve_period("quarter_to_date", date(2024, 5, 10))
    assert (w.last_year_first, w.last_year_last) == (None, None)


def test_the_same_calendar_day_a_year_earlier_maps_feb_29_to_feb_28() -> None:
    assert year_earlier(date(2024, 2, 29)) == date(2023, 2, 28)
    assert year_earlier(date(2024, 2, 28)) == date(2023, 2, 28)
    assert year_earlier(date(2025, 3, 1)) == date(2024, 3, 1)
    assert year_earlier(date(2024, 12, 31)) == date(2023, 12, 31)


def test_last_n_days_last_year_ends_on_the_same_calendar_day_a_year_earlier() -> None:
    assert last_year("last_15_days", date(2024, 5, 10)) == (date(2023, 4, 26), date(2023, 5, 10))
    assert own_prior("last_15_days", date(2024, 5, 10)) == (date(2023, 4, 11), date(2023, 4, 25))


def test_last_7_days_on_a_leap_day_compares_with_feb_22_to_28_of_the_year_before() -> None:
    assert last_year("last_7_days", date(2024, 2, 29)) == (date(2023, 2, 22), date(2023, 2, 28))
    # the day before compares with the same week: two runs, one last-year window
    assert last_year("last_7_days", date(2024, 2, 28)) == (date(2023, 2, 22), date(2023, 2, 28))
    assert own_prior("last_7_days", date(2024, 2, 29)) == (date(2023, 2, 15), date(2023, 2, 21))


def test_last_7_days_on_march_1_after_a_leap_year_holds_feb_29() -> None:
    first, last = last_year("last_7_days", date(2025, 3, 1))
    assert (first, last) == (date(2024, 2, 24), date(2024, 3, 1))
    assert first is not None and first <= date(2024, 2, 29) <= date(2024, 3, 1)
    assert last_year("last_1_days", date(2025, 3, 1)) == (date(2024, 3, 1), date(2024, 3, 1))
    # 365 days ending on 2024-03-01: Feb 29, 2024 is one of them, so the window starts on Mar 3, 2023
    assert last_year("last_365_days", date(2025, 3, 1)) == (date(2023, 3, 3), date(2024, 3, 1))


def test_month_to_date_last_year_is_clamped_to_the_shorter_february() -> None:
    assert last_year("month_to_date", date(2024, 3, 15)) == (date(2023, 3, 1), date(2023, 3, 15))
    assert last_year("month_to_date", date(2024, 2, 29)) == (date(2023, 2, 1), date(2023, 2, 28))
    assert own_prior("month_to_date", date(2024, 3, 31)) == (date(2023, 2, 1), date(2023, 2, 28))
    # a leap February a year back: as many days as have elapsed (28), not the whole of its 29
    assert last_year("month_to_date", date(2025, 2, 28)) == (date(2024, 2, 1), date(2024, 2, 28))


def test_quarter_to_date_last_year_runs_to_the_same_date_not_the_same_day_count() -> None:
    assert last_year("quarter_to_date", date(2024, 5, 10)) == (date(2023, 4, 1), date(2023, 5, 10))
    # day 61 of Q1 2024 (Feb has 29 days); last year's quarter up to Mar 1 is 60 days
    assert last_year("quarter_to_date", date(2024, 3, 1)) == (date(2023, 1, 1), date(2023, 3, 1))
    # whereas the prior period counts days: 61 days of Q4 2023 end on Nov 30
    assert resolve_period("quarter_to_date", date(2024, 3, 1)).prior_last == date(2023, 11, 30)
    assert last_year("quarter_to_date", date(2024, 3, 31)) == (date(2023, 1, 1), date(2023, 3, 31))
    assert own_prior("quarter_to_date", date(2024, 5, 10)) == (date(2023, 1, 1), date(2023, 2, 9))


def test_a_fiscal_year_from_february_shifts_its_quarters_and_years_a_year_back() -> None:
    # fiscal quarters Feb-Apr, May-Jul, Aug-Oct, Nov-Jan; as of 2024-03-10, up to Mar 10 a year back
    assert last_year("quarter_to_date", date(2024, 3, 10), 2) == (date(2023, 2, 1), date(2023, 3, 10))
    assert last_year("year_to_date", date(2024, 3, 10), 2) == (date(2023, 2, 1), date(2023, 3, 10))
    assert last_year("previous_quarter", date(2024, 5, 10), 2) == (date(2023, 2, 1), date(2023, 4, 30))
    assert last_year("previous_year", date(2024, 5, 10), 2) == (date(2022, 2, 1), date(2023, 1, 31))
    # January belongs to the fiscal year that began the February before
    assert last_year("year_to_date", date(2024, 1, 15), 2) == (date(2022, 2, 1), date(2023, 1, 15))


def test_year_to_date_last_year_is_the_same_dates_a_year_earlier() -> None:
    assert last_year("year_to_date", date(2024, 2, 29)) == (date(2023, 1, 1), date(2023, 2, 28))
    assert last_year("year_to_date", date(2024, 3, 1)) == (date(2023, 1, 1), date(2023, 3, 1))
    assert last_year("year_to_date", date(2024, 12, 31)) == (date(2023, 1, 1), date(2023, 12, 31))
    # between two years without a Feb 29 it is the prior period (the same day count)
    w = resolve_period("year_to_date", date(2023, 5, 10), last_year=True)
    assert (w.last_year_first, w.last_year_last) == (w.prior_first, w.prior_last)


def test_previous_units_last_year_are_the_whole_unit_a_year_earlier() -> None:
    assert last_year("previous_month", date(2024, 3, 10)) == (date(2023, 2, 1), date(2023, 2, 28))
    assert last_year("previous_month", date(2025, 3, 10)) == (date(2024, 2, 1), date(2024, 2, 29))
    assert last_year("previous_quarter", date(2024, 5, 10)) == (date(2023, 1, 1), date(2023, 3, 31))
    assert last_year("previous_year", date(2024, 5, 10)) == (date(2022, 1, 1), date(2022, 12, 31))
    assert own_prior("previous_quarter", date(2024, 5, 10)) == (date(2022, 10, 1), date(2022, 12, 31))


AS_OF = date(2024, 5, 10)
"""quarter_to_date: 2024-04-01..05-10; prior 2024-01-01..02-09; last year 2023-04-01..05-10, whose own
prior is 2023-01-01..02-09."""


def season() -> list[Opportunity]:
    return [
        # this quarter so far: two won (300, 500), one lost; one deal open since Apr 20
        opp(WON, amount=300, created=date(2024, 4, 1), closed=date(2024, 4, 15)),
        opp(WON, amount=500, created=date(2024, 4, 11), closed=date(2024, 5, 1)),
        opp(LOST, amount=0, created=date(2024, 4, 2), closed=date(2024, 4, 20)),
        opp(OPEN, amount=700, created=date(2024, 4, 20)),
        # the prior period: one won 100
        opp(WON, amount=100, created=date(2024, 1, 15), closed=date(2024, 2, 1)),
        # last year's window: one won (200, a 10-day cycle), two lost (the last on its last day)
        opp(WON, amount=200, created=date(2023, 3, 31), closed=date(2023, 4, 10)),
        opp(LOST, amount=50, created=date(2023, 4, 5), closed=date(2023, 5, 1)),
        opp(LOST, amount=50, created=date(2023, 4, 5), closed=date(2023, 5, 10)),
        # won the day after last year's window: not in it, but open on its last day
        opp(WON, amount=1000, created=date(2023, 3, 1), closed=date(2023, 5, 11)),
        # open at the end of last year's own prior (2023-02-09), lost before last year's window
        opp(LOST, amount=400, created=date(2023, 1, 10), closed=date(2023, 3, 15)),
    ]


def test_a_group_against_last_year_by_hand() -> None:
    result = run(season(), as_of=AS_OF, periods=["quarter_to_date"], partners=["p1"], compare_to=BOTH)
    g = group(result, "p1")
    f = g.figures
    assert (f["deal_count"].value, f["deal_count"].prior, f["deal_count"].last_year) == (2, 1, 1)
    assert (f["deal_count"].change_vs_last_year, f["deal_count"].change_pct_vs_last_year) == (1, 1.0)
    assert f["won_revenue"].last_year == Decimal(200)
    assert (f["won_revenue"].change_vs_last_year, f["won_revenue"].change_pct_vs_last_year) == (600, 3.0)
    assert (f["avg_deal_size"].value, f["avg_deal_size"].last_year) == (Decimal(400), Decimal(200))
    assert f["avg_deal_size"].change_vs_last_year == Decimal(200)
    assert (f["closed_count"].last_year, f["closed_count"].change_pct_vs_last_year) == (3, 0.0)
    assert (f["win_rate"].value, f["win_rate"].last_year) == (2 / 3, 1 / 3)
    assert f["win_rate"].change_vs_last_year == pytest.approx(1 / 3)
    assert f["win_rate"].change_pct_vs_last_year == pytest.approx(1.0)
    assert (f["avg_cycle_days"].last_year, f["created_count"].last_year) == (10.0, 2)
    # the pipeline: 700 open now, 0 at the prior's end; 1000 open on 2023-05-10, 400 on 2023-02-09
    assert (f["open_amount"].value, f["open_amount"].prior, f["open_amount"].last_year) == (700, 0, 1000)
    assert (f["open_amount"].change_vs_last_year, f["open_amount"].change_pct_vs_last_year) == (-300, -0.3)
    assert (f["open_count"].last_year, f["weighted_amount"].last_year) == (1, Decimal(1000))
    assert (f["pipeline_change"].value, f["pipeline_change"].last_year) == (700, 600)
    assert f["pipeline_change"].change_vs_last_year == 100
    assert f["pipeline_change"].change_pct_vs_last_year == pytest.approx(100 / 600)
    assert (f["pipeline_change_pct"].value, f["pipeline_change_pct"].last_year) == (None, 1.5)
    assert f["pipeline_change_pct"].change_vs_last_year is None
    assert g.pipeline_prior_source is PipelineSource.REBUILT
    assert g.pipeline_last_year_source is PipelineSource.REBUILT
    # one partner in scope: every percentile is 0.5, the score 50, in every window
    assert (f["quality_score"].value, f["quality_score"].last_year) == (50.0, 50.0)
    assert f["quality_score"].change_vs_last_year == 0.0
    # the totals see the same deals (everything is p1's)
    assert group(result).figures["won_revenue"].last_year == Decimal(200)
    assert group(result, GroupKind.DIRECT).figures["won_revenue"].last_year == Decimal(0)


def test_channels_carry_last_year_too() -> None:
    deals = [
        opp(WON, amount=300, created=date(2024, 4, 1), closed=date(2024, 4, 15), channel="Web"),
        opp(WON, amount=200, created=date(2023, 4, 1), closed=date(2023, 4, 15), channel="Web"),
        opp(WON, amount=600, created=date(2023, 4, 1), closed=date(2023, 4, 15), channel="PAID_SEARCH"),
    ]
    result = run(deals, as_of=AS_OF, periods=["quarter_to_date"], compare_to=BOTH)
    owned = group(result).channels[next(s for s in group(result).channels if s.value == "owned")]
    assert (owned["won_revenue"].value, owned["won_revenue"].last_year) == (300, 200)
    assert owned["won_revenue"].change_pct_vs_last_year == 0.5
    assert (owned["revenue_share"].value, owned["revenue_share"].last_year) == (1.0, 0.25)


def test_the_last_year_pipeline_comes_from_a_snapshot_of_that_day_when_there_is_one() -> None:
    asked: list[tuple[GroupKey, date]] = []

    def snapshot(key: GroupKey, day: date) -> Decimal | None:
        asked.append((key, day))
        return Decimal(900) if (key.partner_id, day) == ("p1", date(2023, 5, 10)) else None

    settings = KpiSettings(periods=["quarter_to_date"], compare_to=BOTH)
    result = compute(
        iter(season()), settings=settings, as_of=AS_OF, partners=["p1"], pipeline_snapshot=snapshot
    )
    g = group(result, "p1")
    f = g.figures
    assert g.pipeline_last_year_source is PipelineSource.SNAPSHOT
    assert g.pipeline_prior_source is PipelineSource.REBUILT
    assert (f["open_amount"].last_year, f["open_amount"].change_vs_last_year) == (900, -200)
    assert (f["pipeline_change"].last_year, f["pipeline_change"].change_vs_last_year) == (500, 200)
    assert f["pipeline_change_pct"].last_year == 1.25
    assert f["open_count"].last_year == 1  # a snapshot holds open_amount only: the count is rebuilt
    p1 = GroupKey(GroupKind.PARTNER, "p1")
    days = [d for k, d in asked if k == p1]
    assert sorted(days) == [date(2023, 2, 9), date(2023, 5, 10), date(2023, 11, 9), date(2024, 2, 9)]


def test_coverage_last_year_is_against_the_periods_target() -> None:
    result = run(
        season(),
        as_of=AS_OF,
        periods=["quarter_to_date"],
        partners=["p1"],
        compare_to=BOTH,
        targets=[{"group": "partner:p1", "period": "quarter_to_date", "open_amount": 2000}],
    )
    cov = group(result, "p1").figures["coverage"]
    assert (cov.value, cov.prior, cov.last_year) == (0.35, 0.0, 0.5)


def test_a_deal_won_on_feb_29_counts_in_last_year_of_last_7_days_on_march_1() -> None:
    deals = [
        opp(WON, amount=100, created=date(2024, 2, 1), closed=date(2024, 2, 29)),
        opp(WON, amount=10, created=date(2024, 2, 1), closed=date(2024, 2, 23)),  # a day too early
        opp(WON, amount=40, created=date(2025, 2, 1), closed=date(2025, 2, 27)),
    ]
    result = run(deals, as_of=date(2025, 3, 1), periods=["last_7_days"], compare_to=BOTH)
    f = group(result).figures["won_revenue"]
    assert (f.value, f.last_year, f.change_vs_last_year, f.change_pct_vs_last_year) == (40, 100, -60, -0.6)


def test_on_a_leap_day_last_year_of_last_7_days_ends_on_feb_28() -> None:
    deals = [
        opp(WON, amount=100, created=date(2023, 2, 1), closed=date(2023, 2, 28)),
        opp(WON, amount=10, created=date(2023, 2, 1), closed=date(2023, 3, 1)),  # after the window
        opp(WON, amount=50, created=date(2024, 2, 1), closed=date(2024, 2, 29)),
    ]
    result = run(deals, as_of=date(2024, 2, 29), periods=["last_7_days"], compare_to=BOTH)
    f = group(result).figures["won_revenue"]
    assert (f.value, f.last_year, f.change_vs_last_year, f.change_pct_vs_last_year) == (50, 100, -50, -0.5)


def test_a_last_year_value_of_zero_or_none_gives_no_relative_change() -> None:
    deals = [opp(WON, amount=300, created=date(2024, 4, 1), closed=date(2024, 4, 15))]
    f = group(run(deals, as_of=AS_OF, periods=["quarter_to_date"], compare_to=BOTH)).figures
    assert (f["deal_count"].last_year, f["deal_count"].change_vs_last_year) == (0, 1)
    assert f["deal_count"].change_pct_vs_last_year is None
    assert f["avg_deal_size"].last_year is None
    assert (f["avg_deal_size"].change_vs_last_year, f["avg_deal_size"].change_pct_vs_last_year) == (
        None,
        None,
    )


def test_without_last_year_every_last_year_field_is_none() -> None:
    for compare_to in (None, ["prior"]):
        extra = {} if compare_to is None else {"compare_to": compare_to}
        result = run(season(), as_of=AS_OF, periods=["quarter_to_date"], partners=["p1"], **extra)
        for g in result.groups:
            assert g.pipeline_last_year_source is None
            figures = [*g.figures.values(), *(f for seg in g.channels.values() for f in seg.values())]
            for fig in figures:
                assert (fig.last_year, fig.change_vs_last_year, fig.change_pct_vs_last_year) == (None,) * 3


def test_last_year_alone_still_computes_the_prior_period() -> None:
    both = run(season(), as_of=AS_OF, periods=["quarter_to_date"], partners=["p1"], compare_to=BOTH)
    alone = run(season(), as_of=AS_OF, periods=["quarter_to_date"], partners=["p1"], compare_to=["last_year"])
    assert alone.groups == both.groups


def test_last_year_leaves_the_prior_period_figures_as_they_were() -> None:
    plain = run(season(), as_of=AS_OF, periods=["quarter_to_date", "last_30_days"], partners=["p1"])
    with_ly = run(
        season(), as_of=AS_OF, periods=["quarter_to_date", "last_30_days"], partners=["p1"], compare_to=BOTH
    )
    for a, b in zip(plain.groups, with_ly.groups, strict=True):
        assert {k: (f.value, f.prior, f.change, f.change_pct) for k, f in a.figures.items()} == {
            k: (f.value, f.prior, f.change, f.change_pct) for k, f in b.figures.items()
        }
        assert a.pipeline_prior_source == b.pipeline_prior_source
