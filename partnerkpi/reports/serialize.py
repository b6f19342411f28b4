"""KPI results as plain JSON-ready data: the one shape behind the JSON report, the CSV export and the
stored KPI snapshots. Money is a decimal string (exact); rates are floats; dates ISO 8601. The last-year
keys appear only with ``kpi.compare_to: last_year`` (a period then has ``last_year_first``): without it
the document is what it always was. Likewise the tier keys of a partner group, only with ``kpi.tiers``,
and a group's ``influenced`` figures, only with ``kpi.attribution`` influenced."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from kpi_core.result import (
    FIGURE_PARTS,
    LAST_YEAR_PARTS,
    DataQuality,
    Figure,
    GroupKpis,
    KpiResult,
    Number,
    PeriodWindow,
)

SCHEMA_VERSION = "partnerkpi.report/v1"


def number(value: Number | None) -> str | float | int | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def figure_dict(fig: Figure, last_year: bool = False) -> dict[str, Any]:
    """``last_year``: also the last-year value and the change against it."""
    parts = (*FIGURE_PARTS, *LAST_YEAR_PARTS) if last_year else FIGURE_PARTS
    return {part: number(getattr(fig, part)) for part in parts}


def period_dict(p: PeriodWindow) -> dict[str, str]:
    out = {
        "name": p.name,
        "as_of": p.as_of.isoformat(),
        "first": p.first.isoformat(),
        "last": p.last.isoformat(),
        "prior_first": p.prior_first.isoformat(),
        "prior_last": p.prior_last.isoformat(),
    }
    if p.last_year_first is not None and p.last_year_last is not None:
        out["last_year_first"] = p.last_year_first.isoformat()
        out["last_year_last"] = p.last_year_last.isoformat()
    return out


def group_dict(g: GroupKpis, partner_names: Mapping[str, str | None] | None = None) -> dict[str, Any]:
    name = (partner_names or {}).get(g.group.partner_id or "") if g.group.partner_id else None
    ly = g.period.last_year_first is not None
    out = {
        "group": {"kind": g.group.kind.value, "partner_id": g.group.partner_id, "name": name},
        "period": g.period.name,
        "figures": {k: figure_dict(v, ly) for k, v in sorted(g.figures.items())},
        "channels": {
            seg.value: {k: figure_dict(v, ly) for k, v in sorted(figs.items())}
            for seg, figs in g.channels.items()
        },
        "low_sample": g.low_sample,
        "pipeline_prior_source": g.pipeline_prior_source.value,
    }
    if g.pipeline_last_year_source is not None:
        out["pipeline_last_year_source"] = g.pipeline_last_year_source.value
    if g.influenced:
        out["influenced"] = {k: figure_dict(v, ly) for k, v in sorted(g.influenced.items())}
    if g.tier is not None:
        out["tier"] = g.tier.tier
        out["tier_reached_on"] = g.tier.reached_on.isoformat() if g.tier.reached_on else None
        out["tier_previous"] = g.tier.previous
    return out


def data_quality_dict(dq: DataQuality) -> dict[str, int]:
    return dq.as_dict()


def connector_report(
    connector: str,
    result: KpiResult,
    partner_names: Mapping[str, str | None] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "name": connector,
        "as_of": result.as_of.isoformat(),
        "currency": result.currency,
        "opportunities_seen": result.opportunities_seen,
        "periods": [period_dict(p) for p in result.periods],
        "data_quality": data_quality_dict(result.data_quality),
        "groups": [group_dict(g, partner_names) for g in result.groups],
        **(dict(extra) if extra else {}),
    }


def report_document(connectors: list[dict[str, Any]], generated_at: datetime) -> dict[str, Any]:
    return {"schema": SCHEMA_VERSION, "generated_at": generated_at.isoformat(), "connectors": connectors}


def json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
