"""What a KPI computation returns: per group and period, every figure with its prior value and change.

Plain dataclasses, so that reports, snapshots and writeback read one shape. Figure names are the names
of the registry (kpi_core.registry, ``deal_count``, ``won_revenue``, ...); channel figures live under
``channels[segment]``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from kpi_core.schema import Segment

Number = Decimal | float | int


class GroupKind(str, enum.Enum):
    PARTNER = "partner"
    """One partner."""
    PARTNERS = "partners"
    """All partner-sourced opportunities together."""
    DIRECT = "direct"
    """Opportunities with no partner."""
    OVERALL = "overall"
    """Everything."""


@dataclass(frozen=True, slots=True, order=True)
class GroupKey:
    kind: GroupKind
    partner_id: str | None = None

    @property
    def label(self) -> str:
        return self.partner_id if self.kind is GroupKind.PARTNER and self.partner_id else self.kind.value


@dataclass(frozen=True, slots=True)
class PeriodWindow:
    """A named period ``[first, last]`` as of a day, its prior period, and (with ``compare_to:
    last_year``) the same window a year earlier."""

    name: str
    as_of: date
    first: date
    last: date
    prior_first: date
    prior_last: date
    last_year_first: date | None = None
    last_year_last: date | None = None


@dataclass(frozen=True, slots=True)
class Figure:
    """One KPI in period P and in the prior period, with the change (and the same against last year).

    ``change`` = value - prior (None when either is None); ``change_pct`` = change / |prior| as a ratio
    (None when prior is 0 or None). The ``*_last_year`` fields follow the same rules with the last-year
    window's value as the base; all three are None unless ``compare_to`` has ``last_year``.
    """

    value: Number | None
    prior: Number | None
    change: Number | None
    change_pct: float | None
    last_year: Number | None = None
    change_vs_last_year: Number | None = None
    change_pct_vs_last_year: float | None = None


FIGURE_PARTS = ("value", "prior", "change", "change_pct")
"""The parts of every ``Figure``, as the JSON output and the CSV name them."""
LAST_YEAR_PARTS = ("last_year", "change_vs_last_year", "change_pct_vs_last_year")
"""The parts a ``Figure`` holds with ``compare_to: last_year`` (None without)."""


class PipelineSource(str, enum.Enum):
    REBUILT = "rebuilt"
    """OPEN_AT(L') (or of the last-year window's last day) rebuilt from today's records."""
    SNAPSHOT = "snapshot"
    """OPEN_AT(L') taken from a stored KPI snapshot of an earlier run."""


@dataclass(frozen=True, slots=True)
class TierStanding:
    """A partner's tier after the replay of kpis.md, "Partner tiers" (None: no tier)."""

    tier: str | None
    reached_on: date | None
    """The first day after the evaluation period in which ``tier`` was reached."""
    previous: str | None
    """The tier one evaluation earlier (after all but the last period of the same replay)."""


@dataclass(frozen=True, slots=True)
class GroupKpis:
    group: GroupKey
    period: PeriodWindow
    figures: dict[str, Figure]
    """By name: every figure of kpi_core.registry.KpiFigure whose scope is every group (partner groups
    also carry the partner-groups ones)."""
    channels: dict[Segment, dict[str, Figure]] = field(default_factory=dict)
    """Per segment: the per-segment figures of the registry (``SEGMENT_FIGURES``)."""
    low_sample: bool | None = None
    """Partners only: fewer than min_closed closed deals in P."""
    pipeline_prior_source: PipelineSource = PipelineSource.REBUILT
    pipeline_last_year_source: PipelineSource | None = None
    """Where the last-year window's last-day open amount came from; None without ``last_year``."""
    tier: TierStanding | None = None
    """Partners only, with ``kpi.tiers``: the partner's tier (the same in every period's group)."""
    influenced: dict[str, Figure] = field(default_factory=dict)
    """With ``kpi.attribution`` influenced: the figures of registry.INFLUENCED_FIGURES over the group's
    influenced deals (kpis.md, "Sourced and influenced"); empty otherwise."""


@dataclass
class DataQuality:
    """Counters of kpis.md's data-quality rules (each record counted once per rule it breaks)."""

    missing_amount: int = 0
    negative_amount: int = 0
    unknown_stage: int = 0
    missing_created: int = 0
    closed_without_close_date: int = 0
    unknown_currency: int = 0
    unknown_partner: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "missing_amount": self.missing_amount,
            "negative_amount": self.negative_amount,
            "unknown_stage": self.unknown_stage,
            "missing_created": self.missing_created,
            "closed_without_close_date": self.closed_without_close_date,
            "unknown_currency": self.unknown_currency,
            "unknown_partner": self.unknown_partner,
        }


@dataclass
class KpiResult:
    as_of: date
    currency: str
    periods: list[PeriodWindow]
    groups: list[GroupKpis]
    data_quality: DataQuality
    opportunities_seen: int = 0
    """Records consumed (deleted ones included) — for the run history."""

    def for_group(self, key: GroupKey, period: str) -> GroupKpis | None:
        for g in self.groups:
            if g.group == key and g.period.name == period:
                return g
        return None
