"""Salesforce records (REST JSON or Bulk CSV rows: strings) into the common schema.

Nothing here raises for a bad value: a malformed date or a non-numeric amount becomes None, and the
data-quality rules of kpi_core count it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from kpi_core.money import RateTable, to_money
from kpi_core.schema import Opportunity, Partner, Status


@dataclass(frozen=True, slots=True)
class StageMeta:
    is_closed: bool
    is_won: bool
    default_probability: float | None


@dataclass(frozen=True)
class OpportunityShape:
    """What the pull selected and how to read it."""

    partner_field: str | None
    """Opportunity field with the partner's account id; None: the primary OpportunityPartner."""
    channel_field: str
    multi_currency: bool
    timezone: str
    reporting_currency: str


def parse_datetime(value: Any) -> datetime | None:
    """``2020-10-22T21:03:23.000+0000`` (REST) or ``2020-10-22T21:03:23.000Z`` (Bulk) as aware UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = text[:-2] + ":" + text[-2:]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def parse_date(value: Any) -> date | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def parse_percent(value: Any) -> float | None:
    """A Percent field (63.15 means 63.15 %) as a share 0..1; None for a value outside 0..100 %."""
    amount = to_money(value)
    if amount is None or not amount.is_finite() or not 0 <= amount <= 100:
        return None
    return float(amount / Decimal(100))


def text(value: Any) -> str | None:
    if value is None:
        return None
    out = str(value).strip()
    return out or None


def local_day(moment: datetime | None, tz: str) -> date | None:
    return None if moment is None else moment.astimezone(ZoneInfo(tz)).date()


def partner_id(record: Mapping[str, Any], shape: OpportunityShape, primary: Mapping[str, str]) -> str | None:
    """The partner's account id by the configured attribution mode."""
    if shape.partner_field is not None:
        return text(record.get(shape.partner_field))
    return primary.get(str(record.get("Id")))


def opportunity(
    record: Mapping[str, Any],
    *,
    shape: OpportunityShape,
    stages: Mapping[str, StageMeta],
    rates: RateTable,
    today: date,
    fallback_modified: datetime,
    primary_partners: Mapping[str, str] | None = None,
    deleted: bool = False,
) -> Opportunity:
    """One Opportunity record, normalized; amount converted per kpis.md (closed: the rate on the close
    day; open: today's rate)."""
    stage = text(record.get("StageName"))
    meta = stages.get(stage) if stage else None
    status: Status | None = None
    if meta is not None:
        status = (Status.WON if meta.is_won else Status.LOST) if meta.is_closed else Status.OPEN
    close_day = parse_date(record.get("CloseDate"))
    closed_on = close_day if status in (Status.WON, Status.LOST) else None
    expected = close_day if status is Status.OPEN or status is None else None
    amount_original = to_money(record.get("Amount"))
    currency = (
        text(record.get("CurrencyIsoCode")) if shape.multi_currency else None
    ) or shape.reporting_currency
    convert_on = closed_on if closed_on is not None else today
    amount = rates.convert(amount_original, currency, convert_on) if rates.knows(currency) else None
    modified = parse_datetime(record.get("SystemModstamp")) or fallback_modified
    return Opportunity(
        id=str(record["Id"]),
        partner_id=partner_id(record, shape, primary_partners or {}),
        amount=amount,
        amount_original=amount_original,
        currency=currency.upper() if currency else None,
        status=status,
        created_on=local_day(parse_datetime(record.get("CreatedDate")), shape.timezone),
        closed_on=closed_on,
        expected_close_on=expected,
        probability=parse_percent(record.get("Probability")),
        channel=text(record.get(shape.channel_field)),
        modified_at=modified,
        deleted=deleted,
        stage=stage,
    )


def partner(record: Mapping[str, Any]) -> Partner:
    return Partner(id=str(record["Id"]), name=text(record.get("Name")))


def stage_meta(record: Mapping[str, Any]) -> tuple[str, StageMeta] | None:
    """An OpportunityStage row keyed by ApiName (what Opportunity.StageName holds)."""
    key = text(record.get("ApiName"))
    if key is None:
        return None
    return key, StageMeta(
        is_closed=_flag(record.get("IsClosed")),
        is_won=_flag(record.get("IsWon")),
        default_probability=parse_percent(record.get("DefaultProbability")),
    )


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)
