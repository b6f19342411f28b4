"""`partnerkpi sync --results FILE` writes what each connector did as one JSON document (like dbt's
run_results.json): per connector its status, exit code, counts and duration, and the sync's exit code,
written whole (never half a file)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.maven_cli import cli, connector_yaml, write_config


def test_the_results_file_has_each_connectors_status_exit_code_counts_and_duration(tmp_path: Path) -> None:
    write_config(tmp_path, connector_yaml("good") + connector_yaml("gone", tmp_path / "x.csv"))
    done = cli(tmp_path, "sync", "--as-of", "2017-12-31", "--results", "out/run_results.json")
    document = json.loads((tmp_path / "out" / "run_results.json").read_text())
    assert document["schema_version"] == 1
    assert document["command"] == "sync"
    assert document["exit_code"] == done.returncode == 1
    assert document["exit_meaning"]
    good, gone = document["results"]
    assert (good["connector"], good["status"], good["exit_code"]) == ("good", "ok", 0)
    assert good["counts"]["pulled"] == 8_800
    assert good["elapsed_seconds"] > 0 and good["run_id"] >= 1
    assert (gone["connector"], gone["status"], gone["exit_code"]) == ("gone", "failed", 1)
    assert "x.csv" in gone["message"]
    assert document["elapsed_seconds"] >= good["elapsed_seconds"] + gone["elapsed_seconds"] - 0.01
    assert not list((tmp_path / "out").glob(".run_results.json.*"))  # no temporary file left
