"""``partnerkpi sync`` and ``partnerkpi pull``: the commands that run connectors against their CRMs, each
under the run lifecycle (partnerkpi/run_lifecycle.py), and print one line a connector and its outcome."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from connectors.base import ConnectorConfig
from kpi_core import clock
from partnerkpi import run_events as events
from partnerkpi.alerts import run_alert, score_drop_alerts, send_alerts
from partnerkpi.commands.plan import print_plan
from partnerkpi.commands.store import open_store
from partnerkpi.config import AppConfig
from partnerkpi.exit_codes import ExitCode, worst
from partnerkpi.logs import json_logs
from partnerkpi.pipeline import (
    ALLOW_MASS_CHANGE,
    ConnectorRun,
    connector_config,
    open_connector,
    pull_into_store,
    sync_connector,
)
from partnerkpi.progress import ProgressReporter
from partnerkpi.run_lifecycle import RunStatus, connector_run
from partnerkpi.run_results import TimedRun, results_document, write_results
from partnerkpi.state import StateStore

log = logging.getLogger("partnerkpi.commands")  # the logger name JSON log lines carry


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
