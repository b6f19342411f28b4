"""JSON log lines say which connector and run they belong to; each connector run ends with one summary
event; in JSON mode the run summary goes to the log as events, never to stdout as plain text."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from connectors.lookahead import read_ahead
from partnerkpi.logs import log_context, setup_logging
from tests.maven_cli import MAVEN, cli, connector_yaml, write_config

ROWS = 300  # the rules do not depend on size: a slice of the Maven sample keeps the runs quick


def json_lines(stderr: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.splitlines() if line.strip()]


def events(lines: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("event") == name]


def two_connectors(tmp_path: Path) -> Path:
    sample = tmp_path / "sample.csv"
    sample.write_text("".join(MAVEN.read_text(encoding="utf-8").splitlines(True)[: ROWS + 1]), "utf-8")
    write_config(tmp_path, connectors=connector_yaml("east", sample) + connector_yaml("west", sample))
    return tmp_path


@pytest.fixture(scope="module")
def json_sync(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The log of one ``sync --log-format json`` over two connectors (read by several rules)."""
    done = cli(two_connectors(tmp_path_factory.mktemp("sync")), "sync", "--log-format", "json")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
    return json_lines(done.stderr)


def test_every_log_line_of_a_connector_run_carries_its_run_id_and_connector(
    json_sync: list[dict[str, Any]],
) -> None:
    lines = json_sync
    pulls = [line for line in lines if ": pull:" in line["message"]]
    assert {line["connector"] for line in pulls} == {"east", "west"}
    ids = {line["connector"]: line["run_id"] for line in pulls}
    assert ids["east"] != ids["west"] and all(isinstance(i, int) for i in ids.values())
    for line in lines:  # a line that names a connector is labelled with that connector's run
        if line["message"].startswith(("east:", "west:")):
            name = line["message"].split(":", 1)[0]
            assert line["connector"] == name and line["run_id"] == ids[name], line


def test_each_connector_run_ends_with_one_summary_event(json_sync: list[dict[str, Any]]) -> None:
    lines = json_sync
    finished = events(lines, "connector_run_finished")
    assert [e["connector"] for e in finished] == ["east", "west"]
    for event in finished:
        assert event["status"] == "ok" and event["exit_code"] == 0 and event["command"] == "sync"
        assert event["counts"]["pulled"] == ROWS and isinstance(event["run_id"], int)
        assert event["duration_s"] >= 0
    # the connector's summary is its run's last line; the command's own event closes the log
    last_of_east = max(i for i, line in enumerate(lines) if line.get("connector") == "east")
    assert lines[last_of_east].get("event") == "connector_run_finished"
    (command,) = events(lines, "command_finished")
    assert lines[-1] == command
    assert command["exit_code"] == 0
    assert [c["connector"] for c in command["connectors"]] == ["east", "west"]


def test_a_failed_run_ends_with_its_summary_event_naming_the_error_and_exit_code(tmp_path: Path) -> None:
    write_config(tmp_path, connectors=connector_yaml("gone", path=tmp_path / "missing.csv"))
    done = cli(tmp_path, "sync", "--log-format", "json")
    assert done.returncode != 0
    (event,) = events(json_lines(done.stderr), "connector_run_finished")
    assert event["status"] == "failed" and event["exit_code"] == done.returncode
    assert "missing.csv" in event["error"]


def test_in_json_mode_the_run_summary_never_goes_to_stdout_as_text(tmp_path: Path) -> None:
    work = two_connectors(tmp_path)
    text = cli(work, "sync")
    assert "run 1 · east" in text.stdout and "exit 0" in text.stdout  # for people, on stdout
    as_json = cli(work, "sync", "--log-format", "json")
    assert as_json.returncode == 0, as_json.stderr
    assert as_json.stdout.strip() == ""
    pulled = cli(work, "pull", "--log-format", "json")
    assert pulled.returncode == 0, pulled.stderr
    assert pulled.stdout.strip() == ""
    assert len(events(json_lines(pulled.stderr), "connector_run_finished")) == 2


def test_in_text_mode_the_summary_event_is_a_debug_line_beside_the_stdout_summary(tmp_path: Path) -> None:
    work = two_connectors(tmp_path)
    plain = cli(work, "sync")
    assert "sync ok (exit 0)" not in plain.stderr  # not said twice
    chatty = cli(work, "--verbose", "sync")
    assert "east: sync ok (exit 0)" in chatty.stderr


def test_lines_logged_by_a_lookahead_worker_carry_the_callers_log_context(
    capsys: pytest.CaptureFixture[str],
) -> None:
    setup_logging("info", "json")
    worker_log = logging.getLogger("connectors.test")

    def first() -> int:
        worker_log.warning("fetched in the worker thread")
        return 1

    with log_context(connector="crm", run_id=7):
        assert list(read_ahead(first, lambda page: None)) == [1]
    (line,) = [json.loads(x) for x in capsys.readouterr().err.splitlines() if "worker thread" in x]
    assert line["connector"] == "crm" and line["run_id"] == 7
    logging.getLogger().handlers.clear()
