"""partnerkpi's own error for a user's mistake on the command line."""

from __future__ import annotations


class UsageError(Exception):
    """A name the user typed that does not exist (``--connector``, ``--period``, a run id), or options that
    do not go together. ``str(err)`` is the one line the CLI prints; the exit code is the table's
    (``partnerkpi/exit_codes.py``: 2, config or usage)."""
