"""Salesforce records (REST JSON or Bulk CSV rows: strings) into the common schema.

Nothing here raises for a bad value: a malformed date or a non-numeric amount becomes None, and the
data-quality rules of kpi_core count it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from connectors.values import utc_datetime
from kpi_core.money import RateTable, to_money
from kpi_core.schema import Opportunity, Partner, Status

UTC_NAMES = frozenset({"UTC", "Etc/UTC"})
"""Time-zone names that are UTC itself (every other zone goes through ZoneInfo)."""


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
    try:
        return utc_datetime(value.strip())
    except ValueError:
        return None


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


K = TypeVar("K")
V = TypeVar("V")


def remembered(cache: dict[K, V], key: K, rule: Callable[[K], V]) -> V:
    """``rule(key)``, worked out once per distinct key (``cache`` keeps the answers)."""
    try:
        return cache[key]
    except KeyError:
        found = cache[key] = rule(key)
        return found


@dataclass(kw_only=True, eq=False)
class Normalizer:
    """The normalizing rules for the many records of one page, with what repeats from record to
    record (a stage, a currency, a close day, a rate on a day, a probability, a partner or channel value)
    worked out once per distinct value instead of once per record. Only strings (and Decimals, for
    percentages) are remembered: any other value goes through the rule itself every time."""

    shape: OpportunityShape
    stages: Mapping[str, StageMeta]
    rates: RateTable
    today: date
    fallback_modified: datetime
    primary_partners: Mapping[str, str] | None = None
    """Each opportunity id's primary OpportunityPartner account, when ``shape.partner_field`` is None."""

    def __post_init__(self) -> None:
        self._primary: Mapping[str, str] = self.primary_partners or {}
        self._zone = ZoneInfo(self.shape.timezone)
        self._utc = self.shape.timezone in UTC_NAMES
        self._stage_of: dict[str, tuple[str | None, Status | None]] = {}
        self._day_of: dict[str, date | None] = {}
        self._text_of: dict[str, str | None] = {}
        self._percent_of: dict[str | Decimal, float | None] = {}
        self._currency_of: dict[str, tuple[str, str | None, bool]] = {}
        self._rate_on: dict[tuple[str, date], Decimal | None] = {}

    # -- one value, remembered ------------------------------------------------------------------------
    def _text(self, value: Any) -> str | None:
        return remembered(self._text_of, value, text) if type(value) is str else text(value)

    def _stage(self, value: Any) -> tuple[str | None, Status | None]:
        """The stage's name and its status from the stage metadata (None: unknown stage)."""
        if type(value) is str:
            return remembered(self._stage_of, value, self._stage_rule)
        return self._stage_rule(value)

    def _stage_rule(self, value: Any) -> tuple[str | None, Status | None]:
        stage = text(value)
        meta = self.stages.get(stage) if stage else None
        if meta is None:
            return stage, None
        return stage, (Status.WON if meta.is_won else Status.LOST) if meta.is_closed else Status.OPEN

    def _day(self, value: Any) -> date | None:
        return remembered(self._day_of, value, parse_date) if type(value) is str else parse_date(value)

    def _percent(self, value: Any) -> float | None:
        if type(value) is str or (type(value) is Decimal and value.is_finite()):
            return remembered(self._percent_of, value, parse_percent)
        return parse_percent(value)

    def _currency(self, value: Any) -> tuple[str, str | None, bool]:
        """The currency to convert from, the one to store (upper case), and whether a rate is known."""
        if type(value) is str:
            return remembered(self._currency_of, value, self._currency_rule)
        return self._currency_rule(value)

    def _currency_rule(self, value: Any) -> tuple[str, str | None, bool]:
        currency = (text(value) if self.shape.multi_currency else None) or self.shape.reporting_currency
        return currency, currency.upper() if currency else None, self.rates.knows(currency)

    def _convert(self, amount: Decimal | None, currency: str, on: date) -> Decimal | None:
        """RateTable.convert, with the rate of each (currency, day) looked up once."""
        if amount is None:
            return None
        rate = remembered(self._rate_on, (currency, on), self._rate_rule)
        if rate is None or rate == 0:
            return None
        return amount / rate

    def _rate_rule(self, key: tuple[str, date]) -> Decimal | None:
        currency, on = key
        return self.rates.rate_on(currency or self.rates.reporting_currency, on)

    def _local_day(self, moment: datetime | None) -> date | None:
        """local_day(); a UTC moment's day in UTC is its own (no time-zone arithmetic)."""
        if moment is None:
            return None
        if self._utc and moment.tzinfo is timezone.utc:
            return moment.date()
        return moment.astimezone(self._zone).date()

    # -- one record -----------------------------------------------------------------------------------
    def opportunity(self, record: Mapping[str, Any], *, deleted: bool = False) -> Opportunity:
        shape = self.shape
        get = record.get
        stage, status = self._stage(get("StageName"))
        close_day = self._day(get("CloseDate"))
        closed = status is Status.WON or status is Status.LOST
        closed_on = close_day if closed else None
        expected = close_day if status is Status.OPEN or status is None else None
        amount_original = to_money(get("Amount"))
        currency, stored_currency, known = self._currency(
            get("CurrencyIsoCode") if shape.multi_currency else ""
        )
        convert_on = closed_on if closed_on is not None else self.today
        amount = self._convert(amount_original, currency, convert_on) if known else None
        modified = parse_datetime(get("SystemModstamp")) or self.fallback_modified
        created = parse_datetime(get("CreatedDate"))
        if shape.partner_field is not None:
            partner = self._text(get(shape.partner_field))
        else:
            partner = self._primary.get(str(get("Id")))
        return Opportunity(
            id=str(record["Id"]),
            partner_id=partner,
            amount=amount,
            amount_original=amount_original,
            currency=stored_currency,
            status=status,
            created_on=self._local_day(created),
            closed_on=closed_on,
            expected_close_on=expected,
            probability=self._percent(get("Probability")),
            channel=self._text(get(shape.channel_field)),
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
