"""What the pass hands on: per group, a Tally per window and an OpenTally per pipeline day."""

from __future__ import annotations

from dataclasses import dataclass, field

from kpi_core.result import DataQuality
from kpi_core.tally import OpenTally, Tally

ANY_INFLUENCER = ""
"""The influence block of direct deals some partner influenced (no partner id is empty)."""


@dataclass
class Influence:
    """What influenced attribution adds to the sourced tallies: per partner id, the deals it influenced
    without sourcing them; under ``ANY_INFLUENCER``, the direct deals some partner influenced."""

    partner_ids: list[str | None]
    tallies: list[list[Tally]]
    open_at: list[list[OpenTally]]

    def at(self, partner_id: str) -> int | None:
        """The index of a partner's (or ANY_INFLUENCER's) block; None when nothing was added to it."""
        try:
            return self.partner_ids.index(partner_id)
        except ValueError:
            return None


@dataclass
class Accumulated:
    """The pass's outcome: per group index, a Tally per window and an OpenTally per pipeline day.

    Index 0 is direct, 1 .. len(partner_ids) - 1 one partner each; then all partners, then overall."""

    partner_ids: list[str | None]
    tallies: list[list[Tally]]
    open_at: list[list[OpenTally]]
    data_quality: DataQuality = field(default_factory=DataQuality)
    seen: int = 0
    influence: Influence | None = None
    """With influenced attribution on; None otherwise."""

    @property
    def all_partners(self) -> int:
        return len(self.partner_ids)

    @property
    def overall(self) -> int:
        return len(self.partner_ids) + 1
