"""An independent check on real-shaped data: tests/data/maven-crm against a deliberately naive count.

Each sales_agent (then each regional_office) is a partner; engage_date = created_on, close_date =
closed_on, close_value = amount; Won/Lost are closed, Engaging/Prospecting open (kpis.md, "A worked check").
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import date, datetime, timezone
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest

from kpi_core import GroupKey, GroupKind, KpiResult, KpiSettings, Opportunity, Status, compute

MAVEN = Path(__file__).resolve().parents[1] / "data" / "maven-crm"
STATUS = {"Won": Status.WON, "Lost": Status.LOST, "Engaging": Status.OPEN, "Prospecting": Status.OPEN}
PULLED = datetime(2018, 1, 1, tzinfo=timezone.utc)
QUARTERS = [  # (as_of of previous_quarter, first, last)
    (date(2017, 4, 1), date(2017, 1, 1), date(2017, 3, 31)),
    (date(2017, 7, 1), date(2017, 4, 1), date(2017, 6, 30)),
    (date(2017, 10, 1), date(2017, 7, 1), date(2017, 9, 30)),
    (date(2018, 1, 1), date(2017, 10, 1), date(2017, 12, 31)),
]
Row = dict[str, str]


@cache
def rows() -> tuple[Row, ...]:
    with (MAVEN / "sales_pipeline.csv").open(newline="") as f:
        return tuple(csv.DictReader(f))


@cache
def offices() -> dict[str, str]:
    with (MAVEN / "sales_teams.csv").open(newline="") as f:
        return {r["sales_agent"]: r["regional_office"] for r in csv.DictReader(f)}


def day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def opportunity(row: Row, partner: str) -> Opportunity:
    amount = Decimal(row["close_value"]) if row["close_value"] else None
    return Opportunity(
        id=row["opportunity_id"],
        partner_id=partner,
        amount=amount,
        amount_original=amount,
        currency="USD",
        status=STATUS[row["deal_stage"]],
        created_on=day(row["engage_date"]),
        closed_on=day(row["close_date"]),
        expected_close_on=None,
        probability=None,
        channel=None,
        modified_at=PULLED,
    )


PartnerOf = Callable[[Row], str]


def by_agent(row: Row) -> str:
    return row["sales_agent"]


def by_office(row: Row) -> str:
    return offices()[row["sales_agent"]]


def ours(partner_of: PartnerOf, period: str, as_of: date) -> KpiResult:
    scope = set(offices()) if partner_of is by_agent else set(offices().values())
    opps = (opportunity(r, partner_of(r)) for r in rows())
    return compute(opps, settings=KpiSettings(periods=[period]), as_of=as_of, partners=scope)


def naive(partner_of: PartnerOf, partner: str, first: date, last: date) -> dict[str, object]:
    """The same four figures, counted the long way from the CSV text."""
    won = lost = revenue = 0
    cycles: list[int] = []
    for r in rows():
        if partner_of(r) != partner or not r["close_date"]:
            continue
        if not first.isoformat() <= r["close_date"] <= last.isoformat():
            continue
        if r["deal_stage"] == "Won":
            won += 1
            revenue += int(r["close_value"])
            if r["engage_date"]:
                days = (date.fromisoformat(r["close_date"]) - date.fromisoformat(r["engage_date"])).days
                cycles.append(max(days, 0))
        elif r["deal_stage"] == "Lost":
            lost += 1
    return {
        "deal_count": won,
        "won_revenue": Decimal(revenue),
        "win_rate": won / (won + lost) if won + lost else None,
        "avg_cycle_days": max(1.0, sum(cycles) / len(cycles)) if cycles else None,
    }


def check(result: KpiResult, partner_of: PartnerOf, period: str, first: date, last: date) -> int:
    checked = 0
    for g in result.groups:
        if g.group.kind is not GroupKind.PARTNER:
            continue
        assert (g.period.first, g.period.last) == (first, last)
        expected = naive(partner_of, g.group.partner_id or "", first, last)
        got = {name: g.figures[name].value for name in expected}
        assert got["deal_count"] == expected["deal_count"], g.group
        assert got["won_revenue"] == expected["won_revenue"], g.group
        for rate in ("win_rate", "avg_cycle_days"):
            if expected[rate] is None:
                assert got[rate] is None, (g.group, rate)
            else:
                assert got[rate] == pytest.approx(expected[rate], rel=1e-12), (g.group, rate)
        checked += 1
    return checked


@pytest.mark.parametrize("partner_of", [by_agent, by_office], ids=["sales_agent", "regional_office"])
def test_2017_per_partner_against_a_naive_count(partner_of: PartnerOf) -> None:
    result = ours(partner_of, "previous_year", date(2018, 1, 1))
    checked = check(result, partner_of, "previous_year", date(2017, 1, 1), date(2017, 12, 31))
    assert checked == (35 if partner_of is by_agent else 3)


@pytest.mark.parametrize("partner_of", [by_agent, by_office], ids=["sales_agent", "regional_office"])
@pytest.mark.parametrize(("as_of", "first", "last"), QUARTERS, ids=["Q1", "Q2", "Q3", "Q4"])
def test_each_quarter_of_2017_per_partner_against_a_naive_count(
    partner_of: PartnerOf, as_of: date, first: date, last: date
) -> None:
    result = ours(partner_of, "previous_quarter", as_of)
    assert check(result, partner_of, "previous_quarter", first, last) > 0


def test_the_known_answer_all_partners_last_365_days_of_2017() -> None:
    result = ours(by_agent, "last_365_days", date(2017, 12, 31))
    g = result.for_group(GroupKey(GroupKind.PARTNERS), "last_365_days")
    assert g is not None
    assert g.figures["deal_count"].value == 4238
    assert g.figures["won_revenue"].value == Decimal(10005534)
    avg = g.figures["avg_deal_size"].value
    assert isinstance(avg, Decimal) and avg.quantize(Decimal("0.01")) == Decimal("2360.91")
    assert round(g.figures["win_rate"].value, 4) == 0.6315  # type: ignore[arg-type]
    assert result.data_quality.unknown_partner == 0
    # agents without deals are in scope with zeros; all 8,800 records were read once
    assert result.opportunities_seen == 8800
    zeros = [
        x for x in result.groups if x.group.kind is GroupKind.PARTNER and x.figures["closed_count"].value == 0
    ]
    assert len(zeros) == 5
