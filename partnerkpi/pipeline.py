"""The sync pipeline for one connector: lock, pull, mirror, compute, snapshot, plan, apply, record.

Each stage can also run alone (``pull``, ``report``, ``plan``). Data flows one way; the state store is the
only thing shared between stages, so a crashed run leaves nothing the next one cannot finish.
"""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from connectors import registry
from connectors.base import Connector, ConnectorConfig, FieldWriter
from connectors.fields import ProvisionResult
from kpi_core import clock
from kpi_core.accumulate import Accumulator
from kpi_core.compute import accumulator, gc_paused, kpis
from kpi_core.result import GroupKey, KpiResult
from partnerkpi.config import AppConfig
from partnerkpi.errors import UsageError
from partnerkpi.exit_codes import ExitCode as ExitCode  # re-exported: callers import it from here too
from partnerkpi.progress import ProgressReporter
from partnerkpi.reports.serialize import group_dict
from partnerkpi.run_lifecycle import ConnectorRun as ConnectorRun  # re-exported, as ExitCode
from partnerkpi.run_lifecycle import RunStatus, connector_run
from partnerkpi.state import MirrorChanges, SnapshotRow, StateStore
from writeback import ConnectorWriteback, Plan, apply_plan, desired_values, make_plan, mass_change
from writeback.values import canonical

log = logging.getLogger("partnerkpi.pipeline")

ALLOW_MASS_CHANGE = "--allow-mass-change"
"""The ``sync`` flag that confirms a plan the mass-change guard stopped (writeback.guard)."""


def open_connector(config: ConnectorConfig) -> Connector[Any]:
    return registry.get(config.type)(config)


def field_writer(connector: Connector[Any]) -> FieldWriter:
    """The connector as a field writer, or a usage error when it is read-only (the config refuses a
    writeback section for such a connector; this is the same rule for a caller that skipped it)."""
    if isinstance(connector, FieldWriter):
        return connector
    raise UsageError(
        f"connector {connector.name!r} (type {connector.type_name!r}) is read-only: it cannot write fields"
    )


def connector_config(app: AppConfig, name: str) -> ConnectorConfig:
    """The named connector's config (looked up by ``AppConfig.connector``), or a usage error naming the
    connectors there are."""
    found = app.connector(name)
    if found is not None:
        return found
    known = ", ".join(c.name for c in app.connectors) or "none"
    raise UsageError(f"no connector named {name!r} in the config (connectors: {known})")


def provision_connector(app: AppConfig, name: str) -> list[ProvisionResult]:
    """Create the KPI fields mapped for one connector (idempotent); [] when it maps none."""
    writeback = app.writeback.for_connector(name)
    if writeback is None or not writeback.fields:
        return []
    with open_connector(connector_config(app, name)) as connector:
        return field_writer(connector).provision_fields(list(writeback.specs().values()))


def pull_into_store(
    store: StateStore,
    connector: Connector[Any],
    run_id: int,
    progress: ProgressReporter,
    changes: MirrorChanges | None = None,
) -> dict[str, int]:
    """Pull changes since the stored watermark into the mirror; each batch and its watermark commit
    together, so the watermark never passes data that is not stored. ``changes`` collects what changed,
    record by record (for an incremental KPI pass)."""
    name = connector.name
    store.claim_instance(name, connector.type_name, connector.instance_id())  # one state per source
    counts = {"pulled": 0, "inserted": 0, "changed": 0, "unchanged": 0, "deleted": 0, "partners": 0}
    with progress.stage(f"{name}: pull") as stage:
        for batch in connector.pull(store.get_watermark(name)):
            if batch.expected is not None:
                stage.expect(batch.expected)
            applied = store.apply_pull_batch(name, batch, run_id, changes)
            counts["pulled"] += len(batch.opportunities)
            counts["partners"] += len(batch.partners)
            counts["inserted"] += applied.inserted
            counts["changed"] += applied.changed
            counts["unchanged"] += applied.unchanged
            counts["deleted"] += applied.deleted
            stage.advance(len(batch.opportunities))
        if connector.full_refresh:
            counts["deleted"] += store.sweep_unseen(name, run_id, changes)
    # What the connector itself set aside (rows it could not read, duplicate ids, ...), for the history.
    for key, value in connector.stats.extra.items():
        if isinstance(value, int) and not isinstance(value, bool):
            counts[f"source_{key}"] = value
    return counts


def track_changes(store: StateStore, name: str) -> MirrorChanges | None:
    """A collector for the pull when the saved KPI pass is of the mirror as it is now (so the pull's
    changes are all it lacks); None when there is nothing to fold them into."""
    version = store.mirror_version(name)
    if store.kpi_state_version(name) != version:
        return None
    return MirrorChanges(base_version=version)


def compute_kpis(
    store: StateStore,
    app: AppConfig,
    name: str,
    as_of: date | None = None,
    *,
    changes: MirrorChanges | None = None,
    save_state: bool = False,
) -> KpiResult:
    """The KPIs of one connector from its mirror.

    The pass comes from the saved KPI state when it is of the current mirror, or of the mirror before
    ``changes`` (then only the changed records are folded out and in); otherwise from one streaming pass
    over the whole mirror. ``save_state``: keep the pass for the next run (only under the connector's
    lock, where nothing else writes the mirror meanwhile)."""
    day = as_of or clock.today(app.kpi.timezone)
    partners = store.partner_ids(name)
    version = store.mirror_version(name)
    acc = accumulator(settings=app.kpi, as_of=day, partners=partners)
    loaded = _load_saved_pass(store, name, acc, version, changes)
    if loaded is None:
        with gc_paused():
            acc.add_rows(store.iter_pass_rows(name))
    if save_state and loaded != "as saved":
        store.save_kpi_state(name, acc.fingerprint, version, acc.state())

    by_day: dict[date, dict[tuple[str, str | None], Decimal]] = {}

    def snapshot(group: GroupKey, on: date) -> Decimal | None:
        if on not in by_day:  # one query per day asked about, not one per group
            by_day[on] = store.snapshot_open_amounts(name, on)
        return by_day[on].get((group.kind.value, group.partner_id))

    return kpis(acc, settings=app.kpi, as_of=day, partners=partners, pipeline_snapshot=snapshot)


def _load_saved_pass(
    store: StateStore, name: str, acc: Accumulator, version: int, changes: MirrorChanges | None
) -> Literal["as saved", "folded"] | None:
    """Bring ``acc`` to the mirror at ``version`` from the saved pass: "as saved" (it was of that
    version), "folded" (``changes`` brought it there), or None when that cannot be done exactly."""
    saved = store.kpi_state(name)
    if saved is None or saved.fingerprint != acc.fingerprint:
        return None
    if saved.mirror_version == version:
        return "as saved" if acc.load(saved.state) else None
    if changes is None or changes.overflowed or changes.base_version != saved.mirror_version:
        return None
    if not acc.load(saved.state):
        return None
    with gc_paused():
        acc.remove(changes.removed)
        acc.add(changes.added)
    log.debug(
        "%s: KPI pass from the saved one: %d record version(s) folded out, %d in (the mirror not read)",
        name,
        len(changes.removed),
        len(changes.added),
    )
    return "folded"


def save_snapshot(store: StateStore, name: str, run_id: int, result: KpiResult) -> None:
    rows = [SnapshotRow.from_group(g, group_dict(g)) for g in result.groups]
    store.save_snapshot(name, run_id, result.as_of, rows)


def plan_writeback(
    store: StateStore,
    connector: Connector[Any],
    writeback: ConnectorWriteback,
    result: KpiResult,
    rewrite_all: bool = False,
) -> Plan:
    name = connector.name
    writer = field_writer(connector)
    partner_ids = sorted(store.partner_ids(name))
    desired = desired_values(result, writeback, partner_ids, held=writer.stored_values)
    live = None
    if writeback.verify_live:
        live = writer.read_fields(partner_ids, [m.field for m in writeback.fields])
    return make_plan(name, desired, writeback, store.ledger(name), clock.utcnow(), live, rewrite_all)


def sync_connector(
    app: AppConfig,
    store: StateStore,
    name: str,
    progress: ProgressReporter,
    *,
    dry_run: bool = False,
    as_of: date | None = None,
    command: str = "sync",
    allow_mass_change: bool = False,
    rewrite_all: bool = False,
) -> ConnectorRun:
    """The whole job for one connector. Never raises for a CRM, data or state problem, nor for an
    unexpected error: the run records it (status, exit code, a one-line message) so that the other
    connectors still run and the failure is alerted. Only KeyboardInterrupt and SystemExit go on (they
    stop the process), after the run is marked interrupted.

    The run's lifecycle is ``partnerkpi.run_lifecycle.connector_run``: the lock before the history row, so
    a run that finds the lock held leaves no row and exits 4 at once; every line logged during the run
    carries the connector and run id, and the run ends with one summary event.

    A plan the mass-change guard stops (writeback.guard) fails the run, exit 1, with nothing written,
    the dry run's too (so a config change can be tried with ``--dry-run``); ``allow_mass_change``
    confirms it. ``rewrite_all``: every mapped value is written, whatever the ledger says."""
    config = connector_config(app, name)
    with connector_run(store, name, command) as run:
        if run.skipped:
            return run
        with open_connector(config) as connector:
            _sync_stages(
                app,
                store,
                connector,
                run,
                progress,
                dry_run=dry_run,
                as_of=as_of,
                allow_mass_change=allow_mass_change,
                rewrite_all=rewrite_all,
            )
    return run


def _stopped_as_mass_change(
    run: ConnectorRun, plan: Plan, writeback: ConnectorWriteback, allowed: bool
) -> bool:
    """Whether the guard stops this plan: then the run fails (exit 1) with a message naming the counts
    and the flag; nothing is written and the ledger stays. Confirmed, it is logged and goes on."""
    found = mass_change(plan, writeback.mass_change)
    if found is None:
        return False
    if allowed:
        log.warning("%s: %s; confirmed with %s", run.connector, found.describe(), ALLOW_MASS_CHANGE)
        return False
    run.status, run.exit_code = RunStatus.FAILED, ExitCode.FAILED
    run.message = (
        f"{run.connector}: mass change stopped, nothing written: {found.describe()}. A config mistake "
        f"looks like this: check it with `partnerkpi plan`; if the change is meant, run sync again "
        f"with {ALLOW_MASS_CHANGE}"
    )
    return True


def _sync_stages(
    app: AppConfig,
    store: StateStore,
    connector: Connector[Any],
    run: ConnectorRun,
    progress: ProgressReporter,
    *,
    dry_run: bool,
    as_of: date | None,
    allow_mass_change: bool = False,
    rewrite_all: bool = False,
) -> None:
    name = connector.name
    run_id = run.run_id
    assert run_id is not None
    try:
        changes = track_changes(store, name)
        run.counts.update(pull_into_store(store, connector, run_id, progress, changes))
        with progress.stage(f"{name}: compute"):
            result = compute_kpis(store, app, name, as_of, changes=changes, save_state=True)
        run.result = result
        run.data_quality = result.data_quality.as_dict()
        if not dry_run:
            save_snapshot(store, name, run_id, result)
        writeback = app.writeback.for_connector(name)
        if writeback is None or not writeback.enabled or not writeback.fields:
            return
        plan = plan_writeback(store, connector, writeback, result, rewrite_all)
        run.plan = plan
        run.counts["planned_fields"] = len(plan.changes)
        if not plan.changes or _stopped_as_mass_change(run, plan, writeback, allow_mass_change):
            return
        if dry_run:
            return
        with progress.stage(f"{name}: write", total=len(plan.updates())) as stage:
            outcome = apply_plan(
                plan,
                field_writer(connector),
                writeback.specs(),
                record=lambda writes: store.record_writes(
                    name, run_id, ((p, f, canonical(v)) for p, f, v in writes)
                ),
                progress=stage.advance,
            )
        run.counts["written_records"] = outcome.records_written
        run.counts["written_fields"] = outcome.fields_written
        run.counts["failed_records"] = len({f.partner_id for f in outcome.failures})
        run.failures = [
            {"partner_id": f.partner_id, "field": f.field, "code": f.code, "message": f.message}
            for f in outcome.failures
        ]
        if outcome.failures:
            run.status, run.exit_code = RunStatus.PARTIAL, ExitCode.PARTIAL
            run.message = f"{run.counts['failed_records']} partner record(s) were not written; the next run retries them"
    finally:
        run.counts["api_calls"] = connector.stats.api_calls
