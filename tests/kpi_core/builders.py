"""Small builders for opportunities and results in kpi_core's tests."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import date, datetime, timezone
from decimal import Decimal

from kpi_core import GroupKey, GroupKind, GroupKpis, KpiResult, KpiSettings, Opportunity, Status, compute

MODIFIED = datetime(2024, 1, 1, tzinfo=timezone.utc)
_ids = itertools.count(1)
_UNSET: object = object()


def opp(
    status: Status | None = Status.WON,
    *,
    partner: str | None = "p1",
    amount: Decimal | int | str | None = 100,
    created: date | None = date(2024, 1, 1),
    closed: date | object | None = _UNSET,
    probability: float | None = None,
    channel: str | None = None,
    deleted: bool = False,
    original: Decimal | int | str | object | None = _UNSET,
    currency: str | None = "USD",
    influencers: tuple[str, ...] = (),
) -> Opportunity:
    """An opportunity; a closed one closes on 2024-03-31 unless told, amount_original = amount unless told."""
    value = None if amount is None else Decimal(amount)
    if closed is _UNSET:
        closed = date(2024, 3, 31) if status in (Status.WON, Status.LOST) else None
    raw = value if original is _UNSET else (None if original is None else Decimal(str(original)))
    assert closed is None or isinstance(closed, date)
    return Opportunity(
        id=f"o{next(_ids)}",
        partner_id=partner,
        amount=value,
        amount_original=raw,
        currency=currency,
        status=status,
        created_on=created,
        closed_on=closed,
        expected_close_on=None,
        probability=probability,
        channel=channel,
        modified_at=MODIFIED,
        deleted=deleted,
        influencers=influencers,
    )


def run(
    opps: Iterable[Opportunity],
    *,
    as_of: date = date(2024, 3, 31),
    periods: list[str] | None = None,
    partners: list[str] | None = None,
    **settings: object,
) -> KpiResult:
    config = KpiSettings.model_validate({"periods": periods or ["last_90_days"], **settings})
    return compute(iter(list(opps)), settings=config, as_of=as_of, partners=partners)


def group(
    result: KpiResult, key: str | GroupKind = GroupKind.OVERALL, period: str | None = None
) -> GroupKpis:
    gk = GroupKey(key) if isinstance(key, GroupKind) else GroupKey(GroupKind.PARTNER, key)
    found = result.for_group(gk, period or result.periods[0].name)
    assert found is not None, f"no group {gk} / {period}"
    return found


def value(
    result: KpiResult, name: str, key: str | GroupKind = GroupKind.OVERALL, period: str | None = None
) -> object:
    return group(result, key, period).figures[name].value


def prior(
    result: KpiResult, name: str, key: str | GroupKind = GroupKind.OVERALL, period: str | None = None
) -> object:
    return group(result, key, period).figures[name].prior
