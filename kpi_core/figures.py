"""From tallies to figures: the formulas of kpis.md, and a figure's prior (and last-year) value and change."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from kpi_core.result import Figure, Number
from kpi_core.schema import SEGMENTS
from kpi_core.tally import ZERO, OpenTally, Tally

Values = dict[str, Number | None]


def figure(value: Number | None, prior: Number | None) -> Figure:
    """change = value - prior; change_pct = change / |prior| (None when prior is 0 or None)."""
    if value is None or prior is None:
        return Figure(value, prior, None, None)
    if isinstance(value, Decimal) or isinstance(prior, Decimal):
        money_change = Decimal(value) - Decimal(prior)
        pct = float(money_change / abs(Decimal(prior))) if prior else None
        return Figure(value, prior, money_change, pct)
    change = value - prior
    return Figure(value, prior, change, change / abs(prior) if prior else None)


def versus_last_year(fig: Figure, last_year: Number | None) -> Figure:
    """``fig`` with its last-year value and the change against it (the same rules as against the prior)."""
    against = figure(fig.value, last_year)
    return dataclasses.replace(
        fig,
        last_year=last_year,
        change_vs_last_year=against.change,
        change_pct_vs_last_year=against.change_pct,
    )


def ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def money_ratio(numerator: Decimal, denominator: Decimal | None) -> float | None:
    return float(numerator / denominator) if denominator else None


def avg_cycle_days(t: Tally) -> float | None:
    """Mean days from creation to win over WON with a creation day, at least 1."""
    return max(1.0, t.cycle_days / t.cycle_deals) if t.cycle_deals else None


def deal_velocity(t: Tally, open_count: int, avg_deal_size: Decimal | None) -> Decimal | None:
    """open_count x win_rate x avg_deal_size / avg_cycle_days, in Decimal; 0 for an empty pipeline."""
    if open_count == 0:
        return ZERO
    won, closed = t.won_count, t.won_count + t.lost_count
    if not closed or avg_deal_size is None or not t.cycle_deals:
        return None
    cycle = max(Decimal(t.cycle_days) / Decimal(t.cycle_deals), Decimal(1))
    return Decimal(open_count) * Decimal(won) / Decimal(closed) * avg_deal_size / cycle


def window_values(t: Tally, open_last: OpenTally) -> Values:
    """Every group figure of one window that depends on that window alone (pipeline as of its last day)."""
    won, lost = t.won_count, t.lost_count
    won_revenue = t.won_revenue
    avg_deal_size = won_revenue / t.won_with_amount if t.won_with_amount else None
    created = t.created_count
    return {
        "deal_count": won,
        "won_revenue": won_revenue,
        "avg_deal_size": avg_deal_size,
        "open_count": open_last.count,
        "open_amount": open_last.amount,
        "weighted_amount": open_last.weighted,
        "created_count": created,
        "close_rate": ratio(sum(t.created_won), created),
        "cohort_open": t.created_open,
        "closed_count": won + lost,
        "win_rate": ratio(won, won + lost),
        "avg_cycle_days": avg_cycle_days(t),
        "deal_velocity": deal_velocity(t, open_last.count, avg_deal_size),
    }


def segment_values(t: Tally, segment: int) -> Values:
    """One segment's channel figures in one window."""
    total = t.won_revenue
    won, lost = t.won[segment], t.lost[segment]
    return {
        "deal_count": won,
        "won_revenue": t.won_amount[segment],
        "revenue_share": money_ratio(t.won_amount[segment], total),
        "close_rate": ratio(t.created_won[segment], t.created[segment]),
        "win_rate": ratio(won, won + lost),
    }


def channel_figures(now: Tally, prior: Tally, last_year: Tally | None = None) -> dict[int, dict[str, Figure]]:
    result = {}
    for segment in range(len(SEGMENTS)):
        value, before = segment_values(now, segment), segment_values(prior, segment)
        figures = {name: figure(value[name], before[name]) for name in value}
        if last_year is not None:
            year_ago = segment_values(last_year, segment)
            figures = {name: versus_last_year(f, year_ago[name]) for name, f in figures.items()}
        result[segment] = figures
    return result
