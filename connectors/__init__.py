"""Connectors: pull normalized opportunities from a CRM and write KPI fields back (docs/connectors.md)."""

from connectors.base import CheckResult, CheckStatus, Connector, ConnectorConfig, FieldWriter, PullBatch
from connectors.errors import (
    AuthError,
    BudgetExhausted,
    ConnectionFailed,
    ConnectorError,
    ProvisionError,
    UnexpectedAnswer,
)
from connectors.fields import (
    FieldKind,
    FieldSpec,
    FieldUpdate,
    FieldValue,
    ProvisionAction,
    ProvisionResult,
    RecordError,
    WriteResult,
)

__all__ = [
    "AuthError",
    "BudgetExhausted",
    "CheckResult",
    "CheckStatus",
    "ConnectionFailed",
    "Connector",
    "ConnectorConfig",
    "ConnectorError",
    "FieldKind",
    "FieldSpec",
    "FieldUpdate",
    "FieldValue",
    "FieldWriter",
    "ProvisionAction",
    "ProvisionError",
    "ProvisionResult",
    "PullBatch",
    "RecordError",
    "UnexpectedAnswer",
    "WriteResult",
]
