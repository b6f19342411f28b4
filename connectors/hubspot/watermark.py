"""Where HubSpot's next pull starts, and what it needs to tell whether deals were archived since.

The watermark handed over is the last ``hs_lastmodifieddate`` fully passed during a search, and the run's
start once the pull is complete; never later than the run's start. Its text is that time, then ``live=N``
(final watermarks only: HubSpot's count of live deals at that time) and ``archived_listed=TIME`` (the
cut-off of the last archived listing); a plain time (the older format) is read as a run that listed them
then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from connectors.errors import ConnectorError
from connectors.hubspot.normalize import parse_datetime


def format_watermark(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat()


def parse_watermark(value: str) -> datetime:
    parsed = parse_datetime(value)
    if parsed is None:
        raise ConnectorError(f"HubSpot watermark {value!r} is not an ISO 8601 time; reset it to pull all")
    return parsed


@dataclass(frozen=True)
class Watermark:
    """Where the next pull starts, and what it needs to tell whether deals were archived since."""

    modified: datetime
    """Search from here (minus the lookback)."""
    live_deals: int | None = None
    """Live deals created at or before ``modified``, as HubSpot counted them (None: unknown)."""
    archived_listed: datetime | None = None
    """Cut-off of the last listing of the archived deals (None: unknown)."""

    def format(self) -> str:
        parts = [format_watermark(self.modified)]
        if self.live_deals is not None:
            parts.append(f"live={self.live_deals}")
        if self.archived_listed is not None:
            parts.append(f"archived_listed={format_watermark(self.archived_listed)}")
        return " ".join(parts)

    @classmethod
    def parse(cls, value: str) -> Watermark:
        """The format above; a plain time (older versions, which listed archived deals on every pull)
        is a run that listed them at that time."""
        head, *rest = value.split() or [value]
        modified = parse_watermark(head)
        fields = dict(part.partition("=")[::2] for part in rest)
        live = fields.get("live")
        listed = fields.get("archived_listed")
        try:
            live_deals = int(live) if live is not None else None
        except ValueError:
            raise ConnectorError(f"HubSpot watermark {value!r} has a bad live count; reset it") from None
        if not rest:
            return cls(modified, None, modified)
        return cls(modified, live_deals, parse_watermark(listed) if listed is not None else None)
