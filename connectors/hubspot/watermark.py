"""Where HubSpot's next pull starts, and what it needs to tell whether deals were archived since.

The watermark handed over is the last ``hs_lastmodifieddate`` fully passed during a search, and the run's
start once the pull is complete; never later than the run's start. Stored as JSON
(connectors/watermark.py): that time, HubSpot's count of live deals at that time (final watermarks only)
and the cut-off of the last archived listing. Two older text formats are still read: ``TIME live=N
archived_listed=TIME``, and a plain time (a run that listed the archived deals then).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime

from connectors.hubspot.normalize import parse_datetime
from connectors.watermark import Watermark


class HubSpotWatermark(Watermark):
    """Where the next pull starts, and what it needs to tell whether deals were archived since."""

    connector_kind = "HubSpot"

    modified: AwareDatetime
    """Search from here (minus the lookback)."""
    live_deals: int | None
    """Live deals created at or before ``modified``, as HubSpot counted them (None: unknown)."""
    archived_listed: AwareDatetime | None
    """Cut-off of the last listing of the archived deals (None: unknown)."""

    @classmethod
    def from_legacy(cls, text: str) -> HubSpotWatermark:
        """``TIME live=N archived_listed=TIME`` (each part after the time optional); a plain time (older
        versions, which listed archived deals on every pull) is a run that listed them at that time."""
        head, *rest = text.split() or [text]
        modified = cls._legacy_time(text, head)
        if not rest:
            return cls(modified=modified, live_deals=None, archived_listed=modified)
        fields = dict(part.partition("=")[::2] for part in rest)
        live = fields.get("live")
        listed = fields.get("archived_listed")
        try:
            live_deals = int(live) if live is not None else None
        except ValueError:
            raise cls.refused(text, "has a bad live count") from None
        archived = cls._legacy_time(text, listed) if listed is not None else None
        return cls(modified=modified, live_deals=live_deals, archived_listed=archived)

    @classmethod
    def _legacy_time(cls, text: str, value: str) -> datetime:
        parsed = parse_datetime(value)
        if parsed is None:
            raise cls.refused(text, "is not an ISO 8601 time")
        return parsed
