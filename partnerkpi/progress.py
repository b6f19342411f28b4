"""Progress on long work: bars on a terminal, a plain line per stage when not a TTY (cron), nothing with
--quiet. The pipeline only calls ``stage()`` and ``advance()``."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

log = logging.getLogger("partnerkpi")


class Stage(Protocol):
    def advance(self, n: int = 1) -> None: ...

    def expect(self, total: int) -> None:
        """The stage's total, once the work knows it (a pull learns it from the CRM's count)."""


class _Count:
    def __init__(self, total: int | None) -> None:
        self.done, self.total = 0, total

    def advance(self, n: int = 1) -> None:
        self.done += n

    def expect(self, total: int) -> None:
        self.total = total


class _RichStage:
    def __init__(self, progress: Progress, task: int) -> None:
        self.progress, self.task = progress, task

    def advance(self, n: int = 1) -> None:
        self.progress.advance(self.task, n)  # type: ignore[arg-type]

    def expect(self, total: int) -> None:
        self.progress.update(self.task, total=total)  # type: ignore[arg-type]


class ProgressReporter:
    """``mode``: "bar" (rich, on a TTY), "lines" (one log line per stage), "none"."""

    def __init__(self, console: Console, mode: str = "auto", prefix: str = "") -> None:
        if mode == "auto":
            mode = "bar" if console.is_terminal else "lines"
        self.console, self.mode, self.prefix = console, mode, prefix

    @classmethod
    def silent(cls) -> ProgressReporter:
        """Reports nothing (tests, benchmarks, library use)."""
        return cls(Console(quiet=True), "none")

    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Stage]:
        label = f"{self.prefix}{name}"
        started = time.monotonic()
        if self.mode == "bar":
            with Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            ) as progress:
                task = progress.add_task(label, total=total)
                yield _RichStage(progress, task)
                done = progress.tasks[0].completed
            count = f"{int(done):,} in " if done or total is not None else ""
            self.console.print(f"[green]✓[/] {label}: {count}{time.monotonic() - started:.1f}s")
            return
        counter = _Count(total)
        yield counter
        if self.mode == "lines":
            if counter.done or counter.total is not None:
                of = (
                    f" of {counter.total:,}"
                    if counter.total is not None and counter.total != counter.done
                    else ""
                )
                log.info("%s: %s%s in %.1fs", label, f"{counter.done:,}", of, time.monotonic() - started)
            else:
                log.info("%s: done in %.1fs", label, time.monotonic() - started)
