"""``partnerkpi demo`` (what ``make demo`` runs): the sandbox, the real connectors, a scorecard, and a second
sync that writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def demo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "partnerkpi", "demo", "--workdir", str(tmp_path / "demo"), *args],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_demo_on_the_sandbox_syncs_then_rewrites_nothing(tmp_path: Path) -> None:
    proc = demo(tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "sandbox: salesforce" in out
    assert "salesforce-sandbox · last 90 days" in out  # the scorecard
    assert "sync 1 · salesforce-sandbox: pulled 19,943 opportunities" in out
    assert "wrote 400 field(s) on 40 partner record(s)" in out
    assert (
        "sync 2 · salesforce-sandbox: pulled 0 changed opportunities, 0 field(s) to write, 0 written" in out
    )
    assert "Traceback" not in proc.stderr
    # The demo's state store is private to its owner.
    assert (tmp_path / "demo" / "state.sqlite").stat().st_mode & 0o777 == 0o600


def test_demo_on_the_bundled_export(tmp_path: Path) -> None:
    proc = demo(tmp_path, "--source", "file")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "sync 1 · sample-export: pulled 2,000 opportunities" in proc.stdout
    assert "0 field(s) to write, 0 written" in proc.stdout
