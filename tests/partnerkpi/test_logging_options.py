"""The YAML `logging:` section is honoured, the command-line flags override it, and the global options
may also be given after the command (`partnerkpi pull --log-format json`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from partnerkpi.cli.argv import global_options_first
from tests.maven_cli import cli, write_config


def workdir(tmp_path: Path, logging: str) -> Path:
    write_config(tmp_path, extra=f"logging: {logging}\n")
    return tmp_path


def log_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def test_the_yaml_logging_format_json_makes_every_log_line_json(tmp_path: Path) -> None:
    done = cli(workdir(tmp_path, "{format: json}"), "pull")
    assert done.returncode == 0, done.stderr
    lines = log_lines(done.stderr)
    assert lines
    for line in lines:
        assert isinstance(json.loads(line), dict), line


def test_the_flag_overrides_the_yaml_logging_format(tmp_path: Path) -> None:
    done = cli(workdir(tmp_path, "{format: json}"), "--log-format", "text", "pull")
    assert done.returncode == 0, done.stderr
    lines = log_lines(done.stderr)
    assert lines and not any(line.startswith("{") for line in lines)


def test_the_yaml_logging_level_warning_hides_info_lines(tmp_path: Path) -> None:
    done = cli(workdir(tmp_path, "{level: warning}"), "pull")
    assert done.returncode == 0, done.stderr
    assert " INFO " not in done.stderr
    chatty = cli(tmp_path, "--verbose", "pull")  # a flag given wins over the YAML
    assert " DEBUG " in chatty.stderr or " INFO " in chatty.stderr


def test_global_options_are_accepted_after_the_command(tmp_path: Path) -> None:
    (tmp_path / "w").mkdir()
    work = workdir(tmp_path / "w", "{format: text}")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = cli(elsewhere, "pull", "--config", str(work / "partnerkpi.yaml"), "--log-format", "json")
    assert done.returncode == 0, done.stderr
    assert all(isinstance(json.loads(line), dict) for line in log_lines(done.stderr))
    quiet = cli(elsewhere, "runs", "-q", "-c", str(work / "partnerkpi.yaml"))
    assert quiet.returncode == 0, quiet.stderr
    assert "pull" in quiet.stdout


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["sync", "--log-format", "json"], ["--log-format", "json", "sync"]),
        (["report", "--config=x.yaml", "--format", "csv"], ["--config=x.yaml", "report", "--format", "csv"]),
        (["-q", "runs", "show", "3", "-v"], ["-q", "-v", "runs", "show", "3"]),
        (["report", "--", "-v"], ["report", "--", "-v"]),
    ],
)
def test_global_options_move_before_the_command_and_nothing_after_a_double_dash(
    argv: list[str], expected: list[str]
) -> None:
    assert global_options_first(argv) == expected
