"""A state that can be trusted (issue 14): runs that died are marked interrupted by the next run; KPI
snapshots past the retention are pruned without changing any prior a later run reads within it; ``check``
runs SQLite's quick_check and a sync refuses a corrupt state; a full disk or a read-only state file or
directory is one line naming the file, exit 2, never "internal error".

How the environment is made (tests may run as root, where chmod does not stop writes):
- read-only: ``chmod`` when not root; as root ``chattr +i`` (immutable: even root cannot write). Where
  neither works (root without CAP_LINUX_IMMUTABLE), SQLite's ``PRAGMA query_only`` on every connection,
  which fails writes with the same SQLITE_READONLY error.
- full disk: a 2 MiB tmpfs mounted under the test's directory when mounting works (root); else
  ``PRAGMA max_page_count`` capped at the file's size, which fails with SQLite's own SQLITE_FULL
  ("database or disk is full")."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from partnerkpi.config import load_config
from partnerkpi.pipeline import compute_kpis, sync_connector
from partnerkpi.progress import ProgressReporter
from partnerkpi.state import SnapshotRow, StateStore
from partnerkpi.state import engine as state_engine
from partnerkpi.state.tables import SCHEMA_VERSION, kpi_snapshots
from tests.cli_in_process import run_partnerkpi
from tests.reliability.harness import REPO, cli_env, run_cli

CONFIG = """
version: 1
state: {{url: "{url}", snapshot_retention_days: {retention}}}
kpi: {{reporting_currency: USD, timezone: UTC, periods: [last_3_days, last_7_days]}}
connectors:
  - name: export
    type: file
    path: {path}
    columns: {{id: id, partner: partner, amount: amount, stage: stage, created: created, closed: closed}}
    stages: {{Won: won, Lost: lost, Open: open}}
"""
HEADER = "id,partner,amount,stage,created,closed\n"
DAY0 = date(2026, 9, 1)


def rows_until(day: int, n_per_day: int = 3) -> str:
    """An export as of DAY0 + day: each day adds open deals, and older ones are won."""
    lines = [HEADER]
    for d in range(day + 1):
        for k in range(n_per_day):
            created = DAY0 + timedelta(days=d)
            won = d + 2 <= day and k == 0
            closed = (created + timedelta(days=2)).isoformat() if won else ""
            amount = 100 * (d + 1) + k
            lines.append(f"{d}-{k},P{k},{amount},{'Won' if won else 'Open'},{created.isoformat()},{closed}\n")
    return "".join(lines)


def setup(tmp_path: Path, retention: int = 400, state: Path | None = None, url: str | None = None) -> Path:
    """A config of one file connector; its state ``url`` (a state test's), else the SQLite file ``state``."""
    export = tmp_path / "export.csv"
    export.write_text(rows_until(0))
    config = tmp_path / "partnerkpi.yaml"
    url = url or f"sqlite:///{state or tmp_path / 'state.sqlite'}"
    config.write_text(CONFIG.format(url=url, retention=retention, path=export))
    return config


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
    return errors[0]


# -- runs that died --------------------------------------------------------------------------------------
DIE_MID_RUN = """
import os, signal, sys
from partnerkpi.state import StateStore
store = StateStore.open(sys.argv[1])
store.acquire_lock("export")
run_id = store.start_run("export", "sync")
print(run_id, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def killed_run(url: str) -> int:
    """A sync process that took the lock, recorded its run and was killed (SIGKILL) before finishing."""
    proc = subprocess.run(
        [sys.executable, "-c", DIE_MID_RUN, url], env=cli_env(), capture_output=True, text=True, check=False
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    return int(proc.stdout.split()[0])


def test_a_killed_run_is_marked_interrupted_by_the_next_run_and_runs_shows_it(
    tmp_path: Path, state_url: str
) -> None:
    config = setup(tmp_path, url=state_url)
    url = load_config(config).state.url
    dead = killed_run(url)
    store = StateStore.open(url)
    assert store.run(dead).status == "running"  # type: ignore[union-attr]
    holder = store.lock_holder("export")
    assert holder is not None

    proc = run_cli(config, "sync", "--as-of", DAY0.isoformat())
    assert proc.returncode == 0, proc.stderr
    record = store.run(dead)
    assert record is not None and record.status == "interrupted"
    assert record.ended_at == max(record.started_at, holder.heartbeat_at)
    assert "interrupted: its process ended before the run finished" in record.message
    newest = store.runs(limit=1)[0]
    assert newest.id != dead and newest.status == "ok"

    listing = run_cli(config, "runs")
    row = next(line for line in listing.stdout.splitlines() if line.strip().startswith(f"│ {dead} "))
    assert "interrupted" in row


def test_a_pull_after_a_killed_run_marks_it_and_keeps_its_own_run_running_until_it_ends(
    tmp_path: Path, state_url: str
) -> None:
    config = setup(tmp_path, url=state_url)
    url = load_config(config).state.url
    dead = killed_run(url)
    proc = run_cli(config, "pull")
    assert proc.returncode == 0, proc.stderr
    store = StateStore.open(url)
    pulled = store.runs(limit=1)[0]
    assert pulled.command == "pull" and pulled.status == "ok"
    assert store.run(dead).status == "interrupted"  # type: ignore[union-attr]


def test_a_run_whose_holder_is_alive_is_not_marked(tmp_path: Path, state_url: str) -> None:
    config = setup(tmp_path, url=state_url)
    store = StateStore.open(load_config(config).state.url)
    with store.lock("export"):  # this live process holds the lock
        live = store.start_run("export", "sync")
        proc = run_cli(config, "sync")
        assert proc.returncode == 4
        assert store.run(live).status == "running"  # type: ignore[union-attr]
        store.finish_run(live, "ok")


# -- snapshot retention ------------------------------------------------------------------------------------
def snapshot_days(store: StateStore) -> list[date]:
    with store.engine.connect() as conn:
        return sorted(conn.execute(select(kpi_snapshots.c.as_of).distinct()).scalars())


def test_snapshots_past_the_retention_are_pruned_when_a_run_stores_its_own(state_url: str) -> None:
    store = StateStore.open(state_url, snapshot_retention_days=5)
    other = StateStore.open(state_url)  # no retention: keeps everything
    for d in range(12):
        day = DAY0 + timedelta(days=d)
        run_id = store.start_run("a", "sync")
        rows = [SnapshotRow("partner", "P1", "last_3_days", day, Decimal(d))]
        (store if d >= 10 else other).save_snapshot("a", run_id, day, rows)
        other.save_snapshot("b", run_id, day, rows)  # another connector: never pruned by a's runs
    last = DAY0 + timedelta(days=11)
    with store.engine.connect() as conn:
        a_days = sorted(
            conn.execute(select(kpi_snapshots.c.as_of).where(kpi_snapshots.c.connector == "a")).scalars()
        )
        b_count = conn.execute(
            select(func.count()).select_from(kpi_snapshots).where(kpi_snapshots.c.connector == "b")
        ).scalar_one()
    assert a_days == [last - timedelta(days=k) for k in range(5, -1, -1)]
    assert b_count == 12
    assert store.snapshot_open_amounts("a", last - timedelta(days=5)).get(("partner", "P1")) == Decimal(6)
    assert store.snapshot_open_amounts("a", last - timedelta(days=6)).get(("partner", "P1")) is None


def test_a_run_day_after_today_prunes_from_today(state_url: str) -> None:
    """A mistyped --as-of far in the future does not wipe the snapshots of the last retention days."""
    store = StateStore.open(state_url, snapshot_retention_days=5)
    today = date.today()
    for day in (today - timedelta(days=3), today + timedelta(days=3650)):
        store.save_snapshot(
            "a", store.start_run("a", "sync"), day, [SnapshotRow("all", None, "p", day, None)]
        )
    assert snapshot_days(store) == [today - timedelta(days=3), today + timedelta(days=3650)]


def daily_syncs(tmp_path: Path, retention: int, days: int, url: str) -> tuple[Any, StateStore]:
    tmp_path.mkdir()
    config = setup(tmp_path, retention, url=url)
    cfg = load_config(config)
    store = StateStore.open(cfg.state.url, snapshot_retention_days=cfg.state.snapshot_retention_days)
    for d in range(days):
        (tmp_path / "export.csv").write_text(rows_until(d))
        run = sync_connector(cfg, store, "export", ProgressReporter.silent(), as_of=DAY0 + timedelta(days=d))
        assert run.status == "ok", run.message
    return cfg, store


def test_priors_within_the_retention_read_the_same_snapshots_as_without_pruning(
    tmp_path: Path, new_state_url: Callable[[], str]
) -> None:
    """last_3_days reads snapshots 3 and 6 days back: with a 10-day retention it reads exactly what an
    unpruned state gives. last_7_days' before-prior (14 days back) is pruned: it is rebuilt, no error."""
    days = 20
    pruned_cfg, pruned = daily_syncs(tmp_path / "pruned", 10, days, new_state_url())
    kept_cfg, kept = daily_syncs(tmp_path / "kept", 36_500, days, new_state_url())
    last = DAY0 + timedelta(days=days - 1)
    assert snapshot_days(pruned)[0] == last - timedelta(days=10)
    assert snapshot_days(kept)[0] == DAY0
    a = compute_kpis(pruned, pruned_cfg, "export", last)
    b = compute_kpis(kept, kept_cfg, "export", last)
    short_a = [g for g in a.groups if g.period.name == "last_3_days"]
    short_b = [g for g in b.groups if g.period.name == "last_3_days"]
    assert short_a == short_b and short_a
    assert {g.pipeline_prior_source.value for g in short_a} == {"snapshot"}
    long_a = [g for g in a.groups if g.period.name == "last_7_days"]
    assert long_a and {g.pipeline_prior_source.value for g in long_a} == {"snapshot"}  # 7 days back: kept


# -- quick_check -------------------------------------------------------------------------------------------
def corrupt_a_page(path: Path) -> None:
    """Garbage over the cells of a b-tree page in the middle of the file (its header left intact)."""
    pages = path.stat().st_size // 4096
    with path.open("r+b") as f:
        f.seek((pages // 2) * 4096 + 100)
        f.write(b"\xff" * 2000)


def synced_state(tmp_path: Path) -> tuple[Path, Path]:
    config = setup(tmp_path)
    (tmp_path / "export.csv").write_text(rows_until(200, 10))  # a state of a few hundred KB
    assert run_cli(config, "sync", "--as-of", (DAY0 + timedelta(days=200)).isoformat()).returncode == 0
    return config, tmp_path / "state.sqlite"


def test_check_runs_quick_check_and_fails_on_a_corrupt_state(tmp_path: Path) -> None:
    config, state = synced_state(tmp_path)
    good = run_cli(config, "check")
    assert good.returncode == 0, good.stdout + good.stderr
    assert f"ok state: {state} (schema version {SCHEMA_VERSION}, quick_check ok)" in " ".join(
        good.stdout.split()
    )
    corrupt_a_page(state)
    bad = run_cli(config, "check")
    assert bad.returncode != 0
    line = next(line for line in bad.stdout.splitlines() if line.startswith("fail state:"))
    assert str(state) in line and "fails SQLite's quick_check" in line and "restore it from a backup" in line


def test_a_sync_on_a_corrupt_state_stops_with_one_line_and_exit_2(tmp_path: Path) -> None:
    config, state = synced_state(tmp_path)
    corrupt_a_page(state)
    proc = run_cli(config, "sync")
    assert proc.returncode == 2
    line = one_line(proc)
    assert str(state) in line and "quick_check" in line


# -- a read-only state, a full disk -----------------------------------------------------------------------
def _can(*command: str) -> bool:
    return subprocess.run(command, capture_output=True, check=False).returncode == 0


@contextlib.contextmanager
def read_only(target: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``target`` (a file or a directory) made read-only for this process; yields how."""
    if os.geteuid() != 0:
        mode = target.stat().st_mode
        target.chmod(0o500 if target.is_dir() else 0o400)
        try:
            yield "chmod"
        finally:
            target.chmod(mode)
    elif _can("chattr", "+i", str(target)):
        try:
            yield "chattr +i"
        finally:
            subprocess.run(["chattr", "-i", str(target)], check=True)
    else:
        original = state_engine._sqlite_engine

        def query_only(url: Any) -> Any:
            engine = original(url)
            event.listen(engine, "connect", lambda conn, _r: conn.execute("PRAGMA query_only = ON"))
            return engine

        monkeypatch.setattr(state_engine, "_sqlite_engine", query_only)
        yield "PRAGMA query_only"


def cli_in_process(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in this process (so that a monkeypatched engine applies)."""
    return run_partnerkpi(["--config", str(config), *args])


@pytest.mark.parametrize("what", ["file", "directory"])
def test_a_read_only_state_is_one_line_naming_it_with_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, what: str
) -> None:
    monkeypatch.chdir(REPO)
    config, state = synced_state(tmp_path)
    target = state if what == "file" else state.parent
    with read_only(target, monkeypatch) as how:
        sync = cli_in_process(config, "sync")
        check = cli_in_process(config, "check")
    assert sync.returncode == 2, (how, sync.stdout, sync.stderr)
    line = one_line(sync)
    assert str(state) in line and ("read-only" in line or "cannot be opened" in line), (how, line)
    assert check.returncode == 2, (how, check.stdout)
    assert "fail state:" in check.stdout and str(state) in check.stdout
    assert run_cli(config, "sync").returncode == 0  # writable again: the next run goes on


@dataclass
class Disk:
    """A disk the state lives on that can be made full (``fill``) and given room again (``free``)."""

    how: str
    fill: Callable[[], None]
    free: Callable[[], None]


@contextlib.contextmanager
def small_disk(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Disk]:
    if os.geteuid() == 0 and _can("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(directory)):
        filler = directory / "filler"

        def fill() -> None:  # take every free byte
            with filler.open("wb") as f, contextlib.suppress(OSError):
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()

        try:
            yield Disk("tmpfs", fill, filler.unlink)
        finally:
            subprocess.run(["umount", "-l", str(directory)], check=True)
        return
    original = state_engine._sqlite_engine

    def capped(url: Any) -> Any:
        engine = original(url)

        def cap(conn: Any, _record: Any) -> None:
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {pages}")

        event.listen(engine, "connect", cap)
        return engine

    yield Disk(
        "PRAGMA max_page_count",
        lambda: monkeypatch.setattr(state_engine, "_sqlite_engine", capped),
        monkeypatch.undo,
    )


def test_a_full_disk_is_one_line_naming_the_state_with_exit_2_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "disk").mkdir()
    with small_disk(tmp_path / "disk", monkeypatch) as disk:
        state = tmp_path / "disk" / "state.sqlite"
        config = setup(tmp_path, state=state)
        assert cli_in_process(config, "sync", "--as-of", DAY0.isoformat()).returncode == 0
        store = StateStore.open(f"sqlite:///{state}")
        runs_before = [(r.id, r.status) for r in store.runs()]
        store.close()
        disk.fill()
        (tmp_path / "export.csv").write_text(rows_until(60, 10))  # a pull that needs room
        proc = cli_in_process(config, "sync", "--as-of", (DAY0 + timedelta(days=60)).isoformat())
        assert proc.returncode == 2, (disk.how, proc.stdout, proc.stderr)
        line = one_line(proc)
        assert str(state) in line and "the disk holding it is full" in line, (disk.how, line)
        disk.free()
        store = StateStore.open(f"sqlite:///{state}")
        assert store.integrity_problems() == []
        assert [(r.id, r.status) for r in store.runs()][-len(runs_before) :] == runs_before
        store.close()
        again = run_cli(config, "sync", "--as-of", (DAY0 + timedelta(days=60)).isoformat())
        assert again.returncode == 0, again.stderr
        assert StateStore.open(f"sqlite:///{state}").runs(limit=1)[0].counts["inserted"] > 0
