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
    dialect = conn.dialect.name
    if dialect == "sqlite":
        insert: Any = sqlite.insert(table)
    elif dialect == "postgresql":
        insert = postgresql.insert(table)
    else:  # pragma: no cover - only the two above are supported
        raise NotImplementedError(f"the state store does not support {dialect!r}")
    columns = [c for c in rows[0] if c not in keys]
    stmt = insert.on_conflict_do_update(
        index_elements=list(keys), set_={c: getattr(insert.excluded, c) for c in columns}
    )
    conn.execute(stmt, list(rows))
