"""The ``partnerkpi`` command (``partnerkpi.cli:main``, ``python -m partnerkpi``; ``partnerkpi-scheduled``
runs the same app). ``core`` holds the typer apps and what every command shares, the ``*_commands``
modules hold the commands, ``argv`` lets the global options follow the command."""

from __future__ import annotations

import importlib
import sys

from partnerkpi.cli.argv import global_options_first
from partnerkpi.cli.core import app, stdout_to_devnull

__all__ = ["main"]

COMMAND_MODULES = ("run_commands", "admin_commands", "sandbox_commands")
"""Each registers its commands on ``app`` when imported, and ``--help`` lists them in that order: sync,
pull, plan, report, provision, check; connectors; demo (then the groups, in core's order)."""
for _module in COMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_module}")


def main() -> None:
    try:
        app(args=global_options_first(sys.argv[1:]), standalone_mode=True)
    except BrokenPipeError:  # the reader went away during the interpreter's own last writes
        stdout_to_devnull()
        sys.exit(0)
    except SystemExit as exc:
        sys.exit(exc.code)
