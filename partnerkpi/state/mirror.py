"""The mirror: normalized opportunities and partners per connector, upserted by (connector, id), soft
deleted, and read back as a stream."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Row, Table, TextClause, bindparam, select, text, update

from connectors.base import PullBatch
from kpi_core.schema import Opportunity, Partner, Status
from partnerkpi.state.records import BatchCounts, MirrorChanges
from partnerkpi.state.tables import mirror_versions, opportunities, partners
from partnerkpi.state.upsert import upsert

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
    return opportunity_from_values(row._mapping["id"], row._mapping)


def opportunity_from_values(record_id: str, m: Mapping[Any, Any]) -> Opportunity:
    return Opportunity(
        id=record_id,
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


def _insert(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """One driver executemany of ``rows`` (all with the same keys, in the same order), each value through
    its column type's bind processor: what ``conn.execute(table.insert(), rows)`` stores, without
    SQLAlchemy's per-row parameter building (two thirds of a first sync's mirror time)."""
    dialect = conn.dialect
    columns = list(rows[0])
    processors = [table.c[c].type.bind_processor(dialect) for c in columns]
    marker = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(dialect.paramstyle)
    if marker is None:  # pragma: no cover - SQLite and PostgreSQL's drivers use the styles above
        raise NotImplementedError(f"the state store does not support the {dialect.paramstyle!r} style")
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join([marker] * len(columns))})"
    params = [
        tuple(v if p is None or v is None else p(v) for p, v in zip(processors, row.values(), strict=True))
        for row in rows
    ]
    conn.exec_driver_sql(sql, params)


def _upsert(
    conn: Connection,
    table: Table,
    connector: str,
    run_id: int,
    records: Mapping[str, dict[str, Any]],
    fields: Sequence[str],
    on_change: Callable[[str, Mapping[str, Any] | None, Mapping[str, Any]], None] | None = None,
) -> tuple[int, int, int]:
    """Insert new ids, update those whose values differ, mark all seen; (inserted, changed, unchanged).
    ``on_change(id, values before or None, values after)`` hears of every insert and update."""
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
            continue
        if on_change is not None:
            on_change(record_id, before, values)
    if inserts:
        _insert(conn, table, inserts)
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


def version(conn: Connection, connector: str) -> int:
    """The mirror's version: 0 before its first change, then one more per changing transaction."""
    found = conn.execute(
        select(mirror_versions.c.version).where(mirror_versions.c.connector == connector)
    ).scalar_one_or_none()
    return int(found or 0)


def _bump_version(conn: Connection, connector: str) -> None:
    upsert(
        conn,
        mirror_versions,
        [{"connector": connector, "version": version(conn, connector) + 1}],
        keys=("connector",),
    )


def _live(conn: Connection, connector: str, ids: Sequence[str]) -> list[Opportunity]:
    query = select(opportunities).where(
        opportunities.c.connector == connector,
        opportunities.c.id.in_(ids),
        opportunities.c.deleted.is_(False),
    )
    return [opportunity_from_row(row) for row in conn.execute(query)]


def apply_batch(
    conn: Connection,
    connector: str,
    batch: PullBatch,
    run_id: int,
    changes: MirrorChanges | None = None,
) -> BatchCounts:
    """Upsert the batch's records and soft-delete its deletions (the caller's transaction); bump the
    mirror's version when anything changed. ``changes`` collects each record's live version before and
    after."""
    latest = {o.id: o for o in batch.opportunities}  # the last of a repeated id wins
    opps = {record_id: opportunity_values(o) for record_id, o in latest.items()}

    def heard(record_id: str, before: Mapping[str, Any] | None, _after: Mapping[str, Any]) -> None:
        assert changes is not None
        old = opportunity_from_values(record_id, before) if before is not None else None
        changes.record(old, latest[record_id])  # what was stored: the batch's own record

    inserted, changed, unchanged = _upsert(
        conn, opportunities, connector, run_id, opps, _OPP_FIELDS, heard if changes is not None else None
    )
    prts = {p.id: {"name": p.name, "deleted": p.deleted} for p in batch.partners}
    p_inserted, p_changed, _ = _upsert(conn, partners, connector, run_id, prts, _PARTNER_FIELDS)
    deleted = 0
    for chunk in _chunks(list(dict.fromkeys(batch.deleted_opportunity_ids))):
        if changes is not None:
            for gone in _live(conn, connector, chunk):
                changes.record(gone, None)
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
    if inserted or changed or deleted or p_inserted or p_changed:
        _bump_version(conn, connector)
    return BatchCounts(inserted, changed, unchanged, deleted, p_inserted, p_changed)


def sweep_unseen(conn: Connection, connector: str, run_id: int, changes: MirrorChanges | None = None) -> int:
    """Soft-delete what this run did not see (full-refresh sources); the number of opportunities.
    ``changes`` collects the live versions it deletes."""
    unseen = (opportunities.c.seen_run_id != run_id) | opportunities.c.seen_run_id.is_(None)
    if changes is not None:
        query = select(opportunities).where(
            opportunities.c.connector == connector, opportunities.c.deleted.is_(False), unseen
        )
        for row in conn.execute(query):
            changes.record(opportunity_from_row(row), None)
    count = swept = 0
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
        swept += result.rowcount
        if table is opportunities:
            count = result.rowcount
    if swept:
        _bump_version(conn, connector)
    return count


_READ_COLUMNS = ("id", *_OPP_FIELDS)
_STATUS = {s.value: s for s in Status}


def _read_query(include_deleted: bool, first: bool) -> TextClause:
    """The stream's page query as plain SQL: its rows come back as the driver gives them, and
    ``_opportunity_from_raw`` converts them in one place (the typed Core path costs about 3x)."""
    after = "" if first else " AND id > :after"
    live = "" if include_deleted else " AND deleted = :no"
    return text(
        f"SELECT {', '.join(_READ_COLUMNS)} FROM {opportunities.name} "
        f"WHERE connector = :connector{after}{live} ORDER BY id LIMIT :limit"
    )


def _day(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _moment(value: Any) -> datetime:
    """Stored as naive UTC (UtcDateTime): text on SQLite, a datetime on PostgreSQL."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=timezone.utc)


def _money(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def _opportunity_from_raw(row: Sequence[Any]) -> Opportunity:
    (oid, partner_id, amount, original, currency, status, stage, created, closed, expected, probability,
     channel, modified, deleted) = row  # fmt: skip
    return Opportunity(
        id=oid,
        partner_id=partner_id,
        amount=_money(amount),
        amount_original=_money(original),
        currency=currency,
        status=_STATUS[status] if status is not None else None,
        created_on=_day(created),
        closed_on=_day(closed),
        expected_close_on=_day(expected),
        probability=probability,
        channel=channel,
        modified_at=_moment(modified),
        deleted=bool(deleted),
        stage=stage,
    )


def iter_opportunities(
    engine: Engine, connector: str, include_deleted: bool, chunk_size: int
) -> Iterator[Opportunity]:
    """Every opportunity of ``connector`` in id order, ``chunk_size`` rows per query (keyset paging):
    memory stays bounded whatever the mirror's size, and no transaction stays open between chunks."""
    last_id: str | None = None
    while True:
        query = _read_query(include_deleted, first=last_id is None)
        params = {"connector": connector, "after": last_id, "limit": chunk_size, "no": False}
        with engine.connect() as conn:
            chunk = [_opportunity_from_raw(row) for row in conn.execute(query, params)]
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
