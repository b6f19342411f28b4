"""Where Salesforce's next pull starts: the last SystemModstamp handed over (or the run's start).

Stored as JSON (``{"modified":"2026-11-01T08:30:00.123000Z"}``, connectors/watermark.py); the ISO time
earlier versions stored (``2026-11-01T08:30:00.123Z``) is still read.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, field_validator

from connectors.values import utc_datetime
from connectors.watermark import Watermark


class SalesforceWatermark(Watermark):
    """The pull reads the opportunities and deletions modified since ``modified`` (minus the lookback)."""

    connector_kind = "Salesforce"

    modified: AwareDatetime
    """To the millisecond, Salesforce's own precision (and what the older text kept)."""

    @field_validator("modified", mode="after")
    @classmethod
    def _milliseconds(cls, value: datetime) -> datetime:
        return value.replace(microsecond=value.microsecond // 1000 * 1000)

    @classmethod
    def from_legacy(cls, text: str) -> SalesforceWatermark:
        """The older format: one ISO 8601 time (one without an offset is UTC)."""
        try:
            return cls(modified=utc_datetime(text.strip()))
        except ValueError:
            raise cls.refused(text, "is not an ISO timestamp") from None
