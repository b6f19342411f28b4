"""``partnerkpi state reset --connector NAME`` (issues 14 and 15): forgets that connector's mirror,
watermark, ledger, KPI snapshots, saved KPI pass and recorded instance, so the next sync is a full pull;
the run history stays; asked on a terminal, ``--yes`` off one; never while a run holds the lock."""

from __future__ import annotations

import os
import pty
import select as io_select
import subprocess
import time
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import func, select

from partnerkpi.commands.state import run_state_reset
from partnerkpi.commands.store import open_store
from partnerkpi.config import AppConfig, load_config
from partnerkpi.state import StateStore
from partnerkpi.state.identity import Instance
from partnerkpi.state.tables import kpi_snapshots, ledger, opportunities, runs
from tests.reliability.harness import cli_command, cli_env, run_cli, run_cli_in_process

CONFIG = """
version: 1
state: {{url: "{url}"}}
kpi: {{reporting_currency: USD, periods: [last_365_days]}}
connectors:
  - name: export
    type: file
    path: {path}
    columns: &cols {{id: id, partner: partner, amount: amount, stage: stage, created: created, closed: closed}}
    stages: &stages {{Won: won, Lost: lost, Open: open}}
    output_path: out/export.csv
  - name: other
    type: file
    path: {other}
    columns: *cols
    stages: *stages
    output_path: out/other.csv
writeback:
  export:
    fields:
      - {{field: won_revenue, kpi: won_revenue, period: last_365_days}}
"""
ROWS = (
    "id,partner,amount,stage,created,closed\n1,P1,100,Won,2026-01-05,2026-02-01\n2,P2,50,Open,2026-03-01,\n"
)


def setup(tmp_path: Path, export: str = "a.csv", url: str = "sqlite:///state.sqlite") -> Path:
    for name in ("a.csv", "b.csv", "o.csv"):
        (tmp_path / name).write_text(ROWS)
    config = tmp_path / "partnerkpi.yaml"
    config.write_text(CONFIG.format(path=tmp_path / export, other=tmp_path / "o.csv", url=url))
    return config


def counts(store: StateStore, name: str) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {
            table.name: int(
                conn.execute(
                    select(func.count()).select_from(table).where(table.c.connector == name)
                ).scalar_one()
            )
            for table in (opportunities, ledger, kpi_snapshots, runs)
        }


def synced(tmp_path: Path, url: str = "sqlite:///state.sqlite") -> tuple[Path, StateStore]:
    config = setup(tmp_path, url=url)
    proc = run_cli_in_process(config, "sync", "--as-of", "2026-11-01")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    store = StateStore.open(load_config(config).state.url)
    assert counts(store, "export")["opportunities"] == 2 and counts(store, "export")["ledger"] > 0
    return config, store


def test_reset_forgets_the_connectors_data_and_keeps_its_run_history(tmp_path: Path, state_url: str) -> None:
    config, store = synced(tmp_path, state_url)
    other_before = counts(store, "other")
    proc = run_cli_in_process(config, "state", "reset", "--connector", "export", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "forgot 2 opportunities" in proc.stdout and "the next sync pulls everything" in proc.stdout
    after = counts(store, "export")
    assert after == {"opportunities": 0, "ledger": 0, "kpi_snapshots": 0, "runs": 2}  # the sync and the reset
    assert store.get_watermark("export") is None
    assert store.partners("export", include_deleted=True) == []
    assert store.kpi_state("export") is None and store.mirror_version("export") == 0
    assert store.instance("export") is None
    assert [r.command for r in store.runs(connector="export")] == ["state reset", "sync"]
    assert counts(store, "other") == other_before  # another connector keeps everything

    proc = run_cli_in_process(config, "sync", "--as-of", "2026-11-01", "--connector", "export")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    newest = store.runs(limit=1, connector="export")[0]
    assert newest.counts["inserted"] == 2  # a full pull
    assert newest.counts["written_fields"] > 0  # the ledger was forgotten: every mapped value written again


def test_reset_lets_a_name_move_to_another_instance(tmp_path: Path, state_url: str) -> None:
    config, store = synced(tmp_path, state_url)
    config.write_text(CONFIG.format(path=tmp_path / "b.csv", other=tmp_path / "o.csv", url=state_url))
    assert run_cli_in_process(config, "sync", "--connector", "export").returncode == 2
    assert run_cli_in_process(config, "state", "reset", "--connector", "export", "--yes").returncode == 0
    assert run_cli_in_process(config, "sync", "--connector", "export").returncode == 0
    assert store.instance("export") == Instance("file", str((tmp_path / "b.csv").resolve()))


def test_reset_off_a_terminal_without_yes_is_a_usage_error_that_forgets_nothing(tmp_path: Path) -> None:
    config, store = synced(tmp_path)
    before = counts(store, "export")
    proc = run_cli_in_process(config, "state", "reset", "--connector", "export")
    assert proc.returncode == 2
    assert "pass --yes to confirm" in proc.stderr and "Traceback" not in proc.stderr
    assert counts(store, "export") == before


def test_reset_asks_on_a_terminal_and_a_no_forgets_nothing(tmp_path: Path) -> None:
    config, store = synced(tmp_path)
    before = counts(store, "export")
    cfg: AppConfig = load_config(config)
    asked: list[str] = []

    def answer(reply: bool):  # type: ignore[no-untyped-def]
        def confirm(question: str) -> bool:
            asked.append(question)
            return reply

        return confirm

    out = Console(record=True, width=200)
    code = run_state_reset(
        cfg, "export", out, yes=False, interactive=True, confirm=answer(False), open_store=open_store
    )
    assert code == 1 and "nothing forgotten" in out.export_text()
    assert "'export'" in asked[0] and f"the file {tmp_path / 'a.csv'}" in asked[0]
    assert "run history stays" in asked[0]
    assert counts(store, "export") == before
    code = run_state_reset(
        cfg, "export", out, yes=False, interactive=True, confirm=answer(True), open_store=open_store
    )
    assert code == 0 and counts(store, "export")["opportunities"] == 0


def test_reset_on_a_real_terminal_prompts_and_takes_the_answer(tmp_path: Path) -> None:
    """The CLI itself, its stdin a pseudo-terminal: it prompts (no --yes needed) and a "y" resets."""
    config, store = synced(tmp_path)
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        cli_command(config, "state", "reset", "--connector", "export"),
        stdin=follower,
        stdout=subprocess.PIPE,
        stderr=follower,
        env=cli_env(),
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 60
    while b"[y/N]" not in seen and time.monotonic() < deadline:
        ready, _, _ = io_select.select([leader], [], [], 1.0)
        if ready:
            seen += os.read(leader, 4096)
    assert b"[y/N]" in seen, seen
    os.write(leader, b"y\n")
    stdout, _ = proc.communicate(timeout=60)
    os.close(leader)
    assert proc.returncode == 0, stdout
    assert counts(store, "export")["opportunities"] == 0


def test_reset_while_a_run_holds_the_lock_is_refused_with_exit_4(tmp_path: Path, state_url: str) -> None:
    config, store = synced(tmp_path, state_url)
    before = counts(store, "export")
    with store.lock("export"):  # this live process holds it
        proc = run_cli(config, "state", "reset", "--connector", "export", "--yes")  # another process
    assert proc.returncode == 4 and "locked" in proc.stderr
    assert counts(store, "export") == before


@pytest.mark.parametrize("name", ["nope", "Export"])
def test_reset_of_a_name_neither_configured_nor_stored_is_a_usage_error(tmp_path: Path, name: str) -> None:
    config = setup(tmp_path)
    proc = run_cli_in_process(config, "state", "reset", "--connector", name, "--yes")
    assert proc.returncode == 2 and f"no connector named {name!r}" in proc.stderr


def test_reset_help_says_exactly_what_it_forgets(tmp_path: Path) -> None:
    proc = run_cli_in_process(setup(tmp_path), "state", "reset", "--help")
    text = " ".join(proc.stdout.split())
    for part in (
        "mirror (opportunities and partners)",
        "watermark",
        "writeback ledger",
        "KPI snapshots and saved KPI pass",
        "CRM instance recorded",
        "The run history stays",
        "--yes",
    ):
        assert part in text, part
