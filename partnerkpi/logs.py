"""Logging: plain text for people, JSON lines for log shippers, and a filter that scrubs secrets.

Secrets are SecretStr everywhere; the redaction filter is the second line of defence: every secret value
the config holds is registered here and replaced by ``**********`` in any record that would carry it.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Iterable
from datetime import datetime, timezone

_secrets: set[str] = set()
_lock = threading.Lock()
MASK = "**********"


def register_secrets(values: Iterable[str]) -> None:
    with _lock:
        _secrets.update(v for v in values if v and len(v) >= 4)


def redact(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


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
    handler = logging.StreamHandler(sys.stderr)
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
