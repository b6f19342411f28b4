"""The mirror: normalized opportunities and partners per connector, upserted by (connector, id), soft
deleted, and read back as a stream."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Row, Table, bindparam, select, update

from connectors.base import PullBatch
from kpi_core.accumulate import PASS_FIELDS, PassRow
from kpi_core.schema import Opportunity, Partner, Status
from partnerkpi.state.records import BatchCounts, MirrorChanges
from partnerkpi.state.tables import mirror_versions, opportunities, partners
from partnerkpi.state.types import id_list
from partnerkpi.state.upsert import dialect_insert

IN_CHUNK = 500
"""Ids per ``IN (...)`` list: well under every backend's bound-parameter limit."""

T = TypeVar("T")

_KEY = "id"
"""The one field of Opportunity and Partner that is not a stored value: with the connector, the row's key."""
_OPP_FIELDS = tuple(f.name for f in dataclasses.fields(Opportunity) if f.name != _KEY)
"""The stored values of an opportunity: every field of the dataclass, in its order, so that a new field
cannot be left out of the mirror (the table needs its column; tests check both)."""
_PARTNER_FIELDS = tuple(f.name for f in dataclasses.fields(Partner) if f.name != _KEY)


def _chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def opportunity_values(opp: Opportunity) -> dict[str, Any]:
    """The row's values: the dataclass's fields, the status by its stored name."""
    values = {name: getattr(opp, name) for name in _OPP_FIELDS}
    values["status"] = opp.status.value if opp.status is not None else None
    return values


def partner_values(partner: Partner) -> dict[str, Any]:
    return {name: getattr(partner, name) for name in _PARTNER_FIELDS}


def opportunity_from_row(row: Row[Any]) -> Opportunity:
    return opportunity_from_values(row._mapping["id"], row._mapping)


def opportunity_from_values(record_id: str, m: Mapping[Any, Any]) -> Opportunity:
    """An opportunity from a typed row (or ``opportunity_values``' dict): the columns by field name."""
    values = {name: m[name] for name in _OPP_FIELDS}
    values["status"] = Status(m["status"]) if m["status"] is not None else None
    values["deleted"] = bool(m["deleted"])
    return Opportunity(id=record_id, **values)


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
    marker = _marker(conn)
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join([marker] * len(columns))})"
    params = [
        tuple(v if p is None or v is None else p(v) for p, v in zip(processors, row.values(), strict=True))
        for row in rows
    ]
    conn.exec_driver_sql(sql, params)


def _marker(conn: Connection) -> str:
    """The driver's positional parameter marker."""
    marker = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(conn.dialect.paramstyle)
    if marker is None:  # pragma: no cover - SQLite and PostgreSQL's drivers use the styles above
        raise NotImplementedError(f"the state store does not support the {conn.dialect.paramstyle!r} style")
    return marker


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
    """One more, in one statement: two transactions bumping together (PostgreSQL runs them at once)
    never both write the same number."""
    insert = dialect_insert(conn, mirror_versions).values(connector=connector, version=1)
    conn.execute(
        insert.on_conflict_do_update(
            index_elements=["connector"], set_={"version": mirror_versions.c.version + 1}
        )
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
    prts = {p.id: partner_values(p) for p in batch.partners}
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


_READ_COLUMNS = (_KEY, *_OPP_FIELDS)
"""The stream's columns: the dataclass's fields in order, so a row builds an Opportunity positionally
(``_RowReader.opportunities`` unpacks them in this order; the round-trip tests set every field)."""
_STATUS: Mapping[Any, Status | None] = {None: None, **{s.value: s for s in Status}}
_CACHE_LIMIT = 100_000


def _read_sql(include_deleted: bool, first: bool, marker: str) -> str:
    """The stream's page query as plain driver SQL: its rows come back as the driver gives them, and
    ``_RowReader`` converts them in one place (SQLAlchemy's row processing cost about a third)."""
    after = "" if first else f" AND id > {marker}"
    live = "" if include_deleted else " AND deleted = " + marker
    return (
        f"SELECT {', '.join(_READ_COLUMNS)} FROM {opportunities.name} "
        f"WHERE connector = {marker}{after}{live} ORDER BY id LIMIT {marker}"
    )


class _RowReader:
    """Raw rows to Opportunities. Days and stored texts repeat across rows (a few thousand distinct
    days in a million deals), so each distinct value is converted once (bounded caches): SQLite hands
    dates, instants and money back as text, PostgreSQL dates and datetimes as objects."""

    def __init__(self) -> None:
        self.days: dict[Any, date | None] = {None: None}

    def day(self, value: Any) -> date | None:
        if len(self.days) >= _CACHE_LIMIT:
            self.days = {None: None}
        found = date.fromisoformat(value) if isinstance(value, str) else value
        self.days[value] = found
        return found

    def opportunities(self, rows: Sequence[Sequence[Any]]) -> list[Opportunity]:
        days, day, statuses, utc = self.days, self.day, _STATUS, timezone.utc
        out: list[Opportunity] = []
        append = out.append
        for (
            record_id, partner_id, amount, original, currency, status, created, closed, expected,
            probability, channel, modified, deleted, stage, influencers,
        ) in rows:  # fmt: skip
            created_on = days[created] if created in days else day(created)
            closed_on = days[closed] if closed in days else day(closed)
            expected_on = days[expected] if expected in days else day(expected)
            moment = datetime.fromisoformat(modified) if isinstance(modified, str) else modified
            append(
                Opportunity(
                    record_id,
                    partner_id,
                    None if amount is None else Decimal(amount),
                    None if original is None else Decimal(original),
                    currency,
                    statuses[status],
                    created_on,
                    closed_on,
                    expected_on,
                    probability,
                    channel,
                    moment.replace(tzinfo=utc),
                    bool(deleted),
                    stage,
                    id_list(influencers),
                )
            )
        return out

    def pass_rows(self, rows: Sequence[Sequence[Any]]) -> list[PassRow]:
        """Rows of the pass's columns (``_PASS_COLUMNS``) as PassRows."""
        days, day, statuses = self.days, self.day, _STATUS
        return [
            (
                partner_id,
                None if amount is None else Decimal(amount),
                None if original is None else Decimal(original),
                statuses[status],
                days[created] if created in days else day(created),
                days[closed] if closed in days else day(closed),
                probability,
                channel,
                False,
                id_list(influencers),
            )
            for _, partner_id, amount, original, status, created, closed, probability, channel, _, influencers in rows
        ]


_PASS_COLUMNS = (_KEY, *PASS_FIELDS)
"""The KPI pass's columns: the id (for paging), then a PassRow's fields in its order."""


def _pass_sql(first: bool, marker: str) -> str:
    after = "" if first else f" AND id > {marker}"
    return (
        f"SELECT {', '.join(_PASS_COLUMNS)} FROM {opportunities.name} "
        f"WHERE connector = {marker}{after} AND deleted = {marker} ORDER BY id LIMIT {marker}"
    )


def iter_pass_rows(engine: Engine, connector: str, chunk_size: int) -> Iterator[PassRow]:
    """The live opportunities of ``connector`` as the KPI pass reads them (kpi_core.accumulate.PassRow),
    in id order and ``chunk_size`` rows per query like :func:`iter_opportunities`, but only the columns
    the pass uses, and no Opportunity built: about half the time of the full records."""
    reader = _RowReader()
    last_id: str | None = None
    while True:
        with engine.connect() as conn:
            marker = _marker(conn)
            params = (connector, *(() if last_id is None else (last_id,)), False, chunk_size)
            rows = conn.exec_driver_sql(_pass_sql(last_id is None, marker), params).cursor.fetchall()
        yield from reader.pass_rows(rows)
        if len(rows) < chunk_size:
            return
        last_id = rows[-1][0]


def iter_opportunities(
    engine: Engine, connector: str, include_deleted: bool, chunk_size: int
) -> Iterator[Opportunity]:
    """Every opportunity of ``connector`` in id order, ``chunk_size`` rows per query (keyset paging):
    memory stays bounded whatever the mirror's size, and no transaction stays open between chunks."""
    reader = _RowReader()
    last_id: str | None = None
    while True:
        with engine.connect() as conn:
            marker = _marker(conn)
            sql = _read_sql(include_deleted, first=last_id is None, marker=marker)
            params = (
                connector,
                *(() if last_id is None else (last_id,)),
                *(() if include_deleted else (False,)),
            )
            rows = conn.exec_driver_sql(sql, (*params, chunk_size)).cursor.fetchall()
        chunk = reader.opportunities(rows)
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
