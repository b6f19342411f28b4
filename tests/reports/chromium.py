"""Headless Chromium for the HTML report's tests and for docs/img/scorecard.png.

Debian's ``chromium`` package (the Makefile's test target installs it when missing). The browser runs
with no network at all: every host name resolves to nothing, so a page that needed the network would
render without it and the DOM assertions would catch it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

TIMEOUT_S = 120
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)


class ChromiumMissing(RuntimeError):
    pass


def executable() -> str:
    """``$CHROMIUM``, else chromium on the PATH, else /usr/bin/chromium."""
    for candidate in (os.environ.get("CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    raise ChromiumMissing("headless Chromium is needed: apt-get update && apt-get install -y chromium")


def _run(page: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        return subprocess.run(
            [executable(), *FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=True,
        )


def dump_dom(page: Path) -> str:
    """The page's DOM after loading, serialized by the browser."""
    return _run(page, "--dump-dom").stdout


def screenshot(page: Path, png: Path, width: int = 1280, height: int = 2000) -> Path:
    _run(page, f"--screenshot={png.resolve()}", f"--window-size={width},{height}")
    if not png.exists():
        raise RuntimeError(f"Chromium wrote no screenshot to {png}")
    return png


def png_size(png: Path) -> tuple[int, int]:
    """(width, height) from the PNG header."""
    head = png.read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{png} is not a PNG")
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
