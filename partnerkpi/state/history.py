"""The run history: one row per command run on a connector, with its counts and failures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from kpi_core import clock
from partnerkpi.state.records import RunRecord
from partnerkpi.state.tables import runs


def start(conn: Connection, connector: str, command: str) -> int:
    result = conn.execute(
        insert(runs).values(connector=connector, command=command, started_at=clock.utcnow(), status="running")
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def finish(
    conn: Connection,
    run_id: int,
    status: str,
    counts: Mapping[str, Any],
    data_quality: Mapping[str, Any],
    failures: Sequence[Mapping[str, Any]],
    message: str,
) -> None:
    result = conn.execute(
        update(runs)
        .where(runs.c.id == run_id)
        .values(
            ended_at=clock.utcnow(),
            status=status,
            counts=dict(counts),
            data_quality=dict(data_quality),
            failures=[dict(f) for f in failures],
            message=message,
        )
    )
    if result.rowcount != 1:
        raise KeyError(f"no run with id {run_id}")


INTERRUPTED = "interrupted"
"""The status of a run whose process ended (killed, crashed host) before it could record how it went."""


def mark_interrupted(conn: Connection, connector: str, keep: int | None, last_seen: datetime | None) -> int:
    """Mark the connector's runs still "running" as interrupted, except ``keep``. Called by the run that
    has just taken the connector's lock: every run that pulls or writes holds it, so a "running" run then
    has no live process. ``last_seen``: the dead holder's last heartbeat, when its lock was taken over
    (the run's end as far as anyone can tell); the number of runs marked."""
    query = select(runs.c.id, runs.c.started_at).where(
        runs.c.connector == connector, runs.c.status == "running"
    )
    if keep is not None:
        query = query.where(runs.c.id != keep)
    found = conn.execute(query).all()
    for run_id, started_at in found:
        ended = max(started_at, last_seen) if last_seen is not None else started_at
        seen = (
            f"last sign of life {ended.isoformat(timespec='seconds')}" if last_seen else "no lock left behind"
        )
        conn.execute(
            update(runs)
            .where(runs.c.id == run_id, runs.c.status == "running")
            .values(
                status=INTERRUPTED,
                ended_at=ended,
                message=f"interrupted: its process ended before the run finished ({seen}); "
                "the next run resumes from the last stored batch",
            )
        )
    return len(found)


def _record(row: Row[Any]) -> RunRecord:
    m = row._mapping
    return RunRecord(
        id=m["id"],
        connector=m["connector"],
        command=m["command"],
        started_at=m["started_at"],
        ended_at=m["ended_at"],
        status=m["status"],
        counts=m["counts"] or {},
        data_quality=m["data_quality"] or {},
        failures=m["failures"] or [],
        message=m["message"] or "",
    )


def recent(conn: Connection, limit: int, connector: str | None) -> list[RunRecord]:
    query = select(runs).order_by(runs.c.id.desc()).limit(limit)
    if connector is not None:
        query = query.where(runs.c.connector == connector)
    return [_record(row) for row in conn.execute(query)]


def one(conn: Connection, run_id: int) -> RunRecord | None:
    row = conn.execute(select(runs).where(runs.c.id == run_id)).first()
    return None if row is None else _record(row)
