"""From an error to its exit code: the one table every command, the pipeline and the CLI use.

The codes, their meaning and their precedence over several connectors are ``connectors.exit_codes``
(re-exported here); a connector's error carries its code as its class's ``exit_code``; the errors of
partnerkpi itself are in ``ERRORS``. Anything else is unexpected: exit 1, reported with its type.
"""

from __future__ import annotations

from connectors.errors import ConnectorError
from connectors.exit_codes import PRECEDENCE, ExitCode, worst
from partnerkpi.config import ConfigError
from partnerkpi.state import LockHeld, StateError

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

ERRORS: tuple[tuple[type[BaseException], ExitCode], ...] = (
    (LockHeld, ExitCode.LOCKED),  # before StateError, which it is
    (StateError, ExitCode.CONFIG),
    (ConfigError, ExitCode.CONFIG),
    # The CLI's lookups of a name the user typed (--connector, --period, a run id) raise KeyError.
    (KeyError, ExitCode.CONFIG),
    (KeyboardInterrupt, ExitCode.INTERRUPTED),
)
"""partnerkpi's own errors, first match wins. ``ConnectorError``s carry their own code."""

UNEXPECTED = ExitCode.FAILED
"""An exception nobody classified (a bug, or a fault a connector does not know yet)."""


def exit_code_of(exc: BaseException) -> ExitCode:
    """The exit code ``exc`` stands for (UNEXPECTED when it is not in the table)."""
    if isinstance(exc, ConnectorError):
        return ExitCode.of(exc.exit_code)
    for kind, code in ERRORS:
        if isinstance(exc, kind):
            return code
    return UNEXPECTED


def classified(exc: BaseException) -> bool:
    """Whether ``exc`` is in the table, so its message was written for the operator; otherwise it is
    reported with its type, as unexpected."""
    return isinstance(exc, (ConnectorError, *(kind for kind, _ in ERRORS)))


def help_text() -> str:
    """The exit codes, one paragraph each, and their precedence, for ``--help``."""
    order = " > ".join(str(code.value) for code in PRECEDENCE if code is not ExitCode.INTERRUPTED)
    lines = [f"Exit codes (over several connectors, the first of {order} wins):"]
    lines += [f"{code.value}: {code.description}" for code in sorted(ExitCode, key=int)]
    return "\n\n".join(lines)
