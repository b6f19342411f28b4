"""``partnerkpi state reset`` and the state's line in ``partnerkpi check``."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from sqlalchemy.engine import make_url

from partnerkpi.config import AppConfig
from partnerkpi.errors import UsageError
from partnerkpi.exit_codes import exit_code_of
from partnerkpi.pipeline import ExitCode
from partnerkpi.state import StateError, StateStore
from partnerkpi.state.engine import sqlite_path


def run_state_reset(
    cfg: AppConfig,
    name: str,
    out: Console,
    *,
    yes: bool,
    interactive: bool,
    confirm: Callable[[str], bool],
    open_store: Callable[[AppConfig], StateStore],
) -> int:
    """Forget one connector's data (forget.FORGOTTEN; what ``partnerkpi state reset --help`` lists), under
    its lock, after a confirmation: asked on a terminal, ``--yes`` off one (a scheduler never resets by
    accident). The run history stays, with a row for the reset."""
    store = open_store(cfg)
    configured = any(c.name == name for c in cfg.connectors)
    if not configured and not store.holds(name):
        known = ", ".join(c.name for c in cfg.connectors) or "none"
        raise UsageError(
            f"no connector named {name!r} in the config ({known}) nor in the state {store.where}"
        )
    if not yes:
        if not interactive:
            raise UsageError(
                f"state reset of {name!r} forgets its data in {store.where}: pass --yes to confirm "
                "(it is asked on a terminal only)"
            )
        instance = store.instance(name)
        of = f" (data of {instance})" if instance is not None else ""
        question = (
            f"Forget the mirror, watermark, writeback ledger, KPI snapshots, saved KPI pass and recorded "
            f"instance of connector {name!r}{of} in {store.where}? The run history stays"
        )
        if not confirm(question):
            out.print("nothing forgotten")
            return ExitCode.PARTIAL
    with store.lock(name):
        run_id = store.start_run(name, "state reset")
        counts = store.forget_connector(name)
        store.finish_run(run_id, "ok", {k.replace(" ", "_"): v for k, v in counts.items()})
    forgotten = ", ".join(f"{v:,} {k}" for k, v in counts.items() if v) or "nothing was stored"
    out.print(f"[green]ok[/] run {run_id} · {name}: forgot {forgotten}; the next sync pulls everything")
    return ExitCode.OK


def check_state(cfg: AppConfig, out: Console, open_store: Callable[[AppConfig], StateStore]) -> int:
    """The state's line of ``check``: it opens (``open_store`` runs SQLite's quick_check), a write goes
    through (rolled back), and a state not created yet can be. Exit code 2 when it cannot be used, as a
    sync on it would fail with."""
    path = sqlite_path(make_url(cfg.state.url))
    if path is not None and not path.exists():
        parent = next((p for p in path.parents if p.exists()), Path("/"))
        if not os.access(parent, os.W_OK | os.X_OK):
            out.print(f"[red]fail[/] state: {path} cannot be created: {parent} is not writable by this user")
            return ExitCode.CONFIG
        out.print(f"[green]ok[/] state: {path} does not exist yet; the first sync creates it")
        return ExitCode.OK
    try:
        store = open_store(cfg)
    except StateError as exc:
        out.print(f"[red]fail[/] state: {exc}")
        return exit_code_of(exc)  # 2, or 3 for a PostgreSQL server that cannot be reached
    try:
        store.probe_write()
    except StateError as exc:
        out.print(f"[red]fail[/] state: {exc}")
        return exit_code_of(exc)
    finally:
        store.close()
    checked = ", quick_check ok" if store.engine.dialect.name == "sqlite" else ""
    out.print(f"[green]ok[/] state: {store.where} (schema version {store.schema_version}{checked})")
    return ExitCode.OK
