"""``partnerkpi sandbox serve`` as an operator runs it: a busy port is a usage error that leaves nothing
behind, SIGTERM stops it as Ctrl-C does (its temporary directory removed), and the background form
writes a complete config that stays valid across a restart."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
SMALL = ["--partners", "3", "--opportunities", "50"]


def cli(
    *args: str, cwd: Path, env_extra: dict[str, str] | None = None, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), **(env_extra or {})}
    env.pop("PARTNERKPI_SANDBOX_PORT", None)
    return subprocess.run(
        [sys.executable, "-m", "partnerkpi", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )


def test_serve_on_a_busy_port_is_a_usage_error_and_leaves_no_temp_dir(tmp_path: Path) -> None:
    private_tmp = tmp_path / "tmp"  # its own TMPDIR: other processes' sandboxes cannot blur the count
    private_tmp.mkdir()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = cli(
            "sandbox",
            "serve",
            "--port",
            str(port),
            *SMALL,
            cwd=tmp_path,
            env_extra={"TMPDIR": str(private_tmp)},
        )
    assert done.returncode == 2
    assert f"port {port}" in done.stderr and "--port" in done.stderr
    assert "Traceback" not in done.stderr
    assert list(private_tmp.iterdir()) == []


def test_sigterm_stops_serve_cleanly_and_removes_its_temp_dir(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "partnerkpi", "sandbox", "serve", "--port", "0", *SMALL],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("admin API"):
                break
        ca = Path(lines[1].split(": ", 1)[1].strip())
        assert ca.is_file()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert not ca.parent.exists()
        assert "Traceback" not in (proc.stderr.read() if proc.stderr else "")
    finally:
        if proc.poll() is None:
            proc.kill()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_background_sandbox_config_stays_valid_across_a_restart(tmp_path: Path) -> None:
    port = str(free_port())
    args = ("sandbox", "serve", "--port", port, *SMALL, "--config-out", "partnerkpi.yaml", "--background")
    try:
        started = cli(*args, cwd=tmp_path)
        assert started.returncode == 0, started.stderr
        assert "partnerkpi sandbox stop" in started.stdout
        assert cli("sandbox", "serve", *args[2:], cwd=tmp_path).returncode == 2  # one at a time
        assert cli("check", cwd=tmp_path).returncode in (0, 1)  # 1: fields not provisioned yet
        assert cli("provision", cwd=tmp_path).returncode == 0
        config_before = (tmp_path / "partnerkpi.yaml").read_text()
        assert cli("sandbox", "stop", cwd=tmp_path).returncode == 0
        restarted = cli(*args, cwd=tmp_path)
        assert restarted.returncode == 0, restarted.stderr
        assert (tmp_path / "partnerkpi.yaml").read_text() == config_before
        ca = tmp_path / ".partnerkpi-sandbox" / "sandbox-ca.pem"
        session = requests.Session()
        session.trust_env = False
        session.verify = str(ca)
        assert session.get(f"https://127.0.0.1:{port}/services/data/", timeout=10).status_code == 200
        assert cli("pull", cwd=tmp_path).returncode == 0
    finally:
        cli("sandbox", "stop", cwd=tmp_path)
    assert cli("sandbox", "stop", cwd=tmp_path).returncode == 2  # nothing left to stop
