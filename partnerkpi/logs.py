"""Logging: plain text for people, JSON lines for log shippers, and a filter that scrubs secrets.

Secrets are SecretStr everywhere; the redaction filter on the handler is the second line of defence:
every secret the config holds (partnerkpi.redaction) is masked in the message, the traceback and the
stack of any record, in whatever form it was echoed.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

from partnerkpi.redaction import MASK, redact, register_secrets

__all__ = [
    "MASK",
    "JsonFormatter",
    "RedactingFilter",
    "RedactingHandler",
    "redact",
    "register_secrets",
    "setup_logging",
]


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
    record, this also catches what a formatter adds (``extra`` fields such as ``connector``)."""

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
        for key in ("connector", "run_id", "stage"):
            if hasattr(record, key):
                payload[key] = getattr(record, key)
        if record.exc_text:
            payload["error"] = record.exc_text
        return json.dumps(payload, default=str)


def setup_logging(level: str = "info", fmt: str = "text", quiet: bool = False) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = RedactingHandler(sys.stderr)
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
