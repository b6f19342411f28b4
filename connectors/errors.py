"""Errors a connector raises. The CLI maps each to an exit code; messages never carry secrets."""

from __future__ import annotations


class ConnectorError(Exception):
    """Base class. ``str(err)`` is a one-line message an ops engineer can act on."""

    exit_code = 1


class AuthError(ConnectorError):
    """Credentials refused, or the CRM cannot be reached at all (TLS, DNS, connection refused)."""

    exit_code = 3


class ConnectionFailed(AuthError):
    """The CRM could not be reached (after retries)."""


class BudgetExhausted(ConnectorError):
    """The run stopped before using more than the configured share of the CRM's API budget."""

    exit_code = 1


class ProvisionError(ConnectorError):
    """A field exists with an incompatible type, or could not be created."""

    exit_code = 1
