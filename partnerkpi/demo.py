"""``partnerkpi demo``: the whole job end to end on the embedded default, in a scratch directory.

It writes a config, provisions the KPI fields, runs ``sync`` (pull, compute, write back), prints the
scorecard and a sample of the values now in the partner fields, then runs ``sync`` again to show that
nothing is rewritten.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from partnerkpi.commands import open_store
from partnerkpi.config import AppConfig, load_config
from partnerkpi.pipeline import ExitCode, connector_config, open_connector, sync_connector
from partnerkpi.progress import ProgressReporter
from partnerkpi.reports.table import print_scorecard

SAMPLE_AS_OF = date(2026, 10, 31)
"""The bundled sample data ends on this day; the demo computes as of it so every period is full."""

WRITEBACK_FIELDS: list[dict[str, Any]] = [
    {
        "field": "pk_quality_score",
        "kpi": "quality_score",
        "period": "last_90_days",
        "label": "Partner quality score (90 days)",
    },
    {"field": "pk_quality_score_change", "kpi": "quality_score", "period": "last_90_days", "value": "change"},
    {"field": "pk_won_revenue", "kpi": "won_revenue", "period": "last_90_days"},
    {"field": "pk_deal_count", "kpi": "deal_count", "period": "last_90_days"},
    {"field": "pk_avg_deal_size", "kpi": "avg_deal_size", "period": "last_90_days"},
    {"field": "pk_win_rate", "kpi": "win_rate", "period": "last_90_days"},
    {"field": "pk_open_pipeline", "kpi": "open_amount", "period": "last_90_days"},
    {"field": "pk_deal_velocity", "kpi": "deal_velocity", "period": "last_90_days"},
    {"field": "pk_score_breakdown", "kpi": "score_breakdown", "period": "last_90_days"},
    {"field": "pk_updated_at", "kpi": "updated_at"},
]


def _sample_dir() -> Path:
    return Path(str(resources.files("partnerkpi") / "data" / "sample"))


def file_connector(workdir: Path) -> dict[str, Any]:
    sample = _sample_dir()
    return {
        "name": "sample-export",
        "type": "file",
        "path": str(sample / "opportunities.csv"),
        "partners_path": str(sample / "partners.csv"),
        "partner_columns": {"id": "partner_id", "name": "partner_name"},
        "columns": {
            "id": "opportunity_id",
            "partner": "partner_id",
            "stage": "stage",
            "amount": "amount",
            "currency": "currency",
            "created": "created_at",
            "closed": "close_date",
            "expected_close": "close_date",
            "channel": "lead_source",
            "modified": "last_modified",
            "deleted": "is_deleted",
        },
        "stages": {
            "Prospecting": {"status": "open", "probability": 0.1},
            "Qualification": {"status": "open", "probability": 0.2},
            "Proposal/Price Quote": {"status": "open", "probability": 0.5},
            "Negotiation/Review": {"status": "open", "probability": 0.8},
            "Closed Won": "won",
            "Closed Lost": "lost",
        },
        "reporting_currency": "USD",
        "rates": {"EUR": 0.92, "GBP": 0.79},
        "output_path": str(workdir / "partner_fields.csv"),
    }


def demo_config(workdir: Path, connectors: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "version": 1,
        "state": {"url": f"sqlite:///{workdir / 'state.sqlite'}"},
        "kpi": {
            "reporting_currency": "USD",
            "timezone": "UTC",
            "periods": ["last_90_days", "quarter_to_date", "last_365_days"],
        },
        "connectors": connectors,
        "writeback": {c["name"]: {"fields": WRITEBACK_FIELDS} for c in connectors},
    }


@contextmanager
def _workdir(path: Path | None) -> Iterator[Path]:
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="partnerkpi-demo-") as tmp:
        yield Path(tmp)


def _sample_values(cfg: AppConfig, name: str, partner_ids: list[str], names: dict[str, str | None]) -> Table:
    fields = ["pk_quality_score", "pk_won_revenue", "pk_win_rate", "pk_score_breakdown"]
    with open_connector(connector_config(cfg, name)) as connector:
        values = connector.read_fields(partner_ids, fields)
    table = Table(
        title=f"{name}: what sales staff now see on partner records (a sample)", title_justify="left"
    )
    table.add_column("partner")
    for f in fields:
        table.add_column(f, overflow="fold")
    for pid in partner_ids:
        row = values.get(pid, {})
        table.add_row(names.get(pid) or pid, *("" if row.get(f) is None else str(row.get(f)) for f in fields))
    return table


def run_demo(out: Console, workdir: Path | None, progress: ProgressReporter) -> int:
    with _workdir(workdir) as work:
        config_path = work / "partnerkpi.yaml"
        connectors = [file_connector(work)]
        config_path.write_text(yaml.safe_dump(demo_config(work, connectors), sort_keys=False))
        cfg = load_config(config_path)
        out.print(f"[bold]partnerkpi demo[/] · config {config_path}")
        store = open_store(cfg)
        code = ExitCode.OK
        for conn in cfg.connectors:
            writeback = cfg.writeback.for_connector(conn.name)
            assert writeback is not None
            with open_connector(conn) as connector:
                created = connector.provision_fields(list(writeback.specs().values()))
            out.print(
                f"{conn.name}: provisioned {sum(r.action.value == 'created' for r in created)} field(s)"
            )
            run = sync_connector(cfg, store, conn.name, progress, as_of=SAMPLE_AS_OF)
            if run.status not in ("ok", "partial") or run.result is None:
                out.print(f"[red]{run.status}[/] {conn.name}: {run.message}")
                return run.exit_code
            out.print(
                f"sync 1 · {conn.name}: pulled {run.counts.get('pulled', 0):,} opportunities, wrote "
                f"{run.counts.get('written_fields', 0):,} field(s) on {run.counts.get('written_records', 0):,} partner record(s)"
            )
            names = {p.id: p.name for p in store.partners(conn.name)}
            print_scorecard(out, run.result, conn.name, names, periods=["last_90_days"], limit=10)
            ranked = sorted(
                (g for g in run.result.groups if g.group.partner_id and g.period.name == "last_90_days"),
                key=lambda g: -float(g.figures["quality_score"].value or 0),
            )
            out.print(_sample_values(cfg, conn.name, [g.group.partner_id or "" for g in ranked[:5]], names))
            again = sync_connector(cfg, store, conn.name, progress, as_of=SAMPLE_AS_OF)
            out.print(
                f"sync 2 · {conn.name}: {again.counts.get('planned_fields', 0)} field(s) to write, "
                f"{again.counts.get('written_fields', 0)} written — nothing changed, nothing rewritten"
            )
            code = max(code, run.exit_code, again.exit_code)
        return code
