"""What one group accumulates for one window of days, and for one pipeline day: counts and money sums.

Everything a figure needs is a sum, so tallies of several groups add up (partners = sum of partners,
overall = partners + direct). Per-segment lists are indexed by ``SEGMENTS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from kpi_core.schema import SEGMENTS

ZERO = Decimal(0)


def _counts() -> list[int]:
    return [0] * len(SEGMENTS)


def _money() -> list[Decimal]:
    return [ZERO] * len(SEGMENTS)


@dataclass
class Tally:
    """One group, one window ``[first, last]``: WON, LOST and CREATED, per segment."""

    won: list[int] = field(default_factory=_counts)
    lost: list[int] = field(default_factory=_counts)
    won_amount: list[Decimal] = field(default_factory=_money)
    won_with_amount: int = 0
    cycle_days: int = 0
    """Sum over WON with a creation day of max(0, closed_on - created_on)."""
    cycle_deals: int = 0
    created: list[int] = field(default_factory=_counts)
    created_won: list[int] = field(default_factory=_counts)
    created_open: int = 0

    @property
    def won_count(self) -> int:
        return sum(self.won)

    @property
    def lost_count(self) -> int:
        return sum(self.lost)

    @property
    def created_count(self) -> int:
        return sum(self.created)

    @property
    def won_revenue(self) -> Decimal:
        """Sum of amount over WON, every segment (the figure of kpis.md)."""
        return sum(self.won_amount, ZERO)

    def add(self, other: Tally, sign: int = 1) -> None:
        """Adds ``other`` (``sign`` -1: takes it away, for a part known to be included)."""
        for i in range(len(SEGMENTS)):
            self.won[i] += sign * other.won[i]
            self.lost[i] += sign * other.lost[i]
            self.won_amount[i] += sign * other.won_amount[i]
            self.created[i] += sign * other.created[i]
            self.created_won[i] += sign * other.created_won[i]
        self.won_with_amount += sign * other.won_with_amount
        self.cycle_days += sign * other.cycle_days
        self.cycle_deals += sign * other.cycle_deals
        self.created_open += sign * other.created_open

    def plus(self, other: Tally, sign: int = 1) -> Tally:
        """A new tally: this one with ``other`` added (or taken away)."""
        out = Tally()
        out.add(self)
        out.add(other, sign)
        return out


@dataclass
class OpenTally:
    """One group, one day d: OPEN_AT(d)."""

    count: int = 0
    amount: Decimal = ZERO
    weighted: Decimal = ZERO

    def add(self, other: OpenTally, sign: int = 1) -> None:
        self.count += sign * other.count
        self.amount += sign * other.amount
        self.weighted += sign * other.weighted

    def plus(self, other: OpenTally, sign: int = 1) -> OpenTally:
        return OpenTally(
            self.count + sign * other.count,
            self.amount + sign * other.amount,
            self.weighted + sign * other.weighted,
        )
