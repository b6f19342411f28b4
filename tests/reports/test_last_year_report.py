"""The JSON output and the reports carry the last-year values only with compare_to: last_year; without
it the document is exactly what it was (docs/output-schema.md: fields are only ever added)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal

from rich.console import Console

from partnerkpi.reports.csv_export import COLUMNS, LAST_YEAR_COLUMNS, write_csv
from partnerkpi.reports.serialize import connector_report, json_default
from partnerkpi.reports.table import print_scorecard
from partnerkpi.reports.view import connector_view
from tests.kpi_core.builders import run
from tests.kpi_core.test_last_year import AS_OF, BOTH, season

V1_FIGURE = {"value", "prior", "change", "change_pct"}
LAST_YEAR_KEYS = {"last_year", "change_vs_last_year", "change_pct_vs_last_year"}


def numbers(figures: dict, parts: set[str]) -> dict:  # type: ignore[type-arg]
    """The figures' parts, money strings as Decimal."""
    return {
        name: {p: Decimal(v) if isinstance(v, str) else v for p, v in f.items() if p in parts}
        for name, f in figures.items()
    }


def report(**settings: object) -> dict:  # type: ignore[type-arg]
    result = run(season(), as_of=AS_OF, periods=["quarter_to_date"], partners=["p1"], **settings)
    return json.loads(json.dumps(connector_report("c", result), default=json_default))


def test_the_default_output_is_the_v1_shape_and_equals_an_explicit_prior() -> None:
    default = report()
    assert default == report(compare_to=["prior"])
    assert set(default["periods"][0]) == {"name", "as_of", "first", "last", "prior_first", "prior_last"}
    for g in default["groups"]:
        assert "pipeline_last_year_source" not in g
        assert all(set(f) == V1_FIGURE for f in g["figures"].values())
        assert all(set(f) == V1_FIGURE for seg in g["channels"].values() for f in seg.values())


def test_with_last_year_every_figure_carries_it_and_the_rest_is_unchanged() -> None:
    default, with_ly = report(), report(compare_to=BOTH)
    period = with_ly["periods"][0]
    assert (period["last_year_first"], period["last_year_last"]) == ("2023-04-01", "2023-05-10")
    p1 = with_ly["groups"][0]
    assert p1["pipeline_last_year_source"] == "rebuilt"
    assert p1["figures"]["won_revenue"] == {
        "value": "800",
        "prior": "100",
        "change": "700",
        "change_pct": 7.0,
        "last_year": "200",
        "change_vs_last_year": "600",
        "change_pct_vs_last_year": 3.0,
    }
    for before, after in zip(default["groups"], with_ly["groups"], strict=True):
        # (compared as numbers: a past pipeline day more can turn a weighted "0" into an equal "0.0")
        assert numbers(after["figures"], V1_FIGURE) == numbers(before["figures"], V1_FIGURE)


def test_the_terminal_table_shows_a_second_arrow_against_last_year() -> None:
    result = run(season(), as_of=AS_OF, periods=["quarter_to_date"], partners=["p1"], compare_to=BOTH)
    out = io.StringIO()
    print_scorecard(Console(file=out, width=120, color_system=None), result, "c")
    text = out.getvalue()
    assert "then last year (2023-04-01 to 2023-05-10)" in " ".join(text.split())
    assert "▲▲" in text  # revenue 800: up on the prior (100) and on last year (200)


def test_the_report_view_reads_the_last_year_values() -> None:
    view = connector_view(report(compare_to=BOTH))
    p = view.periods[0]
    assert (p.last_year_first, p.last_year_last) == (date(2023, 4, 1), date(2023, 5, 10))
    fig = p.partners[0].money("won_revenue")
    assert (fig.last_year, fig.change_pct_vs_last_year) == (200, 3.0)


def csv_rows(connector: dict) -> tuple[list[str], list[dict[str, str]]]:  # type: ignore[type-arg]
    buffer = io.StringIO()
    write_csv({"connectors": [connector]}, buffer)
    reader = csv.DictReader(io.StringIO(buffer.getvalue()))
    found = list(reader)
    return list(reader.fieldnames or ()), found


def test_the_csv_export_keeps_its_columns_without_last_year() -> None:
    header, _ = csv_rows(report())
    assert tuple(header) == COLUMNS


def test_the_csv_export_carries_the_last_year_window_and_values_when_compared() -> None:
    header, found = csv_rows(report(compare_to=BOTH))
    assert tuple(header) == (*COLUMNS, *LAST_YEAR_COLUMNS)
    row = next(
        r for r in found if r["partner_id"] == "p1" and r["figure"] == "won_revenue" and not r["segment"]
    )
    assert (row["last_year_first"], row["last_year_last"]) == ("2023-04-01", "2023-05-10")
    assert (row["value"], row["prior"], row["change"]) == ("800", "100", "700")
    assert (row["last_year"], row["change_vs_last_year"], row["change_pct_vs_last_year"]) == (
        "200",
        "600",
        "3.0",
    )
    assert all(r["last_year_first"] == "2023-04-01" for r in found)  # every row, segments included
