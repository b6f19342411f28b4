"""Logging: plain text for people, JSON lines for log shippers, and a filter that scrubs secrets.

Secrets are SecretStr everywhere; the redaction filter on the handler is the second line of defence:
every secret the config holds (partnerkpi.redaction) is masked in the message, the traceback and the
stack of any record, in whatever form it was echoed.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from partnerkpi.redaction import MASK, redact, register_secrets

__all__ = [
    "MASK",
    "ContextFilter",
    "JsonFormatter",
    "RedactingFilter",
    "RedactingHandler",
    "json_logs",
    "log_context",
    "redact",
    "register_secrets",
    "setup_logging",
]

CONTEXT_KEYS = ("connector", "run_id", "stage")
"""What a line says about where it came from: set by ``log_context`` for every logger, shown by the JSON
formatter as top-level keys (and read by log shippers as labels)."""

_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "partnerkpi_log_context", default=None
)


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Every line logged inside the block (by any logger, also in threads started with a copy of the
    context) carries ``fields``: e.g. the connector and run id of the run being done."""
    token = _context.set({**(_context.get() or {}), **fields})
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Puts the ``log_context`` fields on each record that does not set them itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_context.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RedactingHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler whose every formatted line is redacted as a whole: the filter cleans the
    record, this also catches what a formatter adds (``extra`` fields such as ``connector``).

    It writes to whatever ``sys.stderr`` is at the time of the line, not the one at setup: while a
    progress bar is on screen, rich stands a proxy in for ``sys.stderr`` that prints each line above the
    bar, so a log line never lands inside it."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:  # StreamHandler.__init__ sets it; the property decides
        pass

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in CONTEXT_KEYS:
            if hasattr(record, key):
                payload[key] = getattr(record, key)
        event = getattr(record, "event", None)
        if event is not None:  # a structured event: its name and its fields, at the top level
            payload["event"] = event
            for key, value in getattr(record, "fields", {}).items():
                payload.setdefault(key, value)
        if record.exc_text:
            payload["error"] = record.exc_text
        return json.dumps(payload, default=str)


def setup_logging(level: str = "info", fmt: str = "text", quiet: bool = False) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = RedactingHandler()
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    root.addHandler(handler)
    root.setLevel(logging.WARNING if quiet else getattr(logging, level.upper(), logging.INFO))
    for noisy in ("urllib3", "httpx", "httpcore", "simple_salesforce", "zeep", "hubspot"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def json_logs() -> bool:
    """Whether the log is JSON lines (then a command's summary goes to the log as an event, not to
    stdout as text)."""
    return any(isinstance(h.formatter, JsonFormatter) for h in logging.getLogger().handlers)
