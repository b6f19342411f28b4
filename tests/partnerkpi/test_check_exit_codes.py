"""`partnerkpi check` exits as the README's table says: 3 when credentials are refused or the CRM cannot be
reached (what `sync` would exit), 1 for what an operator fixes in the CRM (fields not provisioned), 0 when
everything is in place."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Workdir:
    """A folder with a background sandbox's config, on its own port."""

    path: Path
    port: int

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PYTHONPATH": str(REPO), "PARTNERKPI_SANDBOX_PORT": str(self.port)}
        return subprocess.run(
            [sys.executable, "-m", "partnerkpi", *args], cwd=self.path, env=env, capture_output=True,
            text=True, timeout=180, check=False,
        )  # fmt: skip

    def secret(self, name: str) -> Path:
        return self.path / ".partnerkpi-sandbox" / "secrets" / name


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Workdir]:
    work = Workdir(tmp_path, free_port())
    started = work.run("sandbox", "serve", "--config-out", "partnerkpi.yaml", "--background",
                       "--partners", "4", "--opportunities", "100")  # fmt: skip
    assert started.returncode == 0, started.stderr
    try:
        yield work
    finally:
        work.run("sandbox", "stop")


def test_check_exits_1_while_the_kpi_fields_are_not_provisioned_and_0_once_they_are(workdir: Workdir) -> None:
    missing = workdir.run("check")
    assert missing.returncode == 1, missing.stdout + missing.stderr
    assert "partnerkpi provision" in missing.stdout
    assert workdir.run("provision").returncode == 0
    ready = workdir.run("check")
    assert ready.returncode == 0, ready.stdout + ready.stderr


@pytest.mark.parametrize("secret", ["salesforce_password", "hubspot_token"])
def test_check_exits_3_when_the_crm_refuses_the_credentials(workdir: Workdir, secret: str) -> None:
    workdir.secret(secret).write_text("not-the-secret")
    refused = workdir.run("check", "--connector", secret.split("_")[0])
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "credentials" in refused.stdout and "Traceback" not in refused.stderr


def test_check_exits_3_when_the_crm_cannot_be_reached(workdir: Workdir) -> None:
    assert workdir.run("sandbox", "stop").returncode == 0
    unreachable = workdir.run("check", "--connector", "hubspot")
    assert unreachable.returncode == 3, unreachable.stdout + unreachable.stderr
    assert "cannot reach" in unreachable.stdout


def test_a_refused_credential_outranks_a_missing_field_in_a_two_connector_check(workdir: Workdir) -> None:
    workdir.secret("salesforce_password").write_text("not-the-secret")
    both = workdir.run("check")  # salesforce refused (3), hubspot's fields missing (1)
    assert both.returncode == 3, both.stdout + both.stderr
