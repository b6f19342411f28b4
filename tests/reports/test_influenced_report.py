"""The JSON output and the CSV export carry a group's influenced figures only with kpi.attribution
influenced (docs/output-schema.md, "Sourced and influenced"); without it nothing changes."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from typing import Any

from kpi_core import Status
from partnerkpi.reports.csv_export import ATTRIBUTION_COLUMN, COLUMNS, write_csv
from partnerkpi.reports.html import render_html
from partnerkpi.reports.serialize import connector_report, json_default, report_document
from tests.kpi_core.builders import opp, run

INFLUENCED = {"attribution": ["sourced", "influenced"]}


def report(**settings: object) -> dict[str, Any]:
    deals = [
        opp(Status.WON, partner="p1", amount=100, influencers=("p2", "p3")),
        opp(Status.WON, partner="p2", amount=50),
    ]
    result = run(deals, partners=["p1", "p2", "p3"], **settings)
    doc: dict[str, Any] = json.loads(json.dumps(connector_report("c", result), default=json_default))
    return doc


def csv_rows(doc: dict[str, Any]) -> tuple[list[str], list[dict[str, str]]]:
    out = io.StringIO()
    write_csv({"connectors": [doc]}, out)
    reader = csv.DictReader(io.StringIO(out.getvalue()))
    found = list(reader)
    return list(reader.fieldnames or ()), found


def test_without_influenced_attribution_no_group_has_influenced_figures_and_the_csv_keeps_its_columns() -> (
    None
):
    doc = report()
    assert all("influenced" not in g for g in doc["groups"])
    assert tuple(csv_rows(doc)[0]) == COLUMNS


def test_each_group_carries_its_influenced_figures_beside_the_sourced_ones() -> None:
    groups = {(g["group"]["kind"], g["group"]["partner_id"]): g for g in report(**INFLUENCED)["groups"]}
    p2 = groups[("partner", "p2")]
    assert p2["figures"]["won_revenue"]["value"] == "50"
    assert p2["influenced"]["won_revenue"]["value"] == "150"
    assert p2["influenced"]["deal_count"]["value"] == 2
    assert groups[("partners", None)]["influenced"]["won_revenue"]["value"] == "150"  # once, not 250


def test_the_csv_marks_each_row_sourced_or_influenced() -> None:
    header, found = csv_rows(report(**INFLUENCED))
    assert tuple(header) == (*COLUMNS, ATTRIBUTION_COLUMN)
    p2 = [r for r in found if r["partner_id"] == "p2" and r["figure"] == "won_revenue" and not r["segment"]]
    assert sorted((r[ATTRIBUTION_COLUMN], r["value"]) for r in p2) == [
        ("influenced", "150"),
        ("sourced", "50"),
    ]
    assert {r[ATTRIBUTION_COLUMN] for r in found if r["segment"]} == {"sourced"}


def html_of(doc: dict[str, Any]) -> str:
    return render_html(report_document([doc], datetime(2024, 4, 1, tzinfo=timezone.utc)))


def test_the_html_scorecard_shows_influenced_revenue_beside_sourced_only_when_configured() -> None:
    page = html_of(report(**INFLUENCED))
    assert "Partner-influenced revenue (USD)" in page
    assert "infl. 150" in page  # p2's row: 50 sourced, 150 sourced or influenced
    plain = html_of(report())
    assert "influenced" not in plain.lower()
