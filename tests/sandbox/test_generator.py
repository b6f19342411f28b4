"""The seeded generator: deterministic, realistic in the ways the KPIs can see, compact."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest

from partnerkpi.sandbox.generator import (
    CHANNELS,
    CURRENCIES,
    STAGES,
    UNKNOWN_STAGE,
    OpportunityColumns,
    SeedData,
    generate,
)

CLOSED = {s.key for s in STAGES if s.is_closed}


@pytest.fixture(scope="module")
def data() -> SeedData:
    return generate(seed=7, partners=60, opportunities=40_000)


def test_same_seed_same_data() -> None:
    first = generate(seed=11, partners=10, opportunities=2_000)
    second = generate(seed=11, partners=10, opportunities=2_000)
    assert first.partners == second.partners
    assert list(first.opportunities) == list(second.opportunities)
    assert first.dated_rates == second.dated_rates


def test_other_seed_other_data() -> None:
    first = generate(seed=1, partners=10, opportunities=500)
    second = generate(seed=2, partners=10, opportunities=500)
    assert list(first.opportunities) != list(second.opportunities)


def test_opportunities_are_a_compact_sequence(data: SeedData) -> None:
    opportunities = data.opportunities
    assert isinstance(opportunities, OpportunityColumns)
    assert data.columns is opportunities
    assert len(opportunities) == 40_000
    assert opportunities[0].key == 1 and opportunities[-1].key == 40_000
    assert [o.key for o in opportunities[10:13]] == [11, 12, 13]
    with pytest.raises(IndexError):
        opportunities[40_000]


def test_partners_differ_in_tier_size_and_win_rate(data: SeedData) -> None:
    tiers = Counter(p.tier for p in data.partners)
    assert len(tiers) >= 3
    assert tiers["registered"] > tiers["platinum"]  # the top tier is the rare one
    assert len({p.size for p in data.partners}) == 3
    observed: dict[int, list[int]] = {}
    for o in data.opportunities:
        if o.partner_key and o.stage in CLOSED:
            observed.setdefault(o.partner_key, [0, 0])[o.stage == "closed_won"] += 1
    rates = [won / (won + lost) for lost, won in observed.values() if won + lost >= 100]
    assert max(rates) - min(rates) > 0.15


def test_partner_volume_is_uneven(data: SeedData) -> None:
    per_partner = Counter(o.partner_key for o in data.opportunities if o.partner_key)
    counts = sorted(per_partner.values())
    assert counts[-1] > 5 * counts[len(counts) // 2]
    direct = sum(1 for o in data.opportunities if o.partner_key is None)
    assert 0.1 < direct / len(data.opportunities) < 0.3


def test_dates_are_consistent_and_within_range(data: SeedData) -> None:
    for o in data.opportunities:
        assert o.close_date >= o.created_at.date()
        assert o.created_at <= o.modified_at
        assert o.modified_at.date() <= data.end
        assert o.created_at.tzinfo is not None
        if o.stage in CLOSED:
            assert o.close_date <= data.end


def test_closes_bunch_at_quarter_end(data: SeedData) -> None:
    closes = [o.close_date for o in data.opportunities if o.stage in CLOSED]

    def in_last_two_weeks(day: date) -> bool:
        month = ((day.month - 1) // 3) * 3 + 3
        quarter_end = (date(day.year + (month == 12), month % 12 + 1, 1)) - timedelta(days=1)
        return (quarter_end - day).days < 14

    share = sum(map(in_last_two_weeks, closes)) / len(closes)
    assert share > 0.3  # two weeks of thirteen would be ~0.15 without seasonality


def test_open_deals_have_stages_by_age_and_cycles_vary(data: SeedData) -> None:
    stages = Counter(o.stage for o in data.opportunities)
    for stage in STAGES:
        assert stages[stage.key] > 0
    cycles = [
        (o.close_date - o.created_at.date()).days for o in data.opportunities if o.stage == "closed_won"
    ]
    lost = [(o.close_date - o.created_at.date()).days for o in data.opportunities if o.stage == "closed_lost"]
    assert sum(cycles) / len(cycles) > sum(lost) / len(lost)  # won deals take longer
    assert min(cycles) < 15 < 90 < max(cycles)


def test_currencies_channels_and_rates(data: SeedData) -> None:
    assert {o.currency for o in data.opportunities} == set(CURRENCIES)
    channels = Counter(o.channel for o in data.opportunities)
    assert set(channels) == {*CHANNELS, None}
    by_currency: dict[str, list[Decimal]] = {}
    for rate in data.dated_rates:
        by_currency.setdefault(rate.currency, []).append(rate.rate)
        assert rate.start.day == 1
        assert rate.next_start is None or rate.next_start > rate.start
    assert set(by_currency) == {"EUR", "GBP"}
    assert len(set(by_currency["EUR"])) > 12  # monthly rates that move
    assert data.static_rates["USD"] == 1


def test_a_few_deleted_and_dirty_records(data: SeedData) -> None:
    n = len(data.opportunities)
    deleted = sum(o.deleted for o in data.opportunities)
    no_amount = sum(o.amount is None for o in data.opportunities)
    unknown = sum(o.stage == UNKNOWN_STAGE for o in data.opportunities)
    for count in (deleted, no_amount, unknown):
        assert 0 < count < 0.01 * n
