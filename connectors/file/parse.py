"""Cell values of an export into typed values. Nothing here raises: a value that cannot be read is
``MALFORMED`` (the caller stores None and counts it), an empty one is None."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from datetime import date, datetime, timezone, tzinfo
from decimal import Decimal
from functools import lru_cache
from typing import Final

from connectors.file.config import ISO
from connectors.values import iso_datetime
from kpi_core.money import to_money


class Malformed(enum.Enum):
    MALFORMED = "malformed"


MALFORMED: Final = Malformed.MALFORMED
"""A non-empty value that could not be read."""

_TRUE = frozenset({"true", "t", "yes", "y", "1", "x"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})


def text(value: object) -> str | None:
    """A cell as stripped text; None when empty or null."""
    if value is None:
        return None
    out = str(value).strip()
    return out or None


def parse_amount(
    value: object, decimal_separator: str = ".", thousands_separator: str | None = None
) -> Decimal | Malformed | None:
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        number = to_money(value)
        return MALFORMED if number is None else number
    raw = text(value)
    if raw is None:
        return None
    if thousands_separator is not None:
        raw = raw.replace(thousands_separator, "")
    if decimal_separator != ".":
        raw = raw.replace(decimal_separator, ".")
    number = to_money(raw)
    return MALFORMED if number is None else number


def parse_bool(value: object) -> bool | Malformed:
    if isinstance(value, bool):
        return value
    raw = text(value)
    if raw is None:
        return False
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return MALFORMED


def parse_probability(value: object, percent: bool) -> float | Malformed | None:
    number = parse_amount(value)
    if number is None or number is MALFORMED:
        return number
    assert isinstance(number, Decimal)
    share = number / 100 if percent else number
    if not 0 <= share <= 1:
        return MALFORMED
    return float(share)


def _iso(raw: str) -> date | datetime:
    if len(raw) == 10:
        return date.fromisoformat(raw)
    return iso_datetime(raw)


class DateReader:
    """Reads dates and datetimes by the configured formats, tried in order, caching what it has read
    (exports repeat the same few hundred days)."""

    def __init__(self, formats: Sequence[str], zone: tzinfo, cache_size: int = 8_192) -> None:
        self._formats = tuple(formats)
        self._zone = zone
        self._read: Callable[[str], date | datetime | None] = lru_cache(maxsize=cache_size)(self._parse)

    def _parse(self, raw: str) -> date | datetime | None:
        for fmt in self._formats:
            try:
                if fmt == ISO:
                    return _iso(raw)
                return datetime.strptime(raw, fmt)
            except ValueError:
                continue
        return None

    def moment(self, value: object) -> date | datetime | Malformed | None:
        raw = text(value)
        if raw is None:
            return None
        parsed = self._read(raw)
        return MALFORMED if parsed is None else parsed

    def day(self, value: object) -> date | Malformed | None:
        """The day in the configured zone: a naive datetime is already local, an aware one is converted."""
        parsed = self.moment(value)
        if parsed is None or parsed is MALFORMED:
            return parsed
        if isinstance(parsed, datetime):
            return parsed.date() if parsed.tzinfo is None else parsed.astimezone(self._zone).date()
        assert isinstance(parsed, date)
        return parsed

    def instant(self, value: object) -> datetime | Malformed | None:
        """An aware UTC datetime; a naive one is in the configured zone, a bare day is its midnight there."""
        parsed = self.moment(value)
        if parsed is None or parsed is MALFORMED:
            return parsed
        if not isinstance(parsed, datetime):
            assert isinstance(parsed, date)
            parsed = datetime(parsed.year, parsed.month, parsed.day)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=self._zone)
        return parsed.astimezone(timezone.utc)
