"""What every ``partnerkpi`` command shares: the typer apps, the global options, stdout and stderr, the
config loaded under those options, and the guard that turns every error into one line and its exit code
(``partnerkpi.exit_codes``: their precedence, shown by ``--help`` and tabled in the README). The commands
themselves live in the ``*_commands`` modules beside this one."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, TypeVar

import typer
from rich.console import Console

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


def progress() -> Any:
    """The progress bar on stderr (none with ``--quiet``)."""
    from partnerkpi.progress import ProgressReporter

    return ProgressReporter(err, "none" if state.quiet else "auto")


def guard(fn: Callable[[], T]) -> T:
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


def _reader_went_away() -> NoReturn:
    """``partnerkpi report --format csv | head``: the reader closed the pipe, having read what it wanted.
    End quietly (no message, exit 0), with stdout pointed at /dev/null so that the interpreter's last flush
    cannot fail again on the closed pipe."""
    stdout_to_devnull()
    raise typer.Exit(0)


def stdout_to_devnull() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
