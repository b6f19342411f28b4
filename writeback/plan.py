"""The plan: what would change, field by field, against the ledger (what we last wrote) and, with
verify_live, against the CRM's live values (what people may have edited since)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from connectors.fields import FieldUpdate, FieldValue
from writeback.mapping import ConnectorWriteback, FieldMapping
from writeback.values import canonical, canonical_live

Ledger = Mapping[tuple[str, str], str | None]
"""(partner id, field) -> canonical value we last wrote and the CRM confirmed."""


class Reason(str, enum.Enum):
    NEW = "new"
    """Never written before."""
    CHANGED = "changed"
    """The KPI moved since our last write."""
    EDITED_IN_CRM = "edited_in_crm"
    """Our last write stands in the ledger, but the CRM holds something else now (verify_live)."""
    TIMESTAMP = "timestamp"
    """updated_at, because another field of the partner changed."""
    REWRITE = "rewrite"
    """Unchanged as far as the ledger knows, written again because the operator asked (sync --rewrite-all)."""


@dataclass(frozen=True, slots=True)
class FieldChange:
    partner_id: str
    field: str
    before: str | None
    after: FieldValue
    reason: Reason


@dataclass
class Plan:
    connector: str
    changes: list[FieldChange] = field(default_factory=list)
    unchanged: int = 0
    below_min_change: int = 0
    partners: int = 0
    filled: int = 0
    """Mapped values (not ``updated_at``) of the plan's partners that already hold a non-empty value: in
    the CRM's live values with verify_live, else in the ledger. What the mass-change guard measures by."""

    def updates(self) -> list[FieldUpdate]:
        grouped: dict[str, dict[str, FieldValue]] = {}
        for change in self.changes:
            grouped.setdefault(change.partner_id, {})[change.field] = change.after
        return [FieldUpdate(pid, values) for pid, values in grouped.items()]

    @property
    def is_empty(self) -> bool:
        return not self.changes


def _below_threshold(before: str | None, after: FieldValue, threshold: Decimal | None) -> bool:
    if threshold is None or before is None or after is None or not isinstance(after, (Decimal, int, float)):
        return False
    try:
        return abs(Decimal(str(after)) - Decimal(before)) < threshold
    except InvalidOperation:
        return False


def _filled(
    partner_id: str,
    mapped: Mapping[str, FieldMapping],
    stamp_fields: list[str],
    ledger: Ledger,
    live: Mapping[str, Mapping[str, FieldValue]] | None,
) -> int:
    """How many of the partner's mapped fields hold a value now (live values when read, else the
    ledger); every mapped field counts, also one ``on_null: keep`` leaves out of the desired values."""
    held = live.get(partner_id) if live is not None else None
    count = 0
    for name in mapped:
        if name in stamp_fields:
            continue
        kind = mapped[name].field_kind
        value = canonical_live(held.get(name), kind) if held is not None else ledger.get((partner_id, name))
        if value not in (None, ""):
            count += 1
    return count


def make_plan(
    connector: str,
    desired: Mapping[str, Mapping[str, FieldValue]],
    writeback: ConnectorWriteback,
    ledger: Ledger,
    now: datetime,
    live: Mapping[str, Mapping[str, FieldValue]] | None = None,
    rewrite_all: bool = False,
) -> Plan:
    """Diff desired values against the ledger (and live values when given). Only mapped fields appear.
    ``rewrite_all``: a value the diff would leave alone is written again all the same (Reason.REWRITE).

    ``desired`` holds the values as the CRM will hold them (writeback.values.desired_values: converted by
    the connector, rounded once), so the ledger, the plan and live values all compare in one form."""
    mapped = {m.field: m for m in writeback.fields}
    stamp_fields = [m.field for m in writeback.fields if m.kpi == "updated_at"]
    plan = Plan(connector=connector, partners=len(desired))
    for partner_id in sorted(desired):
        plan.filled += _filled(partner_id, mapped, stamp_fields, ledger, live)
        partner_changes: list[FieldChange] = []
        for field_name, after in desired[partner_id].items():
            mapping = mapped.get(field_name)
            if mapping is None:
                continue  # a field that is not in the mapping is never written
            key = (partner_id, field_name)
            wanted = canonical(after)
            before = ledger.get(key) if key in ledger else None
            if key not in ledger:
                live_value = (
                    canonical_live(live[partner_id].get(field_name), mapping.field_kind)
                    if live and partner_id in live
                    else None
                )
                if live is not None and live_value == wanted and not rewrite_all:
                    plan.unchanged += 1  # already right in the CRM (e.g. a ledger lost with its DB)
                    continue
                partner_changes.append(FieldChange(partner_id, field_name, live_value, after, Reason.NEW))
                continue
            if before != wanted:
                if _below_threshold(before, after, mapping.min_change) and not rewrite_all:
                    plan.below_min_change += 1
                    continue
                partner_changes.append(FieldChange(partner_id, field_name, before, after, Reason.CHANGED))
                continue
            if live is not None and partner_id in live:
                live_value = canonical_live(live[partner_id].get(field_name), mapping.field_kind)
                if live_value != wanted:
                    partner_changes.append(
                        FieldChange(partner_id, field_name, live_value, after, Reason.EDITED_IN_CRM)
                    )
                    continue
            if rewrite_all:
                partner_changes.append(FieldChange(partner_id, field_name, before, after, Reason.REWRITE))
                continue
            plan.unchanged += 1
        if partner_changes:
            for stamp in stamp_fields:
                partner_changes.append(
                    FieldChange(partner_id, stamp, ledger.get((partner_id, stamp)), now, Reason.TIMESTAMP)
                )
        plan.changes.extend(partner_changes)
    return plan
