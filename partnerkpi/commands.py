"""What each CLI command does, on a loaded config. The CLI module only parses arguments."""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from connectors.base import CheckStatus, ConnectorConfig
from connectors.fields import ProvisionAction
from kpi_core import clock
from kpi_core.result import GroupKind, KpiResult
from partnerkpi import run_events as events
from partnerkpi.alerts import run_alert, score_drop_alerts, send_alerts
from partnerkpi.config import AppConfig
from partnerkpi.errors import UsageError
from partnerkpi.exit_codes import ExitCode, exit_code_of
from partnerkpi.exit_codes import worst as worst  # the precedence over several runs lives there
from partnerkpi.logs import json_logs
from partnerkpi.pipeline import (
    ALLOW_MASS_CHANGE,
    ConnectorRun,
    compute_kpis,
    connector_config,
    open_connector,
    plan_writeback,
    provision_connector,
    pull_into_store,
    sync_connector,
)
from partnerkpi.progress import ProgressReporter
from partnerkpi.redaction import redact, register_secrets, secrets_of
from partnerkpi.reports.csv_export import write_csv
from partnerkpi.reports.history import partner_history, print_history, report_history
from partnerkpi.reports.html import render_html
from partnerkpi.reports.serialize import connector_report, json_default, report_document
from partnerkpi.reports.table import print_scorecard
from partnerkpi.run_lifecycle import RunStatus, connector_run
from partnerkpi.run_results import TimedRun, results_document, write_results
from partnerkpi.state import StateStore
from writeback import Plan, mass_change

log = logging.getLogger("partnerkpi.commands")


def open_store(cfg: AppConfig) -> StateStore:
    register_secrets(secrets_of(cfg))
    return StateStore.open(
        cfg.state.url, snapshot_retention_days=cfg.state.snapshot_retention_days, verify=True
    )


def _counts(run: ConnectorRun) -> str:
    c = run.counts
    parts = [
        f"pulled {c.get('pulled', 0):,}",
        f"changed {c.get('inserted', 0) + c.get('changed', 0):,}",
        f"deleted {c.get('deleted', 0):,}",
    ]
    if "planned_fields" in c:
        parts.append(f"planned {c['planned_fields']:,} field(s)")
    if "written_fields" in c:
        parts.append(f"wrote {c['written_fields']:,} field(s) on {c.get('written_records', 0):,} record(s)")
    if c.get("failed_records"):
        parts.append(f"failed {c['failed_records']:,} record(s)")
    if c.get("api_calls"):
        parts.append(f"{c['api_calls']:,} API calls")
    return ", ".join(parts)


_STYLE = {
    RunStatus.OK: "green",
    RunStatus.PARTIAL: "yellow",
    RunStatus.LOCKED: "yellow",
    RunStatus.FAILED: "red",
    RunStatus.INTERRUPTED: "red",
}


def _outcome(run: ConnectorRun) -> str:
    """What happened to the connector, in a word or two: "ok", "skipped (locked)", "failed (exit 3)"."""
    if run.status is RunStatus.LOCKED:
        return "skipped (locked)"
    if run.status is RunStatus.OK:
        return "ok"
    return f"{run.status} (exit {int(run.exit_code)})"


def _summary(run: ConnectorRun, dry_run: bool = False) -> str:
    """The one line for a connector's run: what happened to it, and its counts or its error."""
    label = f"run {run.run_id} · {run.connector}" if run.run_id else run.connector
    head = f"[{_STYLE.get(run.status, 'red')}]{_outcome(run)}[/] {escape(label)}: "
    message = escape(run.message.removeprefix(f"{run.connector}: "))  # the label names it already
    if run.status is RunStatus.LOCKED:
        return head + message + "; this run did nothing, the running one does the work"
    if run.status in (RunStatus.OK, RunStatus.PARTIAL):
        text = head + _counts(run) + (" (dry run)" if dry_run else "")
        return text + (f"; {message}" if message else "")
    return head + message


def _final_line(runs: list[ConnectorRun], code: ExitCode) -> str:
    """The last line of a sync: each connector's outcome, and the exit code with its meaning."""
    each = ", ".join(f"{run.connector} {_outcome(run)}" for run in runs) or "no connectors"
    return f"sync: {each} · exit {int(code)}: {code.description} ({code.action})"


def run_sync(
    cfg: AppConfig,
    names: list[str],
    progress: ProgressReporter,
    out: Console,
    dry_run: bool,
    as_of: date | None,
    allow_mass_change: bool = False,
    results_path: Path | None = None,
    rewrite_all: bool = False,
) -> int:
    """Every connector runs whatever happened to the one before (its failure is recorded, alerted and
    printed); the exit code is the worst by ``partnerkpi.exit_codes.PRECEDENCE``. A dry run prints each
    plan, also one the mass-change guard stopped (so the operator sees what it would have done).
    ``results_path``: also write what each connector did as JSON (partnerkpi/run_results.py)."""
    store = open_store(cfg)
    runs: list[ConnectorRun] = []
    options = (("--dry-run", dry_run), (ALLOW_MASS_CHANGE, allow_mass_change), ("--rewrite-all", rewrite_all))
    flags = [f for f, on in options if on]
    command = " ".join(["sync", *flags])
    timed: list[TimedRun] = []
    for name in names:
        started = clock.utcnow()
        run = sync_connector(
            cfg,
            store,
            name,
            progress,
            dry_run=dry_run,
            as_of=as_of,
            command=command,
            allow_mass_change=allow_mass_change,
            rewrite_all=rewrite_all,
        )
        runs.append(run)
        timed.append(TimedRun(run, started, clock.utcnow()))
        if not dry_run:
            _alert(cfg, store, run)
        if not json_logs():  # in JSON mode the summary is the log's connector_run_finished event
            out.print(_summary(run, dry_run))
            for failure in run.failures[:10]:
                out.print(
                    f"  {failure['partner_id']} {failure['field'] or ''}: {failure['code']} {failure['message']}"
                )
        if dry_run and run.plan is not None:
            print_plan(out, run.plan)
    code = worst(run.exit_code for run in runs)
    events.command_finished(
        command, [(r.connector, r.status, r.exit_code) for r in runs], code, code.description
    )
    if not json_logs():
        out.print(_final_line(runs, code))
    if results_path is not None:
        write_results(results_path, results_document(command, timed, code))
    return code


def _alert(cfg: AppConfig, store: StateStore, run: ConnectorRun) -> None:
    """Webhooks for a failed or partial run and for score drops; never fails the sync, never stops the
    next connector."""
    if not cfg.alerts.webhooks:
        return
    try:
        alerts = []
        status_alert = run_alert(run.connector, run.status, run.message, run.run_id, run.exit_code)
        if status_alert is not None:
            alerts.append(status_alert)
        if run.result is not None:
            names = {p.id: p.name for p in store.partners(run.connector)}
            alerts.extend(score_drop_alerts(run.connector, run.result, cfg.alerts, names))
        send_alerts(alerts, cfg.alerts)
    except Exception as exc:  # the alert is a courtesy: its failure is logged (redacted), not raised
        log.warning("%s: alerts not sent: %s: %s", run.connector, type(exc).__name__, exc)


def run_pull(cfg: AppConfig, names: list[str], progress: ProgressReporter, out: Console) -> int:
    """Pull each connector into the mirror, under the run lifecycle ``sync`` has (the lock before the
    history row, one summary event); the first run that fails or finds its lock held stops the command
    with its error (exit 4 for the lock, and no history row, as for sync)."""
    store = open_store(cfg)
    for name in names:
        config = connector_config(cfg, name)
        with connector_run(store, name, "pull") as run:
            if not run.skipped:
                _pull(store, config, run, progress)
        if run.error is not None:
            raise run.error
        if json_logs():
            continue
        c = run.counts
        out.print(
            f"[green]ok[/] run {run.run_id} · {name}: pulled {c['pulled']:,}, new {c['inserted']:,}, "
            f"changed {c['changed']:,}, deleted {c['deleted']:,}"
        )
    return ExitCode.OK


def _pull(store: StateStore, config: ConnectorConfig, run: ConnectorRun, progress: ProgressReporter) -> None:
    assert run.run_id is not None
    with open_connector(config) as connector:
        try:
            run.counts.update(pull_into_store(store, connector, run.run_id, progress))
        finally:
            run.counts["api_calls"] = connector.stats.api_calls


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


def run_provision(cfg: AppConfig, names: list[str], out: Console) -> int:
    code = ExitCode.OK
    for name in names:
        results = provision_connector(cfg, name)
        if not results:
            out.print(f"{name}: no writeback fields mapped; nothing to provision")
        for result in results:
            style = {"created": "green", "unchanged": "dim", "refused": "red"}[result.action.value]
            out.print(
                f"{name}: [{style}]{result.action.value}[/] {result.field} {redact(result.message)}".rstrip()
            )
            if result.action is ProvisionAction.REFUSED:
                code = ExitCode.PARTIAL
    return code


def run_check(cfg: AppConfig, names: list[str], out: Console) -> int:
    from partnerkpi.state_commands import check_state

    out.print("[green]ok[/] config: valid")
    code = check_state(cfg, out, open_store)
    for name in names:
        writeback = cfg.writeback.for_connector(name)
        specs = list(writeback.specs().values()) if writeback is not None else []
        with open_connector(connector_config(cfg, name)) as connector:
            for line in connector.check(specs):
                style = {"ok": "green", "warn": "yellow", "fail": "red"}[line.status.value]
                out.print(f"[{style}]{line.status.value}[/] {name} · {line.name}: {redact(line.message)}")
                if line.status is CheckStatus.FAIL:
                    code = worst([code, exit_code_of(line.error) if line.error else ExitCode.FAILED])
    return code


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
