"""The third-party clients of the conformance suite and their cached virtual environments.

Each client gets a venv of its own, built from its pinned requirements file
(``tests/conformance/requirements/<client>.txt``) under
``${PARTNERKPI_CONFORMANCE_CACHE:-~/.cache/partnerkpi/conformance}/<client>-<hash of requirements>``.
A build happens in a temporary directory beside it and is renamed into place only once pip succeeded,
so a killed build never leaves a half venv (venv scripts carry an absolute shebang, which is why the
harness always runs ``<venv>/bin/python <venv>/bin/<script>`` rather than the script itself).

``python -m tests.conformance.clients [client ...]`` builds the missing ones (``make conformance-clients``);
``--lock client ...`` rewrites a requirements file as the full pinned set of its built venv.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements"
BASE_PYTHON = os.environ.get("PARTNERKPI_CONFORMANCE_PYTHON", "python3")
"""The interpreter the venvs are made from (3.11: every pinned client supports it)."""


@dataclass(frozen=True)
class Client:
    name: str
    script: str
    """The console script the client's own docs tell users to run (``tap-salesforce``, ``source-hubspot``);
    ``python`` for dlt, whose pipelines are Python programs."""

    @property
    def requirements(self) -> Path:
        return REQUIREMENTS / f"{self.name}.txt"

    def digest(self) -> str:
        text = self.requirements.read_bytes() + BASE_PYTHON.encode()
        return hashlib.sha256(text).hexdigest()[:12]

    @property
    def venv(self) -> Path:
        return cache_dir() / f"{self.name}-{self.digest()}"

    def python(self) -> str:
        """The venv's interpreter; fails clearly (never skips) when the venv is not built."""
        python = self.venv / "bin" / "python"
        if not python.exists():
            raise MissingClient(
                f"conformance client {self.name!r} has no venv at {self.venv}: "
                f"run `make conformance-clients` (or `python -m tests.conformance.clients {self.name}`)"
            )
        return str(python)

    def command(self) -> list[str]:
        """argv prefix that runs the client's CLI in its venv."""
        python = self.python()
        if self.script == "python":
            return [python]
        return [python, str(self.venv / "bin" / self.script)]


class MissingClient(RuntimeError):
    """A client's venv is not built: the test fails with this message (never skips)."""


CLIENTS: dict[str, Client] = {
    c.name: c
    for c in (
        Client("tap-salesforce", "tap-salesforce"),
        Client("tap-hubspot", "tap-hubspot"),
        Client("airbyte-source-salesforce", "source-salesforce"),
        Client("airbyte-source-hubspot", "source-hubspot"),
        Client("dlt", "python"),
    )
}


def cache_dir() -> Path:
    default = Path.home() / ".cache" / "partnerkpi" / "conformance"
    return Path(os.environ.get("PARTNERKPI_CONFORMANCE_CACHE") or default).expanduser()


def build(client: Client, out: object = sys.stderr) -> Path:
    """The client's venv, built atomically when missing (temp dir + rename)."""
    target = client.venv
    if (target / "bin" / "python").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        print(f"building {client.name} venv in {target}", file=out)  # type: ignore[call-overload]
        # No pip inside the venv (ensurepip is the slow part): the base interpreter's pip installs into it.
        subprocess.run([BASE_PYTHON, "-m", "venv", "--without-pip", str(temp)], check=True)
        pip = [BASE_PYTHON, "-m", "pip", "--python", str(temp / "bin" / "python"), "install", "--quiet"]
        pip.append("--disable-pip-version-check")
        subprocess.run([*pip, "-r", str(client.requirements)], check=True)
        try:
            temp.rename(target)
        except OSError:  # another build won the race: keep its venv
            if not (target / "bin" / "python").exists():
                raise
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    for stale in _builds(client):  # older pins of this client
        if stale != target:
            shutil.rmtree(stale, ignore_errors=True)
    return target


def lock(client: Client) -> Path:
    """Rewrite the client's requirements file as the full pinned set its built venv holds (``pip freeze``),
    keeping the comment lines on top (the top-level pin the set was resolved from), and move the venv to
    its new hash. For a maintainer raising a pin: edit the top-level line, build, then lock."""
    built = client.venv
    if not built.exists():  # the top-level line was just edited: the venv built before has another hash
        others = _builds(client)
        if len(others) != 1:
            raise MissingClient(f"build {client.name} before locking it (found {len(others)} venvs)")
        built = others[0]
    frozen = subprocess.run(
        [BASE_PYTHON, "-m", "pip", "--python", str(built / "bin" / "python"), "freeze", "--all"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    keep = [line for line in frozen if line.split("==")[0].lower() not in ("pip", "setuptools", "wheel")]
    header = [line for line in client.requirements.read_text().splitlines() if line.startswith("#")]
    client.requirements.write_text("\n".join([*header, *sorted(keep, key=str.lower)]) + "\n")
    if client.venv != built and not client.venv.exists():
        built.rename(client.venv)
    return client.requirements


def _builds(client: Client) -> list[Path]:
    """Every finished venv of this client in the cache, whatever its requirements hash."""
    pattern = re.compile(rf"{re.escape(client.name)}-[0-9a-f]{{12}}")
    return [d for d in cache_dir().glob(f"{client.name}-*") if pattern.fullmatch(d.name)]


def main(argv: list[str]) -> int:
    if argv[:1] == ["--lock"]:
        for name in argv[1:]:
            print(lock(CLIENTS[name]))
        return 0
    names = argv or list(CLIENTS)
    unknown = [n for n in names if n not in CLIENTS]
    if unknown:
        print(f"unknown client(s): {', '.join(unknown)}; known: {', '.join(CLIENTS)}", file=sys.stderr)
        return 2
    for name in names:
        try:
            build(CLIENTS[name])
        except subprocess.CalledProcessError as exc:
            print(f"building the {name} venv failed: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
