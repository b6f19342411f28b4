"""Enumerated options show their choices in --help, and a value outside them is a usage error (exit 2)
naming the option, before anything runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "120", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "partnerkpi", *args], capture_output=True, text=True, env=env, check=False
    )


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
