"""A flat CSV of every figure: one row per connector, period, group and figure (BI-friendly, long form)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, Any

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
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    n = 0
    for row in rows(document):
        writer.writerow(row)
        n += 1
    return n
