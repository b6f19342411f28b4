"""HubSpot deals and pipeline stages into the common schema.

HubSpot hands every property as a string. Nothing here raises for a bad value: a malformed date or a
non-numeric amount becomes None, and kpi_core's data-quality rules count it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Any
from zoneinfo import ZoneInfo

from connectors.values import utc_datetime
from kpi_core.money import to_money
from kpi_core.schema import Opportunity, Partner, Status

DEAL_PROPERTIES = (
    "dealname",
    "dealstage",
    "pipeline",
    "amount",
    "amount_in_home_currency",
    "deal_currency_code",
    "closedate",
    "createdate",
    "hs_is_closed_won",
    "hs_deal_stage_probability",
    "hs_lastmodifieddate",
)
"""What a pull reads of each deal, besides the channel and partner properties from the config."""


@dataclass(frozen=True, slots=True)
class StageMeta:
    label: str
    is_closed: bool
    probability: float | None

    @property
    def status(self) -> Status:
        if not self.is_closed:
            return Status.OPEN
        return Status.WON if self.probability is not None and self.probability >= 1.0 else Status.LOST


@dataclass(frozen=True, slots=True)
class DealShape:
    """How to read a deal: which property holds the channel (and the partner), which time zone."""

    channel_property: str
    timezone: str
    partner_property: str | None = None


@dataclass(frozen=True, slots=True)
class RawDeal:
    """A deal as the API gave it (the SDK model flattened)."""

    id: str
    properties: Mapping[str, str | None]
    archived: bool = False
    archived_at: datetime | None = None
    updated_at: datetime | None = None


def text(value: Any) -> str | None:
    if value is None:
        return None
    out = str(value).strip()
    return out or None


def parse_datetime(value: Any) -> datetime | None:
    """ISO 8601 (``2024-05-01T12:00:00.000Z``) or epoch milliseconds, as aware UTC."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    raw = text(value)
    if raw is None:
        return None
    if raw.isdigit():
        try:
            return datetime.fromtimestamp(int(raw) / 1000.0, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    try:
        return utc_datetime(raw)
    except ValueError:
        return None


def parse_float(value: Any) -> float | None:
    amount = to_money(value)
    if amount is None:
        return None
    result = float(amount)
    return result if math.isfinite(result) else None


def parse_flag(value: Any) -> bool | None:
    raw = text(value)
    if raw is None:
        return None
    lowered = raw.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    return None


def day_of(moment: datetime | None, tz: str) -> date | None:
    """The day of ``moment`` in ``tz``; a value at exactly midnight UTC is a date-only value (HubSpot
    stores a picked day so) and keeps its UTC day whatever the time zone."""
    if moment is None:
        return None
    if moment.astimezone(timezone.utc).time() == time(0):
        return moment.astimezone(timezone.utc).date()
    return moment.astimezone(ZoneInfo(tz)).date()


def status_of(meta: StageMeta | None, props: Mapping[str, str | None]) -> Status | None:
    """From the stage's metadata (never its label); a closed stage without a probability asks the
    deal's ``hs_is_closed_won``. None when the stage is unknown."""
    if meta is None:
        return None
    if meta.is_closed and meta.probability is None:
        won = parse_flag(props.get("hs_is_closed_won"))
        if won is not None:
            return Status.WON if won else Status.LOST
    return meta.status


def opportunity(
    deal: RawDeal,
    *,
    shape: DealShape,
    stages: Mapping[str, StageMeta],
    partner_id: str | None,
    fallback_modified: datetime,
) -> Opportunity:
    props = deal.properties
    stage = text(props.get("dealstage"))
    meta = stages.get(stage) if stage else None
    status = status_of(meta, props)
    close_day = day_of(parse_datetime(props.get("closedate")), shape.timezone)
    closed = status in (Status.WON, Status.LOST)
    probability = meta.probability if meta is not None and meta.probability is not None else None
    if probability is None:
        probability = parse_float(props.get("hs_deal_stage_probability"))
    currency = text(props.get("deal_currency_code"))
    return Opportunity(
        id=deal.id,
        partner_id=partner_id,
        amount=to_money(props.get("amount_in_home_currency")),
        amount_original=to_money(props.get("amount")),
        currency=currency.upper() if currency else None,
        status=status,
        created_on=day_of(parse_datetime(props.get("createdate")), shape.timezone),
        closed_on=close_day if closed else None,
        expected_close_on=None if closed else close_day,
        probability=probability,
        channel=text(props.get(shape.channel_property)),
        modified_at=parse_datetime(props.get("hs_lastmodifieddate")) or deal.updated_at or fallback_modified,
        deleted=deal.archived,
        stage=stage,
    )


def partner(company_id: str, properties: Mapping[str, str | None] | None = None) -> Partner:
    return Partner(id=company_id, name=text((properties or {}).get("name")))
