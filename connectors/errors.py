"""Errors a connector raises: what went wrong, in types. ``str(err)`` is one line an ops engineer can act
on and never carries a secret.

The tree (as httpx's ``_exceptions.py``); ``retryable`` says whether trying again later, with nothing
changed, can cure it::

    ConnectorError              the base: a run failed for a reason the connector knows
    ├── AuthError               credentials refused: a bad or expired token or password, a missing scope
    │                           (not retryable: a human fixes the credentials)
    ├── ConnectionFailed        the CRM could not be reached, after retries: DNS, TLS, connection refused,
    │   │                       timeouts, 5xx (retryable: outages end)
    │   └── UnexpectedAnswer    the CRM answered, but not as its API documents (retryable: a proxy, an
    │                           outage page, a broken gateway)
    ├── BudgetExhausted         the API budget guard stopped the run (not retryable now: the budget
    │                           window has to pass)
    └── ProvisionError          a field has an incompatible type, or could not be created (not retryable)

What an error means for the process (its exit code) is not decided here: the application's edge maps
error types to exit codes in one table (``partnerkpi/exit_codes.py``).
"""

from __future__ import annotations

from typing import ClassVar


class ConnectorError(Exception):
    """Base class. ``str(err)`` is a one-line message an ops engineer can act on."""

    retryable: ClassVar[bool] = False
    """Whether the same call, tried again later with nothing changed, can succeed."""


class AuthError(ConnectorError):
    """The CRM refused the credentials (or they lack a permission the call needs)."""


class ConnectionFailed(ConnectorError):
    """The CRM could not be reached, or kept failing on its side (after retries). Not an AuthError: a
    DNS failure is not a refused password."""

    retryable = True


class UnexpectedAnswer(ConnectionFailed):
    """The CRM answered, but not as its API documents: JSON missing the fields the call returns, an HTML
    page, a body that is not JSON. Nothing of the answer is believed: the batch it belongs to is not stored
    and the watermark does not move. Connection-class: a proxy, an outage page or a broken gateway says
    this, not the operator's config. ``call`` names the API call (``GET /query``)."""

    def __init__(self, call: str, problem: str) -> None:
        self.call = call
        self.problem = problem
        super().__init__(f"unexpected answer to {call}: {problem}")


class BudgetExhausted(ConnectorError):
    """The run stopped before using more than the configured share of the CRM's API budget."""


class ProvisionError(ConnectorError):
    """A field exists with an incompatible type, or could not be created."""
