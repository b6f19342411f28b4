"""What the CLI tests on the Maven sample share: its file-connector config (each sales agent a partner)
written into a folder, and the CLI run there (in this process: these tests are about what the commands
do; the process boundary has its own tests, e.g. test_closed_pipe and test_cli)."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from tests.cli_in_process import run_partnerkpi

REPO = Path(__file__).resolve().parents[1]
MAVEN = REPO / "tests" / "data" / "maven-crm" / "sales_pipeline.csv"

CONNECTOR = """
  - name: {name}
    type: file
    path: {path}
    columns: {{id: opportunity_id, partner: sales_agent, amount: close_value, stage: deal_stage,
               created: engage_date, closed: close_date}}
    stages: {{Won: won, Lost: lost, Engaging: open, Prospecting: open}}
"""


def connector_yaml(name: str = "maven", path: Path = MAVEN, extra: str = "") -> str:
    """One file connector of the ``connectors:`` list; ``extra``: more of its keys, indented four spaces."""
    return CONNECTOR.format(name=name, path=path) + extra


def write_config(
    folder: Path,
    connectors: str | None = None,
    periods: Sequence[str] = ("last_365_days",),
    extra: str = "",
) -> Path:
    """``folder/partnerkpi.yaml`` with the state beside it; ``extra``: more top-level YAML at the end."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "partnerkpi.yaml"
    path.write_text(
        'version: 1\nstate: {url: "sqlite:///state.sqlite"}\n'
        f"kpi: {{periods: [{', '.join(periods)}]}}\n"
        f"connectors:{connector_yaml() if connectors is None else connectors}{extra}",
        encoding="utf-8",
    )
    return path


def cli(
    cwd: Path, *args: str, env: dict[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``partnerkpi ARGS`` in ``cwd``, off a terminal (stdin is never one here); ``env`` adds variables."""
    return run_partnerkpi(args, cwd=cwd, env=env, input=input)
