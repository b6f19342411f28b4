"""`partnerkpi connectors` lists the connector types this installation can run: the built-ins with
partnerkpi's version, then every plugin of the `partnerkpi.connectors` entry-point group with its own
package and version; a plugin reusing a built-in's name is not listed (it is never used)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from connectors import registry
from partnerkpi import __version__

REPO = Path(__file__).resolve().parents[2]


def plugin_distribution(folder: Path) -> Path:
    """An installed distribution (as pip leaves one) declaring two connector entry points."""
    info = folder / "acme_partnerkpi-2.3.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-partnerkpi\nVersion: 2.3.1\n")
    (info / "entry_points.txt").write_text(
        "[partnerkpi.connectors]\nacme = acme_partnerkpi:AcmeConnector\nfile = acme_partnerkpi:Shadow\n"
    )
    return folder


def test_the_builtins_come_first_with_partnerkpis_version() -> None:
    builtins = [t for t in registry.installed() if t.builtin]
    assert [t.type_name for t in builtins] == ["file", "salesforce", "hubspot"]
    assert {t.version for t in builtins} == {__version__}


def test_a_plugin_is_listed_with_its_package_and_version_and_cannot_shadow_a_builtin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(plugin_distribution(tmp_path)))
    plugins = [t for t in registry.installed() if not t.builtin]
    assert [(t.type_name, t.package, t.version, t.target) for t in plugins] == [
        ("acme", "acme-partnerkpi", "2.3.1", "acme_partnerkpi:AcmeConnector")
    ]


def test_the_command_prints_the_list_as_json(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_distribution(tmp_path)), str(REPO)])}
    done = subprocess.run(
        [sys.executable, "-m", "partnerkpi", "connectors", "--format", "json"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["connector_types"]
    assert [r["type"] for r in rows] == ["file", "salesforce", "hubspot", "acme"]
    assert rows[-1] == {
        "type": "acme", "package": "acme-partnerkpi", "version": "2.3.1", "builtin": False,
        "target": "acme_partnerkpi:AcmeConnector",
    }  # fmt: skip
