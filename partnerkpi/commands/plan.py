"""``partnerkpi plan``, and the plan as ``sync --dry-run`` prints it too: what a sync would write, field by
field (before, after, why), computed from the mirror; nothing is written."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from partnerkpi.commands.store import open_store
from partnerkpi.config import AppConfig
from partnerkpi.exit_codes import ExitCode
from partnerkpi.pipeline import (
    ALLOW_MASS_CHANGE,
    compute_kpis,
    connector_config,
    open_connector,
    plan_writeback,
)
from partnerkpi.reports.serialize import json_default
from writeback import Plan, mass_change


def print_plan(out: Console, plan: Plan, limit: int = 50) -> None:
    if plan.is_empty:
        out.print(f"{plan.connector}: nothing to write ({plan.unchanged:,} field(s) already up to date)")
        return
    table = Table(title=f"{plan.connector}: {len(plan.changes):,} field(s) to write", title_justify="left")
    for col in ("partner", "field", "before", "after", "why"):
        table.add_column(col, overflow="fold")
    for change in plan.changes[:limit]:
        after = change.after.isoformat() if hasattr(change.after, "isoformat") else change.after  # type: ignore[union-attr]
        table.add_row(
            change.partner_id,
            change.field,
            "–" if change.before is None else str(change.before),
            "–" if after is None else str(after),
            change.reason.value,
        )
    if len(plan.changes) > limit:
        table.caption = f"first {limit} of {len(plan.changes):,}; --format json for all"
    out.print(table)
    out.print(f"unchanged {plan.unchanged:,} · below min_change {plan.below_min_change:,}")


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "connector": plan.connector,
        "unchanged": plan.unchanged,
        "below_min_change": plan.below_min_change,
        "changes": [
            {
                "partner_id": c.partner_id,
                "field": c.field,
                "before": c.before,
                "after": c.after,
                "reason": c.reason.value,
            }
            for c in plan.changes
        ],
    }


def run_plan(cfg: AppConfig, names: list[str], out: Console, fmt: str, as_of: date | None) -> int:
    store = open_store(cfg)
    plans = []
    for name in names:
        writeback = cfg.writeback.for_connector(name)
        if writeback is None or not writeback.fields:
            out.print(f"{name}: no writeback fields mapped")
            continue
        if not store.partner_ids(name):
            out.print(f"{name}: the mirror holds no partners yet; run `partnerkpi pull` (or `sync`) first")
            continue
        result = compute_kpis(store, cfg, name, as_of)
        with open_connector(connector_config(cfg, name)) as connector:
            plan = plan_writeback(store, connector, writeback, result)
        plans.append((plan, mass_change(plan, writeback.mass_change)))
    if fmt == "json":
        docs = [{**plan_json(p), "mass_change": found and found.describe()} for p, found in plans]
        print(json.dumps(docs, default=json_default, indent=2))
    else:
        for p, found in plans:
            print_plan(out, p)
            if found is not None:
                out.print(
                    f"[yellow]warning:[/] {p.connector}: mass change: {escape(found.describe())}; "
                    f"sync would stop and write nothing unless run with {ALLOW_MASS_CHANGE}"
                )
    return ExitCode.OK
