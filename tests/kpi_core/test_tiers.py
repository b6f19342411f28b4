"""Partner tiers with hysteresis (docs/kpis.md, "Partner tiers" and "Tiers"), hand-computed.

Levels in these cases: Gold >= 1000, Silver >= 500, Registered >= 0 (won revenue), demote_after 2 unless
told; the evaluation periods are the quarters of 2024 (and later) when a date matters."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from kpi_core import GroupKind, KpiSettings, Status
from kpi_core.result import Number, TierStanding
from kpi_core.tier_settings import TierLevel
from kpi_core.tier_values import tier_windows
from kpi_core.tiers import TierPeriod, level_reached, replay
from tests.kpi_core.builders import group, opp, run

LEVELS = [TierLevel(name="Gold", min=Decimal(1000)), TierLevel(name="Silver", min=Decimal(500))]
LEVELS.append(TierLevel(name="Registered", min=Decimal(0)))
QUARTER_ENDS = [date(2024, 3, 31), date(2024, 6, 30), date(2024, 9, 30), date(2024, 12, 31)]
QUARTER_ENDS += [date(2025, 3, 31), date(2025, 6, 30)]
NO_DATA = None


def periods(*values: Number | None) -> list[TierPeriod]:
    """One period per value, a quarter each from Q1 2024; NO_DATA: no deal in it (its value is 0)."""
    return [
        TierPeriod(QUARTER_ENDS[i], 0 if v is NO_DATA else v, v is not NO_DATA) for i, v in enumerate(values)
    ]


def test_a_value_reaches_the_highest_level_whose_min_it_reaches_exactly() -> None:
    assert [level_reached(LEVELS, v) for v in (1000, Decimal("999.99"), 500, 0)] == [0, 1, 1, 2]
    assert level_reached(LEVELS[:2], 499.5) == 2  # below the lowest level: no level


def test_promotion_is_at_once() -> None:
    # Registered in Q1, Silver in Q2, Gold in Q3: each the period the value reaches it.
    assert replay(LEVELS, 2, periods(100, 600, 1200)) == TierStanding("Gold", date(2024, 10, 1), "Silver")
    # Straight from Registered to Gold in one period.
    assert replay(LEVELS, 2, periods(100, 1500)) == TierStanding("Gold", date(2024, 7, 1), "Registered")


def test_a_demotion_waits_demote_after_periods_below() -> None:
    # One period below Gold: still Gold (reached in Q1).
    assert replay(LEVELS, 2, periods(1200, 100)) == TierStanding("Gold", date(2024, 4, 1), "Gold")
    # The second period below: one level down, in Q3.
    assert replay(LEVELS, 2, periods(1200, 100, 100)) == TierStanding("Silver", date(2024, 10, 1), "Gold")
    # demote_after 3: two periods below are not enough.
    assert replay(LEVELS, 3, periods(1200, 100, 100)).tier == "Gold"


def test_a_dip_that_recovers_is_no_demotion() -> None:
    # Below, back, below, back: the count restarts each time Gold is reached again.
    standing = replay(LEVELS, 2, periods(1200, 100, 1200, 600, 1000))
    assert standing == TierStanding("Gold", date(2024, 4, 1), "Gold")


def test_a_long_slump_costs_one_level_per_demote_after_periods() -> None:
    # Gold, then 4 periods at 100 (which reaches Registered): Silver after Q3, Registered after Q5.
    assert replay(LEVELS, 2, periods(1200, 100, 100, 100)) == TierStanding(
        "Silver", date(2024, 10, 1), "Silver"
    )
    assert replay(LEVELS, 2, periods(1200, 100, 100, 100, 100)) == TierStanding(
        "Registered", date(2025, 4, 1), "Silver"
    )
    # demote_after 1: one level per period.
    assert replay(LEVELS, 1, periods(1200, 100, 100)) == TierStanding(
        "Registered", date(2024, 10, 1), "Silver"
    )


def test_periods_without_data_before_the_first_are_skipped() -> None:
    # The replay starts in Q3 at Silver, whatever the empty quarters would have said.
    assert replay(LEVELS, 2, periods(NO_DATA, NO_DATA, 600)) == TierStanding(
        "Silver", date(2024, 10, 1), None
    )
    assert replay(LEVELS, 2, periods(NO_DATA, NO_DATA)) == TierStanding(None, None, None)


def test_a_period_without_data_after_the_start_counts_as_below() -> None:
    # Gold in Q1, then two empty quarters (won revenue 0): demoted in Q3, as an inactive partner should be.
    assert replay(LEVELS, 2, periods(1200, NO_DATA, NO_DATA)) == TierStanding(
        "Silver", date(2024, 10, 1), "Gold"
    )
    # One empty quarter between two good ones: no demotion.
    assert replay(LEVELS, 2, periods(1200, NO_DATA, 1100)).tier == "Gold"


def test_below_the_lowest_level_is_no_tier_by_the_same_rules() -> None:
    top_two = LEVELS[:2]
    assert replay(top_two, 2, periods(100, 600)) == TierStanding("Silver", date(2024, 7, 1), None)
    assert replay(top_two, 2, periods(600, 100)) == TierStanding("Silver", date(2024, 4, 1), "Silver")
    assert replay(top_two, 2, periods(600, 100, 100)) == TierStanding(None, None, "Silver")


def test_the_evaluation_periods_are_whole_fiscal_quarters_oldest_first() -> None:
    tiers = {"measure": "won_revenue", "period": "previous_quarter", "levels": [{"name": "A", "min": 0}]}
    settings = KpiSettings.model_validate({"tiers": tiers}).tiers
    assert settings is not None
    spans = tier_windows(settings, date(2026, 11, 22), 1)
    assert len(spans) == 8
    assert spans[0] == (date(2024, 10, 1), date(2024, 12, 31))
    assert spans[-1] == (date(2026, 7, 1), date(2026, 9, 30))
    # A fiscal year from February: the quarter before Nov 22 is Aug..Oct.
    assert tier_windows(settings, date(2026, 11, 22), 2)[-1] == (date(2026, 8, 1), date(2026, 10, 31))


REVENUE_TIERS = {
    "measure": "won_revenue",
    "period": "previous_quarter",
    "demote_after": 2,
    "history": 4,
    "levels": [
        {"name": "Gold", "min": 1000},
        {"name": "Silver", "min": 500},
        {"name": "Registered", "min": 0},
    ],
}


def test_compute_replays_each_partners_won_revenue_per_quarter() -> None:
    # As of 2025-01-15 the four quarters of 2024. p1: 1200 won in Q1 (Gold), 100 in Q2 and Q3 (Silver
    # from Q3: reached on 2024-10-01), nothing in Q4 (0: the first period below Silver).
    # p2: no deal before Q4, where it wins 600: Silver reached on 2025-01-01, no tier before.
    # p3: in scope with no deal at all: no tier.
    opps = [
        opp(amount=1200, created=date(2024, 1, 5), closed=date(2024, 2, 10)),
        opp(amount=100, created=date(2024, 4, 5), closed=date(2024, 5, 10)),
        opp(amount=100, created=date(2024, 7, 5), closed=date(2024, 8, 10)),
        opp(partner="p2", amount=600, created=date(2024, 10, 5), closed=date(2024, 12, 31)),
    ]
    result = run(opps, as_of=date(2025, 1, 15), partners=["p1", "p2", "p3"], tiers=REVENUE_TIERS)
    assert group(result, "p1").tier == TierStanding("Silver", date(2024, 10, 1), "Silver")
    assert group(result, "p2").tier == TierStanding("Silver", date(2025, 1, 1), None)
    assert group(result, "p3").tier == TierStanding(None, None, None)
    assert all(group(result, kind).tier is None for kind in (GroupKind.PARTNERS, GroupKind.OVERALL))


def test_compute_ranks_the_quality_score_per_quarter() -> None:
    # Q4 2024: p1 won one deal of 100, p2 lost one. p0 = 1/2; smoothed win rates (1 + 2.5) / 6 and
    # 2.5 / 6; p1 is above p2 on every component: percentiles 0.75 and 0.25, scores 75 and 25.
    opps = [
        opp(amount=100, created=date(2024, 10, 5), closed=date(2024, 11, 10)),
        opp(Status.LOST, partner="p2", amount=100, created=date(2024, 10, 5), closed=date(2024, 11, 10)),
    ]
    tiers = {**REVENUE_TIERS, "measure": "quality_score"}
    tiers["levels"] = [
        {"name": "Platinum", "min": 80},
        {"name": "Gold", "min": 60},
        {"name": "Registered", "min": 0},
    ]
    result = run(opps, as_of=date(2025, 1, 15), partners=["p1", "p2"], tiers=tiers)
    assert group(result, "p1").tier == TierStanding("Gold", date(2025, 1, 1), None)
    assert group(result, "p2").tier == TierStanding("Registered", date(2025, 1, 1), None)


def test_without_tiers_no_group_has_a_tier_and_the_figures_are_the_same() -> None:
    opps = [opp(amount=1200, created=date(2024, 1, 5), closed=date(2024, 2, 10))]
    plain = run(opps, as_of=date(2025, 1, 15), periods=["last_365_days"], partners=["p1"])
    tiered = run(
        opps, as_of=date(2025, 1, 15), periods=["last_365_days"], partners=["p1"], tiers=REVENUE_TIERS
    )
    assert all(g.tier is None for g in plain.groups)
    assert [g.figures for g in plain.groups] == [g.figures for g in tiered.groups]
