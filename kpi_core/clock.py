"""The one clock. Everything that asks "what time is it" asks here, so tests and back-fills can pin it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

_now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)  # noqa: E731


def utcnow() -> datetime:
    """The current instant, timezone-aware, in UTC."""
    return _now().astimezone(timezone.utc)


def today(tz: str = "UTC") -> date:
    """Today's date in the reporting time zone ``tz``."""
    return utcnow().astimezone(ZoneInfo(tz)).date()


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    """Pin the clock to ``at`` (for tests and reproducible runs)."""
    global _now
    if at.tzinfo is None:
        raise ValueError("frozen() needs a timezone-aware datetime")
    previous = _now
    _now = lambda: at  # noqa: E731
    try:
        yield
    finally:
        _now = previous
