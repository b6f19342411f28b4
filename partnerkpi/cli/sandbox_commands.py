"""The commands that need no CRM of one's own: ``demo`` (the whole job end to end on the embedded sandbox)
and ``sandbox serve`` / ``sandbox stop`` (the Salesforce and HubSpot emulation, in the foreground or as a
background process that ``stop`` ends, partnerkpi/sandbox/background.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal, NoReturn

import typer

from partnerkpi.cli.core import app, fail, guard, out, progress, sandbox_app
from partnerkpi.exit_codes import ExitCode


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

    raise typer.Exit(guard(lambda: run_demo(out, workdir, progress(), source)))


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

    raise typer.Exit(guard(run))


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
