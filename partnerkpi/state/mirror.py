"""The mirror: normalized opportunities and partners per connector, upserted by (connector, id), soft
deleted, and read back as a stream."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Row, Table, and_, bindparam, select, update

from connectors.base import PullBatch
from kpi_core.schema import Opportunity, Partner, Status
from partnerkpi.state.records import BatchCounts
from partnerkpi.state.tables import opportunities, partners

IN_CHUNK = 500
"""Ids per ``IN (...)`` list: well under every backend's bound-parameter limit."""

T = TypeVar("T")

_OPP_FIELDS = (
    "partner_id",
    "amount",
    "amount_original",
    "currency",
    "status",
    "stage",
    "created_on",
    "closed_on",
    "expected_close_on",
    "probability",
    "channel",
    "modified_at",
    "deleted",
)
_PARTNER_FIELDS = ("name", "deleted")


def _chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def opportunity_values(opp: Opportunity) -> dict[str, Any]:
    return {
        "partner_id": opp.partner_id,
        "amount": opp.amount,
        "amount_original": opp.amount_original,
        "currency": opp.currency,
        "status": opp.status.value if opp.status is not None else None,
        "stage": opp.stage,
        "created_on": opp.created_on,
        "closed_on": opp.closed_on,
        "expected_close_on": opp.expected_close_on,
        "probability": opp.probability,
        "channel": opp.channel,
        "modified_at": opp.modified_at,
        "deleted": opp.deleted,
    }


def opportunity_from_row(row: Row[Any]) -> Opportunity:
    m = row._mapping
    return Opportunity(
        id=m["id"],
        partner_id=m["partner_id"],
        amount=m["amount"],
        amount_original=m["amount_original"],
        currency=m["currency"],
        status=Status(m["status"]) if m["status"] is not None else None,
        created_on=m["created_on"],
        closed_on=m["closed_on"],
        expected_close_on=m["expected_close_on"],
        probability=m["probability"],
        channel=m["channel"],
        modified_at=m["modified_at"],
        deleted=bool(m["deleted"]),
        stage=m["stage"],
    )


def _existing(
    conn: Connection, table: Table, connector: str, ids: Sequence[str], fields: Sequence[str]
) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    columns = [table.c.id, *(table.c[f] for f in fields)]
    for chunk in _chunks(ids):
        rows = conn.execute(select(*columns).where(table.c.connector == connector, table.c.id.in_(chunk)))
        for row in rows:
            found[row.id] = {f: row._mapping[f] for f in fields}
    return found


def _upsert(
    conn: Connection,
    table: Table,
    connector: str,
    run_id: int,
    records: Mapping[str, dict[str, Any]],
    fields: Sequence[str],
) -> tuple[int, int, int]:
    """Insert new ids, update those whose values differ, mark all seen; (inserted, changed, unchanged)."""
    existing = _existing(conn, table, connector, list(records), fields)
    inserts, updates, unchanged = [], [], []
    for record_id, values in records.items():
        before = existing.get(record_id)
        if before is None:
            inserts.append({"connector": connector, "id": record_id, "seen_run_id": run_id, **values})
        elif before != values:
            updates.append({"k_connector": connector, "k_id": record_id, "seen_run_id": run_id, **values})
        else:
            unchanged.append(record_id)
    if inserts:
        conn.execute(table.insert(), inserts)
    if updates:
        keyed = table.update().where(
            table.c.connector == bindparam("k_connector"), table.c.id == bindparam("k_id")
        )
        conn.execute(keyed, updates)
    for chunk in _chunks(unchanged):
        conn.execute(
            update(table)
            .where(table.c.connector == connector, table.c.id.in_(chunk))
            .values(seen_run_id=run_id)
        )
    return len(inserts), len(updates), len(unchanged)


def apply_batch(conn: Connection, connector: str, batch: PullBatch, run_id: int) -> BatchCounts:
    """Upsert the batch's records and soft-delete its deletions (the caller's transaction)."""
    opps = {o.id: opportunity_values(o) for o in batch.opportunities}  # the last of a repeated id wins
    inserted, changed, unchanged = _upsert(conn, opportunities, connector, run_id, opps, _OPP_FIELDS)
    prts = {p.id: {"name": p.name, "deleted": p.deleted} for p in batch.partners}
    p_inserted, p_changed, _ = _upsert(conn, partners, connector, run_id, prts, _PARTNER_FIELDS)
    deleted = 0
    for chunk in _chunks(list(dict.fromkeys(batch.deleted_opportunity_ids))):
        result = conn.execute(
            update(opportunities)
            .where(
                opportunities.c.connector == connector,
                opportunities.c.id.in_(chunk),
                opportunities.c.deleted.is_(False),
            )
            .values(deleted=True, seen_run_id=run_id)
        )
        deleted += result.rowcount
    return BatchCounts(inserted, changed, unchanged, deleted, p_inserted, p_changed)


def sweep_unseen(conn: Connection, connector: str, run_id: int) -> int:
    """Soft-delete what this run did not see (full-refresh sources); the number of opportunities."""
    count = 0
    for table in (opportunities, partners):
        result = conn.execute(
            update(table)
            .where(
                table.c.connector == connector,
                table.c.deleted.is_(False),
                (table.c.seen_run_id != run_id) | table.c.seen_run_id.is_(None),
            )
            .values(deleted=True)
        )
        if table is opportunities:
            count = result.rowcount
    return count


def iter_opportunities(
    engine: Engine, connector: str, include_deleted: bool, chunk_size: int
) -> Iterator[Opportunity]:
    """Every opportunity of ``connector`` in id order, ``chunk_size`` rows per query (keyset paging):
    memory stays bounded whatever the mirror's size, and no transaction stays open between chunks."""
    last_id: str | None = None
    while True:
        where = [opportunities.c.connector == connector]
        if not include_deleted:
            where.append(opportunities.c.deleted.is_(False))
        if last_id is not None:
            where.append(opportunities.c.id > last_id)
        query = select(opportunities).where(and_(*where)).order_by(opportunities.c.id).limit(chunk_size)
        with engine.connect() as conn:
            chunk = [opportunity_from_row(row) for row in conn.execute(query)]
        yield from chunk
        if len(chunk) < chunk_size:
            return
        last_id = chunk[-1].id


def partner_records(conn: Connection, connector: str, include_deleted: bool) -> list[Partner]:
    query = select(partners.c.id, partners.c.name, partners.c.deleted).where(
        partners.c.connector == connector
    )
    if not include_deleted:
        query = query.where(partners.c.deleted.is_(False))
    return [
        Partner(row.id, row.name, bool(row.deleted)) for row in conn.execute(query.order_by(partners.c.id))
    ]
