"""One run lifecycle for ``sync`` and ``pull`` (partnerkpi/run_lifecycle.py): the connector's lock first,
then the run's history row, then the work, then the row finished, with one summary event. A run that
finds the lock held leaves no history row and exits 4, for ``pull`` as for ``sync``."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import typer
from rich.console import Console

from connectors.errors import ConnectionFailed
from partnerkpi import run_events as events
from partnerkpi.cli.core import guard
from partnerkpi.commands.sync import run_pull
from partnerkpi.config import AppConfig
from partnerkpi.exit_codes import ExitCode
from partnerkpi.progress import ProgressReporter
from partnerkpi.run_lifecycle import RunStatus, connector_run
from partnerkpi.state import LockHeld, StateStore
from tests.partnerkpi.test_multi_connector import fail_on, file_config, locked, sync_all


def pull(cfg: AppConfig) -> int:
    out = Console(file=io.StringIO(), width=200, color_system=None)
    return run_pull(cfg, [c.name for c in cfg.connectors], ProgressReporter.silent(), out)


def cli_exit(cfg: AppConfig) -> int:
    """``partnerkpi pull`` through the CLI's guard: the exit code the process would end with."""
    with pytest.raises(typer.Exit) as caught:
        guard(lambda: pull(cfg))
    return int(caught.value.exit_code)


def history(cfg: AppConfig) -> list[tuple[str, str]]:
    store = StateStore.open(cfg.state.url)
    try:
        return [(r.command, r.status) for r in store.runs()]
    finally:
        store.close()


@pytest.fixture
def finished(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The summary events the runs end with (partnerkpi.run_events.connector_run_finished)."""
    seen: list[dict[str, Any]] = []
    monkeypatch.setattr(events, "connector_run_finished", lambda **fields: seen.append(fields))
    return seen


def test_pull_on_a_locked_connector_exits_4_and_leaves_no_history_row(
    tmp_path: Path, finished: list[dict[str, Any]]
) -> None:
    cfg = file_config(tmp_path, ("alpha",))
    with locked(cfg, "alpha"):
        assert cli_exit(cfg) == ExitCode.LOCKED
    assert history(cfg) == []
    assert [(e["status"], e["exit_code"], e["run_id"]) for e in finished] == [("locked", 4, None)]


def test_sync_on_a_locked_connector_leaves_no_history_row_either(tmp_path: Path) -> None:
    cfg = file_config(tmp_path, ("alpha",))
    with locked(cfg, "alpha"):
        code, _ = sync_all(cfg)
    assert code == ExitCode.LOCKED and history(cfg) == []


def test_a_pull_records_one_finished_row_and_ends_with_one_summary_event(
    tmp_path: Path, finished: list[dict[str, Any]]
) -> None:
    cfg = file_config(tmp_path, ("alpha",))
    assert pull(cfg) == ExitCode.OK
    assert history(cfg) == [("pull", "ok")]
    (event,) = finished
    assert (event["command"], event["status"], event["exit_code"]) == ("pull", "ok", 0)
    assert event["run_id"] is not None and event["counts"]["pulled"] == 5


def test_a_failed_pull_finishes_its_row_failed_and_exits_with_the_errors_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, finished: list[dict[str, Any]]
) -> None:
    cfg = file_config(tmp_path, ("alpha",))
    fail_on(monkeypatch, {"alpha": ConnectionFailed("alpha: cannot reach crm.example.test (DNS)")})
    assert cli_exit(cfg) == ExitCode.CONNECTION
    assert history(cfg) == [("pull", "failed")]
    (event,) = finished
    assert event["status"] == "failed" and event["exit_code"] == ExitCode.CONNECTION
    assert event["message"] == "alpha: cannot reach crm.example.test (DNS)"


def test_the_lock_is_taken_before_the_row_and_released_after_it_is_finished(state_url: str) -> None:
    store = StateStore.open(state_url)
    with connector_run(store, "crm", "pull") as run:
        assert not run.skipped and run.run_id is not None
        assert store.lock_holder("crm") is not None
        assert store.run(run.run_id).status == "running"  # type: ignore[union-attr]
    assert store.lock_holder("crm") is None
    assert store.run(run.run_id).status == "ok"  # type: ignore[union-attr]


def test_a_skipped_run_records_the_lock_as_its_error(state_url: str) -> None:
    url = state_url
    holder, store = StateStore.open(url), StateStore.open(url)
    with holder.lock("crm"), connector_run(store, "crm", "sync") as run:
        assert run.skipped and run.run_id is None
    assert isinstance(run.error, LockHeld) and run.exit_code is ExitCode.LOCKED
    assert store.runs() == []


def test_an_unexpected_error_fails_the_run_with_exit_1_and_is_not_raised(state_url: str) -> None:
    store = StateStore.open(state_url)
    with connector_run(store, "crm", "sync") as run:
        raise KeyError("Id")
    assert (run.status, run.exit_code) == (RunStatus.FAILED, ExitCode.FAILED)
    assert run.message == "crm: unexpected error KeyError: 'Id'"
    assert store.runs()[0].status == "failed"


def test_an_interrupt_marks_the_row_interrupted_and_goes_on(state_url: str) -> None:
    store = StateStore.open(state_url)
    with pytest.raises(KeyboardInterrupt), connector_run(store, "crm", "sync") as run:
        raise KeyboardInterrupt
    assert run.exit_code is ExitCode.INTERRUPTED
    assert store.runs()[0].status == "interrupted" and store.lock_holder("crm") is None


def test_the_run_status_is_an_enum_whose_values_are_the_history_text() -> None:
    assert [s.value for s in RunStatus] == ["ok", "partial", "failed", "locked", "interrupted"]
    assert all(isinstance(s, str) and str(s) == s.value for s in RunStatus)
