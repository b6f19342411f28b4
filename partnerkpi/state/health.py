"""The state database's health: SQLite's own quick integrity check, and the environment failures
(a full disk, a read-only file or directory, a corrupt file) turned into one line naming the file.

``PRAGMA quick_check`` verifies every page, every b-tree and the free list in one pass over the file
(https://www.sqlite.org/pragma.html#pragma_quick_check); unlike ``integrity_check`` it skips matching
each index against its table, which makes it O(N) rather than O(N log N)."""

from __future__ import annotations

import sqlite3

from sqlalchemy import Engine, ExceptionContext, event, update

from partnerkpi.state.errors import StateError
from partnerkpi.state.tables import schema_version

QUICK_CHECK_LIMIT = 5
"""Problems quick_check reports at most (one is enough to refuse the file; a few help the diagnosis)."""

_ENVIRONMENT = (
    ("database or disk is full", "the disk holding it is full", "free some space and run again"),
    (
        "attempt to write a readonly database",
        "it is read-only",
        "give the user running partnerkpi write access to the file and its directory, or point state.url "
        "at a writable place",
    ),
    (
        "unable to open database file",
        "it cannot be opened",
        "check that it and its directory exist and are writable by this user",
    ),
    ("access permission denied", "access is denied", "give this user read and write access to it"),
    ("disk i/o error", "the disk failed to read or write it", "check the disk and the file system"),
    (
        "database disk image is malformed",
        "it is corrupt",
        "restore it from a backup, or move it aside (a new state pulls everything again)",
    ),
    (
        "file is not a database",
        "it is not a SQLite database (or its header is corrupt)",
        "restore it from a backup, or move it aside (a new state pulls everything again)",
    ),
)
"""(SQLite's message, what it means for the state, what to do): the failures no retry cures. Nothing
stored is lost by any of them: the transaction that met it rolled back."""


def environment_error(error: BaseException, where: str) -> StateError | None:
    """A StateError naming ``where`` for a SQLite failure of the disk or the file; None for others."""
    if not isinstance(error, sqlite3.Error):
        return None
    text = str(error).lower()
    for pattern, meaning, advice in _ENVIRONMENT:
        if pattern in text:
            return StateError(f"the state database {where} cannot be used: {meaning} ({error}); {advice}")
    return None


def translate_environment_errors(engine: Engine, where: str) -> None:
    """Every failure of ``engine`` that environment_error knows is raised as that StateError instead
    (SQLAlchemy's handle_error event: the raised exception replaces the DBAPI one)."""

    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        translated = environment_error(context.original_exception, where)
        if translated is not None:
            raise translated from context.original_exception


def quick_check(engine: Engine, limit: int = QUICK_CHECK_LIMIT) -> list[str]:
    """SQLite's quick_check: [] when the file is sound, else its first problems. Other backends: []."""
    if engine.dialect.name != "sqlite":
        return []
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(f"PRAGMA quick_check({int(limit)})").scalars().all()
    lines = [line.strip() for row in rows for line in str(row).splitlines()]
    problems = [line for line in lines if line and not line.startswith("***")]  # "*** in database main ***"
    return [] if problems == ["ok"] else problems[:limit]


def probe_write(write_engine: Engine) -> None:
    """A write that is rolled back: a read-only file or directory fails it (StateError, through the
    translation above) where reads would pass."""
    with write_engine.connect() as conn, conn.begin() as tx:
        conn.execute(update(schema_version).values(applied_at=schema_version.c.applied_at))
        tx.rollback()
