"""Errors a connector raises. Each class names its exit code from the one table (``connectors.exit_codes``);
messages never carry secrets."""

from __future__ import annotations

from typing import ClassVar

from connectors.exit_codes import ExitCode


class ConnectorError(Exception):
    """Base class. ``str(err)`` is a one-line message an ops engineer can act on."""

    exit_code: ClassVar[int] = ExitCode.FAILED


class AuthError(ConnectorError):
    """Credentials refused, or the CRM cannot be reached at all (TLS, DNS, connection refused)."""

    exit_code = ExitCode.CONNECTION


class ConnectionFailed(AuthError):
    """The CRM could not be reached (after retries)."""


class UnexpectedAnswer(ConnectionFailed):
    """The CRM answered, but not as its API documents: JSON missing the fields the call returns, an HTML
    page, a body that is not JSON. Nothing of the answer is believed: the batch it belongs to is not stored
    and the watermark does not move. Connection-class (exit 3): a proxy, an outage page or a broken
    gateway says this, not the operator's config. ``call`` names the API call (``GET /query``)."""

    def __init__(self, call: str, problem: str) -> None:
        self.call = call
        self.problem = problem
        super().__init__(f"unexpected answer to {call}: {problem}")


class BudgetExhausted(ConnectorError):
    """The run stopped before using more than the configured share of the CRM's API budget."""

    exit_code = ExitCode.FAILED


class ProvisionError(ConnectorError):
    """A field exists with an incompatible type, or could not be created."""

    exit_code = ExitCode.FAILED
