"""One lock per connector, so that two runs never pull or write the same CRM at once.

A row in ``locks`` is the lock: taking it is an atomic insert. A holder that died without releasing it
is recognised (its pid is gone on this host, or its heartbeat is older than the stale timeout) and the
lock is taken over with a compare-and-swap on the old holder.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from kpi_core import clock
from partnerkpi.state import history
from partnerkpi.state.records import LockInfo
from partnerkpi.state.tables import locks


def this_host() -> str:
    return socket.gethostname()


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale(holder: LockInfo, now: datetime, stale_after: timedelta) -> bool:
    if holder.host == this_host() and not pid_alive(holder.pid):
        return True
    return now - holder.heartbeat_at > stale_after


def holder(conn: Connection, connector: str) -> LockInfo | None:
    row = conn.execute(select(locks).where(locks.c.connector == connector)).first()
    if row is None:
        return None
    m = row._mapping
    return LockInfo(m["connector"], m["pid"], m["host"], m["run_id"], m["acquired_at"], m["heartbeat_at"])


def acquire(write_engine: Engine, connector: str, run_id: int | None, stale_after: timedelta) -> bool:
    """Take the lock; True when this process holds it now, False when a live run does. Taking it marks
    the connector's runs left "running" by a dead holder as interrupted (all but ``run_id``)."""
    now = clock.utcnow()
    mine = {
        "pid": os.getpid(),
        "host": this_host(),
        "run_id": run_id,
        "acquired_at": now,
        "heartbeat_at": now,
    }
    try:
        with write_engine.begin() as conn:
            current = holder(conn, connector)
            if current is None:
                conn.execute(insert(locks).values(connector=connector, **mine))
                history.mark_interrupted(conn, connector, run_id, None)
                return True
            if not is_stale(current, now, stale_after):
                return False
            taken = conn.execute(
                update(locks)
                .where(
                    locks.c.connector == connector,
                    locks.c.pid == current.pid,
                    locks.c.host == current.host,
                    locks.c.acquired_at == current.acquired_at,
                )
                .values(**mine)
            )
            if taken.rowcount != 1:
                return False
            history.mark_interrupted(conn, connector, run_id, current.heartbeat_at)
            return True
    except IntegrityError:  # another process inserted between our read and our insert
        return False


def heartbeat(write_engine: Engine, connector: str) -> bool:
    """Tell other runs this holder is alive; False when the lock is no longer ours."""
    with write_engine.begin() as conn:
        result = conn.execute(
            update(locks)
            .where(locks.c.connector == connector, locks.c.pid == os.getpid(), locks.c.host == this_host())
            .values(heartbeat_at=clock.utcnow())
        )
        return result.rowcount == 1


def release(write_engine: Engine, connector: str) -> bool:
    """Release the lock if this process holds it."""
    with write_engine.begin() as conn:
        result = conn.execute(
            delete(locks).where(
                locks.c.connector == connector, locks.c.pid == os.getpid(), locks.c.host == this_host()
            )
        )
        return result.rowcount == 1
