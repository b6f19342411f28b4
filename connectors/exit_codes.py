"""The exit codes of partnerkpi, what each means to a scheduler, and which one wins when several
connectors ran: the one table the CLI, the connectors' errors, ``--help`` and the docs all use.

It lives in ``connectors`` (which never imports ``partnerkpi``) so that ``connectors/errors.py`` can name
its classes' codes from it; ``partnerkpi.exit_codes`` maps the application's own errors onto it.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum


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
        "credentials refused, or the CRM unreachable or answering what its API does not document",
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
