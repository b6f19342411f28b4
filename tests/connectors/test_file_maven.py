"""tests/data/maven-crm read through the file connector, checked against the csv module directly, and
the KPI acceptance figures of kpis.md ("A worked check") computed from what the connector yields."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connectors.file import FileConnector, FileConnectorConfig
from kpi_core import GroupKind, KpiSettings, compute
from kpi_core.schema import Opportunity, Status

MAVEN = Path(__file__).resolve().parents[1] / "data" / "maven-crm"
CONFIG: dict[str, Any] = {
    "name": "maven",
    "type": "file",
    "path": str(MAVEN / "sales_pipeline.csv"),
    "columns": {
        "id": "opportunity_id",
        "partner": "sales_agent",
        "amount": "close_value",
        "stage": "deal_stage",
        "created": "engage_date",
        "closed": "close_date",
    },
    "stages": {"Won": "won", "Lost": "lost", "Engaging": "open", "Prospecting": "open"},
}


@pytest.fixture(scope="module")
def raw() -> list[dict[str, str]]:
    with (MAVEN / "sales_pipeline.csv").open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def pulled() -> tuple[FileConnector, list[Opportunity], list[str]]:
    connector = FileConnector(FileConnectorConfig.model_validate(CONFIG))
    batches = list(connector.pull(None))
    return (
        connector,
        [o for b in batches for o in b.opportunities],
        [p.id for b in batches for p in b.partners],
    )


def test_every_row_arrives_once(
    pulled: tuple[FileConnector, list[Opportunity], list[str]], raw: list[dict[str, str]]
) -> None:
    connector, opps, partners = pulled
    assert len(opps) == len(raw) == 8_800
    assert len({o.id for o in opps}) == 8_800
    assert connector.stats.extra["skipped_rows"] == 0
    assert connector.stats.extra["duplicate_ids"] == 0
    assert connector.stats.extra["malformed_values"] == {}
    assert sorted(partners) == sorted({r["sales_agent"] for r in raw})
    assert len(partners) == 30


def test_won_in_2017_matches_a_plain_count(
    pulled: tuple[FileConnector, list[Opportunity], list[str]], raw: list[dict[str, str]]
) -> None:
    _, opps, _ = pulled
    ours = [o for o in opps if o.status is Status.WON and o.closed_on and o.closed_on.year == 2017]
    theirs = [r for r in raw if r["deal_stage"] == "Won" and r["close_date"].startswith("2017")]
    assert len(ours) == len(theirs) == 4_238
    assert sum(o.amount for o in ours if o.amount is not None) == sum(
        Decimal(r["close_value"]) for r in theirs
    )


def test_open_deals_have_no_close_day_and_each_field_matches(
    pulled: tuple[FileConnector, list[Opportunity], list[str]], raw: list[dict[str, str]]
) -> None:
    _, opps, _ = pulled
    status = {"Won": Status.WON, "Lost": Status.LOST, "Engaging": Status.OPEN, "Prospecting": Status.OPEN}
    for o, r in zip(opps, raw, strict=True):
        assert o.id == r["opportunity_id"]
        assert o.partner_id == r["sales_agent"]
        assert o.status is status[r["deal_stage"]]
        assert o.created_on == (date.fromisoformat(r["engage_date"]) if r["engage_date"] else None)
        assert o.closed_on == (date.fromisoformat(r["close_date"]) if r["close_date"] else None)
        assert o.amount == (Decimal(r["close_value"]) if r["close_value"] else None)
        assert o.currency == "USD" and o.expected_close_on is None and o.channel is None
        if o.status is Status.OPEN:
            assert o.closed_on is None


def test_kpi_acceptance_figures(pulled: tuple[FileConnector, list[Opportunity], list[str]]) -> None:
    _, opps, partners = pulled
    result = compute(
        opps,
        settings=KpiSettings(periods=["last_365_days"]),
        as_of=date(2017, 12, 31),
        partners=partners,
    )
    group = next(g for g in result.groups if g.group.kind is GroupKind.PARTNERS)
    figures = group.figures
    assert figures["deal_count"].value == 4_238
    assert figures["won_revenue"].value == Decimal(10_005_534)
    assert round(Decimal(str(figures["avg_deal_size"].value)), 2) == Decimal("2360.91")
    assert round(float(figures["win_rate"].value or 0), 4) == 0.6315
