"""`runs --format json` and `report --history ... --format json` honour the format: one JSON document on
stdout that a script can parse, with nothing else mixed in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.maven_cli import cli, write_config

AGENT = "Darcel Schlecht"


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("json")
    write_config(work, periods=("last_365_days", "quarter_to_date"))
    for day in ("2017-12-30", "2017-12-31"):
        done = cli(work, "sync", "--as-of", day)
        assert done.returncode == 0, done.stderr
    return work


def test_runs_as_json_lists_each_run_with_its_status_counts_and_times(synced: Path) -> None:
    done = cli(synced, "runs", "--format", "json")
    assert done.returncode == 0, done.stderr
    runs = json.loads(done.stdout)["runs"]
    assert [r["command"] for r in runs] == ["sync", "sync"]
    assert {r["status"] for r in runs} == {"ok"}
    assert runs[-1]["counts"]["pulled"] == 8_800
    assert runs[0]["id"] > runs[1]["id"]  # newest first
    assert runs[0]["started_at"].endswith("+00:00") and runs[0]["ended_at"] >= runs[0]["started_at"]


def test_report_history_as_json_gives_every_stored_snapshot_of_the_partner(synced: Path) -> None:
    done = cli(synced, "report", "--history", AGENT, "--format", "json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["partner_id"] == AGENT
    (maven,) = document["connectors"]
    points = maven["points"]
    assert sorted({p["as_of"] for p in points}) == ["2017-12-30", "2017-12-31"]
    assert {p["period"] for p in points} == {"last_365_days", "quarter_to_date"}
    assert all(isinstance(p["deal_count"], int) for p in points)


def test_report_history_with_one_period_as_json_keeps_only_that_period(synced: Path) -> None:
    done = cli(synced, "report", "--history", AGENT, "--period", "quarter_to_date", "--format", "json")
    points = json.loads(done.stdout)["connectors"][0]["points"]
    assert points and {p["period"] for p in points} == {"quarter_to_date"}


def test_report_history_in_csv_is_a_usage_error(synced: Path) -> None:
    done = cli(synced, "report", "--history", AGENT, "--format", "csv")
    assert done.returncode == 2
    assert "table or json" in done.stderr
