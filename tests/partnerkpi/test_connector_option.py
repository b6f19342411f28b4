"""`--connector` may be given several times: the commands run those connectors (in the config's order,
each once); an unknown name is a usage error (exit 2) naming it, before anything runs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from partnerkpi.config import load_config
from partnerkpi.state import StateStore
from tests.maven_cli import cli as run
from tests.maven_cli import connector_yaml, write_config


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path, "".join(connector_yaml(n) for n in ("east", "west", "north")))


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run(config.parent, "--config", str(config), *args)


def pulled(config: Path) -> list[str]:
    store = StateStore.open(load_config(config).state.url)
    try:
        return [r.connector for r in reversed(store.runs(limit=10))]
    finally:
        store.close()


def test_connector_given_twice_runs_both_in_the_configs_order_and_no_other(config: Path) -> None:
    done = cli(config, "pull", "--connector", "north", "--connector", "east", "--connector", "north")
    assert done.returncode == 0, done.stderr
    assert pulled(config) == ["east", "north"]


def test_an_unknown_connector_among_several_is_exit_2_naming_it_and_nothing_runs(config: Path) -> None:
    done = cli(config, "pull", "--connector", "east", "--connector", "south")
    assert done.returncode == 2
    assert "'south'" in done.stderr and "east, west, north" in done.stderr
    assert not (config.parent / "state.sqlite").exists() or pulled(config) == []
