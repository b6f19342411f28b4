"""PostgreSQL engines for the state store: psycopg 3 (the ``partnerkpi[postgres]`` extra), whichever of
``postgresql://`` and ``postgresql+psycopg://`` the URL says, and its failures in one line that names the
server and database but never the password (the URL may hold one: it is registered for redaction)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, ExceptionContext, create_engine, event
from sqlalchemy.engine import URL

from partnerkpi.redaction import redact, register_secrets
from partnerkpi.state.errors import StateError, StateUnreachable

DRIVER = "postgresql+psycopg"
"""The one PostgreSQL driver the state store is tested on (psycopg 3)."""
ACCEPTED = ("postgresql", DRIVER)
EXTRA_HINT = "pip install 'partnerkpi[postgres]'"
CONNECT_TIMEOUT_S = 10
"""Seconds to wait for the server before the run fails: a host that drops packets must not hang it."""


def describe(url: URL) -> str:
    """The server and database in words (no user, no password): ``PostgreSQL db on host:port``."""
    host = url.host or "the local socket"
    where = f"{host}:{url.port}" if url.port else host
    return f"PostgreSQL database {url.database or '(default)'!r} on {where}"


def one_line(error: BaseException) -> str:
    """The driver's message as one redacted line (psycopg's span several, with tab-indented hints)."""
    return redact(" ".join(str(error).split()))


def postgres_engine(url: URL) -> Engine:
    """An engine on psycopg 3; StateError when the URL names another driver or psycopg is missing."""
    if url.drivername not in ACCEPTED:
        raise StateError(
            f"state.url uses the driver {url.drivername!r}: the PostgreSQL state store runs on psycopg 3, "
            f"write postgresql://... or {DRIVER}://..."
        )
    try:
        import psycopg  # noqa: F401  (the dialect imports it; here its absence gets words)
    except ImportError as exc:
        raise StateError(
            f"state.url names a {describe(url)}, but its driver (psycopg 3) is not installed: {EXTRA_HINT}"
        ) from exc
    if url.password:
        register_secrets([str(url.password)])
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
    engine = create_engine(url.set(drivername=DRIVER), pool_pre_ping=True, connect_args=connect_args)
    _translate_connection_errors(engine, describe(url))
    return engine


def _translate_connection_errors(engine: Engine, where: str) -> None:
    """A server that cannot be reached (refused, timed out, gone mid-run, credentials refused) is
    StateUnreachable naming ``where``: retryable, unlike a usage error. A role without the rights, or a
    read-only replica, is a StateError: a human has to act."""
    import psycopg  # present: postgres_engine imported it

    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        error = context.original_exception
        if isinstance(error, psycopg.OperationalError) and (
            context.is_disconnect or context.connection is None or _is_connect_failure(error)
        ):
            raise StateUnreachable(
                f"the state database ({where}) cannot be reached: {one_line(error)}"
            ) from error
        if isinstance(error, (psycopg.errors.InsufficientPrivilege, psycopg.errors.ReadOnlySqlTransaction)):
            raise StateError(
                f"the state database ({where}) cannot be used: {one_line(error)}; grant the role in "
                "state.url the right to create, read and write its tables (or use a primary, not a replica)"
            ) from error


def _is_connect_failure(error: BaseException) -> bool:
    text = str(error)
    return text.startswith("connection failed") or "connection to server" in text
