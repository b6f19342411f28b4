"""What the CLI tests on the Maven sample share: its file-connector config (each sales agent a partner)
written into a folder, and the real CLI run there in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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


def cli(cwd: Path, *args: str, **options: Any) -> subprocess.CompletedProcess[str]:
    """``partnerkpi ARGS`` in ``cwd``, this checkout first on the path; ``options`` go to subprocess.run."""
    env = {**os.environ, "PYTHONPATH": str(REPO), **options.pop("env", {})}
    return subprocess.run(
        [sys.executable, "-m", "partnerkpi", *args],
        cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=300, **options,
    )  # fmt: skip
