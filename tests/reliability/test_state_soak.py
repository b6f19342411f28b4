"""Soak (issue 14 acceptance): 30 syncs of a sandbox with a few thousand deals, some of them changed,
created and deleted before each, the day moving on by one per sync, keep the state within a stated bound.

Before snapshot retention the state grew by one set of KPI snapshots per sync for ever (2.7 MB to 16.7 MB
over 30 syncs of 5,000 deals). With ``state.snapshot_retention_days`` = 7 here, a sync deletes the
snapshots computed more than 7 days before its day, so from the 9th sync on the state holds the mirror
and 8 days of snapshots, and SQLite reuses the freed pages. The bound, stated from the first two syncs:
after sync 30 the file (with its WAL) is at most its size after sync 1 plus 8 times what sync 2 added,
with 20% and 256 KiB of slack; it stays within 10% of its size after sync 10 (the window just full);
and it holds exactly the snapshot days of the retention window. Measured here (3,000 deals, 20
partners, 3 periods): 1.18 MB after sync 1, 1.56 MB after sync 2, 4.16 MB after sync 10, 4.28 MB after
sync 30 (unpruned it would pass 12 MB)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from partnerkpi.config import load_config
from partnerkpi.pipeline import sync_connector
from partnerkpi.sandbox.core import Sandbox
from partnerkpi.sandbox.testing import SandboxFactory
from partnerkpi.state import StateStore
from partnerkpi.state.tables import kpi_snapshots
from tests.reliability.harness import connector_name, provision, quiet, write_config

SYNCS = 30
RETENTION_DAYS = 7
OPPORTUNITIES = 3_000
FIRST_DAY = date(2026, 9, 1)
CRM = "salesforce"
SLACK_BYTES = 256 * 1024


def state_bytes(path: Path) -> int:
    """The state as it sits on disk: the database file and its write-ahead log."""
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def change_some_deals(sandbox: Sandbox, rng: random.Random, ids: list[str], day: int) -> None:
    """What a sales team does between two syncs: 60 deals edited, 10 created, 5 deleted."""
    emulation: Any = sandbox.emulation("salesforce")
    for deal in rng.sample(ids, 60):
        emulation.admin(
            "update_opportunity", {"id": deal, "fields": {"Amount": rng.randrange(1_000, 90_000)}}
        )
    for _ in range(5):
        emulation.admin("delete_opportunity", {"id": ids.pop(rng.randrange(len(ids)))})
    for n in range(10):
        template = emulation.admin("state", {"object": "Opportunity", "ids": [rng.choice(ids)]})[0]
        fields = {k: template[k] for k in ("AccountId", "Partner__c") if template.get(k)}
        created = emulation.admin(
            "create_opportunity",
            {"fields": {**fields, "Name": f"Soak {day}-{n}", "Amount": rng.randrange(1_000, 90_000)}},
        )
        ids.append(str(created["Id"]))


@pytest.mark.slow
def test_thirty_syncs_keep_the_state_within_the_bound(
    tmp_path: Path, sandbox_factory: SandboxFactory
) -> None:
    sandbox = sandbox_factory(seed=11, partners=20, opportunities=OPPORTUNITIES, hubspot=False)
    path = tmp_path / "state.sqlite"
    state = {"url": f"sqlite:///{path}", "snapshot_retention_days": RETENTION_DAYS}
    cfg = load_config(write_config(tmp_path, sandbox, (CRM,), extra={"state": state}))
    assert cfg.state.snapshot_retention_days == RETENTION_DAYS
    provision(cfg, connector_name(CRM))
    rng = random.Random(5)
    rows = sandbox.emulation("salesforce").admin(  # type: ignore[attr-defined]
        "state", {"object": "Opportunity", "soql": "SELECT Id FROM Opportunity"}
    )
    ids = [str(r["Id"]) for r in rows]

    sizes: dict[int, int] = {}
    for n in range(1, SYNCS + 1):
        if n > 1:
            change_some_deals(sandbox, rng, ids, n)
        store = StateStore.open(cfg.state.url, snapshot_retention_days=cfg.state.snapshot_retention_days)
        day = FIRST_DAY + timedelta(days=n - 1)
        run = sync_connector(cfg, store, connector_name(CRM), quiet(), as_of=day)
        assert run.status == "ok", run.message
        if n > 1:
            assert run.counts["changed"] + run.counts["inserted"] >= 60 and run.counts["deleted"] >= 5
        store.close()
        sizes[n] = state_bytes(path)

    store = StateStore.open(cfg.state.url)
    with store.engine.connect() as conn:
        days = sorted(conn.execute(select(kpi_snapshots.c.as_of).distinct()).scalars())
    last = FIRST_DAY + timedelta(days=SYNCS - 1)
    assert days == [last - timedelta(days=k) for k in range(RETENTION_DAYS, -1, -1)]
    assert store.integrity_problems() == []
    print(f"state bytes after sync 1: {sizes[1]:,}, 2: {sizes[2]:,}, 10: {sizes[10]:,}, 30: {sizes[30]:,}")
    grown = sizes[2] - sizes[1]  # one sync's snapshots (and its share of the mirror's changes)
    assert grown > 0
    window = RETENTION_DAYS + 1  # the snapshot days a sync keeps: its own and the 7 before
    assert sizes[30] <= sizes[1] + window * grown * 1.2 + SLACK_BYTES, sizes
    assert sizes[30] <= sizes[10] * 1.1 + SLACK_BYTES, sizes  # flat once the window is full
    assert sizes[30] < sizes[1] + (SYNCS - 1) * grown * 0.5, sizes  # far below growth without pruning
