"""Errors of the state store; ``str(err)`` is one line an operator can act on."""

from __future__ import annotations

from connectors.errors import ConnectorError
from partnerkpi.state.records import LockInfo


class StateError(Exception):
    """The state database cannot be used as it is (cannot be created or opened, or too new)."""


class StateUnreachable(StateError):
    """The state database's server cannot be reached (refused, timed out, gone, credentials refused):
    retryable like an unreachable CRM (exit 3), unlike the other StateErrors."""


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


class InstanceMismatch(StateError, ConnectorError):
    """The connector name's mirror came from another CRM instance than the one this run reaches: pulling
    would mix two sources in one mirror (and write one CRM's scores into the other). A usage error (exit
    2, as a StateError: partnerkpi/exit_codes.py), raised before anything is pulled; the run history records
    it like any connector failure."""

    def __init__(self, connector: str, recorded: str, found: str, where: str) -> None:
        self.connector = connector
        self.recorded = recorded
        self.found = found
        super().__init__(
            f"connector {connector!r} in the state database {where} holds data of {recorded}, but this run "
            f"reaches {found}; nothing was pulled. To start this name over on {found}, run "
            f"`partnerkpi state reset --connector {connector}`, or give this config its own state file "
            "(state.url)"
        )
