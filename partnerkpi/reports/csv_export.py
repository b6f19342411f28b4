"""A flat CSV of every figure: one row per connector, period, group and figure (BI-friendly, long form).
With ``kpi.compare_to: last_year`` the rows also carry the last-year window and each figure's last-year
value and change (LAST_YEAR_COLUMNS, at the end); with influenced attribution, an ``attribution`` column
(``sourced``, or ``influenced`` for the rows of a group's influenced figures) comes last. Without them the
file is as it always was.

Text cells (partner names and ids come from the CRM) are guarded against spreadsheet formulas
(connectors.spreadsheet); the figure columns are our own numbers and stay numbers (``-12.5``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO, Any

from connectors.spreadsheet import CsvWriter, guard_cell
from kpi_core.result import FIGURE_PARTS, LAST_YEAR_PARTS

COLUMNS = (
    "connector",
    "as_of",
    "currency",
    "period",
    "period_first",
    "period_last",
    "group_kind",
    "partner_id",
    "partner_name",
    "segment",
    "figure",
    "value",
    "prior",
    "change",
    "change_pct",
)
LAST_YEAR_COLUMNS = ("last_year_first", "last_year_last", *LAST_YEAR_PARTS)
ATTRIBUTION_COLUMN = "attribution"
NUMBER_COLUMNS = frozenset({*FIGURE_PARTS, *LAST_YEAR_PARTS})


def columns(document: dict[str, Any]) -> tuple[str, ...]:
    """COLUMNS, then LAST_YEAR_COLUMNS when the document compares with last year, then the attribution
    column when a group has influenced figures."""
    compared = any("last_year_first" in p for conn in document["connectors"] for p in conn["periods"])
    attributed = any("influenced" in g for conn in document["connectors"] for g in conn["groups"])
    out = (*COLUMNS, *LAST_YEAR_COLUMNS) if compared else COLUMNS
    return (*out, ATTRIBUTION_COLUMN) if attributed else out


def rows(document: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for conn in document["connectors"]:
        periods = {p["name"]: p for p in conn["periods"]}
        for g in conn["groups"]:
            p = periods[g["period"]]
            base = {
                "connector": conn["name"],
                "as_of": conn["as_of"],
                "currency": conn["currency"],
                "period": g["period"],
                "period_first": p["first"],
                "period_last": p["last"],
                "group_kind": g["group"]["kind"],
                "partner_id": g["group"]["partner_id"] or "",
                "partner_name": g["group"]["name"] or "",
                "last_year_first": p.get("last_year_first", ""),
                "last_year_last": p.get("last_year_last", ""),
                ATTRIBUTION_COLUMN: "sourced",
            }
            for name, fig in g["figures"].items():
                yield {**base, "segment": "", "figure": name, **_fig(fig)}
            for segment, figs in g["channels"].items():
                for name, fig in figs.items():
                    yield {**base, "segment": segment, "figure": name, **_fig(fig)}
            for name, fig in g.get("influenced", {}).items():
                yield {**base, "segment": "", "figure": name, **_fig(fig), ATTRIBUTION_COLUMN: "influenced"}


def _fig(fig: dict[str, Any]) -> dict[str, str]:
    return {k: "" if fig.get(k) is None else str(fig[k]) for k in (*FIGURE_PARTS, *LAST_YEAR_PARTS)}


def write_csv(document: dict[str, Any], out: IO[str]) -> int:
    writer = CsvWriter(out)
    header = columns(document)
    writer.writerow(header)
    n = 0
    for row in rows(document):
        writer.writerow([row[c] if c in NUMBER_COLUMNS else guard_cell(str(row[c])) for c in header])
        n += 1
    return n
