"""The state store: a private SQLite file, versioned migrations, the mirror, watermarks, snapshots,
the ledger, the run history and locks. Every test that takes ``store`` or ``state_url`` runs on SQLite and
on PostgreSQL (tests/conftest.py); the others are about the SQLite file itself."""

from __future__ import annotations

import dataclasses
import os
import re
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, insert, inspect, select, text

from connectors.base import PullBatch
from kpi_core.schema import Opportunity, Partner, Status
from partnerkpi.state import (
    LockHeld,
    MirrorChanges,
    SavedKpiState,
    SchemaTooNew,
    SnapshotRow,
    StateError,
    StateStore,
    mirror,
)
from partnerkpi.state.migrations import MIGRATIONS, migrate, stored_version
from partnerkpi.state.tables import SCHEMA_VERSION, locks, metadata, opportunities, partners, schema_version

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


def opp(oid: str, **changes: Any) -> Opportunity:
    base = Opportunity(
        id=oid,
        partner_id="P1",
        amount=Decimal("100.00"),
        amount_original=Decimal("100.00"),
        currency="USD",
        status=Status.OPEN,
        created_on=date(2026, 10, 1),
        closed_on=None,
        expected_close_on=date(2026, 12, 15),
        probability=0.4,
        channel="Web",
        modified_at=T0,
        stage="Prospecting",
    )
    return replace(base, **changes)


@pytest.fixture
def store(state_url: str) -> StateStore:
    return StateStore.open(state_url)


def all_opps(store: StateStore, connector: str = "crm", include_deleted: bool = False) -> list[Opportunity]:
    return list(store.iter_opportunities(connector, include_deleted=include_deleted))


# -- the file and its schema -------------------------------------------------------------------------
def test_new_database_file_is_private_and_its_new_parents_too(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "state.sqlite"
    store = StateStore.open(f"sqlite:///{path}")
    store.start_run("crm", "pull")  # something written, so WAL files exist too
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "deep").stat().st_mode) == 0o700
    wal = path.with_name(path.name + "-wal")
    assert wal.exists()
    assert stat.S_IMODE(wal.stat().st_mode) == 0o600
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_opening_twice_keeps_one_recorded_version(state_url: str) -> None:
    url = state_url
    first = StateStore.open(url)
    first.start_run("crm", "pull")
    second = StateStore.open(url)
    assert first.schema_version == second.schema_version == SCHEMA_VERSION == len(MIGRATIONS)
    with second.engine.connect() as conn:
        assert conn.execute(select(schema_version.c.version)).scalars().all() == list(
            range(1, SCHEMA_VERSION + 1)
        )
    assert [r.command for r in second.runs()] == ["pull"]


def test_a_database_from_a_newer_partnerkpi_is_refused(state_url: str) -> None:
    store = StateStore.open(state_url)
    with store.engine.begin() as conn:
        conn.execute(insert(schema_version).values(version=7, applied_at=T0))
    with pytest.raises(
        SchemaTooNew, match=rf"schema version 7, newer than this partnerkpi understands \({SCHEMA_VERSION}\)"
    ):
        StateStore.open(state_url)


def test_a_file_that_is_not_a_database_or_a_path_that_cannot_be_made_is_a_state_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(
        StateError,
        match=rf"the state database {re.escape(str(junk))} cannot be used: it is not a SQLite database .*"
        r"\(file is not a database\); restore it from a backup",
    ):
        StateStore.open(f"sqlite:///{junk}")
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a directory should be")
    with pytest.raises(
        StateError, match=rf"cannot create the state database {re.escape(str(blocker))}/s.sqlite: "
    ):
        StateStore.open(f"sqlite:///{blocker}/s.sqlite")


def test_an_older_database_is_migrated_step_by_step(state_url: str) -> None:
    StateStore.open(state_url)

    def next_add_column(conn: Any) -> None:
        conn.exec_driver_sql("ALTER TABLE partners ADD COLUMN segment VARCHAR(20)")

    engine = create_engine(state_url)
    newer = len(MIGRATIONS) + 1
    assert migrate(engine, [*MIGRATIONS, next_add_column]) == newer
    assert migrate(engine, [*MIGRATIONS, next_add_column]) == newer  # idempotent
    with engine.connect() as conn:
        assert stored_version(conn) == newer
        assert "segment" in {c["name"] for c in inspect(conn).get_columns("partners")}
        assert conn.execute(select(schema_version.c.version)).scalars().all() == list(range(1, newer + 1))


def test_a_state_of_schema_version_3_upgrades_with_its_opportunities_kept_and_no_influencers(
    state_url: str,
) -> None:
    engine = create_engine(state_url)
    assert migrate(engine, MIGRATIONS[:3]) == 3
    row = {k: v for k, v in mirror.opportunity_values(opp("A")).items() if k != "influencers"}
    with engine.begin() as conn:
        conn.execute(insert(opportunities).values(connector="crm", id="A", status="open", **{
            k: v for k, v in row.items() if k != "status"}))  # fmt: skip
    store = StateStore.open(state_url)
    assert all_opps(store) == [opp("A")]
    store.apply_pull_batch("crm", PullBatch(opportunities=[opp("A", influencers=("P9",))]), 1)
    assert all_opps(store) == [opp("A", influencers=("P9",))]


def test_the_migrations_build_exactly_the_tables_the_code_reads(
    store: StateStore, new_state_url: Callable[[], str]
) -> None:
    reference = create_engine(new_state_url())
    metadata.create_all(reference)

    def shape(engine: Any) -> dict[str, Any]:
        insp = inspect(engine)
        return {
            name: (
                [(c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(name)],
                insp.get_pk_constraint(name)["constrained_columns"],
                sorted((i["name"], tuple(i["column_names"])) for i in insp.get_indexes(name)),
                sorted(
                    (tuple(f["constrained_columns"]), f["referred_table"])
                    for f in insp.get_foreign_keys(name)
                ),
            )
            for name in insp.get_table_names()
        }

    assert shape(store.engine) == shape(reference)


# -- the mirror --------------------------------------------------------------------------------------
def test_applying_the_same_batch_twice_changes_nothing_the_second_time(store: StateStore) -> None:
    batch = PullBatch(
        opportunities=[opp("A"), opp("B", partner_id=None), opp("C", status=None, stage="Mystery")],
        partners=[Partner("P1", "Acme")],
        watermark="2026-11-01T12:00:00Z",
    )
    first = store.apply_pull_batch("crm", batch, run_id=1)
    rows = all_opps(store)
    second = store.apply_pull_batch("crm", batch, run_id=2)
    assert (first.inserted, first.changed, first.unchanged, first.deleted) == (3, 0, 0, 0)
    assert (second.inserted, second.changed, second.unchanged, second.deleted) == (0, 0, 3, 0)
    assert (first.partners_inserted, second.partners_inserted, second.partners_changed) == (1, 0, 0)
    assert all_opps(store) == rows == sorted(batch.opportunities, key=lambda o: o.id)


def test_a_record_whose_values_differ_counts_as_changed(store: StateStore) -> None:
    store.apply_pull_batch("crm", PullBatch(opportunities=[opp("A"), opp("B")]), run_id=1)
    won = opp("A", status=Status.WON, closed_on=date(2026, 11, 2), modified_at=T0 + timedelta(days=1))
    counts = store.apply_pull_batch("crm", PullBatch(opportunities=[won, opp("B"), opp("C")]), run_id=2)
    assert (counts.inserted, counts.changed, counts.unchanged) == (1, 1, 1)
    assert all_opps(store)[0] == won


def test_connectors_do_not_see_each_others_records(store: StateStore) -> None:
    store.apply_pull_batch("one", PullBatch(opportunities=[opp("A")], partners=[Partner("P1")]), run_id=1)
    counts = store.apply_pull_batch("two", PullBatch(opportunities=[opp("A", amount=None)]), run_id=1)
    assert counts.inserted == 1
    assert [o.amount for o in all_opps(store, "one")] == [Decimal("100.00")]
    assert [o.amount for o in all_opps(store, "two")] == [None]
    assert store.partner_ids("one") == {"P1"}
    assert store.partner_ids("two") == set()


def test_deleted_ids_are_soft_deleted_and_left_out_of_the_stream(store: StateStore) -> None:
    store.apply_pull_batch("crm", PullBatch(opportunities=[opp("A"), opp("B")]), run_id=1)
    counts = store.apply_pull_batch("crm", PullBatch(deleted_opportunity_ids=["A", "A", "ZZ"]), run_id=2)
    assert counts.deleted == 1
    assert [o.id for o in all_opps(store)] == ["B"]
    assert [(o.id, o.deleted) for o in all_opps(store, include_deleted=True)] == [("A", True), ("B", False)]
    again = store.apply_pull_batch("crm", PullBatch(deleted_opportunity_ids=["A"]), run_id=3)
    assert again.deleted == 0
    restored = store.apply_pull_batch("crm", PullBatch(opportunities=[opp("A")]), run_id=4)
    assert restored.changed == 1
    assert [o.id for o in all_opps(store)] == ["A", "B"]


def test_sweep_soft_deletes_what_a_full_refresh_did_not_see(store: StateStore) -> None:
    store.apply_pull_batch(
        "file", PullBatch(opportunities=[opp("A"), opp("B")], partners=[Partner("P1"), Partner("P2")]), 1
    )
    store.apply_pull_batch("other", PullBatch(opportunities=[opp("X")]), 1)
    store.apply_pull_batch("file", PullBatch(opportunities=[opp("B")], partners=[Partner("P2")]), 2)
    assert store.sweep_unseen("file", 2) == 1
    assert [o.id for o in all_opps(store, "file")] == ["B"]
    assert store.partner_ids("file") == {"P2"}
    assert [p.id for p in store.partners("file", include_deleted=True)] == ["P1", "P2"]
    assert [o.id for o in all_opps(store, "other")] == ["X"]
    assert store.sweep_unseen("file", 2) == 0


def test_every_change_to_a_mirror_moves_its_version_and_only_its_own(store: StateStore) -> None:
    assert store.mirror_version("crm") == 0
    store.apply_pull_batch("crm", PullBatch(opportunities=[opp("A"), opp("B")]), run_id=1)
    store.apply_pull_batch("crm", PullBatch(deleted_opportunity_ids=["A"]), run_id=2)
    store.apply_pull_batch("crm", PullBatch(partners=[Partner("P1")]), run_id=2)
    assert store.mirror_version("crm") == 3
    store.sweep_unseen("crm", 3)  # B and P1 were not seen by run 3
    assert store.mirror_version("crm") == 4
    assert store.mirror_version("other") == 0


def test_a_batch_or_sweep_that_changes_nothing_leaves_the_version(store: StateStore) -> None:
    store.apply_pull_batch("crm", PullBatch(opportunities=[opp("A")]), run_id=1)
    store.apply_pull_batch("crm", PullBatch(opportunities=[opp("A")], watermark="w2"), run_id=2)
    store.apply_pull_batch("crm", PullBatch(deleted_opportunity_ids=["ZZ"], watermark="w3"), run_id=2)
    store.sweep_unseen("crm", 2)
    assert store.mirror_version("crm") == 1
    assert store.get_watermark("crm") == "w3"


def test_changes_hold_each_records_live_version_before_and_after(store: StateStore) -> None:
    store.apply_pull_batch("crm", PullBatch(opportunities=[opp("A"), opp("B"), opp("C"), opp("D")]), 1)
    store.apply_pull_batch("crm", PullBatch(deleted_opportunity_ids=["D"]), 1)
    changes = MirrorChanges(base_version=store.mirror_version("crm"))
    won = opp("A", status=Status.WON, closed_on=date(2026, 11, 2))
    batch = PullBatch(
        opportunities=[won, opp("B"), opp("D"), opp("E"), opp("F", deleted=True)],
        deleted_opportunity_ids=["C", "ZZ"],
    )
    store.apply_pull_batch("crm", batch, 2, changes)
    # A changed, B unchanged, C deleted, D undeleted, E new, F new but deleted (never live)
    assert sorted(o.id for o in changes.removed) == ["A", "C"]
    assert [o for o in changes.removed if o.id == "A"] == [opp("A")]
    assert sorted(o.id for o in changes.added) == ["A", "D", "E"]
    assert [o for o in changes.added if o.id == "A"] == [won]

    store.apply_pull_batch("crm", PullBatch(opportunities=[opp("E")]), 3, changes)
    store.sweep_unseen("crm", 3, changes)  # every live record but E goes
    assert sorted(o.id for o in changes.removed) == ["A", "A", "B", "C", "D"]


def test_changes_past_their_limit_give_up_and_hold_nothing(store: StateStore) -> None:
    changes = MirrorChanges(base_version=0, limit=3)
    store.apply_pull_batch("crm", PullBatch(opportunities=[opp("A"), opp("B")]), 1, changes)
    assert not changes.overflowed and len(changes.added) == 2
    store.apply_pull_batch("crm", PullBatch(opportunities=[opp("C"), opp("D")]), 1, changes)
    assert changes.overflowed and changes.added == changes.removed == []


def test_a_saved_kpi_state_comes_back_as_saved_and_the_newest_replaces_the_last(store: StateStore) -> None:
    assert store.kpi_state("crm") is None
    store.save_kpi_state("crm", "f1", 4, {"money": ["1.10", "0"], "slots": [[0.25, 1], [None, 0]]})
    store.save_kpi_state("crm", "f2", 7, {"money": ["2.20"], "seen": 3})
    saved = store.kpi_state("crm")
    assert saved == SavedKpiState("f2", 7, {"money": ["2.20"], "seen": 3})
    assert store.kpi_state_version("crm") == 7
    assert store.kpi_state("other") is None and store.kpi_state_version("other") is None


def test_money_round_trips_exactly(store: StateStore) -> None:
    big = Decimal("12345678901234.5678")
    tiny = Decimal("-0.000000000000000001")
    store.apply_pull_batch("crm", PullBatch(opportunities=[opp("A", amount=big, amount_original=tiny)]), 1)
    (back,) = all_opps(store)
    assert back.amount == big and str(back.amount) == "12345678901234.5678"
    assert back.amount_original == tiny
    type_of = "typeof(amount)" if store.engine.dialect.name == "sqlite" else "pg_typeof(amount)::text"
    with store.engine.connect() as conn:
        stored = conn.execute(text(f"SELECT {type_of}, amount FROM opportunities")).one()
    assert tuple(stored) == ("text", "12345678901234.5678")


STORED_ELSEWHERE = {"id"}
"""The one Opportunity field the mirror does not store as a value: it is the row's key (with the connector)."""


def test_the_mirror_stores_every_opportunity_field_in_the_dataclass_order() -> None:
    fields = [f.name for f in dataclasses.fields(Opportunity) if f.name not in STORED_ELSEWHERE]
    assert list(mirror.opportunity_values(opp("A"))) == fields
    assert [c for c in fields if c not in opportunities.c] == []  # a new field needs its column (a migration)
    partner_fields = [f.name for f in dataclasses.fields(Partner) if f.name not in STORED_ELSEWHERE]
    assert list(mirror.partner_values(Partner("P1", "Acme"))) == partner_fields
    assert [c for c in partner_fields if c not in partners.c] == []


def test_an_opportunity_with_every_field_set_comes_back_whole_by_both_read_paths(store: StateStore) -> None:
    full = opp("A", status=Status.WON, closed_on=date(2026, 11, 2), amount_original=Decimal("90.5"),
               currency="EUR", deleted=False, influencers=("P2", "P3"))  # fmt: skip
    assert all(getattr(full, f.name) not in (None, f.default) for f in dataclasses.fields(Opportunity)
               if f.name != "deleted")  # fmt: skip
    store.apply_pull_batch("crm", PullBatch(opportunities=[full]), 1)
    assert all_opps(store) == [full]  # the stream's raw rows
    changes = MirrorChanges(base_version=store.mirror_version("crm"))
    store.apply_pull_batch("crm", PullBatch(deleted_opportunity_ids=["A"]), 2, changes)
    assert changes.removed == [full]  # the typed rows
    assert all_opps(store, include_deleted=True) == [replace(full, deleted=True)]


def test_datetimes_come_back_aware_in_utc_and_naive_ones_are_refused(store: StateStore) -> None:
    plus_two = timezone(timedelta(hours=2))
    store.apply_pull_batch("crm", PullBatch(opportunities=[opp("A", modified_at=T0.astimezone(plus_two))]), 1)
    (back,) = all_opps(store)
    assert back.modified_at == T0 and back.modified_at.tzinfo == timezone.utc
    with pytest.raises(Exception, match="naive datetime"):
        store.apply_pull_batch(
            "crm", PullBatch(opportunities=[opp("B", modified_at=datetime(2026, 1, 1))]), 2
        )


# -- watermarks --------------------------------------------------------------------------------------
def test_the_watermark_is_stored_with_its_batch(store: StateStore) -> None:
    assert store.get_watermark("crm") is None
    store.apply_pull_batch("crm", PullBatch(opportunities=[opp("A")], watermark="w1"), 1)
    store.apply_pull_batch("crm", PullBatch(opportunities=[opp("B")]), 1)  # no watermark: keep w1
    assert store.get_watermark("crm") == "w1"
    store.apply_pull_batch("crm", PullBatch(watermark="w2"), 1)
    assert store.get_watermark("crm") == "w2"
    assert store.get_watermark("crm", stream="partners") is None
    assert store.get_watermark("other") is None


def test_a_batch_that_fails_on_a_constraint_stores_neither_rows_nor_watermark(store: StateStore) -> None:
    store.apply_pull_batch("crm", PullBatch(opportunities=[opp("A")], watermark="w1"), 1)
    broken = opp("C", modified_at=None)  # NOT NULL in the mirror
    with pytest.raises(Exception, match=r"(?i)not[ -]null"):  # SQLite: NOT NULL, PostgreSQL: not-null
        store.apply_pull_batch(
            "crm", PullBatch(opportunities=[opp("B"), opp("A", amount=Decimal(5)), broken], watermark="w2"), 2
        )
    assert store.get_watermark("crm") == "w1"
    assert [(o.id, o.amount) for o in all_opps(store)] == [("A", Decimal("100.00"))]


def test_a_batch_that_fails_half_way_stores_neither_rows_nor_watermark(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = mirror._upsert

    def opportunities_then_crash(conn: Any, table: Any, *args: Any) -> tuple[int, int, int]:
        if table.name == "partners":
            raise RuntimeError("crash after the opportunities were written")
        return real(conn, table, *args)

    monkeypatch.setattr(mirror, "_upsert", opportunities_then_crash)
    with pytest.raises(RuntimeError, match="crash after"):
        store.apply_pull_batch(
            "crm", PullBatch(opportunities=[opp("A")], partners=[Partner("P1")], watermark="w"), 1
        )
    assert store.get_watermark("crm") is None
    assert all_opps(store, include_deleted=True) == []


# -- streaming ---------------------------------------------------------------------------------------
def test_iter_opportunities_streams_in_chunks(store: StateStore) -> None:
    total = 50_000
    batch = PullBatch(opportunities=[opp(f"O{i:06d}", amount=Decimal(i)) for i in range(total)])
    assert store.apply_pull_batch("crm", batch, 1).inserted == total
    store.iter_chunk_size = 1_000
    selects: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM opportunities" in statement:
            selects.append(statement)

    event.listen(store.engine, "before_cursor_execute", count)
    stream = store.iter_opportunities("crm")
    assert selects == []  # nothing read before the first item is asked for
    first = next(stream)
    assert first.id == "O000000" and first.amount == Decimal(0)
    assert len(selects) == 1 and "LIMIT" in selects[0]
    seen = 1
    last = first
    for seen, last in enumerate(stream, start=2):  # noqa: B007
        pass
    assert seen == total and last.id == f"O{total - 1:06d}"
    assert len(selects) == total // 1_000 + 1  # 50 full chunks and one empty probe


def test_iter_opportunities_with_an_exact_chunk_boundary_and_deleted_rows(store: StateStore) -> None:
    store.iter_chunk_size = 2
    store.apply_pull_batch("crm", PullBatch(opportunities=[opp(x) for x in "ABCDE"]), 1)
    store.apply_pull_batch("crm", PullBatch(deleted_opportunity_ids=["C"]), 2)
    assert [o.id for o in all_opps(store)] == ["A", "B", "D", "E"]
    assert [o.id for o in all_opps(store, include_deleted=True)] == list("ABCDE")
    assert all_opps(store, "empty") == []


def test_the_stream_and_the_partners_come_in_byte_order_of_their_ids_whatever_the_collation(
    store: StateStore,
) -> None:
    """Salesforce ids mix cases: the stream's keyset paging must follow one order on both backends."""
    ids = ["b0", "B1", "a2", "A3", "_4", "Z5", "é6"]
    store.iter_chunk_size = 2
    store.apply_pull_batch("crm", PullBatch(opportunities=[opp(i) for i in ids], partners=[
        Partner(i) for i in ids]), 1)  # fmt: skip
    in_bytes = sorted(ids, key=lambda i: i.encode("utf-8"))
    assert [o.id for o in all_opps(store)] == in_bytes == ["A3", "B1", "Z5", "_4", "a2", "b0", "é6"]
    assert [p.id for p in store.partners("crm")] == in_bytes


# -- snapshots ---------------------------------------------------------------------------------------
def snap(
    kind: str, partner: str | None, last: date, amount: str | None, period: str = "last_30_days"
) -> SnapshotRow:
    value = None if amount is None else Decimal(amount)
    return SnapshotRow(kind, partner, period, last, value, {"figures": {"open_amount": {"value": amount}}})


def test_snapshot_lookup_takes_the_latest_runs_figure_for_the_group_and_day(store: StateStore) -> None:
    day, other_day = date(2026, 10, 31), date(2026, 9, 30)
    r1, r2 = store.start_run("crm", "sync"), store.start_run("crm", "sync")
    store.save_snapshot(
        "crm",
        r1,
        day,
        [
            snap("partner", "P1", day, "100.10"),
            snap("overall", None, day, "900"),
            snap("partner", "P2", day, None),
        ],
    )
    store.save_snapshot(
        "crm",
        r2,
        day,
        [snap("partner", "P1", day, "12345678901234.5678"), snap("partner", "P1", other_day, "7")],
    )
    assert store.snapshot_open_amounts("crm", day).get(("partner", "P1")) == Decimal("12345678901234.5678")
    assert store.snapshot_open_amounts("crm", other_day).get(("partner", "P1")) == Decimal("7")
    assert store.snapshot_open_amounts("crm", day).get(("overall", None)) == Decimal("900")
    assert store.snapshot_open_amounts("crm", day).get(("partners", None)) is None
    assert store.snapshot_open_amounts("crm", day).get(("partner", "P2")) is None  # recorded no figure
    assert store.snapshot_open_amounts("crm", date(2026, 8, 31)).get(("partner", "P1")) is None
    assert store.snapshot_open_amounts("other", day).get(("partner", "P1")) is None


def test_snapshot_row_from_a_computed_group() -> None:
    from kpi_core.result import Figure, GroupKey, GroupKind, GroupKpis, PeriodWindow

    period = PeriodWindow("previous_month", date(2026, 11, 22), date(2026, 10, 1), date(2026, 10, 31),
                          date(2026, 9, 1), date(2026, 9, 30))  # fmt: skip
    group = GroupKpis(
        GroupKey(GroupKind.PARTNER, "P1"),
        period,
        {"open_amount": Figure(Decimal("5.5"), Decimal(3), None, None)},
    )
    row = SnapshotRow.from_group(group, {"x": 1})
    assert row == SnapshotRow("partner", "P1", "previous_month", date(2026, 10, 31), Decimal("5.5"), {"x": 1})


# -- the ledger --------------------------------------------------------------------------------------
def test_the_ledger_keeps_the_last_confirmed_value_per_partner_and_field(store: StateStore) -> None:
    run = store.start_run("crm", "sync")
    assert store.ledger("crm") == {}
    store.record_writes("crm", run, [("P1", "Score__c", "71.5"), ("P2", "Score__c", None)])
    assert store.ledger("crm") == {("P1", "Score__c"): "71.5", ("P2", "Score__c"): None}
    store.record_writes(
        "crm", run, iter([("P1", "Score__c", "80"), ("P1", "Deals__c", "3"), ("P1", "Deals__c", "4")])
    )
    store.record_writes("other", run, [("P1", "Score__c", "1")])
    assert store.ledger("crm") == {
        ("P1", "Score__c"): "80",
        ("P1", "Deals__c"): "4",
        ("P2", "Score__c"): None,
    }


# -- runs --------------------------------------------------------------------------------------------
def test_the_run_history_records_counts_quality_and_failures(store: StateStore) -> None:
    first = store.start_run("crm", "pull")
    second = store.start_run("hub", "sync")
    running = store.run(second)
    assert running is not None and running.status == "running" and running.ended_at is None
    failures = [{"partner_id": "P1", "field": "Score__c", "code": "INVALID", "message": "nope"}]
    store.finish_run(
        second,
        "partial",
        {"pulled": 10, "amount": Decimal("1.10")},
        {"missing_amount": 2},
        failures,
        "1 record",
    )
    store.finish_run(first, "ok")
    done = store.run(second)
    assert done is not None
    assert (done.connector, done.command, done.status, done.message) == ("hub", "sync", "partial", "1 record")
    assert done.counts == {"pulled": 10, "amount": "1.10"}  # Decimal kept exact, as a string
    assert done.data_quality == {"missing_amount": 2} and done.failures == failures
    assert (
        done.ended_at is not None
        and done.ended_at >= done.started_at
        and done.started_at.tzinfo == timezone.utc
    )
    assert [r.id for r in store.runs()] == [second, first]
    assert [r.id for r in store.runs(limit=1)] == [second]
    assert [r.id for r in store.runs(connector="crm")] == [first]
    assert store.run(999) is None
    with pytest.raises(KeyError):
        store.finish_run(999, "ok")


# -- locks -------------------------------------------------------------------------------------------
def test_a_held_lock_raises_lock_held_with_its_holder(state_url: str) -> None:
    url = state_url
    one, two = StateStore.open(url), StateStore.open(url)
    run = one.start_run("crm", "sync")
    with one.lock("crm", run):
        with pytest.raises(LockHeld) as caught, two.lock("crm"):
            pass
        assert caught.value.holder is not None and caught.value.holder.pid == os.getpid()
        assert str(caught.value).startswith(f"connector 'crm' is locked by run {run} (pid {os.getpid()} on ")
        assert not two.acquire_lock("crm")
        with two.lock("other"):  # another connector is free
            pass
    assert one.lock_holder("crm") is None
    assert two.acquire_lock("crm")
    assert two.release_lock("crm") and not two.release_lock("crm")


def test_the_lock_is_released_when_the_block_fails(store: StateStore) -> None:
    with pytest.raises(ValueError), store.lock("crm"):
        raise ValueError("boom")
    assert store.lock_holder("crm") is None


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def plant_lock(store: StateStore, pid: int, host: str, heartbeat: datetime) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            insert(locks).values(
                connector="crm", pid=pid, host=host, run_id=41, acquired_at=heartbeat, heartbeat_at=heartbeat
            )
        )


def test_a_lock_left_by_a_dead_process_on_this_host_is_taken_over(store: StateStore) -> None:
    from partnerkpi.state.locks import this_host

    plant_lock(store, dead_pid(), this_host(), datetime.now(timezone.utc))
    with store.lock("crm", 42) as holder:
        assert holder is not None and (holder.pid, holder.run_id) == (os.getpid(), 42)


def test_a_lock_of_another_host_is_taken_over_only_when_its_heartbeat_is_stale(store: StateStore) -> None:
    now = datetime.now(timezone.utc)
    plant_lock(store, 1, "elsewhere.example", now - timedelta(minutes=5))
    assert not store.acquire_lock("crm")  # alive as far as we can tell (fresh heartbeat)
    with store.engine.begin() as conn:
        conn.execute(locks.update().values(heartbeat_at=now - timedelta(minutes=11)))
    assert store.acquire_lock("crm", 7)
    holder = store.lock_holder("crm")
    assert holder is not None and (holder.pid, holder.run_id) == (os.getpid(), 7)


def test_a_lock_of_a_live_process_on_this_host_is_not_taken_over(store: StateStore) -> None:
    from partnerkpi.state.locks import this_host

    plant_lock(store, os.getppid(), this_host(), datetime.now(timezone.utc) - timedelta(minutes=1))
    with pytest.raises(LockHeld, match=r"locked by run 41 \(pid"), store.lock("crm"):
        pass


def test_the_heartbeat_refreshes_only_our_own_lock(store: StateStore) -> None:
    past = datetime.now(timezone.utc) - timedelta(minutes=3)
    plant_lock(store, 1, "elsewhere.example", past)
    assert not store.heartbeat("crm")
    with store.engine.begin() as conn:
        conn.execute(locks.delete())
    assert store.acquire_lock("crm")
    with store.engine.begin() as conn:
        conn.execute(locks.update().values(heartbeat_at=past))
    assert store.heartbeat("crm")
    holder = store.lock_holder("crm")
    assert holder is not None and holder.heartbeat_at > past


def test_the_lock_heartbeat_loop_beats_until_stopped(store: StateStore) -> None:
    class TwoBeats:
        """Stands in for the stop event: "not yet" twice, then "stop" (no real waiting)."""

        def __init__(self) -> None:
            self.waits: list[float] = []

        def wait(self, timeout: float) -> bool:
            self.waits.append(timeout)
            return len(self.waits) > 2

    past = datetime.now(timezone.utc) - timedelta(minutes=3)
    assert store.acquire_lock("crm")
    with store.engine.begin() as conn:
        conn.execute(locks.update().values(heartbeat_at=past))
    beats = TwoBeats()
    store._heartbeat_loop("crm", beats)  # type: ignore[arg-type]
    assert beats.waits == [150.0, 150.0, 150.0]  # a quarter of the 10-minute stale timeout
    holder = store.lock_holder("crm")
    assert holder is not None and holder.heartbeat_at > past


def test_repeated_ids_in_a_batch_count_once_and_the_last_wins(store: StateStore) -> None:
    batch = PullBatch(
        opportunities=[opp("A"), opp("A", amount=Decimal(7))],
        partners=[Partner("P1", "Old"), Partner("P1", "New")],
    )
    counts = store.apply_pull_batch("crm", batch, 1)
    assert (counts.inserted, counts.partners_inserted) == (1, 1)
    assert [o.amount for o in all_opps(store)] == [Decimal(7)]
    assert store.partners("crm") == [Partner("P1", "New")]
    renamed = store.apply_pull_batch("crm", PullBatch(partners=[Partner("P1", "Newer")]), 2)
    assert (renamed.partners_inserted, renamed.partners_changed) == (0, 1)


CONTENDER = """
import sys
from partnerkpi.state import StateStore
store = StateStore.open(sys.argv[1])
print(store.acquire_lock("crm"), flush=True)
sys.stdin.read()  # hold on (alive, lock kept) until the test has heard from everyone
"""


OPENER = """
import sys
from partnerkpi.state import StateStore
print(StateStore.open(sys.argv[1]).schema_version, flush=True)
"""


def test_processes_opening_a_new_database_together_migrate_it_once(state_url: str) -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER, state_url], stdout=subprocess.PIPE, text=True, env=env
        )
        for _ in range(4)
    ]
    outs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0] * 4 and outs == [str(SCHEMA_VERSION)] * 4
    with StateStore.open(state_url).engine.connect() as conn:
        assert conn.execute(select(schema_version.c.version)).scalars().all() == list(
            range(1, SCHEMA_VERSION + 1)
        )


def test_processes_racing_for_a_lock_get_it_exactly_once(state_url: str) -> None:
    url = state_url
    StateStore.open(url)
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CONTENDER, url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(4)
    ]
    try:
        answers = [p.stdout.readline().strip() for p in procs if p.stdout is not None]
    finally:
        for p in procs:
            p.communicate("", timeout=30)
    assert sorted(answers) == ["False", "False", "False", "True"]
