"""A re-run folds the pull's changes into the saved KPI pass instead of reading the whole mirror, and gets
exactly the figures a full pass gives (Salesforce sandbox, through the real connector)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console

from kpi_core.result import KpiResult
from partnerkpi.commands.sync import run_pull
from partnerkpi.config import AppConfig
from partnerkpi.pipeline import ConnectorRun, compute_kpis
from partnerkpi.sandbox.core import Sandbox
from partnerkpi.sandbox.testing import SandboxFactory
from partnerkpi.state import StateStore
from tests.partnerkpi.test_sync_sandbox import (
    AS_OF,
    NAME,
    provision,
    quiet,
    sync,
    won_deal_in_period,
    write_config,
)


class MirrorReads:
    """Counts the KPI pass's full reads of the mirror (StateStore.iter_pass_rows)."""

    def __init__(self, store: StateStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = store.iter_pass_rows

        def counted(connector: str) -> Iterator[object]:
            self.count += 1
            return original(connector)

        monkeypatch.setattr(store, "iter_pass_rows", counted)


@pytest.fixture
def sandbox(sandbox_factory: SandboxFactory) -> Sandbox:
    return sandbox_factory(seed=11, partners=20, opportunities=3_000, hubspot=False)


def full_pass(store: StateStore, cfg: AppConfig, monkeypatch: pytest.MonkeyPatch) -> KpiResult:
    """The figures from the whole mirror, the saved pass ignored."""
    with monkeypatch.context() as m:
        m.setattr(store, "kpi_state", lambda name: None)
        return compute_kpis(store, cfg, NAME, AS_OF)


def edit_deals(sandbox: Sandbox) -> None:
    """A rep's day: a won deal re-valued, one deal deleted, one new deal, one open deal lost."""
    sf = sandbox.emulation("salesforce")
    deal = won_deal_in_period(sandbox)
    sf.admin(
        "update_opportunity",
        {"id": deal["Id"], "fields": {"Amount": float(Decimal(str(deal["Amount"])) + 7)}},
    )
    open_deals = sf.admin(
        "state",
        {
            "object": "Opportunity",
            "soql": "SELECT Id, PartnerAccountId FROM Opportunity WHERE IsClosed = false AND PartnerAccountId != null",
        },
    )
    sf.admin("delete_opportunity", {"id": open_deals[0]["Id"]})
    sf.admin(
        "update_opportunity",
        {"id": open_deals[1]["Id"], "fields": {"StageName": "Closed Lost", "CloseDate": "2026-10-20"}},
    )
    sf.admin(
        "create_opportunity",
        {
            "Name": "Fresh partner deal",
            "StageName": "Closed Won",
            "CloseDate": "2026-10-25",
            "Amount": 4321.5,
            "PartnerAccountId": open_deals[2]["PartnerAccountId"],
        },
    )


@dataclass
class Synced:
    """A store after one sync, with its full passes over the mirror counted."""

    cfg: AppConfig
    store: StateStore
    reads: MirrorReads
    first: ConnectorRun


@pytest.fixture
def synced(tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, state_url: str) -> Synced:
    """On SQLite and on PostgreSQL: the saved KPI pass is state like any other."""
    cfg = write_config(tmp_path, sandbox)
    cfg = cfg.model_copy(update={"state": cfg.state.model_copy(update={"url": state_url})})
    provision(cfg)
    store = StateStore.open(cfg.state.url)
    reads = MirrorReads(store, monkeypatch)
    first = sync(cfg, store)
    assert first.status == "ok", first.message
    assert reads.count == 1  # a first sync has nothing saved: one full pass
    return Synced(cfg, store, reads, first)


def test_a_re_run_folds_in_only_the_changes_and_gets_the_full_pass_figures(
    synced: Synced, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = synced.store
    saved = store.kpi_state(NAME)
    assert saved is not None and saved.mirror_version == store.mirror_version(NAME)

    edit_deals(sandbox)
    second = sync(synced.cfg, store)
    assert second.status == "ok", second.message
    assert second.counts["pulled"] >= 3 and second.counts["deleted"] == 1
    assert synced.reads.count == 1  # the re-run did not read the mirror
    assert second.result is not None and synced.first.result is not None
    assert second.result != synced.first.result
    assert second.result == full_pass(store, synced.cfg, monkeypatch)


def test_a_re_run_with_nothing_changed_neither_reads_the_mirror_nor_rewrites_the_saved_pass(
    synced: Synced, monkeypatch: pytest.MonkeyPatch
) -> None:
    saves: list[int] = []
    monkeypatch.setattr(synced.store, "save_kpi_state", lambda name, f, version, state: saves.append(version))
    second = sync(synced.cfg, synced.store)
    assert second.status == "ok" and second.counts["pulled"] == 0
    assert synced.reads.count == 1 and saves == []
    assert second.result == synced.first.result


def test_a_mirror_changed_outside_a_sync_is_read_in_full_again(
    synced: Synced, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    edit_deals(sandbox)
    monkeypatch.setattr("partnerkpi.commands.sync.open_store", lambda cfg: synced.store)
    # `partnerkpi pull` alone: the mirror moves, no KPI pass is saved
    run_pull(synced.cfg, [NAME], quiet(), Console(quiet=True))

    second = sync(synced.cfg, synced.store)
    assert second.status == "ok"
    assert synced.reads.count == 2  # the saved pass was of an older mirror: a full pass, not a wrong fold
    assert second.result == full_pass(synced.store, synced.cfg, monkeypatch)


def test_a_pull_that_failed_half_way_leaves_the_next_run_exact(
    synced: Synced, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = synced.store
    edit_deals(sandbox)
    original = store.apply_pull_batch
    calls = {"n": 0}

    def fail_after_first(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] > 1:
            raise RuntimeError("disk full")
        return original(*args, **kwargs)  # type: ignore[arg-type]

    with monkeypatch.context() as m:
        m.setattr(store, "apply_pull_batch", fail_after_first)
        failed = sync(synced.cfg, store)  # an unexpected error is recorded, not raised (issue 14)
    assert (failed.status, failed.exit_code) == ("failed", 1)
    assert "RuntimeError: disk full" in failed.message
    assert calls["n"] == 2  # one batch stored, then the failure

    third = sync(synced.cfg, store)
    assert third.status == "ok"
    assert synced.reads.count == 2
    assert third.result == full_pass(store, synced.cfg, monkeypatch)
