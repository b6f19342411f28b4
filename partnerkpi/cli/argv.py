"""Typer takes the global options (``--config``, ``--log-format``, ``--quiet``, ``--verbose``) only before
the command; the argv is reordered first so that they work after it too, for every entry point."""

from __future__ import annotations

GLOBAL_VALUE_OPTIONS = ("--config", "-c", "--log-format")
GLOBAL_FLAGS = ("--quiet", "-q", "--verbose", "-v")


def global_options_first(argv: list[str]) -> list[str]:
    """``argv`` with the global options moved before the command, so that they may be given after it too
    (``partnerkpi sync --log-format json``, as dbt and Meltano accept). Nothing after ``--`` moves, and no
    command has an option of the same name."""
    before: list[str] = []
    moved: list[str] = []
    rest: list[str] = []
    tokens = iter(argv)
    in_command = False
    for token in tokens:
        if token == "--":
            rest.append(token)
            rest.extend(tokens)
            break
        name = token.split("=", 1)[0]
        is_value_option = name in GLOBAL_VALUE_OPTIONS
        if is_value_option or token in GLOBAL_FLAGS:
            target = moved if in_command else before
            target.append(token)
            if is_value_option and "=" not in token:
                value = next(tokens, None)
                if value is not None:
                    target.append(value)
            continue
        if not in_command and not token.startswith("-"):
            in_command = True
        (rest if in_command else before).append(token)
    return before + moved + rest
