"""Influenced attribution: each group's deals in any partner role, from the sourced tallies and the
pass's influence blocks (kpis.md, "Sourced and influenced").

A partner's influenced deals are the ones it sourced plus the ones it influenced without sourcing them.
The totals count each deal once: ``partners`` are the deals some partner took part in (the sourced ones
plus the direct ones some partner influenced), ``direct`` the deals no partner took part in, ``overall``
every deal (the same as sourced).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kpi_core.accumulated import ANY_INFLUENCER, Influence
from kpi_core.comparison import Base
from kpi_core.figures import Values, figure, versus_last_year, window_values
from kpi_core.registry import INFLUENCED_FIGURES
from kpi_core.result import Figure
from kpi_core.tally import OpenTally, Tally


@dataclass(frozen=True)
class Series:
    """One group's tallies per window and open pipeline per pipeline day."""

    tallies: Sequence[Tally]
    open_at: Sequence[OpenTally]

    def plus(self, other: Series, sign: int = 1) -> Series:
        return Series(
            [a.plus(b, sign) for a, b in zip(self.tallies, other.tallies, strict=True)],
            [a.plus(b, sign) for a, b in zip(self.open_at, other.open_at, strict=True)],
        )


def influenced_series(influence: Influence, scope: Sequence[str], sourced: Sequence[Series]) -> list[Series]:
    """The influenced series of compute's groups, given their sourced series in the same order: each
    partner of ``scope``, then partners, direct and overall."""

    def extra(partner_id: str) -> Series | None:
        i = influence.at(partner_id)
        return None if i is None else Series(influence.tallies[i], influence.open_at[i])

    out = []
    for partner_id, own in zip(scope, sourced, strict=False):
        added = extra(partner_id)
        out.append(own if added is None else own.plus(added))
    all_partners, direct, overall = sourced[len(scope) :]
    influenced_direct = extra(ANY_INFLUENCER)
    if influenced_direct is None:
        return [*out, all_partners, direct, overall]
    return [*out, all_partners.plus(influenced_direct), direct.plus(influenced_direct, -1), overall]


def influenced_figures(
    series: Series, now: int, last: int, prior: Base, last_year: Base | None
) -> dict[str, Figure]:
    """The influenced figures in P (window ``now``, pipeline day ``last``) against the prior window, and
    the last-year window where configured. Their pipeline priors are always rebuilt from the records
    (snapshots hold the sourced open amount only)."""

    def values(window: int, day: int) -> Values:
        return window_values(series.tallies[window], series.open_at[day])

    value, before = values(now, last), values(prior.window, prior.last)
    year_ago = values(last_year.window, last_year.last) if last_year is not None else None
    out: dict[str, Figure] = {}
    for f in INFLUENCED_FIGURES:
        fig = figure(value[f], before[f])
        if year_ago is not None:
            fig = versus_last_year(fig, year_ago[f])
        out[f.value] = fig
    return out
