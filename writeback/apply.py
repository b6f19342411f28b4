"""Apply a plan through the connector; the ledger learns only what the CRM confirmed."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from connectors.base import FieldWriter
from connectors.fields import FieldSpec, FieldUpdate, FieldValue
from writeback.plan import Plan

ConfirmedWrite = tuple[str, str, FieldValue]
"""(partner id, field, value) the CRM accepted."""


@dataclass(frozen=True, slots=True)
class WriteFailure:
    partner_id: str
    field: str | None
    code: str
    message: str


@dataclass
class ApplyOutcome:
    records_written: int = 0
    fields_written: int = 0
    failures: list[WriteFailure] = field(default_factory=list)
    calls: int = 0


def apply_plan(
    plan: Plan,
    writer: FieldWriter,
    specs: Mapping[str, FieldSpec],
    record: Callable[[Iterable[ConfirmedWrite]], None],
    chunk_size: int = 1_000,
    progress: Callable[[int], None] | None = None,
) -> ApplyOutcome:
    """Write the plan's updates in chunks; after each chunk, ``record`` the confirmed writes (the
    ledger), so a crash loses at most one chunk's bookkeeping, which the next run rewrites idempotently."""
    outcome = ApplyOutcome()
    updates = plan.updates()
    for start in range(0, len(updates), chunk_size):
        chunk: Sequence[FieldUpdate] = updates[start : start + chunk_size]
        results = writer.write_fields(chunk, specs)
        outcome.calls += 1
        by_id = {u.partner_id: u for u in chunk}
        confirmed: list[ConfirmedWrite] = []
        for result in results:
            update = by_id.get(result.partner_id)
            if update is None:
                continue
            if result.ok:
                outcome.records_written += 1
                outcome.fields_written += len(update.values)
                confirmed.extend((result.partner_id, f, v) for f, v in update.values.items())
            else:
                for error in result.errors or ():
                    outcome.failures.append(
                        WriteFailure(result.partner_id, error.field, error.code, error.message)
                    )
                if not result.errors:
                    outcome.failures.append(
                        WriteFailure(result.partner_id, None, "UNKNOWN", "rejected without a reason")
                    )
        answered = {r.partner_id for r in results}
        for missing in set(by_id) - answered:
            outcome.failures.append(
                WriteFailure(missing, None, "NO_RESULT", "the CRM gave no result for this record")
            )
        record(confirmed)
        if progress is not None:
            progress(len(chunk))
    return outcome
