"""What the sync benchmarks share: a sandbox-backed config per CRM, provisioning, changing deals the way a
CRM user would (through the sandbox's admin methods), a sync in a child process, and writing results.

The config is the demo's (``partnerkpi.demo.demo_config``: three periods, ten KPI fields per partner) over
the real connectors pointed at the sandbox (``sandbox_connectors``), so the benchmarks measure exactly
what ``partnerkpi sync`` does.
"""

from __future__ import annotations

import json
import os
import platform
import random
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from partnerkpi.config import AppConfig
from partnerkpi.demo import demo_config, sandbox_connector_name
from partnerkpi.pipeline import provision_connector
from partnerkpi.progress import ProgressReporter
from partnerkpi.sandbox.core import Sandbox

RESULTS = Path(__file__).resolve().parent / "results"
AS_OF = date(2026, 10, 31)
"""The day the sandbox's generated data ends on (as the demo computes): every period is full."""


connector_name = sandbox_connector_name


def quiet() -> ProgressReporter:
    return ProgressReporter.silent()


def connector_doc(
    sandbox_doc: list[dict[str, Any]], crm: str, overrides: Mapping[str, Any]
) -> dict[str, Any]:
    found = [c for c in sandbox_doc if c["type"] == crm]
    if not found:
        raise LookupError(f"the sandbox serves no {crm} emulation the registry can drive")
    doc = dict(found[0])
    doc.update(overrides)
    return doc


def write_config(
    workdir: Path,
    connectors: list[dict[str, Any]],
    crm: str,
    overrides: Mapping[str, Any] | None = None,
) -> Path:
    """A config file in ``workdir`` reading ``crm`` (one connector) with the demo's KPI fields."""
    workdir.mkdir(parents=True, exist_ok=True)
    document = demo_config(workdir, [connector_doc(connectors, crm, overrides or {})])
    path = workdir / "partnerkpi.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def provision(cfg: AppConfig, name: str) -> None:
    if not provision_connector(cfg, name):
        raise ValueError(f"{name} maps no KPI fields")


def deal_ids(sandbox: Sandbox, crm: str) -> list[str]:
    """Every live deal id of ``crm`` in the sandbox (read past the API)."""
    emulation: Any = sandbox.emulation(crm)
    if crm == "salesforce":
        table = emulation.org.tables["Opportunity"]
        return [table.id_of(r) for r in table.rows()]
    portal = emulation.portal
    return [portal.deal_id(k) for k in portal.deal_keys() if not portal.is_archived(k)]


def change_deals(sandbox: Sandbox, crm: str, fraction: float, seed: int = 1) -> int:
    """Edit ``fraction`` of the deals as a sales rep would (amount + 1), through the admin methods."""
    ids = deal_ids(sandbox, crm)
    chosen = random.Random(seed).sample(ids, max(1, round(len(ids) * fraction)))
    emulation: Any = sandbox.emulation(crm)
    for deal_id in chosen:
        if crm == "salesforce":
            row = emulation.state("Opportunity", ids=[deal_id])[0]
            emulation.update_opportunity(deal_id, Amount=float(row.get("Amount") or 0) + 1)
        else:
            amount = emulation.deal_state(deal_id)["properties"].get("amount")
            emulation.update_deal(deal_id, amount=str(float(amount or 0) + 1))
    return len(chosen)


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def write_result(name: str, result: Mapping[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def run_sync_child(
    config: Path,
    name: str,
    out: Path,
    *,
    profile: Path | None = None,
    full_refresh: bool = False,
    per_record_writes: bool = False,
) -> dict[str, Any]:
    """``bench.sync_child`` in a fresh process: the sync's timing, stage split, counts and peak RSS."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "bench.sync_child", "--config", str(config), "--connector", name]
    command += ["--out", str(out), "--as-of", AS_OF.isoformat()]
    if profile is not None:
        command += ["--profile", str(profile)]
    if full_refresh:
        command.append("--full-refresh")
    if per_record_writes:
        command.append("--per-record-writes")
    done = subprocess.run(command, cwd=RESULTS.parents[1], capture_output=True, text=True)
    if not out.exists():
        raise RuntimeError(f"sync child failed ({done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    out.unlink()
    if result["status"] != "ok":
        raise RuntimeError(f"{name}: sync {result['status']}: {result['message']}")
    return result
