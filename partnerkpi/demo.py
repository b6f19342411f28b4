"""``partnerkpi demo``: the whole job end to end on the embedded default, in a scratch directory.

It writes a config, provisions the KPI fields, runs ``sync`` (pull, compute, write back), prints the
scorecard and a sample of the values now in the partner fields, then runs ``sync`` again to show that
nothing is rewritten.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from connectors.fields import ProvisionAction
from partnerkpi.commands.store import open_store
from partnerkpi.config import AppConfig, load_config
from partnerkpi.exit_codes import worst
from partnerkpi.pipeline import (
    ExitCode,
    connector_config,
    field_writer,
    open_connector,
    provision_connector,
    sync_connector,
)
from partnerkpi.progress import ProgressReporter
from partnerkpi.reports.table import print_scorecard
from partnerkpi.sandbox.app import build_sandbox, config_snippet
from partnerkpi.sandbox.core import Sandbox
from partnerkpi.state import StateStore

DEMO_AS_OF = date(2026, 10, 31)
"""The sandbox's generated data and the bundled sample end on this day; the demo computes as of it so
that every period is full and the output is the same on any day it runs."""
DEMO_PARTNERS = 40
DEMO_OPPORTUNITIES = 20_000

DEMO_FIELDS: list[dict[str, Any]] = [
    {
        "field": "quality_score",
        "kpi": "quality_score",
        "period": "last_90_days",
        "label": "Partner quality score (90 days)",
    },
    {"field": "quality_score_change", "kpi": "quality_score", "period": "last_90_days", "value": "change"},
    {"field": "won_revenue_90d", "kpi": "won_revenue", "period": "last_90_days"},
    {"field": "deals_won_90d", "kpi": "deal_count", "period": "last_90_days"},
    {"field": "avg_deal_size_90d", "kpi": "avg_deal_size", "period": "last_90_days"},
    {"field": "win_rate_90d", "kpi": "win_rate", "period": "last_90_days"},
    {"field": "open_pipeline", "kpi": "open_amount", "period": "last_90_days"},
    {"field": "deal_velocity_90d", "kpi": "deal_velocity", "period": "last_90_days"},
    {"field": "score_breakdown", "kpi": "score_breakdown", "period": "last_90_days"},
    {"field": "kpis_updated_at", "kpi": "updated_at"},
]
SHOWN_FIELDS = ("quality_score", "won_revenue_90d", "win_rate_90d", "score_breakdown")


def field_name(connector_type: str, base: str) -> str:
    """The CRM's own naming: ``PK_Quality_Score__c`` on Salesforce, ``pk_quality_score`` elsewhere."""
    if connector_type == "salesforce":
        return "PK_" + "_".join(part.capitalize() for part in base.split("_")) + "__c"
    return f"pk_{base}"


def demo_fields(connector_type: str) -> list[dict[str, Any]]:
    return [{**f, "field": field_name(connector_type, f["field"])} for f in DEMO_FIELDS]


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
        "writeback": {c["name"]: {"fields": demo_fields(c["type"])} for c in connectors},
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
    config = connector_config(cfg, name)
    fields = [field_name(config.type, f) for f in SHOWN_FIELDS]
    with open_connector(config) as connector:
        values = field_writer(connector).read_fields(partner_ids, fields)
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


def sandbox_connector_name(crm: str) -> str:
    """The name a sandbox connector gets in the demo's config: ``salesforce-sandbox``."""
    return f"{crm}-sandbox"


def sandbox_connectors(sandbox: Sandbox) -> list[dict[str, Any]]:
    """The real connectors, pointed at the running sandbox (its CA trusted, never verification off),
    named ``<crm>-sandbox``. The sandbox itself says how to reach it (``config_snippet``)."""
    return [{**c, "name": sandbox_connector_name(c["type"])} for c in config_snippet(sandbox)["connectors"]]


def run_demo(out: Console, workdir: Path | None, progress: ProgressReporter, source: str = "sandbox") -> int:
    """``source``: "sandbox" (the real connectors against the emulated CRMs) or "file" (a CSV export)."""
    with _workdir(workdir) as work, contextlib.ExitStack() as stack:
        if source == "sandbox":
            started = time.monotonic()
            sandbox = stack.enter_context(
                build_sandbox(
                    seed=42,
                    partners=DEMO_PARTNERS,
                    opportunities=DEMO_OPPORTUNITIES,
                    state_dir=work / "sandbox",
                )
            )
            out.print(
                f"sandbox: {', '.join(e.name for e in sandbox.emulations)} at {sandbox.url} "
                f"({DEMO_OPPORTUNITIES:,} opportunities, {DEMO_PARTNERS} partners, ready in "
                f"{time.monotonic() - started:.1f}s)"
            )
            connectors = sandbox_connectors(sandbox)
        else:
            connectors = [file_connector(work)]
        config_path = work / "partnerkpi.yaml"
        config_path.write_text(yaml.safe_dump(demo_config(work, connectors), sort_keys=False))
        cfg = load_config(config_path)
        out.print(f"[bold]partnerkpi demo[/] · config {config_path}")
        store = open_store(cfg)
        return worst(_demo_connector(out, cfg, store, conn.name, progress) for conn in cfg.connectors)


def _demo_connector(
    out: Console, cfg: AppConfig, store: StateStore, name: str, progress: ProgressReporter
) -> int:
    provisioned = provision_connector(cfg, name)
    refused = [r for r in provisioned if r.action is ProvisionAction.REFUSED]
    if refused:
        out.print(f"[red]{name}: field {refused[0].field} refused: {refused[0].message}[/]")
        return ExitCode.PARTIAL
    created = sum(r.action is ProvisionAction.CREATED for r in provisioned)
    out.print(f"{name}: provisioned {created} KPI field(s) on partner records")
    run = sync_connector(cfg, store, name, progress, as_of=DEMO_AS_OF)
    if run.status not in ("ok", "partial") or run.result is None:
        out.print(f"[red]{run.status}[/] {name}: {run.message}")
        return run.exit_code
    out.print(
        f"sync 1 · {name}: pulled {run.counts.get('pulled', 0):,} opportunities in "
        f"{run.counts.get('api_calls', 0):,} API calls, wrote {run.counts.get('written_fields', 0):,} field(s) "
        f"on {run.counts.get('written_records', 0):,} partner record(s)"
    )
    names = {p.id: p.name for p in store.partners(name)}
    print_scorecard(out, run.result, name, names, periods=["last_90_days"], limit=10)
    ranked = sorted(
        (g for g in run.result.groups if g.group.partner_id and g.period.name == "last_90_days"),
        key=lambda g: -float(g.figures["quality_score"].value or 0),
    )
    out.print(_sample_values(cfg, name, [g.group.partner_id or "" for g in ranked[:5]], names))
    again = sync_connector(cfg, store, name, progress, as_of=DEMO_AS_OF)
    out.print(
        f"sync 2 · {name}: pulled {again.counts.get('pulled', 0):,} changed opportunities, "
        f"{again.counts.get('planned_fields', 0)} field(s) to write, "
        f"{again.counts.get('written_fields', 0)} written: nothing changed, nothing rewritten"
    )
    return worst([run.exit_code, again.exit_code])
