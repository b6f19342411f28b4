"""``partnerkpi-scheduled``: the CLI for schedulers that know only "0 is success" (cron, a Kubernetes Job,
a container platform).

Exit 4 means every connector that was to run found its lock held by another run: that run does the work,
so for such a scheduler this is success, not a failure to retry or alert on. Every other exit code passes
through unchanged (docs/scheduling.md has the table)."""

from __future__ import annotations

import sys

from partnerkpi.pipeline import ExitCode

ExitStatus = str | int | None
"""What SystemExit carries."""


def scheduler_exit_code(code: ExitStatus) -> ExitStatus:
    """The exit code a "0 is success" scheduler should see for ``code`` (SystemExit's code)."""
    return 0 if code == ExitCode.LOCKED else code


def main() -> None:
    from partnerkpi.cli.argv import global_options_first
    from partnerkpi.cli.core import app

    try:
        app(args=global_options_first(sys.argv[1:]), standalone_mode=True, prog_name="partnerkpi")
    except SystemExit as exc:
        sys.exit(scheduler_exit_code(exc.code))


if __name__ == "__main__":
    main()
