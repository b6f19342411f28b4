"""Realistic KPI results for the report tests: the sandbox generator's seed data turned into the common
schema, and a state store filled with monthly snapshots (the history the sync job would leave)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from kpi_core import KpiSettings, clock, compute
from kpi_core.result import KpiResult
from kpi_core.schema import Opportunity, Status
from partnerkpi.reports.serialize import connector_report, group_dict, report_document
from partnerkpi.sandbox.generator import SeedData, SeedOpportunity, SeedPartner, generate
from partnerkpi.sandbox.salesforce.tables import LEAD_SOURCES
from partnerkpi.state import StateStore
from partnerkpi.state.records import SnapshotRow

CONNECTOR = "salesforce-sandbox"
_STATUS = {"closed_won": Status.WON, "closed_lost": Status.LOST, "retired_stage": None}
_PROBABILITY = {"prospecting": 0.1, "qualification": 0.2, "proposal": 0.5, "negotiation": 0.8}
_FIRST = ("North", "Blue", "Summit", "Cedar", "Harbor", "Granite", "Silver", "Bright", "Iron", "Maple")
_SECOND = ("wind", "ridge", "point", "stone", "field", "gate", "brook", "peak", "line", "works")
_SUFFIX = ("Solutions", "Partners", "Systems", "Consulting", "Digital", "Group", "Labs", "Networks")


def partner_id(key: int) -> str:
    return f"P-{key:04d}"


def partner_name(partner: SeedPartner) -> str:
    k = partner.key - 1
    return f"{_FIRST[k % 10]}{_SECOND[(k // 10 + k * 3) % 10]} {_SUFFIX[(k * 7) % len(_SUFFIX)]}"


def opportunity(seed: SeedOpportunity, usd_per: dict[str, Decimal]) -> Opportunity:
    status = _STATUS.get(seed.stage, Status.OPEN)
    amount = None if seed.amount is None else (seed.amount / usd_per[seed.currency]).quantize(Decimal("0.01"))
    return Opportunity(
        id=f"O-{seed.key}",
        partner_id=None if seed.partner_key is None else partner_id(seed.partner_key),
        amount=amount,
        amount_original=seed.amount,
        currency=seed.currency,
        status=status,
        created_on=seed.created_at.date(),
        closed_on=seed.close_date if status in (Status.WON, Status.LOST) else None,
        expected_close_on=seed.close_date if status is Status.OPEN else None,
        probability=_PROBABILITY.get(seed.stage),
        channel=LEAD_SOURCES.get(seed.channel or ""),
        modified_at=seed.modified_at,
        deleted=seed.deleted,
        stage=seed.stage,
    )


def opportunities(data: SeedData) -> Iterator[Opportunity]:
    return (opportunity(o, data.static_rates) for o in data.opportunities)


class Sample:
    """One generated business, computed as of several days."""

    def __init__(self, partners: int = 40, opportunities_: int = 8000, seed: int = 42) -> None:
        self.data = generate(seed=seed, partners=partners, opportunities=opportunities_)
        self.records = list(opportunities(self.data))
        self.names: dict[str, str | None] = {partner_id(p.key): partner_name(p) for p in self.data.partners}
        self.settings = KpiSettings(periods=["last_90_days", "quarter_to_date", "last_365_days"])

    def result(self, as_of: date | None = None) -> KpiResult:
        return compute(
            iter(self.records), settings=self.settings, as_of=as_of or self.data.end, partners=self.names
        )

    def fill_store(self, store: StateStore, snapshots: int) -> None:
        """One sync-like run per month back from the data's end, each storing its snapshot."""
        for back in range(snapshots - 1, -1, -1):
            day = self.data.end - timedelta(days=30 * back)
            result = self.result(day)
            with clock.frozen(datetime.combine(day, time(17, 55), timezone.utc)):
                run_id = store.start_run(CONNECTOR, "sync")
                rows = [SnapshotRow.from_group(g, group_dict(g, self.names)) for g in result.groups]
                store.save_snapshot(CONNECTOR, run_id, day, rows)
            with clock.frozen(datetime.combine(day, time(17, 58), timezone.utc)):
                store.finish_run(run_id, "ok", {"pulled": len(self.records)})

    def document(self, result: KpiResult, last_run: dict[str, object] | None = None) -> dict[str, object]:
        extra = {"last_run": last_run} if last_run else None
        report = connector_report(CONNECTOR, result, self.names, extra)
        return report_document([report], datetime(2026, 10, 31, 18, 5, tzinfo=timezone.utc))


def open_store(directory: Path) -> StateStore:
    return StateStore.open(f"sqlite:///{directory / 'state.db'}")
