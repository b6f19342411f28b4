"""``partnerkpi report``: the partner scorecard from the local mirror (no CRM needed), as a table, JSON, CSV
or HTML, and with ``--history`` one partner's KPIs across the stored snapshots."""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console

from kpi_core import clock
from kpi_core.result import GroupKind, KpiResult
from partnerkpi.commands.store import open_store
from partnerkpi.config import AppConfig
from partnerkpi.errors import UsageError
from partnerkpi.exit_codes import ExitCode
from partnerkpi.pipeline import compute_kpis
from partnerkpi.reports.csv_export import write_csv
from partnerkpi.reports.history import partner_history, print_history, report_history
from partnerkpi.reports.html import render_html
from partnerkpi.reports.serialize import connector_report, json_default, report_document
from partnerkpi.reports.table import print_scorecard
from partnerkpi.state import StateStore


def _filtered(result: KpiResult, periods: list[str], partners: list[str]) -> KpiResult:
    if not periods and not partners:
        return result
    groups = [
        g
        for g in result.groups
        if (not periods or g.period.name in periods)
        and (not partners or g.group.kind is not GroupKind.PARTNER or g.group.partner_id in partners)
    ]
    kept = [p for p in result.periods if not periods or p.name in periods]
    return KpiResult(
        result.as_of, result.currency, kept, groups, result.data_quality, result.opportunities_seen
    )


def run_report(
    cfg: AppConfig,
    names: list[str],
    out: Console,
    fmt: str,
    out_file: Path | None,
    periods: list[str],
    partners: list[str],
    as_of: date | None,
) -> int:
    store = open_store(cfg)
    unknown = [p for p in periods if p not in cfg.kpi.periods]
    if unknown:
        raise UsageError(f"--period {unknown[0]!r} is not in kpi.periods ({', '.join(cfg.kpi.periods)})")
    docs = []
    results = []
    for name in names:
        result = _filtered(compute_kpis(store, cfg, name, as_of), periods, partners)
        names_by_id = {p.id: p.name for p in store.partners(name)}
        results.append((name, result, names_by_id))
        docs.append(connector_report(name, result, names_by_id, {"last_run": _last_run(store, name)}))
    document = report_document(docs, clock.utcnow())
    target = out_file.open("w", encoding="utf-8", newline="") if out_file else None
    try:
        if fmt == "json":
            json.dump(document, target or sys.stdout, default=json_default, indent=2)
            (target or sys.stdout).write("\n")
        elif fmt == "csv":
            write_csv(document, target or sys.stdout)
        elif fmt == "html":
            assert target is not None
            target.write(render_html(document, report_history(store, names, partners or None)))
        else:
            console = Console(file=target, width=100) if target else out
            for name, result, names_by_id in results:
                print_scorecard(console, result, name, names_by_id)
    finally:
        if target:
            target.close()
    return ExitCode.OK


def _last_run(store: StateStore, name: str) -> dict[str, Any] | None:
    runs = store.runs(limit=1, connector=name)
    if not runs:
        return None
    r = runs[0]
    return {"id": r.id, "started_at": r.started_at, "ended_at": r.ended_at, "status": r.status}


def run_history(
    cfg: AppConfig, names: list[str], out: Console, partner: str, periods: list[str], fmt: str = "table"
) -> int:
    store = open_store(cfg)
    if fmt == "json":
        document = {
            "partner_id": partner,
            "connectors": [
                {
                    "connector": name,
                    "points": [
                        dataclasses.asdict(p)
                        for p in partner_history(store, name, partner)
                        if not periods or p.period in periods
                    ],
                }
                for name in names
            ],
        }
        print(json.dumps(document, default=json_default, indent=2))
        return ExitCode.OK
    for name in names:
        print_history(out, store, name, partner, periods, currency=cfg.kpi.reporting_currency)
    return ExitCode.OK
