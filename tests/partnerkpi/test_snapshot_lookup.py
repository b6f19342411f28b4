"""The pipeline reads stored pipeline snapshots once per day for all groups (the latest run's value wins)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from partnerkpi.state import SnapshotRow, StateStore


def row(kind: str, partner: str | None, amount: str) -> SnapshotRow:
    payload = {
        "group": {"kind": kind, "partner_id": partner},
        "period": "last_30_days",
        "figures": {"open_amount": {"value": amount}},
    }
    return SnapshotRow(
        period="last_30_days",
        group_kind=kind,
        partner_id=partner,
        last_day=date(2026, 10, 31),
        open_amount=Decimal(amount),
        payload=payload,
    )


def test_all_groups_of_a_day_in_one_lookup_the_latest_run_winning(state_url: str) -> None:
    store = StateStore.open(state_url)
    first, second = store.start_run("c", "sync"), store.start_run("c", "sync")
    store.save_snapshot(
        "c", first, date(2026, 10, 31), [row("partner", "p1", "100"), row("overall", None, "900")]
    )
    store.save_snapshot("c", second, date(2026, 10, 31), [row("partner", "p1", "150")])
    amounts = store.snapshot_open_amounts("c", date(2026, 10, 31))
    assert amounts == {("partner", "p1"): Decimal("150"), ("overall", None): Decimal("900")}
    assert store.snapshot_open_amounts("c", date(2026, 10, 30)) == {}
