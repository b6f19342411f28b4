"""The ``partnerkpi`` command. Its exit codes and their precedence are ``partnerkpi.exit_codes`` (shown
by ``--help``, tabled in the README); every error is mapped to one there."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from partnerkpi import __version__
from partnerkpi.errors import UsageError
from partnerkpi.exit_codes import ExitCode, classified, exit_code_of, help_text
from partnerkpi.logs import redact, setup_logging

log = logging.getLogger("partnerkpi")
T = TypeVar("T")

app = typer.Typer(
    name="partnerkpi",
    help="Channel-partner KPIs from CRM opportunities, written back into the CRM.",
    epilog=help_text(),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Validate the config, or print its JSON Schema.", no_args_is_help=True)
runs_app = typer.Typer(help="The run history.", invoke_without_command=True)
sandbox_app = typer.Typer(
    help="The CRM sandbox (Salesforce and HubSpot emulation on 127.0.0.1).", no_args_is_help=True
)
app.add_typer(config_app, name="config")
app.add_typer(runs_app, name="runs")
app.add_typer(sandbox_app, name="sandbox")
state_app = typer.Typer(help="The state database: forget one connector's data.", no_args_is_help=True)
app.add_typer(state_app, name="state")


class _State:
    config_path: Path = Path("partnerkpi.yaml")
    quiet: bool = False
    verbose: bool = False
    log_format: str | None = None
    """As given on the command line; None: the config's logging.format."""


state = _State()


class _Output(Console):
    """stdout. A reader that closes the pipe early (``| head``) has read what it wanted: end quietly with
    exit 0, as for a plain print (rich's default exits 1)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        _reader_went_away()


out: Console = _Output(soft_wrap=True)
if not out.is_terminal and out.width < 100:
    out = _Output(soft_wrap=True, width=100)  # cron, pipes: fit 100 columns rather than 80
err = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int) -> NoReturn:
    err.print(f"[red]error:[/] {redact(message)}", highlight=False)
    raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        print(f"partnerkpi {__version__}")
        raise typer.Exit(0)


@app.callback()
def main_options(
    config: Annotated[
        Path, typer.Option("--config", "-c", envvar="PARTNERKPI_CONFIG", help="The YAML config file.")
    ] = Path("partnerkpi.yaml"),
    log_format: Annotated[
        Literal["text", "json"] | None,
        typer.Option(
            help="Log format (json: for log shippers); default: the config's logging.format, else text."
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only warnings and errors.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    state.config_path, state.quiet, state.log_format, state.verbose = config, quiet, log_format, verbose
    setup_logging("debug" if verbose else "info", log_format or "text", quiet)


def _apply_logging(cfg: Any) -> None:
    """The YAML ``logging:`` section, under the command-line flags (a flag given wins)."""
    level = "debug" if state.verbose else cfg.logging.level
    setup_logging(level, state.log_format or cfg.logging.format, state.quiet)


def load_app_config(all_problems: bool = False) -> Any:
    from partnerkpi.config import ConfigError, load_config

    try:
        cfg = load_config(state.config_path)
    except ConfigError as exc:
        if all_problems and len(exc.problems) > 1:
            for line in exc.lines()[1:]:
                err.print(f"[red]error:[/] {redact(line)}", highlight=False)
        fail(str(exc), ExitCode.CONFIG)
    _apply_logging(cfg)
    return cfg


def _guard(fn: Callable[[], T]) -> T:
    """Turn known failures into one line and the right exit code; never a bare traceback."""
    try:
        return fn()
    except typer.Exit:
        raise
    except UsageError as exc:  # a name the user typed that does not exist, options that do not go together
        fail(str(exc), exit_code_of(exc))
    except KeyboardInterrupt as exc:
        fail("interrupted", exit_code_of(exc))
    except BrokenPipeError:
        _reader_went_away()
    except Exception as exc:
        if classified(exc):
            fail(str(exc), exit_code_of(exc))
        log.debug("internal error", exc_info=True)
        fail(
            f"internal error: {type(exc).__name__}: {exc} (run with --verbose for details)", exit_code_of(exc)
        )


# -- config ------------------------------------------------------------------------------------------
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


# -- pipeline commands -------------------------------------------------------------------------------
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


def _progress() -> Any:
    from partnerkpi.progress import ProgressReporter

    return ProgressReporter(err, "none" if state.quiet else "auto")


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
    code = _guard(
        lambda: run_sync(
            cfg,
            _selected(cfg, connector),
            _progress(),
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
    raise typer.Exit(_guard(lambda: run_pull(cfg, _selected(cfg, connector), _progress(), out)))


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
    raise typer.Exit(_guard(lambda: run_plan(cfg, _selected(cfg, connector), out, format, _parse_day(as_of))))


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
            _guard(lambda: run_history(cfg, _selected(cfg, connector), out, history, period or [], format))
        )
    raise typer.Exit(
        _guard(
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
    raise typer.Exit(_guard(lambda: run_provision(cfg, _selected(cfg, connector), out)))


@app.command()
def check(connector: ConnectorOpt = None) -> None:
    """Check config, credentials, fields and API budget, and say what to fix."""
    from partnerkpi.commands.crm import run_check

    cfg = load_app_config()
    raise typer.Exit(_guard(lambda: run_check(cfg, _selected(cfg, connector), out)))


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
    raise typer.Exit(_guard(lambda: list_runs(cfg, out, limit, connector, format)))


@runs_app.command("show")
def runs_show(run_id: int) -> None:
    """One run: counts, data quality, failures."""
    from partnerkpi.commands.runs import show_run

    cfg = load_app_config()
    raise typer.Exit(_guard(lambda: show_run(cfg, out, run_id)))


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
        _guard(
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


@app.command()
def demo(
    workdir: Annotated[
        Path | None, typer.Option(help="Keep the demo's files here (default: a temporary directory).")
    ] = None,
    source: Annotated[
        Literal["sandbox", "file"],
        typer.Option(help="sandbox: the emulated Salesforce and HubSpot; file: a bundled CSV export."),
    ] = "sandbox",
) -> None:
    """Run the whole job end to end on the embedded sandbox and print the scorecard."""
    from partnerkpi.demo import run_demo

    raise typer.Exit(_guard(lambda: run_demo(out, workdir, _progress(), source)))


@sandbox_app.command("serve")
def sandbox_serve(
    port: Annotated[
        int, typer.Option(envvar="PARTNERKPI_SANDBOX_PORT", help="Port on 127.0.0.1 (0: a free one).")
    ] = 8443,
    seed: Annotated[int, typer.Option(help="Seed of the generated data.")] = 42,
    partners: Annotated[int, typer.Option(help="Partners to generate.")] = 50,
    opportunities: Annotated[int, typer.Option(help="Opportunities to generate.")] = 20_000,
    latency_ms: Annotated[float, typer.Option(help="Latency added to every call.")] = 0.0,
    rate_limit: Annotated[float, typer.Option(help="Requests per second per CRM (0: unlimited).")] = 0.0,
    fault: Annotated[
        list[str] | None, typer.Option(help="A fault knob, e.g. error_rate=0.1 (repeatable).")
    ] = None,
    config_out: Annotated[
        Path | None,
        typer.Option(
            help="Write a complete config for the sandbox here (secrets and CA kept beside it, in "
            ".partnerkpi-sandbox/, so a restart on the same port keeps it valid)."
        ),
    ] = None,
    background: Annotated[
        bool,
        typer.Option(help="Serve in the background (needs --config-out); `partnerkpi sandbox stop` ends it."),
    ] = False,
) -> None:
    """Serve the sandbox until Ctrl-C or SIGTERM (or in the background)."""
    from partnerkpi.sandbox.app import PortInUse, serve

    if background:
        _serve_in_background(config_out, sys.argv[sys.argv.index("serve") + 1 :])

    def run() -> int:
        try:
            return serve(
                port=port,
                seed=seed,
                partners=partners,
                opportunities=opportunities,
                latency_ms=latency_ms,
                rate_limit=rate_limit,
                faults=fault or [],
                config_out=config_out,
                out=lambda line: print(line, flush=True),
            )
        except PortInUse as exc:
            fail(str(exc), ExitCode.CONFIG)

    raise typer.Exit(_guard(run))


def _serve_in_background(config_out: Path | None, arguments: list[str]) -> NoReturn:
    from partnerkpi.sandbox import background
    from partnerkpi.sandbox.config_file import sandbox_dir_for

    if config_out is None:
        fail(
            "--background needs --config-out (the config, and where the sandbox keeps its files)",
            ExitCode.CONFIG,
        )
    try:
        printed = background.start([a for a in arguments if a != "--background"], sandbox_dir_for(config_out))
    except background.BackgroundError as exc:
        fail(str(exc), exc.exit_code)
    out.print(printed.rstrip(), highlight=False)
    raise typer.Exit(0)


@sandbox_app.command("stop")
def sandbox_stop(
    config_out: Annotated[
        Path, typer.Option(help="The config the background sandbox wrote (--config-out of serve).")
    ] = Path("partnerkpi.yaml"),
) -> None:
    """Stop the sandbox started with `sandbox serve --background`."""
    from partnerkpi.sandbox import background
    from partnerkpi.sandbox.config_file import sandbox_dir_for

    try:
        pid = background.stop(sandbox_dir_for(config_out))
    except background.BackgroundError as exc:
        fail(str(exc), exc.exit_code)
    out.print(f"sandbox stopped (pid {pid})")


def _reader_went_away() -> NoReturn:
    """``partnerkpi report --format csv | head``: the reader closed the pipe, having read what it wanted.
    End quietly (no message, exit 0), with stdout pointed at /dev/null so that the interpreter's last flush
    cannot fail again on the closed pipe."""
    _stdout_to_devnull()
    raise typer.Exit(0)


def _stdout_to_devnull() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


GLOBAL_VALUE_OPTIONS = ("--config", "-c", "--log-format")
GLOBAL_FLAGS = ("--quiet", "-q", "--verbose", "-v")


def global_options_first(argv: list[str]) -> list[str]:
    """``argv`` with the global options moved before the command, so that they may be given after it too
    (``partnerkpi sync --log-format json``, as dbt and Meltano accept). Nothing after ``--`` moves, and no
    command has an option of the same name."""
    before: list[str] = []
    moved: list[str] = []
    rest: list[str] = []
    tokens = iter(argv)
    in_command = False
    for token in tokens:
        if token == "--":
            rest.append(token)
            rest.extend(tokens)
            break
        name = token.split("=", 1)[0]
        is_value_option = name in GLOBAL_VALUE_OPTIONS
        if is_value_option or token in GLOBAL_FLAGS:
            target = moved if in_command else before
            target.append(token)
            if is_value_option and "=" not in token:
                value = next(tokens, None)
                if value is not None:
                    target.append(value)
            continue
        if not in_command and not token.startswith("-"):
            in_command = True
        (rest if in_command else before).append(token)
    return before + moved + rest


def main() -> None:
    try:
        app(args=global_options_first(sys.argv[1:]), standalone_mode=True)
    except BrokenPipeError:  # the reader went away during the interpreter's own last writes
        _stdout_to_devnull()
        sys.exit(0)
    except SystemExit as exc:
        sys.exit(exc.code)
