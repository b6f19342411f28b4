"""A reader that closes the pipe early (`partnerkpi report --format csv | head`) has read what it wanted:
the command ends quietly, with exit 0 and nothing on stderr, never "internal error: BrokenPipeError"."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.maven_cli import REPO, write_config


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "partnerkpi", *args]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


@pytest.fixture(scope="module")
def pulled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("pipe")
    write_config(work, periods=("last_365_days", "last_90_days", "quarter_to_date"))
    done = subprocess.run(command("pull"), cwd=work, env=env(), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return work


@pytest.mark.parametrize(
    "args",
    [
        ("report", "--format", "csv", "--as-of", "2017-12-31"),
        ("report", "--format", "json", "--as-of", "2017-12-31"),
    ],
)
def test_a_closed_pipe_ends_the_command_quietly_with_exit_0(pulled: Path, args: tuple[str, ...]) -> None:
    proc = subprocess.Popen(
        command(*args), cwd=pulled, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # `| head -1`
    assert first
    code = proc.wait(timeout=120)
    stderr = proc.stderr.read().decode()
    assert code == 0, stderr
    assert stderr == ""


def test_the_report_is_larger_than_a_pipe_buffer_so_the_pipe_really_closes_early(pulled: Path) -> None:
    done = subprocess.run(
        command("report", "--format", "csv", "--as-of", "2017-12-31"), cwd=pulled, env=env(),
        capture_output=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0
    assert len(done.stdout) > 4 * 65_536
