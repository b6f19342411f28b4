"""From a KPI result to the values the CRM fields should hold: unit, the connector's conversion, one
rounding, canonical form."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date, datetime, time, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from connectors.fields import FieldKind, FieldSpec, FieldUpdate, FieldValue
from connectors.values import plain_number, to_decimal, utc_datetime
from kpi_core.registry import KpiFigure
from kpi_core.result import Figure, GroupKind, GroupKpis, KpiResult, TierStanding
from kpi_core.schema import Segment
from writeback.mapping import TIER_KPIS, ConnectorWriteback, FieldMapping, figure_name

BREAKDOWN_LABELS = (
    (KpiFigure.PCT_WON_REVENUE, "Revenue"),
    (KpiFigure.PCT_DEAL_COUNT, "Deals"),
    (KpiFigure.PCT_WIN_RATE_SMOOTHED, "Win rate"),
)


Held = Callable[[Sequence[FieldUpdate], Mapping[str, FieldSpec]], Mapping[str, Mapping[str, FieldValue]]]
"""A connector's ``stored_values``: exact values in the CRM's own unit (e.g. converted into a record's
currency), not rounded."""


def exact_value(raw: object, mapping: FieldMapping) -> FieldValue:
    """A KPI number in the field's unit, exact (rates become percentage points); text cut to length."""
    if raw is None:
        return None
    kind = mapping.field_kind
    if kind is FieldKind.TEXT:
        return str(raw)[: mapping.length]
    if kind is FieldKind.DATETIME:
        return raw if isinstance(raw, datetime) else None
    try:
        number = to_decimal(raw if isinstance(raw, (Decimal, float)) else str(raw))
        return number * 100 if kind is FieldKind.PERCENT else number
    except InvalidOperation:
        return None  # not a number we can represent: never written as garbage


def to_scale(value: FieldValue, mapping: FieldMapping) -> FieldValue:
    """The one rounding of writeback: a number rounded once, half-up, to the field's scale; None when it
    does not fit the field (the CRM would refuse it). Other kinds pass unchanged."""
    if value is None or mapping.field_kind in (FieldKind.TEXT, FieldKind.DATETIME):
        return value
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, float, str)):
        return None
    try:
        number = to_decimal(value)
        rounded = number.quantize(Decimal(1).scaleb(-mapping.field_scale), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return None
    if not rounded.is_finite() or rounded.adjusted() >= mapping.precision - mapping.field_scale:
        return None
    return rounded


def to_field_value(raw: object, mapping: FieldMapping) -> FieldValue:
    """A KPI number in the field's unit, rounded to its scale, for a CRM that holds it as it is."""
    return to_scale(exact_value(raw, mapping), mapping)


def canonical(value: FieldValue) -> str | None:
    """One string per value, so that the ledger, the plan and live values compare exactly."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat(timespec="seconds")
    if isinstance(value, (Decimal, int, float)):
        number = value if isinstance(value, Decimal) else Decimal(str(value))
        return plain_number(number.normalize())
    return str(value)


def canonical_live(value: FieldValue, kind: FieldKind) -> str | None:
    """``canonical`` of a value read from the CRM into a field of ``kind``. A DATETIME some CRMs answer as
    text (Salesforce: ``2026-11-01T08:30:00.000+0000``) is read as the instant it names, so it compares with
    the one written; text that names none stays as it is (and differs)."""
    if kind is FieldKind.DATETIME and isinstance(value, str):
        try:
            return canonical(utc_datetime(value))
        except ValueError:
            pass
    return canonical(value)


def _figure(group: GroupKpis, mapping: FieldMapping) -> Figure | None:
    kpi = mapping.kpi
    if mapping.attribution == "influenced":
        return group.influenced.get(kpi)
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
        fig = group.figures.get(key.value)
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


def tier_value(standing: TierStanding | None, mapping: FieldMapping) -> object:
    """The tier's name, or the day it was reached: midnight UTC in a DATETIME field, ISO text otherwise."""
    if standing is None:
        return None
    if mapping.kpi == "tier":
        return standing.tier
    reached: date | None = standing.reached_on
    if reached is None:
        return None
    if mapping.field_kind is FieldKind.DATETIME:
        return datetime.combine(reached, time(0), tzinfo=timezone.utc)
    return reached.isoformat()


def desired_values(
    result: KpiResult,
    writeback: ConnectorWriteback,
    partner_ids: Collection[str],
    held: Held | None = None,
) -> dict[str, dict[str, FieldValue]]:
    """partner id -> field -> value as the CRM will hold it, for every mapped field except ``updated_at``
    (the planner sets it). What the plan compares, the connector writes and the ledger records.

    Each value is worked out exactly, handed to ``held`` (the connector's ``stored_values``: its own
    conversion, e.g. into the record's currency) and only then rounded, once, to the field's scale: a
    converted amount is never rounded twice. Fields whose value is None and whose mapping says
    ``on_null: keep`` are left out (never written)."""
    by_key: dict[tuple[str, str], GroupKpis] = {}
    tiers: dict[str, TierStanding | None] = {}
    for group in result.groups:
        if group.group.kind is GroupKind.PARTNER and group.group.partner_id is not None:
            by_key[(group.group.partner_id, group.period.name)] = group
            tiers[group.group.partner_id] = group.tier  # the same in every period
    mappings = [m for m in writeback.fields if m.kpi != "updated_at"]
    exact: dict[str, dict[str, FieldValue]] = {}
    for partner_id in partner_ids:
        values: dict[str, FieldValue] = {}
        for m in mappings:
            found = by_key.get((partner_id, m.period or ""))
            raw: object = None
            if m.kpi in TIER_KPIS:
                raw = tier_value(tiers.get(partner_id), m)
            elif found is not None:
                if m.kpi == "score_breakdown":
                    raw = score_breakdown(found)
                elif m.kpi == "period_label":
                    raw = period_label(found)
                else:
                    fig = _figure(found, m)
                    raw = getattr(fig, m.value) if fig is not None else None
            values[m.field] = exact_value(raw, m)
        exact[partner_id] = values
    if held is not None:
        converted = held([FieldUpdate(p, v) for p, v in exact.items()], writeback.specs())
        exact = {p: {**v, **converted.get(p, {})} for p, v in exact.items()}
    out: dict[str, dict[str, FieldValue]] = {}
    for partner_id, values in exact.items():
        row: dict[str, FieldValue] = {}
        for m in mappings:
            value = to_scale(values.get(m.field), m)
            if value is None and m.on_null == "keep":
                continue
            row[m.field] = value
        out[partner_id] = row
    return out


__all__ = ["Held", "canonical", "desired_values", "exact_value", "figure_name", "to_field_value", "to_scale"]
