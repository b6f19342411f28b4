"""One connector's run, from its lock to its summary event: the lifecycle ``sync`` and ``pull`` share.

The order is the rule: the connector's lock first, then the run's row in the history, then the work,
then the row finished. So a run that finds the lock held leaves no history row and exits 4 at once (the
scheduler's overlapping start, not a failure). Every line logged meanwhile carries the connector and the
run id; the run ends with one summary event (``partnerkpi.run_events``), also when it was locked, failed
or interrupted.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from connectors.errors import ConnectorError
from kpi_core.result import KpiResult
from partnerkpi import run_events as events
from partnerkpi.config import ConfigError
from partnerkpi.exit_codes import UNEXPECTED, ExitCode, exit_code_of
from partnerkpi.logs import log_context
from partnerkpi.redaction import redact
from partnerkpi.state import LockHeld, StateError, StateStore
from writeback import Plan

log = logging.getLogger("partnerkpi.pipeline")


class RunStatus(enum.StrEnum):
    """How a connector's run ended; the run history stores the value (``running`` is the history's own
    mark of a run not finished, partnerkpi/state/history.py)."""

    OK = "ok"
    PARTIAL = "partial"
    FAILED = "failed"
    LOCKED = "locked"
    """Skipped: another run holds the connector's lock."""
    INTERRUPTED = "interrupted"


@dataclass
class ConnectorRun:
    """What one connector's run did: the run history's row, in memory."""

    connector: str
    command: str
    run_id: int | None = None
    status: RunStatus = RunStatus.OK
    message: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    data_quality: dict[str, int] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    result: KpiResult | None = None
    plan: Plan | None = None
    exit_code: ExitCode = ExitCode.OK
    error: Exception | None = None
    """The error that ended the run (also LockHeld for a locked one), for a command that stops on it."""

    @property
    def skipped(self) -> bool:
        """The lock was held by another run: nothing was done, and nothing is recorded in the history."""
        return self.status is RunStatus.LOCKED

    def failed(self, exc: Exception, status: RunStatus = RunStatus.FAILED) -> None:
        """End the run on ``exc``: its exit code from the one table, its message written for the
        operator (classified) or naming its type (unexpected), secrets redacted."""
        self.status, self.exit_code, self.error = status, exit_code_of(exc), exc
        if isinstance(exc, (ConnectorError, StateError, ConfigError)):
            self.message = redact(str(exc))
        else:
            log.debug("%s: unexpected error", self.connector, exc_info=exc)
            self.exit_code, self.message = UNEXPECTED, unexpected_message(self.connector, exc)


@contextlib.contextmanager
def connector_run(store: StateStore, name: str, command: str) -> Iterator[ConnectorRun]:
    """The run of ``command`` on connector ``name``; the block does the work on the yielded run.

    When another run holds the lock, the run is ``skipped`` (status locked, exit 4, no history row) and
    the block must do nothing (``if run.skipped: return``). An exception from the block ends the run
    failed (``run.error``) and is not raised further, so the other connectors still run; only
    KeyboardInterrupt and SystemExit go on (they stop the process), after the run is marked
    interrupted."""
    run = ConnectorRun(connector=name, command=command)
    started = time.monotonic()
    with contextlib.ExitStack() as held:
        held.callback(lambda: _log_finished(run, time.monotonic() - started))
        held.enter_context(log_context(connector=name))
        try:
            held.enter_context(store.lock(name))
        except LockHeld as exc:
            run.failed(exc, RunStatus.LOCKED)
            yield run
            return
        run.run_id = store.start_run(name, command)
        held.enter_context(log_context(run_id=run.run_id))
        try:
            yield run
        except Exception as exc:  # classified or unexpected: recorded and alerted, never a traceback
            run.failed(exc)
        except BaseException as exc:  # Ctrl-C, SystemExit: stop, but leave the history row marked
            run.status, run.exit_code = RunStatus.INTERRUPTED, exit_code_of(exc)
            run.message = f"interrupted ({type(exc).__name__}); the next run carries on"
            raise
        finally:
            run.message = redact(run.message)  # an error may echo a secret; the history keeps no secret
            run.failures = [{**f, "message": redact(str(f["message"]))} for f in run.failures]
            store.finish_run(
                run.run_id, run.status.value, run.counts, run.data_quality, run.failures, run.message
            )


def _log_finished(run: ConnectorRun, seconds: float) -> None:
    events.connector_run_finished(
        connector=run.connector,
        command=run.command,
        run_id=run.run_id,
        status=run.status,
        exit_code=run.exit_code,
        message=run.message,
        counts=run.counts,
        data_quality=run.data_quality,
        duration_s=seconds,
    )


def unexpected_message(name: str, exc: BaseException) -> str:
    """One line naming the connector and the error's type and text, secrets redacted."""
    text = " ".join(str(exc).split())
    return redact(f"{name}: unexpected error {type(exc).__name__}: {text or '(no message)'}")
