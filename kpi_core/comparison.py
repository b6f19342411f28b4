"""The windows a period is compared with (its prior period, and the same window a year earlier) and
their pipeline figures, which take a stored snapshot's open amount where one exists (kpis.md, "Pipeline
and its history" and "Same period last year")."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from kpi_core.figures import Values, money_ratio, window_values
from kpi_core.result import GroupKey, PipelineSource
from kpi_core.tally import OpenTally, Tally

PipelineSnapshot = Callable[[GroupKey, date], Decimal | None]


@dataclass(frozen=True)
class Base:
    """A window P is compared with: where its tallies and its pipeline days are."""

    window: int
    """Index of the window among the distinct windows."""
    last: int
    """Index among the pipeline days of the window's last day, and that day."""
    last_day: date
    before: int
    """Index among the pipeline days of the last day of the window's own prior, and that day (the
    base value of pipeline_change is the window's own change)."""
    before_day: date


class SnapshotLookup:
    """Asks the snapshot store at most once per group and day."""

    def __init__(self, source: PipelineSnapshot | None) -> None:
        self._source = source
        self._cache: dict[tuple[GroupKey, date], Decimal | None] = {}

    def __call__(self, key: GroupKey, day: date) -> Decimal | None:
        if self._source is None:
            return None
        if (key, day) not in self._cache:
            self._cache[(key, day)] = self._source(key, day)
        return self._cache[(key, day)]


def base_values(
    key: GroupKey,
    tallies: Sequence[Tally],
    open_at: Sequence[OpenTally],
    base: Base,
    target: Decimal | None,
    snapshot: SnapshotLookup,
) -> tuple[Values, PipelineSource]:
    """The figures of a base window, its open amount (and its own pipeline change) from a snapshot where
    one exists, and which was used for its last day."""
    values = window_values(tallies[base.window], open_at[base.last])
    stored = snapshot(key, base.last_day)
    source = PipelineSource.SNAPSHOT if stored is not None else PipelineSource.REBUILT
    open_base = stored if stored is not None else open_at[base.last].amount
    stored_before = snapshot(key, base.before_day)
    open_before = stored_before if stored_before is not None else open_at[base.before].amount
    values["open_amount"] = open_base
    values["pipeline_change"] = open_base - open_before
    values["pipeline_change_pct"] = money_ratio(open_base - open_before, open_before)
    values["coverage"] = money_ratio(open_base, target)
    return values, source
