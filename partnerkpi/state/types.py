"""Column types that keep the domain's guarantees in the database: exact money, aware datetimes, JSON
with exact decimals. SQLite has no decimal or time-zone type, so these do the converting."""

from __future__ import annotations

import enum
import json
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


def record_id_type() -> TypeEngine[str]:
    """A CRM record id, compared and ordered byte by byte on every backend: SQLite does so by default,
    PostgreSQL only with the "C" collation (a database's own, often en_US, would put ``a`` before ``B``
    and move the mirror's keyset paging off SQLite's order; "C" is also the faster to compare)."""
    return String(200).with_variant(String(200, collation="C"), "postgresql")


class MoneyText(TypeDecorator[Decimal]):
    """A Decimal stored as its exact decimal text: no float ever touches an amount."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
            raise TypeError(f"money must be Decimal, not {type(value).__name__}")
        amount = Decimal(value)
        if not amount.is_finite():
            raise ValueError(f"money must be finite, not {amount}")
        return format(amount, "f")

    def process_result_value(self, value: str | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime, stored as naive UTC and handed back aware (UTC). Naive input is refused."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} (the state store keeps aware datetimes)")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def json_default(value: object) -> object:
    """Decimal as its exact string, dates as ISO 8601, enums as their value."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def dump_json(value: Any) -> str:
    return json.dumps(value, default=json_default, separators=(",", ":"), sort_keys=True)


class JsonText(TypeDecorator[Any]):
    """JSON in a TEXT column, written with :func:`dump_json` (exact decimals, ISO dates)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else dump_json(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


class IdList(TypeDecorator[tuple[str, ...]]):
    """A tuple of ids as a JSON array in a TEXT column; the empty tuple as NULL (most deals have none)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: tuple[str, ...] | None, dialect: Dialect) -> str | None:
        return json.dumps(list(value), separators=(",", ":")) if value else None

    def process_result_value(self, value: str | None, dialect: Dialect) -> tuple[str, ...]:
        return id_list(value)


def id_list(value: str | None) -> tuple[str, ...]:
    """What :class:`IdList` stored, back as a tuple (the mirror's raw read uses it too)."""
    return tuple(json.loads(value)) if value else ()
