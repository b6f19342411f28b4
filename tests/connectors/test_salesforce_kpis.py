"""The KPIs of a run through the Salesforce sandbox equal those computed straight from the sandbox's own
seed data: the connector loses, invents and mis-converts nothing on the way (currency at the dated rate of
the close day, status from stage metadata, partner attribution, channel, deletions)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path

import yaml

from kpi_core import KpiSettings, compute
from kpi_core.result import GroupKind, KpiResult
from kpi_core.schema import Opportunity, Status
from partnerkpi.config import load_config
from partnerkpi.demo import sandbox_connectors
from partnerkpi.pipeline import compute_kpis, connector_config, open_connector, pull_into_store
from partnerkpi.progress import ProgressReporter
from partnerkpi.sandbox.generator import STAGES, SeedData
from partnerkpi.sandbox.salesforce.tables import LEAD_SOURCES
from partnerkpi.sandbox.testing import SandboxFactory
from partnerkpi.state import StateStore
from tests.connectors.seed_kpis import assert_same_kpis, rates_of

AS_OF = date(2026, 10, 31)
PERIODS = ["last_90_days", "quarter_to_date", "last_365_days", "previous_quarter"]
STAGE_INFO = {s.key: s for s in STAGES}


def straight_from_seed(data: SeedData, today: date) -> Iterator[Opportunity]:
    """The naive reading of the seed: what the CRM holds, converted the way Salesforce does."""
    rates = rates_of(data)
    names = {p.key: p.name for p in data.partners}
    for seed in data.opportunities:
        stage = STAGE_INFO.get(seed.stage)
        status = (
            None
            if stage is None
            else Status.WON
            if stage.is_won
            else Status.LOST
            if stage.is_closed
            else Status.OPEN
        )
        closed = stage is not None and stage.is_closed
        on = seed.close_date if closed else today
        yield Opportunity(
            id=str(seed.key),
            partner_id=names.get(seed.partner_key) if seed.partner_key else None,
            amount=rates.convert(seed.amount, seed.currency, on),
            amount_original=seed.amount,
            currency=seed.currency,
            status=status,
            created_on=seed.created_at.astimezone(timezone.utc).date(),
            closed_on=seed.close_date if closed else None,
            expected_close_on=None if closed else seed.close_date,
            probability=stage.probability if stage else None,
            channel=LEAD_SOURCES.get(seed.channel) if seed.channel else None,
            modified_at=seed.modified_at,
            deleted=seed.deleted,
        )


def by_partner_name(
    result: KpiResult, names: dict[str, str | None]
) -> dict[tuple[str, str], dict[str, object]]:
    out = {}
    for g in result.groups:
        key = (
            g.group.label
            if g.group.kind is not GroupKind.PARTNER
            else (names.get(g.group.partner_id or "") or "?")
        )
        out[(key, g.period.name)] = {k: f.value for k, f in g.figures.items()}
    return out


def test_kpis_through_the_connector_equal_kpis_from_the_seed(
    tmp_path: Path, sandbox_factory: SandboxFactory
) -> None:
    sandbox = sandbox_factory(seed=11, partners=25, opportunities=6_000, hubspot=False)
    data: SeedData = sandbox.emulation("salesforce").data  # type: ignore[attr-defined]
    connectors = [c for c in sandbox_connectors(sandbox) if c["type"] == "salesforce"]
    doc = {
        "version": 1,
        "state": {"url": f"sqlite:///{tmp_path / 'state.sqlite'}"},
        "kpi": {"periods": PERIODS},
        "connectors": connectors,
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(doc))
    cfg = load_config(tmp_path / "c.yaml")
    store = StateStore.open(cfg.state.url)
    name = connectors[0]["name"]
    with open_connector(connector_config(cfg, name)) as connector:
        pull_into_store(
            store,
            connector,
            store.start_run(name, "pull"),
            ProgressReporter.silent(),
        )
    through = compute_kpis(store, cfg, name, AS_OF)
    names = {p.id: p.name for p in store.partners(name)}
    today = datetime.now(timezone.utc).date()
    naive = compute(
        straight_from_seed(data, today),
        settings=KpiSettings(periods=PERIODS),
        as_of=AS_OF,
        partners={p.name for p in data.partners},
    )
    got, want = (
        by_partner_name(through, names),
        by_partner_name(naive, {p.name: p.name for p in data.partners}),
    )
    assert_same_kpis(through, naive, got, want, partners=25)
