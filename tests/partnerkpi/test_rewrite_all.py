"""`sync --rewrite-all` writes every mapped value whatever the ledger says was written (for a CRM whose
fields were wiped or restored behind our back); off a terminal it needs --yes, and without it nothing
runs. A sync after it has nothing left to write."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.maven_cli import cli as run
from tests.maven_cli import connector_yaml, write_config

FIELDS = ("quality_score", "won_revenue", "win_rate")


def cli(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Off a terminal (an empty stdin), as a scheduler runs it."""
    return run(work, *args, "--as-of", "2017-12-31", "--results", "results.json", input="")


def planned(work: Path) -> int:
    return int(
        json.loads((work / "results.json").read_text())["results"][0]["counts"].get("planned_fields", 0)
    )


@pytest.fixture
def synced(tmp_path: Path) -> Path:
    fields = "".join(f"\n      - {{field: {f}, kpi: {f}, period: last_365_days}}" for f in FIELDS)
    output = connector_yaml(extra="    output_path: out/partner_kpis.csv\n")
    write_config(tmp_path, output, extra=f"writeback:\n  maven:\n    fields:{fields}\n")
    first = cli(tmp_path, "sync")
    assert first.returncode == 0, first.stderr
    assert cli(tmp_path, "sync").returncode == 0
    assert planned(tmp_path) == 0  # nothing changed: nothing to write
    return tmp_path


def test_rewrite_all_off_a_terminal_without_yes_is_exit_2_and_writes_nothing(synced: Path) -> None:
    output = (synced / "out" / "partner_kpis.csv").stat().st_mtime_ns
    refused = cli(synced, "sync", "--rewrite-all")
    assert refused.returncode == 2
    assert "--yes" in refused.stderr
    assert (synced / "out" / "partner_kpis.csv").stat().st_mtime_ns == output


def test_rewrite_all_with_yes_writes_every_mapped_value_and_the_next_sync_has_nothing_left(
    synced: Path,
) -> None:
    done = cli(synced, "sync", "--rewrite-all", "--yes")
    assert done.returncode == 0, done.stderr
    partners = 30  # the Maven data's sales agents
    assert planned(synced) == partners * len(FIELDS)
    assert cli(synced, "sync").returncode == 0
    assert planned(synced) == 0
