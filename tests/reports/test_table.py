"""The terminal scorecard: ranked by score, arrows for change, within 100 columns."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from rich.console import Console

from kpi_core.registry import KpiFigure
from kpi_core.result import Figure, GroupKind, KpiResult
from partnerkpi.reports import fmt
from partnerkpi.reports.table import print_scorecard
from tests.reports import synthetic
from tests.reports.sandbox_sample import Sample


def rendered(result: KpiResult, names: dict[str, str | None], limit: int = 25) -> list[str]:
    console = Console(width=100, record=True, color_system=None)
    print_scorecard(console, result, "crm", names, periods=[result.periods[0].name], limit=limit)
    return console.export_text().splitlines()


def test_partners_are_ranked_by_score_with_the_totals_below(sample: Sample, sample_result: KpiResult) -> None:
    lines = rendered(sample_result, sample.names, limit=10)
    period = sample_result.periods[0].name
    partners = [
        g for g in sample_result.groups if g.period.name == period and g.group.kind is GroupKind.PARTNER
    ]
    partners.sort(key=lambda g: -float(g.figures["quality_score"].value or 0))
    first_rows = [line for line in lines if line.startswith("│  1 ") or line.startswith("│  2 ")]
    assert str(sample.names[partners[0].group.partner_id or ""]) in first_rows[0]
    text = "\n".join(lines)
    assert "all partners" in text and "direct" in text and "overall" in text and "all overall" not in text
    assert "top 10 of 40 partners" in text


def test_the_table_fits_100_columns_with_long_names_and_large_amounts() -> None:
    result = synthetic.result(30)
    names: dict[str, str | None] = {
        synthetic.partner_id(i): f"A Very Long Partner Name That Goes On And On {i}" for i in range(30)
    }
    lines = rendered(result, names)
    assert max(len(line) for line in lines) <= 100
    assert any("…" in line for line in lines)  # long names are cut, not wrapped
    assert any("▲" in line for line in lines) and any("▼" in line for line in lines)


def test_each_cell_reads_as_fmt_writes_its_figures_unit_with_counts_in_plain_digits() -> None:
    result = synthetic.result(3)
    period = result.periods[0].name
    top = max(
        (g for g in result.groups if g.period.name == period and g.group.kind is GroupKind.PARTNER),
        key=lambda g: float(g.figures["quality_score"].value or 0),
    )
    row = next(line for line in rendered(result, synthetic.names(3)) if line.startswith("│  1 "))
    cells = [cell.strip().rstrip("▲▼=").strip() for cell in row.strip("│").split("│")][2:]
    kpis = [
        KpiFigure.QUALITY_SCORE,
        KpiFigure.DEAL_COUNT,
        KpiFigure.WON_REVENUE,
        KpiFigure.AVG_DEAL_SIZE,
        KpiFigure.WIN_RATE,
        KpiFigure.OPEN_AMOUNT,
    ]
    assert cells == [fmt.figure(k, top.figures[k.value].value, count_separators=False) for k in kpis]


def test_with_influenced_attribution_an_influenced_revenue_column_follows_revenue_within_100_columns() -> (
    None
):
    base = synthetic.result(30)
    big = Figure(Decimal("987654321.12"), Decimal(1), Decimal(1), 0.1)
    result = dataclasses.replace(
        base, groups=[dataclasses.replace(g, influenced={"won_revenue": big}) for g in base.groups]
    )
    names: dict[str, str | None] = {
        synthetic.partner_id(i): f"A Very Long Partner Name {i}" for i in range(30)
    }
    lines = rendered(result, names)
    assert max(len(line) for line in lines) <= 100
    header = next(line for line in lines if "Revenue" in line)
    assert header.index("Revenue") < header.index("Influenced") < header.index("Avg deal")
    assert any(fmt.figure(KpiFigure.WON_REVENUE, big.value, count_separators=False) in line for line in lines)
    assert "Influenced" not in "\n".join(rendered(base, names))
