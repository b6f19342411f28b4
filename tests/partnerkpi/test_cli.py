"""The command line as a scheduler sees it: exit codes, one-line errors, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "120", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "partnerkpi", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_version(tmp_path: Path) -> None:
    proc = run("--version", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.strip() == "partnerkpi 0.1.0"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "partnerkpi.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("version: 1\nkpi:\n  reporting_curency: EUR\n", "kpi.reporting_curency: unknown key"),
        ("version: 1\nkpi:\n  smoothing_k: lots\n", "kpi.smoothing_k:"),
        (
            "version: 1\nstate:\n  url: ${STATE_URL_UNSET_FOR_TEST}\n",
            "state.url: environment variable STATE_URL_UNSET_FOR_TEST is not set",
        ),
        ("version: 1\nkpi: [unclosed\n", "partnerkpi.yaml:"),
    ],
    ids=["misspelt-key", "wrong-type", "unset-var", "yaml-syntax"],
)
def test_config_errors_are_one_line_with_path_and_line_and_exit_2(
    tmp_path: Path, yaml_text: str, expected: str
) -> None:
    write(tmp_path, yaml_text)
    proc = run("config", "validate", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert expected in lines[0]
    assert "(partnerkpi.yaml:" in lines[0]
    assert "Traceback" not in proc.stderr


def test_misspelt_key_names_its_line(tmp_path: Path) -> None:
    write(tmp_path, "version: 1\nkpi:\n  periods: [last_90_days]\n  min_closd: 3\n")
    proc = run("sync", cwd=tmp_path)
    assert proc.returncode == 2
    assert "kpi.min_closd: unknown key" in proc.stderr and "(partnerkpi.yaml:4)" in proc.stderr


def test_missing_config_file_is_exit_2(tmp_path: Path) -> None:
    proc = run("--config", str(tmp_path / "nope.yaml"), "sync", cwd=tmp_path)
    assert proc.returncode == 2
    assert "nope.yaml" in proc.stderr and "Traceback" not in proc.stderr


def test_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    assert run("frobnicate", cwd=tmp_path).returncode == 2


def test_config_schema_is_json_schema(tmp_path: Path) -> None:
    import json

    proc = run("config", "schema", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    schema = json.loads(proc.stdout)
    assert "connectors" in schema["properties"] and "kpi" in schema["properties"]
