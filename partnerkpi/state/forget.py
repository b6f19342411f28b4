"""Forgetting one connector (``partnerkpi state reset``): everything the state learnt from its CRM, so
that the next run starts over with a full pull; the run history stays."""

from __future__ import annotations

from sqlalchemy import Connection, Table, delete

from partnerkpi.state.tables import (
    instances,
    kpi_snapshots,
    kpi_states,
    ledger,
    mirror_versions,
    opportunities,
    partners,
    watermarks,
)

FORGOTTEN: tuple[tuple[str, Table], ...] = (
    ("opportunities", opportunities),
    ("partners", partners),
    ("watermarks", watermarks),
    ("ledger entries", ledger),
    ("KPI snapshots", kpi_snapshots),
    ("saved KPI passes", kpi_states),
    ("mirror versions", mirror_versions),
    ("recorded instances", instances),
)
"""What a reset forgets, in words and tables: the mirror (opportunities, partners) and its version, the
watermark (so the next pull is a full one), the writeback ledger (so the next sync writes every mapped
value), the KPI snapshots (prior-period pipelines of the old data) and the saved KPI pass, and the
recorded CRM instance (the next pull records the one it reaches)."""


def forget(conn: Connection, connector: str) -> dict[str, int]:
    """Delete the connector's rows from every table of FORGOTTEN; rows deleted per kind."""
    counts: dict[str, int] = {}
    for label, table in FORGOTTEN:
        result = conn.execute(delete(table).where(table.c.connector == connector))
        counts[label] = int(result.rowcount or 0)
    return counts


def holds(conn: Connection, connector: str) -> bool:
    """Whether the state holds anything a reset would forget for the connector."""
    return any(
        conn.execute(table.select().where(table.c.connector == connector).limit(1)).first() is not None
        for _, table in FORGOTTEN
    )
