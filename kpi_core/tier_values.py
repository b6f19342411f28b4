"""The per-period values the tier replay needs, from the same pass as every other figure (kpis.md,
"Tiers"): the evaluation windows are more windows of the pass, read here once per partner."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from kpi_core.periods import window
from kpi_core.registry import KpiFigure
from kpi_core.result import Number, TierStanding
from kpi_core.scoring import window_scores
from kpi_core.settings import KpiSettings
from kpi_core.tally import Tally
from kpi_core.tier_settings import TierSettings
from kpi_core.tiers import TierPeriod, replay

Window = tuple[date, date]


def tier_windows(tiers: TierSettings, as_of: date, fiscal_start: int) -> list[Window]:
    """The evaluation periods, oldest first: the last ``history`` completed ones as of ``as_of``."""
    return [window(tiers.spec, as_of, fiscal_start, back=k) for k in range(tiers.history - 1, -1, -1)]


def _has_data(t: Tally) -> bool:
    return t.created_count + t.won_count + t.lost_count > 0


def _values(
    tallies: Sequence[Tally], everyone: Tally, settings: KpiSettings, figure: KpiFigure
) -> list[Number]:
    if figure is KpiFigure.QUALITY_SCORE:
        return [s.quality_score for s in window_scores(tallies, everyone, settings)]
    if figure is KpiFigure.WON_REVENUE:
        return [t.won_revenue for t in tallies]
    return [t.won_count for t in tallies]  # deal_count (TierSettings admits no other measure)


def partner_tiers(
    partner_tallies: Sequence[Sequence[Tally]],
    everyone: Sequence[Tally],
    position: Mapping[Window, int],
    settings: KpiSettings,
    as_of: date,
) -> list[TierStanding]:
    """Each partner's standing (``partner_tallies[i][w]``: partner i's tally of window w; ``everyone``:
    the partners group's; ``position``: the index of each window of the pass)."""
    tiers = settings.tiers
    assert tiers is not None
    spans = tier_windows(tiers, as_of, settings.fiscal_year_start_month)
    columns: list[list[TierPeriod]] = []
    for span in spans:
        w = position[span]
        tallies = [t[w] for t in partner_tallies]
        values = _values(tallies, everyone[w], settings, tiers.figure)
        columns.append([TierPeriod(span[1], v, _has_data(t)) for v, t in zip(values, tallies, strict=True)])
    return [
        replay(tiers.levels, tiers.demote_after, [column[i] for column in columns])
        for i in range(len(partner_tallies))
    ]
