"""The current schema, for queries. Migrations (migrations.py) build it; a test checks they agree.

Only what the KPIs, the writeback and the run history need: no contact data, no free-text notes.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from partnerkpi.state.types import IdList, JsonText, MoneyText, UtcDateTime, record_id_type

SCHEMA_VERSION = 4
"""The version this code reads and writes; migrations.MIGRATIONS has one step per version."""

metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", UtcDateTime, nullable=False),
)

runs = Table(
    "runs",
    metadata,
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

opportunities = Table(
    "opportunities",
    metadata,
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
    Column("deleted", Boolean, nullable=False, default=False),
    Column("seen_run_id", Integer),
    Column("influencers", IdList),
)

partners = Table(
    "partners",
    metadata,
    Column("connector", String(200), primary_key=True),
    Column("id", record_id_type(), primary_key=True),
    Column("name", String(255)),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("seen_run_id", Integer),
)

watermarks = Table(
    "watermarks",
    metadata,
    Column("connector", String(200), primary_key=True),
    Column("stream", String(100), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

kpi_snapshots = Table(
    "kpi_snapshots",
    metadata,
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
    Index("ix_kpi_snapshots_as_of", "connector", "as_of"),
)

ledger = Table(
    "ledger",
    metadata,
    Column("connector", String(200), primary_key=True),
    Column("partner_id", String(200), primary_key=True),
    Column("field", String(255), primary_key=True),
    Column("value", JsonText),
    Column("written_at", UtcDateTime, nullable=False),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="SET NULL")),
)

locks = Table(
    "locks",
    metadata,
    Column("connector", String(200), primary_key=True),
    Column("pid", Integer, nullable=False),
    Column("host", String(255), nullable=False),
    Column("run_id", Integer),
    Column("acquired_at", UtcDateTime, nullable=False),
    Column("heartbeat_at", UtcDateTime, nullable=False),
)

mirror_versions = Table(
    "mirror_versions",
    metadata,
    Column("connector", String(200), primary_key=True),
    Column("version", Integer, nullable=False),
)
"""Bumped by every transaction that changes a connector's mirror (a batch whose records all arrive
unchanged leaves it): what a saved KPI state was built from."""

kpi_states = Table(
    "kpi_states",
    metadata,
    Column("connector", String(200), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("mirror_version", Integer, nullable=False),
    Column("state", Text, nullable=False),
    Column("saved_at", UtcDateTime, nullable=False),
)
"""The KPI pass's counters as of a mirror version (kpi_core.accumulate.Accumulator.state): a re-run folds
in only the records that changed since, instead of reading the whole mirror again."""

instances = Table(
    "instances",
    metadata,
    Column("connector", String(200), primary_key=True),
    Column("crm", String(50), nullable=False),
    Column("instance_id", Text, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
)
"""Which CRM instance (type and id: Salesforce org id, HubSpot portal id, file path) each connector name's
mirror came from, recorded at its first pull: one state never mixes two sources under one name."""
