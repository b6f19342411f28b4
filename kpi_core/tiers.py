"""The tier replay of kpis.md, "Partner tiers": pure functions over one partner's values, oldest first.

No state outside the values: the same periods always give the same tier, so a run is reproducible from
the records alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from kpi_core.result import Number, TierStanding
from kpi_core.tier_settings import TierLevel


@dataclass(frozen=True, slots=True)
class TierPeriod:
    """One evaluation period of one partner: its last day, the measure's value, whether it had data."""

    last: date
    value: Number | None
    has_data: bool


@dataclass(frozen=True, slots=True)
class _State:
    level: int
    """Index into the levels; len(levels) = no tier."""
    below: int
    """Consecutive periods below the level's min."""
    reached_in: int
    """Index of the period in which the level was reached."""


def level_reached(levels: Sequence[TierLevel], value: Number | None) -> int:
    """Index of the highest level whose min ``value`` reaches (exactly, unrounded); len(levels) for none."""
    if value is not None:
        exact = Decimal(value)
        for i, level in enumerate(levels):
            if exact >= level.min:
                return i
    return len(levels)


def _step(state: _State, reached: int, demote_after: int, at: int, none: int) -> _State:
    if reached < state.level:
        return _State(reached, 0, at)  # promoted at once
    if reached == state.level or state.level == none:
        return _State(state.level, 0, state.reached_in)  # held (a dip that recovers resets the count)
    below = state.below + 1
    if below < demote_after:
        return _State(state.level, below, state.reached_in)
    return _State(state.level + 1, 0, at)  # one level down, the count starts again


def replay(levels: Sequence[TierLevel], demote_after: int, periods: Sequence[TierPeriod]) -> TierStanding:
    """The tier after ``periods`` (oldest first), its date, and the tier one evaluation earlier."""
    none = len(levels)
    start = next((i for i, p in enumerate(periods) if p.has_data), None)
    if start is None:
        return TierStanding(None, None, None)
    state = _State(level_reached(levels, periods[start].value), 0, start)
    previous: _State | None = None
    for at in range(start + 1, len(periods)):
        previous = state
        state = _step(state, level_reached(levels, periods[at].value), demote_after, at, none)

    def name(s: _State | None) -> str | None:
        return levels[s.level].name if s is not None and s.level < none else None

    reached_on = periods[state.reached_in].last + timedelta(days=1) if state.level < none else None
    return TierStanding(name(state), reached_on, name(previous))
