"""The structured events a run ends with: one per connector run, one per command. In JSON logs they are
what a log shipper alerts on (``event``, ``status``, ``exit_code``, counts); in text logs (where stdout
carries the summary for people) they are debug lines. Their fields are the ones the run history and ``sync --results`` carry."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from partnerkpi.logs import json_logs

log = logging.getLogger("partnerkpi.run")

CONNECTOR_RUN_FINISHED = "connector_run_finished"
COMMAND_FINISHED = "command_finished"


def connector_run_finished(
    *,
    connector: str,
    command: str,
    run_id: int | None,
    status: str,
    exit_code: int,
    message: str,
    counts: Mapping[str, int],
    data_quality: Mapping[str, int],
    duration_s: float,
) -> None:
    """The one summary event of a connector's run (also a locked or failed one)."""
    fields: dict[str, Any] = {
        "command": command,
        "status": status,
        "exit_code": int(exit_code),
        "duration_s": round(duration_s, 3),
        "counts": dict(counts),
        "data_quality": dict(data_quality),
    }
    if message:
        fields["error" if status in ("failed", "interrupted") else "detail"] = message
    extra: dict[str, Any] = {"event": CONNECTOR_RUN_FINISHED, "fields": fields, "connector": connector}
    if run_id is not None:
        extra["run_id"] = run_id
    text = f"{connector}: {command} {status} (exit {int(exit_code)}) in {duration_s:.1f}s"
    level = logging.INFO if status in ("ok", "locked") else logging.WARNING
    log.log(_shown(level), text + (f": {message}" if message and status != "ok" else ""), extra=extra)


def command_finished(
    command: str, outcomes: Sequence[tuple[str, str, int]], exit_code: int, why: str
) -> None:
    """The last event of a command over several connectors: each one's (name, status, exit code), and
    the command's exit code with its meaning."""
    fields = {
        "command": command,
        "exit_code": int(exit_code),
        "meaning": why,
        "connectors": [{"connector": n, "status": s, "exit_code": int(c)} for n, s, c in outcomes],
    }
    each = ", ".join(f"{n} {s}" for n, s, _ in outcomes) or "no connectors"
    text = f"{command}: {each} · exit {int(exit_code)}: {why}"
    log.log(_shown(logging.INFO), text, extra={"event": COMMAND_FINISHED, "fields": fields})


def _shown(level: int) -> int:
    """In text mode stdout carries the same summary for people, so the event is only a debug line
    there (``-v`` shows it); in JSON mode it is the summary."""
    return level if json_logs() else logging.DEBUG
