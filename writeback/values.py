"""From a KPI result to the values the CRM fields should hold: unit, rounding, canonical form."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from connectors.base import FieldKind, FieldValue
from kpi_core.result import Figure, GroupKind, GroupKpis, KpiResult
from kpi_core.schema import Segment
from writeback.mapping import ConnectorWriteback, FieldMapping, figure_name

BREAKDOWN_LABELS = (
    ("pct_won_revenue", "Revenue"),
    ("pct_deal_count", "Deals"),
    ("pct_win_rate_smoothed", "Win rate"),
)


def to_field_value(raw: object, mapping: FieldMapping) -> FieldValue:
    """A KPI number in the field's unit, rounded to its scale (rates become percentage points)."""
    if raw is None:
        return None
    kind = mapping.field_kind
    if kind is FieldKind.TEXT:
        return str(raw)[: mapping.length]
    if kind is FieldKind.DATETIME:
        return raw if isinstance(raw, datetime) else None
    try:
        number = (
            raw if isinstance(raw, Decimal) else Decimal(repr(raw) if isinstance(raw, float) else str(raw))
        )
        if kind is FieldKind.PERCENT:
            number *= 100
        rounded = number.quantize(Decimal(1).scaleb(-mapping.field_scale), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return None  # not a number we can represent: never written as garbage
    if not rounded.is_finite() or rounded.adjusted() >= mapping.precision - mapping.field_scale:
        return None  # does not fit the field (the CRM would refuse it): treated as undefined
    return rounded


def canonical(value: FieldValue) -> str | None:
    """One string per value, so that the ledger, the plan and live values compare exactly."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat(timespec="seconds")
    if isinstance(value, (Decimal, int, float)):
        number = value if isinstance(value, Decimal) else Decimal(str(value))
        text = format(number.normalize(), "f")
        return "0" if text in ("-0", "0") else text
    return str(value)


def _figure(group: GroupKpis, kpi: str) -> Figure | None:
    if kpi.startswith("channels."):
        _, segment, name = kpi.split(".")
        return group.channels.get(Segment(segment), {}).get(name)
    return group.figures.get(kpi)


def period_phrase(name: str) -> str:
    """``last_90_days`` -> ``90 days``; ``quarter_to_date`` -> ``quarter to date``."""
    match = re.fullmatch(r"last_(\d+)_days", name)
    return f"{match.group(1)} days" if match else name.replace("_", " ")


def score_breakdown(group: GroupKpis) -> str | None:
    parts = []
    for key, label in BREAKDOWN_LABELS:
        fig = group.figures.get(key)
        if fig is None or fig.value is None:
            return None
        parts.append(f"{label} p{round(float(fig.value) * 100)}")
    text = " · ".join(parts) + f" ({period_phrase(group.period.name)})"
    if group.low_sample:
        text += " · low sample"
    return text


def period_label(group: GroupKpis) -> str:
    p = group.period
    return f"{p.name.replace('_', ' ')}: {p.first.isoformat()} to {p.last.isoformat()}"


def desired_values(
    result: KpiResult, writeback: ConnectorWriteback, partner_ids: Collection[str]
) -> dict[str, dict[str, FieldValue]]:
    """partner id -> field -> value, for every mapped field except ``updated_at`` (the planner sets it).

    Fields whose value is None and whose mapping says ``on_null: keep`` are left out (never written)."""
    by_key: dict[tuple[str, str], GroupKpis] = {}
    for group in result.groups:
        if group.group.kind is GroupKind.PARTNER and group.group.partner_id is not None:
            by_key[(group.group.partner_id, group.period.name)] = group
    out: dict[str, dict[str, FieldValue]] = {}
    for partner_id in partner_ids:
        values: dict[str, FieldValue] = {}
        for m in writeback.fields:
            if m.kpi == "updated_at":
                continue
            found = by_key.get((partner_id, m.period or ""))
            raw: object = None
            if found is not None:
                if m.kpi == "score_breakdown":
                    raw = score_breakdown(found)
                elif m.kpi == "period_label":
                    raw = period_label(found)
                else:
                    fig = _figure(found, m.kpi)
                    raw = getattr(fig, m.value) if fig is not None else None
            value = to_field_value(raw, m)
            if value is None and m.on_null == "keep":
                continue
            values[m.field] = value
        out[partner_id] = values
    return out


__all__ = ["canonical", "desired_values", "figure_name", "to_field_value"]
