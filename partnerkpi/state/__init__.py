"""The state store (SQLAlchemy Core; SQLite by default, one URL setting)."""

from partnerkpi.state.errors import LockHeld, SchemaTooNew, StateError, StateUnreachable
from partnerkpi.state.records import (
    BatchCounts,
    LockInfo,
    MirrorChanges,
    RunRecord,
    SavedKpiState,
    SnapshotRow,
)
from partnerkpi.state.store import StateStore
from partnerkpi.state.tables import SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION",
    "BatchCounts",
    "LockHeld",
    "LockInfo",
    "MirrorChanges",
    "RunRecord",
    "SavedKpiState",
    "SchemaTooNew",
    "SnapshotRow",
    "StateError",
    "StateStore",
    "StateUnreachable",
]
