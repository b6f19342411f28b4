"""The commands about the installation rather than a run: ``config`` (validate, schema), ``runs`` (the run
history), ``state reset`` and ``connectors`` (the connector types installed). Only the arguments are parsed
here; what a command does with the state is in ``partnerkpi.commands``, imported when it runs."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Literal

import typer
from rich.table import Table

from partnerkpi.cli.core import app, config_app, guard, load_app_config, out, runs_app, state, state_app


@config_app.command("validate")
def config_validate() -> None:
    """Check the config file: syntax, keys, types, ${VAR}s and secret files; every problem, one line each."""
    cfg = load_app_config(all_problems=True)
    names = ", ".join(f"{c.name} ({c.type})" for c in cfg.connectors) or "no connectors"
    out.print(f"{state.config_path}: ok · {names}")


@config_app.command("schema")
def config_schema() -> None:
    """Print the JSON Schema of the config file (for editor completion)."""
    from partnerkpi.config import config_json_schema

    print(json.dumps(config_json_schema(), indent=2))


@runs_app.callback()
def runs_list(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="How many runs.")] = 20,
    connector: Annotated[str | None, typer.Option("--connector", help="Only this connector's runs.")] = None,
    format: Annotated[
        Literal["table", "json"], typer.Option("--format", help="How to print the runs.")
    ] = "table",
) -> None:
    """List recent runs (``partnerkpi runs show ID`` for one)."""
    if ctx.invoked_subcommand is not None:
        return
    from partnerkpi.commands.runs import list_runs

    cfg = load_app_config()
    raise typer.Exit(guard(lambda: list_runs(cfg, out, limit, connector, format)))


@runs_app.command("show")
def runs_show(run_id: int) -> None:
    """One run: counts, data quality, failures."""
    from partnerkpi.commands.runs import show_run

    cfg = load_app_config()
    raise typer.Exit(guard(lambda: show_run(cfg, out, run_id)))


@state_app.command("reset")
def state_reset(
    connector: Annotated[str, typer.Option("--connector", help="The connector to reset (by name).")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask; needed off a terminal.")] = False,
) -> None:
    """Forget one connector's data so that its next sync starts over with a full pull.

    Forgets, for that connector only: its mirror (opportunities and partners), its watermark (the next
    pull is a full one), its writeback ledger (the next sync writes every mapped value again), its KPI
    snapshots and saved KPI pass (trends rebuild their priors from the records), and the CRM instance
    recorded for it (the next pull records the one it reaches). The run history stays. Asks on a
    terminal; off a terminal it needs --yes. Refused while a run holds the connector's lock (exit 4).
    """
    from partnerkpi.commands.state import run_state_reset
    from partnerkpi.commands.store import open_store

    cfg = load_app_config()
    raise typer.Exit(
        guard(
            lambda: run_state_reset(
                cfg,
                connector,
                out,
                yes=yes,
                interactive=sys.stdin.isatty(),
                confirm=lambda question: typer.confirm(question, default=False, err=True),
                open_store=open_store,
            )
        )
    )


@app.command("connectors")
def connectors_list(
    format: Annotated[
        Literal["table", "json"], typer.Option("--format", help="How to print the list.")
    ] = "table",
) -> None:
    """The connector types this installation can run (built-in and plugins), with their versions."""
    from connectors import registry

    found = registry.installed()
    if format == "json":
        rows = [
            {
                "type": t.type_name,
                "package": t.package,
                "version": t.version,
                "builtin": t.builtin,
                "target": t.target,
            }
            for t in found
        ]
        print(json.dumps({"connector_types": rows}, indent=2))
        return
    table = Table(title="connector types", title_justify="left")
    for column in ("type", "package", "version", "source"):
        table.add_column(column)
    for t in found:
        table.add_row(t.type_name, t.package, t.version, "built-in" if t.builtin else f"plugin ({t.target})")
    out.print(table)
