"""INSERT ... ON CONFLICT DO UPDATE for the backends the store supports (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def upsert(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> None:
    """Insert ``rows``; where the key exists, overwrite the other columns given."""
    if not rows:
        return
    insert = dialect_insert(conn, table)
    columns = [c for c in rows[0] if c not in keys]
    stmt = insert.on_conflict_do_update(
        index_elements=list(keys), set_={c: getattr(insert.excluded, c) for c in columns}
    )
    conn.execute(stmt, list(rows))


def dialect_insert(conn: Connection, table: Table) -> Any:
    """The backend's own INSERT, the one with ``on_conflict_do_update``."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        return sqlite.insert(table)
    if dialect == "postgresql":
        return postgresql.insert(table)
    raise NotImplementedError(f"the state store does not support {dialect!r}")  # pragma: no cover
