"""Versioned schema migrations: an ordered list of steps, each taking the schema one version up.

A step never changes once released: it builds the tables as they were at its version (hence its own
table definitions here, not tables.py's). To change the schema, append a step and update tables.py; the
test suite checks that the steps build exactly what tables.py describes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    inspect,
    select,
    text,
)

from kpi_core import clock
from partnerkpi.state.errors import SchemaTooNew
from partnerkpi.state.tables import schema_version
from partnerkpi.state.types import JsonText, MoneyText, UtcDateTime, record_id_type

Migration = Callable[[Connection], None]

MIGRATION_LOCK_KEY = 0x706B6D6967  # "pkmig": PostgreSQL's advisory lock key for migrating one database


def _v1_initial(conn: Connection) -> None:
    """Version 1: the mirror, watermarks, KPI snapshots, the writeback ledger, runs and locks."""
    md = MetaData()
    Table(
        "runs",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("connector", String(200), nullable=False),
        Column("command", String(50), nullable=False),
        Column("started_at", UtcDateTime, nullable=False),
        Column("ended_at", UtcDateTime),
        Column("status", String(20), nullable=False),
        Column("counts", JsonText),
        Column("data_quality", JsonText),
        Column("failures", JsonText),
        Column("message", Text),
        Index("ix_runs_connector_id", "connector", "id"),
    )
    Table(
        "opportunities",
        md,
        Column("connector", String(200), primary_key=True),
        Column("id", record_id_type(), primary_key=True),
        Column("partner_id", String(200)),
        Column("amount", MoneyText),
        Column("amount_original", MoneyText),
        Column("currency", String(10)),
        Column("status", String(10)),
        Column("stage", String(255)),
        Column("created_on", Date),
        Column("closed_on", Date),
        Column("expected_close_on", Date),
        Column("probability", Float),
        Column("channel", String(255)),
        Column("modified_at", UtcDateTime, nullable=False),
        Column("deleted", Boolean, nullable=False),
        Column("seen_run_id", Integer),
    )
    Table(
        "partners",
        md,
        Column("connector", String(200), primary_key=True),
        Column("id", record_id_type(), primary_key=True),
        Column("name", String(255)),
        Column("deleted", Boolean, nullable=False),
        Column("seen_run_id", Integer),
    )
    Table(
        "watermarks",
        md,
        Column("connector", String(200), primary_key=True),
        Column("stream", String(100), primary_key=True),
        Column("value", Text, nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
    )
    Table(
        "kpi_snapshots",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("connector", String(200), nullable=False),
        Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        Column("as_of", Date, nullable=False),
        Column("period", String(100), nullable=False),
        Column("last_day", Date, nullable=False),
        Column("group_kind", String(20), nullable=False),
        Column("partner_id", String(200)),
        Column("open_amount", MoneyText),
        Column("payload", JsonText, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Index("ix_kpi_snapshots_lookup", "connector", "group_kind", "partner_id", "last_day"),
    )
    Table(
        "ledger",
        md,
        Column("connector", String(200), primary_key=True),
        Column("partner_id", String(200), primary_key=True),
        Column("field", String(255), primary_key=True),
        Column("value", JsonText),
        Column("written_at", UtcDateTime, nullable=False),
        Column("run_id", Integer, ForeignKey("runs.id", ondelete="SET NULL")),
    )
    Table(
        "locks",
        md,
        Column("connector", String(200), primary_key=True),
        Column("pid", Integer, nullable=False),
        Column("host", String(255), nullable=False),
        Column("run_id", Integer),
        Column("acquired_at", UtcDateTime, nullable=False),
        Column("heartbeat_at", UtcDateTime, nullable=False),
    )
    md.create_all(conn)


def _v2_incremental_kpis(conn: Connection) -> None:
    """Version 2: the mirror's version per connector and the saved KPI pass (incremental re-runs)."""
    md = MetaData()
    Table(
        "mirror_versions",
        md,
        Column("connector", String(200), primary_key=True),
        Column("version", Integer, nullable=False),
    )
    Table(
        "kpi_states",
        md,
        Column("connector", String(200), primary_key=True),
        Column("fingerprint", String(64), nullable=False),
        Column("mirror_version", Integer, nullable=False),
        Column("state", Text, nullable=False),
        Column("saved_at", UtcDateTime, nullable=False),
    )
    md.create_all(conn)


def _v3_instances(conn: Connection) -> None:
    """Version 3: the CRM instance of each connector name (one state per source), and an index on
    the snapshots' day for pruning them by retention. A state from before records its instances at its
    next pull."""
    md = MetaData()
    Table(
        "instances",
        md,
        Column("connector", String(200), primary_key=True),
        Column("crm", String(50), nullable=False),
        Column("instance_id", Text, nullable=False),
        Column("recorded_at", UtcDateTime, nullable=False),
    )
    md.create_all(conn)
    snapshots = Table("kpi_snapshots", MetaData(), Column("connector", String(200)), Column("as_of", Date))
    Index("ix_kpi_snapshots_as_of", snapshots.c.connector, snapshots.c.as_of).create(conn)


def _v4_influencers(conn: Connection) -> None:
    """Version 4: each opportunity's influencing partners (sourced and influenced attribution). Rows of
    before have none (NULL) until their next pull: a connector that reads influencers says so at its
    first run after the upgrade (the pull re-reads partner roles from the start, see docs)."""
    conn.execute(text("ALTER TABLE opportunities ADD COLUMN influencers TEXT"))


MIGRATIONS: list[Migration] = [_v1_initial, _v2_incremental_kpis, _v3_instances, _v4_influencers]
"""MIGRATIONS[i] takes the schema from version i to version i + 1."""


def stored_version(conn: Connection) -> int:
    """The schema version recorded in the database; 0 for an empty one."""
    if not inspect(conn).has_table(schema_version.name):
        return 0
    return int(conn.execute(select(func.max(schema_version.c.version))).scalar_one() or 0)


def migrate(write_engine: Engine, migrations: Sequence[Migration] = MIGRATIONS, where: str = "") -> int:
    """Bring the database up to ``len(migrations)``, one step per transaction; return the version.

    ``write_engine`` must start write transactions (BEGIN IMMEDIATE on SQLite), so that two processes
    opening a new database together do not both migrate it; on PostgreSQL each step's transaction takes
    an advisory lock first, for the same reason (DDL there takes no lock before the table exists).
    """
    target = len(migrations)
    while True:
        with write_engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            schema_version.create(conn, checkfirst=True)
            version = stored_version(conn)
            if version > target:
                raise SchemaTooNew(
                    f"the state database{' ' + where if where else ''} is at schema version {version}, "
                    f"newer than this partnerkpi understands ({target}); upgrade partnerkpi"
                )
            if version == target:
                return version
            migrations[version](conn)
            conn.execute(schema_version.insert().values(version=version + 1, applied_at=clock.utcnow()))
