"""The common schema: one normalized opportunity and one partner, whatever CRM they came from.

Every connector produces these; kpi_core consumes nothing else. Money is ``Decimal``, datetimes are
timezone-aware (UTC), ids are strings. The records are kept faithful to the CRM: a negative amount, an
unknown currency or an unknown stage is stored as it is and judged by the data-quality rules at compute
time, so that a change of rules or settings never needs a re-pull.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal


class Status(str, enum.Enum):
    """Open, won or lost, from the stage's metadata (never its label)."""

    OPEN = "open"
    WON = "won"
    LOST = "lost"


class Segment(str, enum.Enum):
    """Marketing-channel segment that a raw channel maps to."""

    PAID = "paid"
    EARNED = "earned"
    OWNED = "owned"
    UNCLASSIFIED = "unclassified"


SEGMENTS: tuple[Segment, ...] = tuple(Segment)
"""The segments in their one order: per-segment lists, the report's channels and its colours follow it."""


@dataclass(frozen=True, slots=True)
class Opportunity:
    """One normalized opportunity (kpis.md, "Input: one normalized opportunity").

    ``status`` is None when the stage is unknown to the stage metadata; ``amount`` is in the reporting
    currency and None when the CRM has none or it could not be converted (``amount_original`` and
    ``currency`` keep what the CRM holds, so that the data-quality rules can tell which).
    """

    id: str
    partner_id: str | None
    amount: Decimal | None
    amount_original: Decimal | None
    currency: str | None
    status: Status | None
    created_on: date | None
    closed_on: date | None
    expected_close_on: date | None
    probability: float | None
    channel: str | None
    modified_at: datetime
    deleted: bool = False
    stage: str | None = None
    influencers: tuple[str, ...] = ()
    """The partners that took part in the deal in a role other than sourcing it (kpis.md, "Sourced and
    influenced"): distinct, in id order, never ``partner_id`` itself; build it with :func:`influencer_ids`."""


def influencer_ids(sourced: str | None, involved: Iterable[str | None]) -> tuple[str, ...]:
    """The influencers of a deal from every partner id met on it in any role: the sourced partner and
    empty ids left out, each id once, in one order (so that an unchanged deal compares equal)."""
    return tuple(sorted({p for p in involved if p and p != sourced}))


@dataclass(frozen=True, slots=True)
class Partner:
    """A partner record (Salesforce Account with IsPartner, HubSpot Company, or an id seen in a file)."""

    id: str
    name: str | None = None
    deleted: bool = False
