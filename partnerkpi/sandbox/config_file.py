"""The config ``partnerkpi sandbox serve`` writes: complete (connectors, ``kpi:`` and ``writeback:``, like
config.example.yaml), with the secrets in files beside it (never in the YAML) and the CA at a stable
path, so that restarting the sandbox on the same port never stales the config: the credentials are the
sandbox's fixed test ones, and a restart rewrites the CA and the secret files in place."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from partnerkpi.sandbox.core import Sandbox

SANDBOX_DIR = ".partnerkpi-sandbox"
"""Beside the config: the sandbox's CA and secret files (kept across restarts)."""

SECRET_KEYS = {"password", "security_token", "token", "client_secret", "refresh_token", "consumer_secret"}
"""Auth keys whose values go to files (``<key>_file:`` in the YAML)."""

HEADER = (
    "# Written by `partnerkpi sandbox serve`: a complete config that reads the sandbox on 127.0.0.1.\n"
    "# The secrets are the sandbox's test credentials, in files under {secrets}; nothing here is secret.\n"
)


def sandbox_dir_for(config_path: Path) -> Path:
    return config_path.resolve().parent / SANDBOX_DIR


def write_secret(path: Path, value: str) -> None:
    """A secret file readable by its owner only, written in place (the config names its path)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value)
    path.chmod(0o600)


def with_secret_files(connector: dict[str, Any], secrets: Path, base: Path) -> dict[str, Any]:
    """``connector`` with each secret of its ``auth`` moved into a file under ``secrets``."""
    auth = dict(connector.get("auth", {}))
    for key in sorted(SECRET_KEYS & set(auth)):
        path = secrets / f"{connector['name']}_{key}"
        write_secret(path, str(auth.pop(key)))
        auth[f"{key}_file"] = relative_to(path, base)
    return {**connector, "auth": auth}


def relative_to(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)


def complete_config(sandbox: Sandbox, config_path: Path) -> dict[str, Any]:
    """The whole config for the running sandbox, as ``config_path`` will hold it."""
    from partnerkpi.demo import demo_config
    from partnerkpi.sandbox.app import config_snippet

    assert sandbox.state_dir is not None and sandbox.ca_path is not None
    base = config_path.resolve().parent
    secrets = sandbox.state_dir / "secrets"
    connectors = []
    for connector in config_snippet(sandbox)["connectors"]:
        connector = with_secret_files(connector, secrets, base)
        connector["ca_bundle"] = relative_to(sandbox.ca_path, base)
        connectors.append(connector)
    config = demo_config(base, connectors)  # the demo's kpi and writeback sections, one home
    return {
        **config,
        "state": {"url": "sqlite:///.partnerkpi/state.sqlite"},  # beside the config, wherever it moves
        "logging": {"level": "info", "format": "text"},
    }


def write_complete_config(sandbox: Sandbox, config_path: Path) -> Path:
    assert sandbox.state_dir is not None
    config = complete_config(sandbox, config_path)
    header = HEADER.format(secrets=relative_to(sandbox.state_dir / "secrets", config_path.resolve().parent))
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(header + yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return config_path
