"""The state store: the one thing shared between runs (mirror, watermarks, KPI snapshots, writeback
ledger, run history, locks). Every method is one transaction; batch-oriented, so that a crash between
calls leaves nothing the next run cannot finish."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, DBAPIError

from connectors.base import PullBatch
from kpi_core import clock
from kpi_core.accumulate import PassRow
from kpi_core.schema import Opportunity, Partner
from partnerkpi.state import forget, health, history, identity, locks, mirror, snapshots
from partnerkpi.state.engine import open_engines, sqlite_path
from partnerkpi.state.errors import InstanceMismatch, LockHeld, StateError
from partnerkpi.state.identity import Instance
from partnerkpi.state.migrations import MIGRATIONS, migrate
from partnerkpi.state.postgres import one_line
from partnerkpi.state.records import (
    BatchCounts,
    LockInfo,
    MirrorChanges,
    RunRecord,
    SavedKpiState,
    SnapshotRow,
)
from partnerkpi.state.tables import kpi_states, ledger, watermarks
from partnerkpi.state.types import dump_json
from partnerkpi.state.upsert import upsert

log = logging.getLogger("partnerkpi.state")

DEFAULT_STREAM = "default"
LedgerWrite = tuple[str, str, str | None]
"""(partner id, field, canonical value) — a write the CRM confirmed."""


class StateStore:
    """The state database at ``url`` (SQLite by default), created and migrated on open.

    ``snapshot_retention_days``: KPI snapshots computed more than this many days before a run's day are
    pruned when the run stores its own (None: kept for ever). ``verify``: run SQLite's quick_check on
    open and refuse a corrupt file (StateError) rather than compute from it (0.1-0.3 s on a 100k-deal
    state)."""

    iter_chunk_size: int = 5_000
    """Rows per query when streaming opportunities."""

    def __init__(
        self,
        url: str,
        *,
        stale_lock_after: timedelta = timedelta(minutes=10),
        snapshot_retention_days: int | None = None,
        verify: bool = False,
    ) -> None:
        self.url = url
        self.stale_lock_after = stale_lock_after
        self.snapshot_retention_days = snapshot_retention_days
        try:
            self._engine, self._write = open_engines(url)
            self.schema_version = migrate(self._write, MIGRATIONS, where=self._where())
        except OSError as exc:
            raise StateError(
                f"cannot create the state database {self._where()}: {exc.strerror or exc}"
            ) from exc
        except (ArgumentError, DatabaseError) as exc:
            reason = one_line(exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc)
            raise StateError(f"cannot open the state database {self._where()}: {reason}") from exc
        if verify:
            self._verify()

    def _verify(self) -> None:
        problems = self.integrity_problems()
        if problems:
            self.close()
            raise StateError(
                f"the state database {self._where()} fails SQLite's quick_check ({'; '.join(problems)}): "
                "restore it from a backup, or move it aside (a new state pulls everything again)"
            )

    @classmethod
    def open(
        cls,
        url: str,
        *,
        stale_lock_after: timedelta = timedelta(minutes=10),
        snapshot_retention_days: int | None = None,
        verify: bool = False,
    ) -> StateStore:
        return cls(
            url,
            stale_lock_after=stale_lock_after,
            snapshot_retention_days=snapshot_retention_days,
            verify=verify,
        )

    def _where(self) -> str:
        try:
            url = make_url(self.url)
        except ArgumentError:
            return repr(self.url)
        path = sqlite_path(url)
        return str(path) if path is not None else url.render_as_string(hide_password=True)

    @property
    def where(self) -> str:
        """The database in words for messages: the SQLite file's path, else the URL without password."""
        return self._where()

    def integrity_problems(self) -> list[str]:
        """SQLite's quick_check of the whole file: [] when sound, else its first problems."""
        return health.quick_check(self._engine)

    def probe_write(self) -> None:
        """StateError when the database cannot be written (read-only file or directory)."""
        health.probe_write(self._write)

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
        self._engine.dispose()

    # -- the mirror ---------------------------------------------------------------------------------
    def apply_pull_batch(
        self, connector: str, batch: PullBatch, run_id: int, changes: MirrorChanges | None = None
    ) -> BatchCounts:
        """Upsert the batch, soft-delete its deletions and store its watermark, all in one transaction:
        the watermark never passes data that is not stored. ``changes`` hears of every record changed."""
        with self._write.begin() as conn:
            counts = mirror.apply_batch(conn, connector, batch, run_id, changes)
            if batch.watermark is not None:
                self._set_watermark(conn, connector, DEFAULT_STREAM, batch.watermark)
        return counts

    def sweep_unseen(self, connector: str, run_id: int, changes: MirrorChanges | None = None) -> int:
        """After a full-refresh pull: soft-delete the opportunities and partners this run did not see;
        the number of opportunities deleted."""
        with self._write.begin() as conn:
            return mirror.sweep_unseen(conn, connector, run_id, changes)

    def mirror_version(self, connector: str) -> int:
        """One more for every transaction that changed the connector's mirror."""
        with self._engine.connect() as conn:
            return mirror.version(conn, connector)

    # -- the source ---------------------------------------------------------------------------------
    def claim_instance(self, connector: str, crm: str, instance_id: str | None) -> None:
        """Record the CRM instance the connector name reaches at its first pull; InstanceMismatch when
        the name's mirror came from another one. ``instance_id`` None: the connector does not say."""
        if instance_id is None:
            return
        found = Instance(crm, instance_id)
        with self._write.begin() as conn:
            recorded = identity.claim(conn, connector, found)
        if recorded is not None:
            raise InstanceMismatch(connector, str(recorded), str(found), self._where())

    def instance(self, connector: str) -> Instance | None:
        with self._engine.connect() as conn:
            return identity.recorded(conn, connector)

    def holds(self, connector: str) -> bool:
        """Whether anything of the connector is stored (besides its run history)."""
        with self._engine.connect() as conn:
            return forget.holds(conn, connector)

    def forget_connector(self, connector: str) -> dict[str, int]:
        """Forget what the state learnt from the connector's CRM (forget.FORGOTTEN), in one transaction;
        rows deleted per kind. The run history stays. Call it under the connector's lock."""
        with self._write.begin() as conn:
            return forget.forget(conn, connector)

    # -- the saved KPI pass -------------------------------------------------------------------------
    def kpi_state(self, connector: str) -> SavedKpiState | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(kpi_states.c.fingerprint, kpi_states.c.mirror_version, kpi_states.c.state).where(
                    kpi_states.c.connector == connector
                )
            ).one_or_none()
        if row is None:
            return None
        return SavedKpiState(row.fingerprint, int(row.mirror_version), json.loads(row.state))

    def kpi_state_version(self, connector: str) -> int | None:
        """The mirror version the saved KPI pass reflects (None: none saved), without loading it."""
        with self._engine.connect() as conn:
            found = conn.execute(
                select(kpi_states.c.mirror_version).where(kpi_states.c.connector == connector)
            ).scalar_one_or_none()
        return None if found is None else int(found)

    def save_kpi_state(self, connector: str, fingerprint: str, mirror_version: int, state: Any) -> None:
        """Keep the KPI pass as of ``mirror_version`` (one per connector: the newest replaces the last)."""
        row = {
            "connector": connector,
            "fingerprint": fingerprint,
            "mirror_version": mirror_version,
            "state": dump_json(state),
            "saved_at": clock.utcnow(),
        }
        with self._write.begin() as conn:
            upsert(conn, kpi_states, [row], keys=("connector",))

    def iter_opportunities(self, connector: str, include_deleted: bool = False) -> Iterator[Opportunity]:
        """Stream the mirror in id order, in bounded memory (chunks of ``iter_chunk_size``)."""
        return mirror.iter_opportunities(self._engine, connector, include_deleted, self.iter_chunk_size)

    def iter_pass_rows(self, connector: str) -> Iterator[PassRow]:
        """The live mirror as the KPI pass reads it (only its columns), in bounded memory."""
        return mirror.iter_pass_rows(self._engine, connector, self.iter_chunk_size)

    def partners(self, connector: str, include_deleted: bool = False) -> list[Partner]:
        with self._engine.connect() as conn:
            return mirror.partner_records(conn, connector, include_deleted)

    def partner_ids(self, connector: str) -> set[str]:
        """Ids of the partner records that are not deleted."""
        return {p.id for p in self.partners(connector)}

    # -- watermarks ---------------------------------------------------------------------------------
    def get_watermark(self, connector: str, stream: str = DEFAULT_STREAM) -> str | None:
        with self._engine.connect() as conn:
            value: str | None = conn.execute(
                select(watermarks.c.value).where(
                    watermarks.c.connector == connector, watermarks.c.stream == stream
                )
            ).scalar_one_or_none()
            return value

    @staticmethod
    def _set_watermark(conn: Any, connector: str, stream: str, value: str) -> None:
        row = {"connector": connector, "stream": stream, "value": value, "updated_at": clock.utcnow()}
        upsert(conn, watermarks, [row], keys=("connector", "stream"))

    # -- KPI snapshots ------------------------------------------------------------------------------
    def save_snapshot(self, connector: str, run_id: int, as_of: date, rows: Iterable[SnapshotRow]) -> int:
        """Store one run's figures per group and period, and prune the connector's snapshots older than
        the retention (counted back from ``as_of``, or from today when ``as_of`` is later); the number of
        rows stored."""
        with self._write.begin() as conn:
            stored = snapshots.save(conn, connector, run_id, as_of, rows)
            if self.snapshot_retention_days is not None:
                day = min(as_of, clock.utcnow().date())
                pruned = snapshots.prune(conn, connector, day - timedelta(days=self.snapshot_retention_days))
                if pruned:
                    log.debug("%s: pruned %d KPI snapshot row(s) past the retention", connector, pruned)
            return stored

    def snapshot_open_amounts(self, connector: str, day: date) -> dict[tuple[str, str | None], Decimal]:
        """(group kind, partner id) -> the open pipeline stored snapshots measured on ``day`` (the latest
        run's), for every group in one query."""
        with self._engine.connect() as conn:
            return snapshots.open_amounts_on(conn, connector, day)

    # -- the writeback ledger -----------------------------------------------------------------------
    def ledger(self, connector: str) -> dict[tuple[str, str], str | None]:
        """(partner id, field) -> the canonical value last written and confirmed by the CRM."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(ledger.c.partner_id, ledger.c.field, ledger.c.value).where(
                    ledger.c.connector == connector
                )
            )
            return {(r.partner_id, r.field): r.value for r in rows}

    def record_writes(self, connector: str, run_id: int | None, writes: Iterable[LedgerWrite]) -> None:
        """Remember confirmed writes (the last value per partner and field wins)."""
        now = clock.utcnow()
        rows = {
            (partner_id, field): {
                "connector": connector,
                "partner_id": partner_id,
                "field": field,
                "value": value,
                "written_at": now,
                "run_id": run_id,
            }
            for partner_id, field, value in writes
        }
        with self._write.begin() as conn:
            upsert(conn, ledger, list(rows.values()), keys=("connector", "partner_id", "field"))

    # -- runs ---------------------------------------------------------------------------------------
    def start_run(self, connector: str, command: str) -> int:
        with self._write.begin() as conn:
            return history.start(conn, connector, command)

    def finish_run(
        self,
        run_id: int,
        status: str,
        counts: Mapping[str, Any] | None = None,
        data_quality: Mapping[str, Any] | None = None,
        failures: Sequence[Mapping[str, Any]] | None = None,
        message: str = "",
    ) -> None:
        with self._write.begin() as conn:
            history.finish(conn, run_id, status, counts or {}, data_quality or {}, failures or [], message)

    def runs(self, limit: int = 20, connector: str | None = None) -> list[RunRecord]:
        """The latest runs, newest first."""
        with self._engine.connect() as conn:
            return history.recent(conn, limit, connector)

    def run(self, run_id: int) -> RunRecord | None:
        with self._engine.connect() as conn:
            return history.one(conn, run_id)

    # -- locks --------------------------------------------------------------------------------------
    def acquire_lock(self, connector: str, run_id: int | None = None) -> bool:
        return locks.acquire(self._write, connector, run_id, self.stale_lock_after)

    def release_lock(self, connector: str) -> bool:
        return locks.release(self._write, connector)

    def lock_holder(self, connector: str) -> LockInfo | None:
        with self._engine.connect() as conn:
            return locks.holder(conn, connector)

    def heartbeat(self, connector: str) -> bool:
        return locks.heartbeat(self._write, connector)

    @contextmanager
    def lock(self, connector: str, run_id: int | None = None) -> Iterator[LockInfo | None]:
        """Hold the connector's lock for the block, with a heartbeat; raise LockHeld when a live run
        holds it."""
        if not self.acquire_lock(connector, run_id):
            raise LockHeld(connector, self.lock_holder(connector))
        stop = threading.Event()
        beat = threading.Thread(
            target=self._heartbeat_loop,
            args=(connector, stop),
            name=f"lock-heartbeat-{connector}",
            daemon=True,
        )
        beat.start()
        try:
            yield self.lock_holder(connector)
        finally:
            stop.set()
            beat.join()
            self.release_lock(connector)

    def _heartbeat_loop(self, connector: str, stop: threading.Event) -> None:
        interval = max(self.stale_lock_after.total_seconds() / 4, 1.0)
        while not stop.wait(interval):
            try:
                if not self.heartbeat(connector):
                    log.warning("the lock of connector %r was taken over by another run", connector)
                    return
            except Exception:  # a missed heartbeat must not kill the run; the next one may pass
                log.warning("could not refresh the lock of connector %r", connector, exc_info=True)
