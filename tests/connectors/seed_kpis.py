"""Shared by the connectors' KPI-equality tests: the seed's rates, and the comparison of the KPIs computed
through a connector with those computed straight from the sandbox's seed data."""

from __future__ import annotations

from decimal import Decimal

from kpi_core.money import DatedRate, RateTable
from kpi_core.result import KpiResult
from partnerkpi.sandbox.generator import SeedData

Figures = dict[tuple[str, str], dict[str, object]]
"""(group, period) -> figure name -> value."""


def rates_of(data: SeedData) -> RateTable:
    table = RateTable(reporting_currency=data.corporate_currency, static=dict(data.static_rates))
    table.add_dated(DatedRate(r.currency, r.rate, r.start, r.next_start) for r in data.dated_rates)
    return table


def close(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is b
    return abs(Decimal(str(a)) - Decimal(str(b))) <= Decimal("0.000001") * max(
        Decimal(1), abs(Decimal(str(b)))
    )


def assert_same_kpis(
    through: KpiResult, naive: KpiResult, got: Figures, want: Figures, partners: int
) -> None:
    """Every group (each partner, partners, direct, overall), period and figure agrees, and so do the
    data-quality counters (which must have something to count)."""
    assert set(got) == set(want)
    assert len([k for k in want if k[1] == "last_90_days"]) == partners + 3
    mismatches = [
        (key, name, got[key][name], value)
        for key, values in want.items()
        for name, value in values.items()
        if not close(got[key][name], value)
    ]
    assert mismatches == []
    assert through.data_quality.as_dict() == naive.data_quality.as_dict()
    assert through.data_quality.unknown_stage > 0 and through.data_quality.missing_amount > 0
