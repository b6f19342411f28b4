"""``partnerkpi sync --results FILE``: what a sync did, per connector, as one JSON document an orchestrator
reads after the process ends (like dbt's run_results.json): status, exit code, counts, duration.

Written whole or not at all (a temporary file in the same directory, then a rename), so a reader never
sees half of it; a run whose process was killed leaves the previous file as it was."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from partnerkpi.exit_codes import ExitCode
from partnerkpi.pipeline import ConnectorRun
from partnerkpi.reports.serialize import json_default

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class TimedRun:
    run: ConnectorRun
    started_at: datetime
    ended_at: datetime


def results_document(command: str, runs: Sequence[TimedRun], exit_code: int) -> dict[str, Any]:
    started = min((r.started_at for r in runs), default=None)
    ended = max((r.ended_at for r in runs), default=None)
    return {
        "schema_version": SCHEMA_VERSION,
        "command": command,
        "started_at": started,
        "ended_at": ended,
        "elapsed_seconds": _seconds(started, ended),
        "exit_code": exit_code,
        "exit_meaning": ExitCode.of(exit_code).description,
        "results": [_result(r) for r in runs],
    }


def _result(timed: TimedRun) -> dict[str, Any]:
    run = timed.run
    return {
        "connector": run.connector,
        "run_id": run.run_id,
        "status": run.status,
        "exit_code": int(run.exit_code),
        "message": run.message,
        "counts": dict(run.counts),
        "data_quality": dict(run.data_quality),
        "failed_records": len({f["partner_id"] for f in run.failures}),
        "started_at": timed.started_at,
        "ended_at": timed.ended_at,
        "elapsed_seconds": _seconds(timed.started_at, timed.ended_at),
    }


def _seconds(started: datetime | None, ended: datetime | None) -> float | None:
    if started is None or ended is None:
        return None
    return round((ended - started).total_seconds(), 3)


def write_results(path: Path, document: dict[str, Any]) -> None:
    """``document`` to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, default=json_default, indent=2)
            handle.write("\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
