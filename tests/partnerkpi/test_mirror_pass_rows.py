"""The KPI pass's read of the mirror (StateStore.iter_pass_rows): the live records as PassRows, exactly
what the full records give, in chunks, without the deleted ones."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from connectors.base import PullBatch
from kpi_core import Status
from kpi_core.accumulate import pass_row
from partnerkpi.state import StateStore
from tests.partnerkpi.test_state_store import opp


@pytest.fixture
def store(state_url: str) -> StateStore:
    """On SQLite and on PostgreSQL (tests/conftest.py)."""
    return StateStore.open(state_url)


def test_the_pass_rows_are_the_live_records_fields_the_pass_reads(store: StateStore) -> None:
    records = [
        opp("A"),
        opp("B", status=Status.WON, closed_on=date(2026, 11, 2), influencers=("P2", "P3")),
        opp("C", amount=None, amount_original=Decimal("5.5"), currency="XXX", partner_id=None),
        opp("D", status=None, created_on=None, probability=None, channel=None),
        opp("E", amount=Decimal("-3"), amount_original=Decimal("-3")),
    ]
    store.iter_chunk_size = 2
    store.apply_pull_batch("crm", PullBatch(opportunities=records), 1)
    store.apply_pull_batch("crm", PullBatch(deleted_opportunity_ids=["D"]), 2)
    live = [o for o in store.iter_opportunities("crm")]
    assert [o.id for o in live] == ["A", "B", "C", "E"]
    assert list(store.iter_pass_rows("crm")) == [pass_row(o) for o in live]
    assert list(store.iter_pass_rows("crm"))[1][-1] == ("P2", "P3")


def test_the_pass_rows_stream_past_an_exact_chunk_boundary(store: StateStore) -> None:
    store.iter_chunk_size = 3
    store.apply_pull_batch(
        "crm", PullBatch(opportunities=[opp(f"O{i}", amount=Decimal(i)) for i in range(6)]), 1
    )
    assert [row[1] for row in store.iter_pass_rows("crm")] == [Decimal(i) for i in range(6)]
    assert list(store.iter_pass_rows("other")) == []


def test_a_days_text_is_read_once_per_stream_and_every_record_gets_its_own_day(store: StateStore) -> None:
    days = [date(2026, 1, 1 + i % 3) for i in range(9)]
    store.apply_pull_batch(
        "crm", PullBatch(opportunities=[replace(opp(f"O{i}"), created_on=d) for i, d in enumerate(days)]), 1
    )
    assert [row[4] for row in store.iter_pass_rows("crm")] == days
