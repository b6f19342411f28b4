"""A flat CSV of every figure: one row per connector, period, group and figure (BI-friendly, long form).

Text cells (partner names and ids come from the CRM) are guarded against spreadsheet formulas
(connectors.spreadsheet); the figure columns are our own numbers and stay numbers (``-12.5``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO, Any

from connectors.spreadsheet import CsvWriter, guard_cell

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
NUMBER_COLUMNS = frozenset({"value", "prior", "change", "change_pct"})


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
            }
            for name, fig in g["figures"].items():
                yield {**base, "segment": "", "figure": name, **_fig(fig)}
            for segment, figs in g["channels"].items():
                for name, fig in figs.items():
                    yield {**base, "segment": segment, "figure": name, **_fig(fig)}


def _fig(fig: dict[str, Any]) -> dict[str, str]:
    return {k: "" if fig[k] is None else str(fig[k]) for k in ("value", "prior", "change", "change_pct")}


def write_csv(document: dict[str, Any], out: IO[str]) -> int:
    writer = CsvWriter(out)
    writer.writerow(COLUMNS)
    n = 0
    for row in rows(document):
        writer.writerow([row[c] if c in NUMBER_COLUMNS else guard_cell(str(row[c])) for c in COLUMNS])
        n += 1
    return n
