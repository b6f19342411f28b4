"""``partnerkpi --help`` lists the commands in their reading order: the job and its tools, then the demo,
then the groups. The command modules register them on import, in partnerkpi.cli.COMMAND_MODULES' order."""

from __future__ import annotations

from tests.cli_in_process import run_partnerkpi

ORDER = [
    "sync",
    "pull",
    "plan",
    "report",
    "provision",
    "check",
    "connectors",
    "demo",
    "config",
    "runs",
    "sandbox",
    "state",
]


def test_help_lists_the_commands_in_their_order() -> None:
    shown = run_partnerkpi(["--help"], env={"COLUMNS": "120", "NO_COLOR": "1"})
    assert shown.returncode == 0
    panel = shown.stdout.split("─ Commands ─", 1)[1].split("╰", 1)[0].splitlines()[1:]
    assert [row.split()[1] for row in panel if row[2:3].strip()] == ORDER
