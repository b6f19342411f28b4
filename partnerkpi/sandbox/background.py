"""``partnerkpi sandbox serve --background`` and ``partnerkpi sandbox stop``: the sandbox as a background
process that the README's tour (and a newcomer's shell) can start, use and stop by copy and paste.

The child is the same ``sandbox serve`` command in its own session; the parent returns once the child
serves (or has failed, with the child's exit code and its last lines). The child's pid and log live in
the sandbox directory beside the config (``.partnerkpi-sandbox/``)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

READY = "sandbox serving at"
PID_FILE = "serve.pid"
LOG_FILE = "serve.log"


class BackgroundError(RuntimeError):
    """The background sandbox did not start, or there is none to stop (``exit_code`` says which)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def start(arguments: Sequence[str], directory: Path, timeout: float = 120.0) -> str:
    """Run ``partnerkpi sandbox serve ARGUMENTS`` in the background; the lines it printed once serving."""
    directory.mkdir(parents=True, exist_ok=True)
    running = running_pid(directory)
    if running is not None:
        raise BackgroundError(
            f"a sandbox already runs in the background (pid {running}); `partnerkpi sandbox stop`", 2
        )
    log_path = directory / LOG_FILE
    with log_path.open("w", encoding="utf-8") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "partnerkpi", "sandbox", "serve", *arguments],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log_path.read_text(encoding="utf-8", errors="replace")
        if READY in text and "press Ctrl-C" in text:
            (directory / PID_FILE).write_text(str(child.pid), encoding="utf-8")
            return text.replace(
                "press Ctrl-C to stop", f"stop it with `partnerkpi sandbox stop` (pid {child.pid})"
            )
        code = child.poll()
        if code is not None:
            raise BackgroundError(
                text.strip().splitlines()[-1] if text.strip() else "the sandbox exited", code or 1
            )
        time.sleep(0.1)
    child.terminate()
    raise BackgroundError(f"the sandbox did not start within {timeout:.0f} s (log: {log_path})", 1)


def running_pid(directory: Path) -> int | None:
    """The pid of the background sandbox of ``directory``, when it still runs."""
    try:
        pid = int((directory / PID_FILE).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def stop(directory: Path, timeout: float = 15.0) -> int:
    """Stop the background sandbox of ``directory`` (SIGTERM, as Ctrl-C); its pid."""
    pid = running_pid(directory)
    if pid is None:
        with contextlib.suppress(OSError):
            (directory / PID_FILE).unlink()
        raise BackgroundError(f"no sandbox runs in the background for {directory}", 2)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        (directory / PID_FILE).unlink()
    return pid


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
