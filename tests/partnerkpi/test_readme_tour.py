"""The README's tour runs as written: its shell block, command by command, in a fresh home directory
against a fresh sandbox, each command exiting 0 as the README says. The README cannot drift from the
product. (The only thing the test sets is the sandbox's port, through PARTNERKPI_SANDBOX_PORT, so that it
never collides with a sandbox a developer has running.)"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def tour_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## A five-minute tour") :]
    section = section[: section.index("\n## ", 1)]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert len(blocks) == 2, "the tour has an activation block and the tour block"
    commands = []
    for line in blocks[1].splitlines():
        command = re.sub(r"\s+#.*$", "", line).strip()
        if command:
            commands.append(command)
    return commands


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_tour_block_covers_the_operators_path() -> None:
    commands = tour_commands()
    assert commands[1].startswith("partnerkpi sandbox serve --config-out partnerkpi.yaml --background")
    for step in ("config validate", "provision", "check", "pull", "report", "plan", "sync --dry-run", "sync"):
        assert f"partnerkpi {step}" in commands
    assert commands[-1] == "partnerkpi sandbox stop"


@pytest.mark.slow
def test_the_readme_tour_runs_as_written(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARTNERKPI_")}
    env["HOME"] = str(tmp_path)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PARTNERKPI_SANDBOX_PORT"] = str(free_port())
    env["COLUMNS"] = "120"
    cwd = tmp_path
    commands = tour_commands()
    try:
        for command in commands:
            if command.startswith("mkdir -p ~/partnerkpi-tour && cd ~/partnerkpi-tour"):
                cwd = tmp_path / "partnerkpi-tour"
            done = subprocess.run(
                ["bash", "-c", command],
                cwd=tmp_path if "cd ~" in command else cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert done.returncode == 0, (
                f"`{command}` exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
            )
            if command == "partnerkpi sync" and commands.count(command) == 2:
                last_sync = done.stdout + done.stderr
        assert "salesforce" in last_sync and "hubspot" in last_sync
        assert [n for n in re.findall(r"wrote ([\d,]+) field", last_sync) if n != "0"] == []
        assert (cwd / "scorecard.html").stat().st_size > 10_000
    finally:
        subprocess.run(
            ["bash", "-c", "partnerkpi sandbox stop"], cwd=cwd, env=env, capture_output=True, check=False
        )
