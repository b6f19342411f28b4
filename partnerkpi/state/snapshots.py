"""KPI snapshots: what each run computed, kept so that a later run can use the pipeline a past run
measured (kpis.md, "OPEN_AT of a past day") instead of rebuilding it from today's records."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, delete, insert, select

from kpi_core import clock
from partnerkpi.state.records import SnapshotRow
from partnerkpi.state.tables import kpi_snapshots


def save(conn: Connection, connector: str, run_id: int, as_of: date, rows: Iterable[SnapshotRow]) -> int:
    now = clock.utcnow()
    values = [
        {
            "connector": connector,
            "run_id": run_id,
            "as_of": as_of,
            "period": r.period,
            "last_day": r.last_day,
            "group_kind": r.group_kind,
            "partner_id": r.partner_id,
            "open_amount": r.open_amount,
            "payload": dict(r.payload),
            "created_at": now,
        }
        for r in rows
    ]
    if values:
        conn.execute(insert(kpi_snapshots), values)
    return len(values)


def open_amounts_on(conn: Connection, connector: str, day: date) -> dict[tuple[str, str | None], Decimal]:
    """Every group's open pipeline the latest run recorded as of ``day``, in one query."""
    t = kpi_snapshots.c
    query = (
        select(t.group_kind, t.partner_id, t.open_amount)
        .where(t.connector == connector, t.last_day == day, t.open_amount.is_not(None))
        .order_by(t.run_id, t.id)
    )
    return {(kind, partner): amount for kind, partner, amount in conn.execute(query)}


def prune(conn: Connection, connector: str, before: date) -> int:
    """Delete the connector's snapshots computed as of a day before ``before``; how many rows went.

    By ``as_of``, the day a run computed them: a snapshot's ``last_day`` is never after its ``as_of``,
    so every snapshot a lookup of a day on or after ``before`` reads (``last_day`` = that day) is kept,
    and for an earlier day the latest run's row, the one a lookup takes, goes last."""
    t = kpi_snapshots.c
    result = conn.execute(delete(kpi_snapshots).where(t.connector == connector, t.as_of < before))
    return int(result.rowcount or 0)
