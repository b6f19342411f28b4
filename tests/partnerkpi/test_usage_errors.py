"""A user's mistake on the command line is a UsageError (partnerkpi/errors.py): one line, exit 2. A
KeyError is no longer read as one: from inside a command it is a bug, reported as unexpected (exit 1)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from partnerkpi.cli.core import guard
from partnerkpi.errors import UsageError
from partnerkpi.exit_codes import ExitCode, classified, exit_code_of
from partnerkpi.pipeline import connector_config
from tests.partnerkpi.test_multi_connector import file_config


def _exit_of(fn: object) -> int:
    with pytest.raises(typer.Exit) as caught:
        guard(fn)  # type: ignore[arg-type]
    return int(caught.value.exit_code)


def test_a_usage_error_is_classified_exit_2() -> None:
    assert exit_code_of(UsageError("no run with id 7")) is ExitCode.CONFIG
    assert classified(UsageError("x"))


def test_a_key_error_is_not_a_usage_error() -> None:
    assert exit_code_of(KeyError("Id")) is ExitCode.FAILED
    assert not classified(KeyError("Id"))


def test_the_cli_guard_prints_a_usage_error_as_its_message_with_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def mistake() -> None:
        raise UsageError("no run with id 7")

    assert _exit_of(mistake) == 2
    err = capsys.readouterr().err
    assert "error: no run with id 7" in err and "'" not in err  # the message, not a KeyError's repr


def test_the_cli_guard_reports_a_stray_key_error_as_unexpected_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def bug() -> None:
        raise KeyError("Id")

    assert _exit_of(bug) == 1
    assert "internal error: KeyError" in capsys.readouterr().err


def test_an_unknown_connector_name_is_a_usage_error_naming_the_known_ones(tmp_path: Path) -> None:
    app = file_config(tmp_path, ("crm",))  # a real AppConfig: the lookup is AppConfig.connector
    with pytest.raises(UsageError, match=r"^no connector named 'nope' in the config \(connectors: crm\)$"):
        connector_config(app, "nope")
