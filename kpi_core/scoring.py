"""The quality score (kpis.md, KPI 7): percentiles among the partners in scope, weighted and summed.

Components are compared exactly (Decimal money, int counts, Fraction smoothed win rates), so that equal
values are ties however they were reached.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, Protocol, TypeVar

from kpi_core.settings import KpiSettings, ScoreWeights
from kpi_core.tally import Tally


class _Comparable(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...

    def __hash__(self) -> int: ...


T = TypeVar("T", bound=_Comparable)


def percentiles(values: Sequence[T]) -> list[float]:
    """pct(x) = (number of values below x + 0.5 x number equal to x) / n, for each value."""
    n = len(values)
    counts = Counter(values)
    pct: dict[T, float] = {}
    below = 0
    for x in sorted(counts):
        pct[x] = (below + 0.5 * counts[x]) / n
        below += counts[x]
    return [pct[x] for x in values]


def smoothed_win_rate(won: int, lost: int, k: Fraction, p0: Fraction) -> Fraction:
    """(won + k p0) / (won + lost + k); p0 itself when nothing closed and k = 0 (the limit k -> 0)."""
    denominator = won + lost + k
    return (won + k * p0) / denominator if denominator else p0


def baseline_win_rate(won: int, lost: int) -> Fraction:
    """p0: the win rate of all partner deals in the period, 0.5 when none closed."""
    return Fraction(won, won + lost) if won + lost else Fraction(1, 2)


@dataclass(frozen=True, slots=True)
class Score:
    quality_score: float
    win_rate_smoothed: Fraction
    pct_won_revenue: float
    pct_deal_count: float
    pct_win_rate_smoothed: float


def quality_scores(
    won_revenue: Sequence[Decimal],
    deal_count: Sequence[int],
    won_lost: Sequence[tuple[int, int]],
    *,
    weights: ScoreWeights,
    k: Fraction,
    p0: Fraction,
) -> list[Score]:
    """One Score per partner in scope (the three sequences are aligned, one entry per partner)."""
    by_pair = {pair: smoothed_win_rate(*pair, k, p0) for pair in set(won_lost)}
    smoothed = [by_pair[pair] for pair in won_lost]
    pct_revenue = percentiles(won_revenue)
    pct_count = percentiles(deal_count)
    pct_smoothed = percentiles(smoothed)
    scores = []
    for i, rate in enumerate(smoothed):
        raw = 100 * (
            weights.won_revenue * pct_revenue[i]
            + weights.deal_count * pct_count[i]
            + weights.win_rate_smoothed * pct_smoothed[i]
        )
        score = min(max(raw, 0.0), 100.0)  # weights sum to 1 within 1e-9: keep float dust inside [0, 100]
        scores.append(Score(score, rate, pct_revenue[i], pct_count[i], pct_smoothed[i]))
    return scores


def window_scores(tallies: Sequence[Tally], everyone: Tally, settings: KpiSettings) -> list[Score]:
    """The quality score of each partner (its tally of one window) among them, with that window's p0
    (``everyone``: the partners group's tally of the window)."""
    p0 = baseline_win_rate(everyone.won_count, everyone.lost_count)
    return quality_scores(
        [t.won_revenue for t in tallies],
        [t.won_count for t in tallies],
        [(t.won_count, t.lost_count) for t in tallies],
        weights=settings.weights,
        k=Fraction(repr(settings.smoothing_k)),
        p0=p0,
    )
