"""Errors of the state store; ``str(err)`` is one line an operator can act on."""

from __future__ import annotations

from partnerkpi.state.records import LockInfo


class StateError(Exception):
    """The state database cannot be used as it is (cannot be created or opened, or too new)."""


class SchemaTooNew(StateError):
    """The database was written by a newer partnerkpi."""


class LockHeld(StateError):
    """Another run holds the connector's lock (exit code 4)."""

    def __init__(self, connector: str, holder: LockInfo | None) -> None:
        self.connector = connector
        self.holder = holder
        super().__init__(connector, holder)

    def __str__(self) -> str:
        if self.holder is None:
            return f"connector {self.connector!r} is locked by another run"
        h = self.holder
        run = f"run {h.run_id}" if h.run_id is not None else "a run"
        return (
            f"connector {self.connector!r} is locked by {run} (pid {h.pid} on {h.host}, since "
            f"{h.acquired_at.isoformat(timespec='seconds')}, last heartbeat "
            f"{h.heartbeat_at.isoformat(timespec='seconds')})"
        )
