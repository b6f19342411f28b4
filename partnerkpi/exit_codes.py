"""The exit codes of partnerkpi, what each means to a scheduler, which one wins when several connectors
ran, and which error means which: the one table the CLI guard, the sync, ``check``, ``--help`` and the
docs all use.

Errors carry no exit code of their own: ``connectors/errors.py`` says what went wrong (its docstring has
the tree), ``ERRORS`` below decides what that means for the process. Anything not in it is unexpected:
exit 1, reported with its type.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum

from connectors.errors import (
    AuthError,
    BudgetExhausted,
    ConnectionFailed,
    ConnectorError,
    ProvisionError,
)
from partnerkpi.config import ConfigError
from partnerkpi.errors import UsageError
from partnerkpi.state import LockHeld, StateError, StateUnreachable

__all__ = [
    "ERRORS",
    "PRECEDENCE",
    "UNEXPECTED",
    "ExitCode",
    "classified",
    "exit_code_of",
    "help_text",
    "worst",
]


class ExitCode(IntEnum):
    """An exit code with its meaning (``description``) and what a scheduler should do (``action``),
    like httpx's ``codes``: ``ExitCode.LOCKED.description``."""

    description: str
    action: str

    def __new__(cls, value: int, description: str, action: str) -> ExitCode:
        member = int.__new__(cls, value)
        member._value_ = value
        member.description = description
        member.action = action
        return member

    OK = (0, "ok", "nothing")
    FAILED = (
        1,
        "a run failed or was partial (records not written, the API budget guard, the mass-change guard, an unexpected error)",
        "alert; the next run retries what failed",
    )
    CONFIG = (
        2,
        "config or usage error, or the state store cannot be used",
        "alert a human; retrying will not help",
    )
    CONNECTION = (
        3,
        "credentials refused, the CRM or the PostgreSQL state server unreachable, or the CRM answering what its API does not document",
        "retry with backoff; alert when it persists",
    )
    LOCKED = (
        4,
        "skipped: another run holds the connector's lock, and nothing else went wrong",
        "treat as success; the running one does the work",
    )
    INTERRUPTED = (
        130,
        "interrupted (Ctrl-C, SIGINT): the run is marked interrupted in the history",
        "nothing; the next run carries on",
    )
    # Aliases: the same codes under the name a caller thinks of.
    PARTIAL = FAILED
    AUTH = CONNECTION

    @classmethod
    def of(cls, value: int) -> ExitCode:
        """The member for ``value``; FAILED for a number outside the table (a code is never lost)."""
        for member in cls:
            if member.value == value:
                return member
        return cls.FAILED


PRECEDENCE: tuple[ExitCode, ...] = (
    ExitCode.INTERRUPTED,
    ExitCode.CONFIG,
    ExitCode.CONNECTION,
    ExitCode.FAILED,
    ExitCode.LOCKED,
    ExitCode.OK,
)
"""The exit code of a sync over several connectors is the first of these that any connector's run gave:
a config error first (it needs a human, and retrying cannot help), then refused credentials or an
unreachable CRM, then a failed or partial run; "locked" only when nothing else went wrong, so a lock
held on one connector never hides another's failure."""


def worst(codes: Iterable[int]) -> ExitCode:
    """The exit code of several runs, by ``PRECEDENCE`` (OK for none). A code outside the table counts
    as FAILED."""
    return min((ExitCode.of(c) for c in codes), key=PRECEDENCE.index, default=ExitCode.OK)


ERRORS: tuple[tuple[type[BaseException], ExitCode], ...] = (
    (LockHeld, ExitCode.LOCKED),  # before StateError, which it is
    (StateUnreachable, ExitCode.CONNECTION),  # a PostgreSQL state server down or refusing: outages end
    (StateError, ExitCode.CONFIG),  # also InstanceMismatch, a StateError raised by a connector's run
    (ConfigError, ExitCode.CONFIG),
    (UsageError, ExitCode.CONFIG),
    (AuthError, ExitCode.CONNECTION),
    (ConnectionFailed, ExitCode.CONNECTION),  # and UnexpectedAnswer
    (BudgetExhausted, ExitCode.FAILED),
    (ProvisionError, ExitCode.FAILED),
    (ConnectorError, ExitCode.FAILED),  # any other failure a connector knows (an API error, ...)
    (KeyboardInterrupt, ExitCode.INTERRUPTED),
)
"""From an error's type to its exit code, first match wins (a subclass before its base)."""

UNEXPECTED = ExitCode.FAILED
"""An exception nobody classified (a bug, or a fault a connector does not know yet)."""


def exit_code_of(exc: BaseException) -> ExitCode:
    """The exit code ``exc`` stands for (UNEXPECTED when it is not in the table)."""
    for kind, code in ERRORS:
        if isinstance(exc, kind):
            return code
    return UNEXPECTED


def classified(exc: BaseException) -> bool:
    """Whether ``exc`` is in the table, so its message was written for the operator; otherwise it is
    reported with its type, as unexpected."""
    return isinstance(exc, tuple(kind for kind, _ in ERRORS))


def help_text() -> str:
    """The exit codes, one paragraph each, and their precedence, for ``--help``."""
    order = " > ".join(str(code.value) for code in PRECEDENCE if code is not ExitCode.INTERRUPTED)
    lines = [f"Exit codes (over several connectors, the first of {order} wins):"]
    lines += [f"{code.value}: {code.description}" for code in sorted(ExitCode, key=int)]
    return "\n\n".join(lines)
