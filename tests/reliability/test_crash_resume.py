"""Crash and resume: ``partnerkpi sync`` in a subprocess, killed with SIGKILL at seeded random points, then
one clean run; the CRM's KPI fields, the ledger and the mirror must equal those of one uninterrupted run,
and the watermark a killed run left behind must never be past data the mirror does not hold.

The kill points are real timing, anchored on the sandbox: the sandbox (served by this process, with some
latency per call) sees the child's first call; a point is a seeded random delay after it, drawn over the
span an uninterrupted run takes from that call to its exit, so the points spread over the pull's pages
and their mirror updates, compute, the write and the ledger.
Where each kill landed is read back from the state store afterwards (``stage_reached``).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from connectors.hubspot.watermark import HubSpotWatermark
from connectors.salesforce.watermark import SalesforceWatermark
from partnerkpi.config import AppConfig, load_config
from partnerkpi.sandbox.app import build_sandbox
from partnerkpi.sandbox.core import Request, Response, Sandbox
from partnerkpi.state import StateStore
from tests.reliability.harness import (
    AS_OF,
    SEED,
    cli_command,
    cli_env,
    connector_name,
    crm_values,
    ledger_without_timestamps,
    mirror,
    provision,
    sync,
    without_timestamps,
    write_config,
)

POINTS = 20
PARTNERS = 6
OPPORTUNITIES = 900
LATENCY_MS = 25.0
SLOW_WRITE_SECONDS = 0.3
"""The write answer is held back this long after the CRM applied it: a slow write, and the window in
which the CRM has the values but the ledger does not yet."""
PAGE = {"salesforce": {"page_size": 200, "lookback_minutes": 0}, "hubspot": {"lookback_minutes": 0}}


@dataclass
class Reference:
    values: dict[str, dict[str, Any]]
    ledger: dict[tuple[str, str], Any]
    mirror: list[tuple[Any, ...]]
    seconds: float
    """From the child's first call to the sandbox to its exit: the span the kill points are drawn from."""


def crms() -> list[str]:
    return ["salesforce", "hubspot"]


def new_sandbox() -> Sandbox:
    return build_sandbox(seed=SEED, partners=PARTNERS, opportunities=OPPORTUNITIES).start()


def setup(workdir: Path, sandbox: Sandbox, crm: str) -> tuple[Path, AppConfig]:
    path = write_config(workdir, sandbox, (crm,), connector_overrides=PAGE)
    cfg = load_config(path)
    provision(cfg, connector_name(crm))
    for emulation in sandbox.emulations:
        emulation.faults.latency_ms = LATENCY_MS
    slow_writes(sandbox)
    sandbox.reset_counters()
    return path, cfg


def slow_writes(sandbox: Sandbox) -> None:
    inner = sandbox.dispatch

    def dispatch(request: Request) -> Response:
        response = inner(request)
        if request.method in ("PATCH", "POST") and request.path.rstrip("/").endswith(
            ("composite/sobjects", "batch/update")
        ):
            time.sleep(SLOW_WRITE_SECONDS)
        return response

    sandbox.dispatch = dispatch  # type: ignore[method-assign]


def run_child(config: Path, sandbox: Sandbox, crm: str, kill_after: float | None) -> tuple[bool, float]:
    """``partnerkpi sync`` in a subprocess; SIGKILL ``kill_after`` seconds after its first call reached
    the sandbox (None: let it finish). (killed, seconds from the first call to the end)."""
    proc = subprocess.Popen(
        cli_command(config, "--quiet", "sync", "--as-of", AS_OF.isoformat()),
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while sandbox.calls(f"{crm}.") == 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)
    first = time.monotonic()
    killed = False
    if kill_after is not None:
        while proc.poll() is None and time.monotonic() - first < kill_after:
            time.sleep(0.001)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
    _, err = proc.communicate(timeout=120)
    if not killed:
        assert proc.returncode == 0, err
    return killed, time.monotonic() - first


def reference(workdir: Path, crm: str) -> Reference:
    """One uninterrupted ``partnerkpi sync`` through the CLI."""
    sandbox = new_sandbox()
    try:
        config, cfg = setup(workdir, sandbox, crm)
        _, seconds = run_child(config, sandbox, crm, None)
        store = StateStore.open(cfg.state.url)
        ref = Reference(
            without_timestamps(crm_values(sandbox, cfg, crm)),
            ledger_without_timestamps(store, crm),
            mirror(store, crm),
            seconds,
        )
        store.close()
        return ref
    finally:
        sandbox.stop()


def modified_in_crm(sandbox: Sandbox, crm: str) -> dict[str, datetime]:
    """Live (not deleted) opportunity id -> its last-modified time, as the CRM holds it."""
    if crm == "salesforce":
        rows = sandbox.emulation("salesforce").admin(
            "state", {"object": "Opportunity", "soql": "SELECT Id FROM Opportunity WHERE IsDeleted = false"}
        )
        return {r["Id"]: parse_time(r["SystemModstamp"]) for r in rows}
    portal = sandbox.emulation("hubspot").portal  # type: ignore[attr-defined]
    out = {}
    for key in portal.deal_keys():
        if portal.is_archived(key):
            continue
        record = portal.deal(key)
        out[record.id] = parse_time(record.props["hs_lastmodifieddate"])
    return out


def parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    text = str(value).replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = text[:-2] + ":" + text[-2:]
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def stage_reached(store: StateStore, crm: str, ref: Reference, writes_seen: int) -> str:
    """Where the kill landed, from what the killed run left in the store and the CRM."""
    name = connector_name(crm)
    stored = len([o for o in store.iter_opportunities(name, include_deleted=True)])
    ledger = len(store.ledger(name))
    with store.engine.connect() as conn:
        snapshots = conn.exec_driver_sql("SELECT COUNT(*) FROM kpi_snapshots").scalar_one()
    if ledger:
        return "after the ledger write (finishing)" if ledger >= len(ref.ledger) else "ledger write"
    if writes_seen:
        return "apply (CRM written, ledger not)"
    if snapshots:
        return "plan/apply"
    if stored >= sum(1 for row in ref.mirror if len(row) > 3):
        return "compute"
    if stored:
        return "pull/mirror update"
    return "pull (nothing stored yet)"


@pytest.mark.slow
def test_a_sync_killed_at_random_points_converges_after_one_clean_run(tmp_path: Path) -> None:
    rng = random.Random(20261122)
    refs = {crm: reference(tmp_path / f"ref-{crm}", crm) for crm in crms()}
    stages: Counter[str] = Counter()
    killed = 0
    points: list[dict[str, Any]] = []
    for point in range(POINTS):
        crm = crms()[point % len(crms())]
        ref = refs[crm]
        # Stratified: each CRM's points fall one in each slice of its run's span, at a random place in it.
        slices = POINTS // len(crms())
        kill_after = 0.9 * ref.seconds * (point // len(crms()) + rng.random()) / slices  # not past the exit
        # A run faster than the reference (a quieter machine) may finish before its kill: try that point
        # again, earlier, so that every point is a real crash whatever the load.
        for attempt in range(4):
            if crash_and_resume(
                tmp_path / f"point-{point}-{attempt}", crm, ref, kill_after, point, stages, points
            ):
                killed += 1
                break
            kill_after /= 2
    assert killed == POINTS, stages
    assert len(stages) >= 3, stages  # the kills spread over more than one stage of the run
    target = os.environ.get("PARTNERKPI_CRASH_REPORT")
    if target:
        Path(target).write_text(
            json.dumps({"points": points, "killed": killed, "stages": dict(stages)}, indent=2) + "\n"
        )


def crash_and_resume(
    workdir: Path,
    crm: str,
    ref: Reference,
    kill_after: float,
    point: int,
    stages: Counter[str],
    points: list[dict[str, Any]],
) -> bool:
    """One crash point: kill a sync ``kill_after`` s after its first call, check the watermark it left,
    then one clean run must end where an uninterrupted run ends. False when the run finished first."""
    sandbox = new_sandbox()
    try:
        config, cfg = setup(workdir, sandbox, crm)
        was_killed, _ = run_child(config, sandbox, crm, kill_after)
        if not was_killed:
            return False
        for emulation in sandbox.emulations:
            emulation.faults.latency_ms = 0.0
        writes_seen = sum(
            n for k, n in sandbox.counters.items() if "composite" in k or k.endswith("batch_update")
        )
        store = StateStore.open(cfg.state.url)
        stage = stage_reached(store, crm, ref, writes_seen)
        stages[stage] += 1

        # The watermark the killed run left never passes an opportunity the mirror does not hold.
        watermark = store.get_watermark(connector_name(crm))
        if watermark is not None:
            model = HubSpotWatermark if crm == "hubspot" else SalesforceWatermark
            loaded = model.load(watermark)
            assert loaded is not None
            mark = loaded.modified
            stored = {o.id for o in store.iter_opportunities(connector_name(crm), include_deleted=True)}
            passed = {i for i, m in modified_in_crm(sandbox, crm).items() if m < mark}
            assert passed <= stored, f"point {point}: watermark {watermark} passed unstored rows"

        store.close()
        store = StateStore.open(cfg.state.url)
        clean = sync(cfg, store, crm)
        assert clean.status == "ok", (point, stage, clean.message)
        assert without_timestamps(crm_values(sandbox, cfg, crm)) == ref.values, (point, stage)
        assert ledger_without_timestamps(store, crm) == ref.ledger, (point, stage)
        assert mirror(store, crm) == ref.mirror, (point, stage)
        interrupted = [r for r in store.runs(limit=5) if r.status == "running"]
        points.append({"crm": crm, "kill_after_s": round(kill_after, 3), "stage": stage})
        assert len(interrupted) <= 1  # the killed run's row stays "running": nothing rewrote it
        store.close()
        return True
    finally:
        sandbox.stop()
