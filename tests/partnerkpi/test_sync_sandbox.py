"""The sync job against the Salesforce sandbox, through the real connector (issue: writeback engine and the
scheduled sync job). The sandbox's own call counters are the witness of what was written."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from partnerkpi.commands.runs import show_run
from partnerkpi.config import AppConfig, load_config
from partnerkpi.demo import demo_config, sandbox_connectors
from partnerkpi.pipeline import (
    ConnectorRun,
    provision_connector,
    sync_connector,
)
from partnerkpi.progress import ProgressReporter
from partnerkpi.sandbox.core import Sandbox
from partnerkpi.sandbox.testing import SandboxFactory
from partnerkpi.state import StateStore
from writeback import Reason

REPO = Path(__file__).resolve().parents[2]
AS_OF = date(2026, 10, 31)
NAME = "salesforce-sandbox"


def quiet() -> ProgressReporter:
    return ProgressReporter.silent()


def write_config(tmp_path: Path, sandbox: Sandbox, verify_live: bool = False) -> AppConfig:
    connectors = [c for c in sandbox_connectors(sandbox) if c["type"] == "salesforce"]
    doc = demo_config(tmp_path, connectors)
    doc["writeback"][NAME]["verify_live"] = verify_live
    path = tmp_path / "partnerkpi.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return load_config(path)


@pytest.fixture
def sandbox(sandbox_factory: SandboxFactory) -> Sandbox:
    return sandbox_factory(seed=7, partners=20, opportunities=3_000, hubspot=False)


def provision(cfg: AppConfig) -> None:
    if not provision_connector(cfg, NAME):
        raise ValueError("the demo config maps KPI fields")


def sync(cfg: AppConfig, store: StateStore, dry_run: bool = False) -> ConnectorRun:
    return sync_connector(cfg, store, NAME, quiet(), dry_run=dry_run, as_of=AS_OF)


def writes(sandbox: Sandbox) -> int:
    return sum(
        n for k, n in sandbox.counters.items() if "composite" in k or "ingest" in k or k.endswith(".update")
    )


def crm_fields(sandbox: Sandbox, cfg: AppConfig) -> dict[str, dict[str, Any]]:
    writeback = cfg.writeback.for_connector(NAME)
    assert writeback is not None
    names = [m.field for m in writeback.fields]
    rows = sandbox.emulation("salesforce").admin(
        "state", {"object": "Account", "soql": "SELECT Id FROM Account WHERE IsPartner = true"}
    )
    return {r["Id"]: {f: r.get(f) for f in names} for r in rows}


@pytest.fixture
def synced(tmp_path: Path, sandbox: Sandbox) -> tuple[AppConfig, StateStore]:
    cfg = write_config(tmp_path, sandbox)
    provision(cfg)
    store = StateStore.open(cfg.state.url)
    first = sync(cfg, store)
    assert first.status == "ok", first.message
    assert first.counts["written_records"] == 20
    return cfg, store


def test_a_second_consecutive_sync_writes_nothing(
    synced: tuple[AppConfig, StateStore], sandbox: Sandbox
) -> None:
    cfg, store = synced
    sandbox.reset_counters()
    second = sync(cfg, store)
    assert second.status == "ok"
    assert second.counts["planned_fields"] == 0
    assert writes(sandbox) == 0


def won_deal_in_period(sandbox: Sandbox) -> dict[str, Any]:
    rows = sandbox.emulation("salesforce").admin(
        "state",
        {
            "object": "Opportunity",
            "soql": "SELECT Id FROM Opportunity WHERE StageName = 'Closed Won' AND CloseDate >= 2026-08-03 "
            "AND CloseDate <= 2026-10-31 AND PartnerAccountId != null AND Amount > 1000 AND CurrencyIsoCode = 'USD'",
        },
    )
    assert rows, "the seeded data has won USD partner deals in the last 90 days"
    return dict(rows[0])


def test_changing_one_deal_writes_only_that_partners_changed_fields(
    synced: tuple[AppConfig, StateStore], sandbox: Sandbox
) -> None:
    cfg, store = synced
    deal = won_deal_in_period(sandbox)
    sandbox.emulation("salesforce").admin(
        "update_opportunity",
        {"id": deal["Id"], "fields": {"Amount": float(Decimal(str(deal["Amount"])) + 1)}},
    )
    sandbox.reset_counters()
    run = sync(cfg, store)
    assert run.status == "ok" and run.plan is not None
    assert run.counts["pulled"] >= 1
    assert {c.partner_id for c in run.plan.changes} == {deal["PartnerAccountId"]}
    # Revenue moved by one unit: the revenue figures move, the rank (and so the score) does not.
    assert {c.field for c in run.plan.changes} == {
        "PK_Won_Revenue_90d__c",
        "PK_Avg_Deal_Size_90d__c",
        "PK_Deal_Velocity_90d__c",
        "PK_Kpis_Updated_At__c",
    }
    assert writes(sandbox) == 1
    assert run.counts["written_records"] == 1


def test_dry_run_and_plan_make_no_write_call_and_show_before_and_after(
    synced: tuple[AppConfig, StateStore], sandbox: Sandbox
) -> None:
    cfg, store = synced
    deal = won_deal_in_period(sandbox)
    sandbox.emulation("salesforce").admin("update_opportunity", {"id": deal["Id"], "fields": {"Amount": 1}})
    sandbox.reset_counters()
    dry = sync(cfg, store, dry_run=True)
    assert writes(sandbox) == 0
    assert dry.plan is not None and dry.plan.changes
    revenue = next(c for c in dry.plan.changes if c.field == "PK_Won_Revenue_90d__c")
    assert revenue.before is not None and revenue.after is not None
    assert Decimal(revenue.before) > Decimal(str(revenue.after))
    assert "written_records" not in dry.counts
    # The dry run stored no snapshot and touched no ledger: a real sync now writes what it planned.
    real = sync(cfg, store)
    assert real.counts["written_records"] == 1 and writes(sandbox) == 1


def test_a_rejected_write_is_in_the_run_history_and_retried_next_run(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    cfg = write_config(tmp_path, sandbox)
    provision(cfg)
    store = StateStore.open(cfg.state.url)
    accounts = sorted(crm_fields(sandbox, cfg))
    rejected = accounts[3]
    sf = sandbox.emulation("salesforce")
    sf.faults.update(
        {"record_failure_ids": [rejected], "record_failure_code": "FIELD_CUSTOM_VALIDATION_EXCEPTION"}
    )
    first = sync(cfg, store)
    assert first.status == "partial" and first.exit_code == 1
    assert first.counts["written_records"] == 19
    assert [f["partner_id"] for f in first.failures] == [rejected]
    assert first.failures[0]["code"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    console = Console(record=True, width=200)
    assert first.run_id is not None
    show_run(cfg, console, first.run_id)
    shown = console.export_text()
    assert rejected in shown and "FIELD_CUSTOM_VALIDATION_EXCEPTION" in shown
    sf.faults.update({"record_failure_ids": [], "record_failure_code": ""})
    sandbox.reset_counters()
    second = sync(cfg, store)
    assert second.status == "ok"
    assert second.plan is not None and {c.partner_id for c in second.plan.changes} == {rejected}
    assert second.counts["written_records"] == 1


def test_a_crash_between_apply_and_ledger_converges_to_a_clean_runs_state(
    tmp_path: Path, sandbox_factory: SandboxFactory
) -> None:
    crashed_sb = sandbox_factory(seed=7, partners=20, opportunities=3_000, hubspot=False)
    clean_sb = sandbox_factory(seed=7, partners=20, opportunities=3_000, hubspot=False)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    crashed_cfg, clean_cfg = write_config(tmp_path / "a", crashed_sb), write_config(tmp_path / "b", clean_sb)
    provision(crashed_cfg)
    provision(clean_cfg)
    crashed_store, clean_store = StateStore.open(crashed_cfg.state.url), StateStore.open(clean_cfg.state.url)

    original = crashed_store.record_writes

    def die(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt("killed after the CRM confirmed, before the ledger was written")

    crashed_store.record_writes = die  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        sync(crashed_cfg, crashed_store)
    crashed_store.record_writes = original  # type: ignore[method-assign]
    assert crashed_store.ledger(NAME) == {}
    assert crashed_store.runs(limit=1)[0].status == "interrupted"  # marked, never left "running"
    recovered = sync(crashed_cfg, crashed_store)
    assert recovered.status == "ok"
    clean = sync(clean_cfg, clean_store)
    assert clean.status == "ok"

    def without_timestamps(fields: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {
            k: {f: v for f, v in row.items() if f != "PK_Kpis_Updated_At__c"} for k, row in fields.items()
        }

    assert without_timestamps(crm_fields(crashed_sb, crashed_cfg)) == without_timestamps(
        crm_fields(clean_sb, clean_cfg)
    )

    def strip(ledger: dict[tuple[str, str], str | None]) -> dict[tuple[str, str], str | None]:
        return {k: v for k, v in ledger.items() if k[1] != "PK_Kpis_Updated_At__c"}

    assert strip(crashed_store.ledger(NAME)) == strip(clean_store.ledger(NAME))
    assert len(crashed_store.ledger(NAME)) == 20 * 10


def test_a_field_edited_in_the_crm_is_rewritten_only_with_verify_live(
    tmp_path: Path, synced: tuple[AppConfig, StateStore], sandbox: Sandbox
) -> None:
    cfg, store = synced
    account = sorted(crm_fields(sandbox, cfg))[0]
    sandbox.emulation("salesforce").admin(
        "update_account", {"id": account, "fields": {"PK_Quality_Score__c": 99.9}}
    )
    plain = sync(cfg, store)
    assert plain.counts["planned_fields"] == 0  # the ledger says we already wrote it
    live_cfg = write_config(tmp_path, sandbox, verify_live=True)
    live = sync(live_cfg, store)
    assert live.plan is not None
    edited = [c for c in live.plan.changes if c.reason is Reason.EDITED_IN_CRM]
    assert [(c.partner_id, c.field, c.before) for c in edited] == [(account, "PK_Quality_Score__c", "99.9")]
    assert live.counts["written_records"] == 1
    assert crm_fields(sandbox, cfg)[account]["PK_Quality_Score__c"] != 99.9


@pytest.mark.slow
def test_two_syncs_started_together_one_runs_the_other_exits_4(
    tmp_path: Path, sandbox_factory: SandboxFactory
) -> None:
    sandbox = sandbox_factory(seed=7, partners=20, opportunities=3_000, hubspot=False, latency_ms=150)
    cfg = write_config(tmp_path, sandbox)
    provision(cfg)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [
        sys.executable,
        "-m",
        "partnerkpi",
        "--config",
        str(tmp_path / "partnerkpi.yaml"),
        "sync",
        "--as-of",
        "2026-10-31",
    ]
    started = time.monotonic()
    procs = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    ended: dict[int, float] = {}
    while len(ended) < len(procs) and time.monotonic() - started < 300:
        for i, proc in enumerate(procs):
            if i not in ended and proc.poll() is not None:
                ended[i] = time.monotonic() - started
        time.sleep(0.02)
    results = []
    for i, proc in enumerate(procs):
        out, err = proc.communicate(timeout=60)
        results.append((proc.returncode, ended[i], out + err))
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 4], results
    loser = next(r for r in results if r[0] == 4)
    winner = next(r for r in results if r[0] == 0)
    assert "lock" in loser[2].lower()
    assert loser[1] < winner[1]  # the second exits at once, without waiting for the first


def test_check_reports_the_mapped_fields_in_words_an_ops_engineer_can_act_on(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    from partnerkpi.commands.crm import run_check

    cfg = write_config(tmp_path, sandbox)
    console = Console(record=True, width=250)
    assert run_check(cfg, [NAME], console) == 0
    before = console.export_text()  # not provisioned yet: a warning per field, saying what to run
    assert before.count("does not exist yet: run `partnerkpi provision`") == 10
    assert "warn salesforce-sandbox · salesforce.field.PK_Quality_Score__c" in before
    provision(cfg)
    console = Console(record=True, width=250)
    assert run_check(cfg, [NAME], console) == 0
    after = console.export_text()
    assert "warn" not in after and "fail" not in after
    assert "salesforce.api_budget" in after
