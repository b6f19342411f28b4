"""Config problems: each names the YAML path and the line, so an operator can go straight to it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

PathKey = str | int
YamlPath = tuple[PathKey, ...]

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")


def format_path(path: Sequence[PathKey]) -> str:
    """``("connectors", 0, "auth", "token")`` -> ``connectors[0].auth.token``."""
    out = ""
    for key in path:
        if isinstance(key, int):
            out += f"[{key}]"
        elif _PLAIN_KEY.match(key):
            out += f".{key}" if out else key
        else:
            out += f"[{key!r}]"
    return out


class Problem(NamedTuple):
    """One thing wrong with the config: where (YAML path, 1-based line) and what."""

    path: str
    message: str
    line: int | None


class ConfigError(Exception):
    """The config cannot be used. ``str(err)`` is one line: the first problem in document order, as
    ``connectors[0].auth.consumer_key: field required (config.yaml:12)``; ``problems`` holds them all."""

    def __init__(self, file_name: str, problems: Iterable[Problem]) -> None:
        self.file_name = file_name
        self.problems: list[Problem] = sorted(problems, key=lambda p: (p.line is None, p.line or 0))
        if not self.problems:
            raise ValueError("a ConfigError needs at least one problem")
        super().__init__(self.format(self.problems[0]))

    def format(self, problem: Problem) -> str:
        where = f"{self.file_name}:{problem.line}" if problem.line is not None else self.file_name
        head = f"{problem.path}: " if problem.path else ""
        return f"{head}{problem.message} ({where})"

    def __str__(self) -> str:
        return self.format(self.problems[0])

    def lines(self) -> list[str]:
        """Every problem, one line each, in document order."""
        return [self.format(p) for p in self.problems]
