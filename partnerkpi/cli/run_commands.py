"""The commands that run the job, each on the connectors ``--connector`` selects: ``sync`` (the scheduled
job), ``pull``, ``plan``, ``report``, ``provision`` and ``check``. Only the arguments are parsed here; what
each command does is in ``partnerkpi.commands``, imported when the command runs."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from partnerkpi.cli.core import app, fail, guard, load_app_config, out, progress
from partnerkpi.exit_codes import ExitCode, help_text


def _selected(cfg: Any, connectors: list[str] | None) -> list[str]:
    """The connectors named by ``--connector`` (repeatable; in the config's order, each once), or all."""
    names = [c.name for c in cfg.connectors]
    if not connectors:
        return names
    unknown = [c for c in dict.fromkeys(connectors) if c not in names]
    if unknown:
        listed = ", ".join(repr(c) for c in unknown)
        fail(f"no connector named {listed} (connectors: {', '.join(names) or 'none'})", ExitCode.CONFIG)
    return [n for n in names if n in connectors]


def _parse_day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"--as-of must be a date like 2026-11-22, not {value!r}", ExitCode.CONFIG)


ConnectorOpt = Annotated[
    list[str] | None,
    typer.Option("--connector", help="Only this connector (by name); give it again for more."),
]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Compute as of this day (default: today).")]


@app.command(epilog=help_text())
def sync(
    connector: ConnectorOpt = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Pull into the mirror, compute and plan; write nothing to the CRM."),
    ] = False,
    as_of: AsOfOpt = None,
    allow_mass_change: Annotated[
        bool,
        typer.Option(
            "--allow-mass-change",
            help=(
                "Write a plan that would clear, or change by a large factor, more of the filled fields "
                "than the writeback's mass_change limits allow (without it such a sync writes nothing "
                "and exits 1)."
            ),
        ),
    ] = False,
    rewrite_all: Annotated[
        bool,
        typer.Option(
            "--rewrite-all",
            help="Write every mapped value, whatever the ledger says was written (asks first; --yes off a terminal).",
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm --rewrite-all without asking.")] = False,
    results: Annotated[
        Path | None,
        typer.Option(
            "--results",
            help="Also write what each connector did (status, exit code, counts, duration) to this JSON file.",
        ),
    ] = None,
) -> None:
    """The scheduled job: pull, compute the KPIs, write changed fields back, record the run."""
    from partnerkpi.commands.sync import run_sync

    cfg = load_app_config()
    if rewrite_all and not dry_run:
        _confirm(yes, "write every mapped field on every partner record again, whatever the ledger says")
    code = guard(
        lambda: run_sync(
            cfg,
            _selected(cfg, connector),
            progress(),
            out,
            dry_run,
            _parse_day(as_of),
            allow_mass_change=allow_mass_change,
            results_path=results,
            rewrite_all=rewrite_all,
        )
    )
    raise typer.Exit(code)


def _confirm(yes: bool, what: str) -> None:
    """Ask before a sweeping action; off a terminal (a scheduler) only ``--yes`` confirms it."""
    if yes:
        return
    if not sys.stdin.isatty():
        fail(f"this would {what}: add --yes to confirm (no terminal to ask on)", ExitCode.CONFIG)
    if not typer.confirm(f"This will {what}. Go on?", default=False):
        fail("not confirmed; nothing was done", ExitCode.CONFIG)


@app.command()
def pull(connector: ConnectorOpt = None) -> None:
    """Pull changes from the CRMs into the local mirror; compute and write nothing."""
    from partnerkpi.commands.sync import run_pull

    cfg = load_app_config()
    raise typer.Exit(guard(lambda: run_pull(cfg, _selected(cfg, connector), progress(), out)))


@app.command()
def plan(
    connector: ConnectorOpt = None,
    format: Annotated[
        Literal["table", "json"],
        typer.Option("--format", help="How to print the plan."),
    ] = "table",
    as_of: AsOfOpt = None,
) -> None:
    """Show what a sync would write, field by field (before and after), from the mirror. Writes nothing."""
    from partnerkpi.commands.plan import run_plan

    cfg = load_app_config()
    raise typer.Exit(guard(lambda: run_plan(cfg, _selected(cfg, connector), out, format, _parse_day(as_of))))


@app.command()
def report(
    connector: ConnectorOpt = None,
    format: Annotated[
        Literal["table", "json", "csv", "html"],
        typer.Option("--format", help="html needs --out."),
    ] = "table",
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write to this file instead of stdout.")
    ] = None,
    period: Annotated[list[str] | None, typer.Option("--period", help="Only these periods.")] = None,
    partner: Annotated[list[str] | None, typer.Option("--partner", help="Only these partner ids.")] = None,
    history: Annotated[
        str | None,
        typer.Option("--history", metavar="PARTNER", help="One partner's KPIs across the stored snapshots."),
    ] = None,
    as_of: AsOfOpt = None,
) -> None:
    """The partner scorecard from the local mirror (no CRM needed)."""
    from partnerkpi.commands.report import run_history, run_report

    if format == "html" and out_file is None:
        fail("--format html needs --out FILE", ExitCode.CONFIG)
    cfg = load_app_config()
    if history is not None:
        if format not in ("table", "json"):
            fail("--history prints as table or json", ExitCode.CONFIG)
        raise typer.Exit(
            guard(lambda: run_history(cfg, _selected(cfg, connector), out, history, period or [], format))
        )
    raise typer.Exit(
        guard(
            lambda: run_report(
                cfg,
                _selected(cfg, connector),
                out,
                format,
                out_file,
                period or [],
                partner or [],
                _parse_day(as_of),
            )
        )
    )


@app.command()
def provision(connector: ConnectorOpt = None) -> None:
    """Create the mapped KPI fields in the CRMs (idempotent; an incompatible existing field is refused)."""
    from partnerkpi.commands.crm import run_provision

    cfg = load_app_config()
    raise typer.Exit(guard(lambda: run_provision(cfg, _selected(cfg, connector), out)))


@app.command()
def check(connector: ConnectorOpt = None) -> None:
    """Check config, credentials, fields and API budget, and say what to fix."""
    from partnerkpi.commands.crm import run_check

    cfg = load_app_config()
    raise typer.Exit(guard(lambda: run_check(cfg, _selected(cfg, connector), out)))
