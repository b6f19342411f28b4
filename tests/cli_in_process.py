"""The ``partnerkpi`` CLI run inside the test process, returned as a CompletedProcess like a subprocess run.

A CLI subprocess spends most of its time importing (about 1.5 s of CPU each); tests that check what a
command does, not the process boundary, run it here instead. The argv goes through the same
``global_options_first`` as ``partnerkpi.cli.main``; ``cwd`` and the environment are set for the call only
(the ``PARTNERKPI_*`` variables of the test's own environment removed, as the subprocess helpers do), and
an exception the CLI did not turn into an exit code is raised, not hidden behind exit 1. Whatever is about
the process itself (a closed pipe, stdin, the secrets a fresh process knows) stays a true subprocess test:
each entry point keeps at least one."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from typer.testing import CliRunner


def run_partnerkpi(
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """``partnerkpi ARGS`` in this process: its exit code, stdout and stderr."""
    from partnerkpi.cli.argv import global_options_first
    from partnerkpi.cli.core import app

    environment: dict[str, str | None] = {k: None for k in os.environ if k.startswith("PARTNERKPI_")}
    environment.update({"COLUMNS": "200", **(env or {})})
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        with contextlib.chdir(cwd or Path.cwd()):
            result = CliRunner().invoke(
                app, global_options_first(list(args)), env=environment, input=input, catch_exceptions=False
            )
    finally:  # the CLI's log handler wrote to the runner's stream, closed now
        root.handlers[:] = handlers
        root.setLevel(level)
    return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, result.stderr)
