"""Engines for the state store, SQLite or PostgreSQL (postgres.py). SQLite: a private file (0600 in 0700 directories, made before SQLite
touches it), WAL, foreign keys, a busy timeout, and write transactions that take the write lock up front
(BEGIN IMMEDIATE) so that a read-then-write never fails half-way with "database is locked"."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

from partnerkpi.state.errors import StateError
from partnerkpi.state.health import translate_environment_errors
from partnerkpi.state.postgres import postgres_engine

BUSY_TIMEOUT_MS = 30_000


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL; None for an in-memory database or another backend."""
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def create_private_file(path: Path) -> None:
    """Create ``path`` with mode 0600 (and missing parents with 0700) unless it exists."""
    missing = [p for p in path.parents if not p.exists()]
    for directory in reversed(missing):  # Path.mkdir(parents=True) would give the parents default modes
        directory.mkdir(mode=0o700, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def _sqlite_engine(url: URL) -> Engine:
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def open_engines(url_text: str) -> tuple[Engine, Engine]:
    """(engine for reads, engine for write transactions) on one connection pool."""
    url = make_url(url_text)
    path = sqlite_path(url)
    if path is not None:
        create_private_file(path)
    if url.get_backend_name() == "sqlite":
        engine = _sqlite_engine(url)
        translate_environment_errors(engine, str(path) if path is not None else url.render_as_string())
        return engine, engine.execution_options(sqlite_immediate=True)
    if url.get_backend_name() == "postgresql":
        engine = postgres_engine(url)
        return engine, engine
    raise StateError(
        f"state.url names a {url.get_backend_name()!r} database: the state store runs on SQLite "
        "(sqlite:///path) or PostgreSQL (postgresql://user@host/db)"
    )
