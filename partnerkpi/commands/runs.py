"""``partnerkpi runs`` and ``partnerkpi runs show ID``: the run history the state store keeps, as a table
or JSON, and one run's counts, data quality and failures."""

from __future__ import annotations

import dataclasses
import json

from rich.console import Console
from rich.table import Table

from partnerkpi.commands.store import open_store
from partnerkpi.config import AppConfig
from partnerkpi.errors import UsageError
from partnerkpi.exit_codes import ExitCode
from partnerkpi.redaction import redact
from partnerkpi.reports.serialize import json_default


def list_runs(cfg: AppConfig, out: Console, limit: int, connector: str | None, fmt: str = "table") -> int:
    store = open_store(cfg)
    if fmt == "json":
        runs = [dataclasses.asdict(r) for r in store.runs(limit=limit, connector=connector)]
        print(json.dumps({"runs": runs}, default=json_default, indent=2))
        return ExitCode.OK
    table = Table(title="runs", title_justify="left")
    for col in ("id", "connector", "command", "started (UTC)", "seconds", "status", "summary"):
        table.add_column(col, no_wrap=col != "summary")
    for r in store.runs(limit=limit, connector=connector):
        seconds = f"{(r.ended_at - r.started_at).total_seconds():.1f}" if r.ended_at else "running"
        counts = r.counts or {}
        summary = ", ".join(f"{k} {v:,}" for k, v in counts.items() if isinstance(v, int) and v)
        table.add_row(
            str(r.id),
            r.connector,
            r.command,
            r.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            seconds,
            r.status,
            summary,
        )
    out.print(table)
    return ExitCode.OK


def show_run(cfg: AppConfig, out: Console, run_id: int) -> int:
    store = open_store(cfg)
    r = store.run(run_id)
    if r is None:
        raise UsageError(f"no run with id {run_id}")
    out.print(f"run {r.id} · {r.connector} · {r.command} · {r.status}")
    out.print(f"started {r.started_at.isoformat()} · ended {r.ended_at.isoformat() if r.ended_at else '–'}")
    if r.message:
        out.print(f"message: {redact(r.message)}")  # a history row written before redaction was robust
    for title, data in (("counts", r.counts), ("data quality", r.data_quality)):
        if data:
            out.print(f"{title}: " + ", ".join(f"{k} {v}" for k, v in data.items()))
    if r.failures:
        table = Table(title=f"{len(r.failures)} failure(s)", title_justify="left")
        for col in ("partner", "field", "code", "message"):
            table.add_column(col, overflow="fold")
        for f in r.failures:
            table.add_row(
                f.get("partner_id", ""), f.get("field") or "", f.get("code", ""), f.get("message", "")
            )
        out.print(table)
    return ExitCode.OK
