"""The one home for turning CRM and file values into Python values and back: ISO timestamps, decimals,
the canonical zero. Every connector and writeback call these instead of restating the rules (singer-sdk's
``helpers/_typing.py`` is the same idea: one conformer shared by every stream)."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal


def iso_datetime(raw: str) -> datetime:
    """An ISO 8601 date and time as written, naive when it has no offset (the caller decides its zone).
    A ``Z``/``z`` suffix is UTC and a ``+hhmm`` offset (Salesforce's REST form) reads as ``+hh:mm``, on
    every Python this project supports (3.10's ``fromisoformat`` takes neither). ValueError, naming the
    value, when it is not one."""
    try:  # Python 3.11+ reads nearly every value as it comes: one C call
        return datetime.fromisoformat(raw)
    except ValueError:
        pass
    text = raw
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    elif len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = text[:-2] + ":" + text[-2:]
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{raw!r} is not an ISO 8601 date and time") from None


def utc_datetime(raw: str) -> datetime:
    """An ISO 8601 timestamp as an aware UTC datetime: one without an offset is read as UTC, one with an
    offset is converted to UTC. ValueError, naming the value, when it is not one."""
    moment = iso_datetime(raw)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment if moment.tzinfo is timezone.utc else moment.astimezone(timezone.utc)


def to_decimal(value: Decimal | int | float | str) -> Decimal:
    """``value`` as a Decimal: a float by its shortest repr (0.1 is ``0.1``, not the binary
    0.1000000000000000055...), anything else as Decimal reads it. decimal.InvalidOperation for text that
    is not a number."""
    if isinstance(value, Decimal):
        return value
    return Decimal(repr(value) if isinstance(value, float) else value)


def plain_number(number: Decimal) -> str:
    """``number`` in positional notation (never ``1E+2``), a negative zero without its sign: ``-0`` and
    ``0`` are the same value and must compare, and be written, the same."""
    text = format(number, "f")
    return text[1:] if number.is_zero() and text.startswith("-") else text
