"""Enumerated options show their choices in --help, and a value outside them is a usage error (exit 2)
naming the option, before anything runs."""

from __future__ import annotations

import subprocess

import pytest

from tests.cli_in_process import run_partnerkpi


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in this process (the options' parsing is what is tested)."""
    return run_partnerkpi(args, env={"COLUMNS": "120", "NO_COLOR": "1"})


@pytest.mark.parametrize(
    ("command", "option", "choices"),
    [
        ((), "--log-format", "text|json"),
        (("report",), "--format", "table|json|csv|html"),
        (("plan",), "--format", "table|json"),
        (("demo",), "--source", "sandbox|file"),
    ],
)
def test_help_shows_the_choices_of_each_enumerated_option(
    command: tuple[str, ...], option: str, choices: str
) -> None:
    shown = cli(*command, "--help")
    assert shown.returncode == 0
    line = next(line for line in shown.stdout.splitlines() if option in line)
    assert f"<{choices}>" in line


@pytest.mark.parametrize(
    ("args", "option"),
    [(("--log-format", "xml", "runs"), "--log-format"), (("report", "--format", "xml"), "--format")],
)
def test_a_value_outside_the_choices_is_a_usage_error_naming_the_option(
    args: tuple[str, ...], option: str
) -> None:
    refused = cli(*args)
    assert refused.returncode == 2
    assert f"Invalid value for '{option}'" in refused.stderr
