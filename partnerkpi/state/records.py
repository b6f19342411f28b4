"""What the state store hands back: plain dataclasses, no SQLAlchemy rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from kpi_core.result import GroupKpis
from kpi_core.schema import Opportunity


@dataclass(frozen=True, slots=True)
class BatchCounts:
    """What one pull batch did to the mirror. ``changed`` counts existing rows whose values differ."""

    inserted: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    partners_inserted: int = 0
    partners_changed: int = 0


@dataclass(slots=True)
class MirrorChanges:
    """What a run's pull changed in the mirror, record by record: the live versions it replaced or deleted
    (``removed``) and the live versions it stored (``added``). Folded into the KPI pass saved at
    ``base_version``, they give the pass over the mirror as it is now. Past ``limit`` records it stops
    collecting (``overflowed``): a full pass is cheaper then, and memory stays bounded."""

    base_version: int
    limit: int = 200_000
    removed: list[Opportunity] = field(default_factory=list)
    added: list[Opportunity] = field(default_factory=list)
    overflowed: bool = False

    def record(self, before: Opportunity | None, after: Opportunity | None) -> None:
        if self.overflowed:
            return
        if before is not None and not before.deleted:
            self.removed.append(before)
        if after is not None and not after.deleted:
            self.added.append(after)
        if len(self.removed) + len(self.added) > self.limit:
            self.overflowed = True
            self.removed, self.added = [], []


@dataclass(frozen=True, slots=True)
class SavedKpiState:
    """A saved KPI pass (kpi_core.accumulate.Accumulator.state) and the mirror version it reflects."""

    fingerprint: str
    mirror_version: int
    state: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class SnapshotRow:
    """One group's figures for one period, as a run computed them. ``last_day`` is the period's last day:
    the day ``open_amount`` (the open pipeline) was measured, which later runs look up as a prior."""

    group_kind: str
    partner_id: str | None
    period: str
    last_day: date
    open_amount: Decimal | None
    payload: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_group(cls, group: GroupKpis, payload: Mapping[str, Any]) -> SnapshotRow:
        """From a computed group; ``payload`` is its JSON-ready form (reports.serialize.group_dict)."""
        figure = group.figures.get("open_amount")
        value = figure.value if figure is not None else None
        return cls(
            group_kind=group.group.kind.value,
            partner_id=group.group.partner_id,
            period=group.period.name,
            last_day=group.period.last,
            open_amount=Decimal(value) if isinstance(value, (Decimal, int)) else None,
            payload=payload,
        )


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One row of the run history."""

    id: int
    connector: str
    command: str
    started_at: datetime
    ended_at: datetime | None
    status: str
    """running | ok | partial | failed | locked | interrupted (its process died; marked by the next run)"""
    counts: dict[str, Any] = field(default_factory=dict)
    data_quality: dict[str, Any] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""


@dataclass(frozen=True, slots=True)
class LockInfo:
    """Who holds a connector's lock."""

    connector: str
    pid: int
    host: str
    run_id: int | None
    acquired_at: datetime
    heartbeat_at: datetime
