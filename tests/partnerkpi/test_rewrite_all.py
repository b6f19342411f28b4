"""`sync --rewrite-all` writes every mapped value whatever the ledger says was written (for a CRM whose
fields were wiped or restored behind our back); off a terminal it needs --yes, and without it nothing
runs. A sync after it has nothing left to write."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MAVEN = REPO / "tests" / "data" / "maven-crm" / "sales_pipeline.csv"
FIELDS = ("quality_score", "won_revenue", "win_rate")
CONFIG = """
version: 1
state: {{url: "sqlite:///state.sqlite"}}
kpi: {{periods: [last_365_days]}}
connectors:
  - name: maven
    type: file
    path: {path}
    columns: {{id: opportunity_id, partner: sales_agent, amount: close_value, stage: deal_stage,
               created: engage_date, closed: close_date}}
    stages: {{Won: won, Lost: lost, Engaging: open, Prospecting: open}}
    output_path: out/partner_kpis.csv
writeback:
  maven:
    fields:
{fields}
"""


def cli(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "partnerkpi", *args, "--as-of", "2017-12-31", "--results", "results.json"],
        cwd=work, env=env, capture_output=True, text=True, check=False, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def planned(work: Path) -> int:
    return int(
        json.loads((work / "results.json").read_text())["results"][0]["counts"].get("planned_fields", 0)
    )


@pytest.fixture
def synced(tmp_path: Path) -> Path:
    fields = "\n".join(f"      - {{field: {f}, kpi: {f}, period: last_365_days}}" for f in FIELDS)
    (tmp_path / "partnerkpi.yaml").write_text(CONFIG.format(path=MAVEN, fields=fields), encoding="utf-8")
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
