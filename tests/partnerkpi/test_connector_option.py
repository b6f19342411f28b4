"""`--connector` may be given several times: the commands run those connectors (in the config's order,
each once); an unknown name is a usage error (exit 2) naming it, before anything runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from partnerkpi.config import load_config
from partnerkpi.state import StateStore

REPO = Path(__file__).resolve().parents[2]
MAVEN = REPO / "tests" / "data" / "maven-crm" / "sales_pipeline.csv"
CONNECTOR = """
  - name: {name}
    type: file
    path: {path}
    columns: {{id: opportunity_id, partner: sales_agent, amount: close_value, stage: deal_stage,
               created: engage_date, closed: close_date}}
    stages: {{Won: won, Lost: lost, Engaging: open, Prospecting: open}}
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "partnerkpi.yaml"
    connectors = "".join(CONNECTOR.format(name=n, path=MAVEN) for n in ("east", "west", "north"))
    path.write_text(
        f'version: 1\nstate: {{url: "sqlite:///state.sqlite"}}\nkpi: {{periods: [last_365_days]}}\n'
        f"connectors:{connectors}",
        encoding="utf-8",
    )
    return path


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "partnerkpi", "--config", str(config), *args],
        capture_output=True, text=True, env=env, check=False, timeout=300,
    )  # fmt: skip


def pulled(config: Path) -> list[str]:
    store = StateStore.open(load_config(config).state.url)
    try:
        return [r.connector for r in reversed(store.runs(limit=10))]
    finally:
        store.close()


def test_connector_given_twice_runs_both_in_the_configs_order_and_no_other(config: Path) -> None:
    done = cli(config, "pull", "--connector", "north", "--connector", "east", "--connector", "north")
    assert done.returncode == 0, done.stderr
    assert pulled(config) == ["east", "north"]


def test_an_unknown_connector_among_several_is_exit_2_naming_it_and_nothing_runs(config: Path) -> None:
    done = cli(config, "pull", "--connector", "east", "--connector", "south")
    assert done.returncode == 2
    assert "'south'" in done.stderr and "east, west, north" in done.stderr
    assert not (config.parent / "state.sqlite").exists() or pulled(config) == []
