"""The fault matrix: every fault the sandbox injects, against a full sync of each CRM.

A sync under a fault either completes with exactly the KPI values a clean run writes (compared field by
field with a clean run on an identically seeded sandbox), or stops with the right exit code and a message
that says what happened; either way the next clean run converges to the clean run's values and then has
nothing left to write. The faults are counted as the sandbox answers them (``FaultTally``); set
PARTNERKPI_FAULT_REPORT=path to also write the figures as JSON (bench/results/fault_matrix.json).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from partnerkpi.config import AppConfig
from partnerkpi.pipeline import ExitCode
from partnerkpi.sandbox.app import build_sandbox
from partnerkpi.sandbox.core import Sandbox
from partnerkpi.state import StateStore
from tests.reliability.harness import (
    CRMS,
    OPPORTUNITIES,
    PARTNERS,
    SEED,
    FaultTally,
    connector_name,
    crm_values,
    prepared,
    sync,
    without_timestamps,
)

Values = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Scenario:
    name: str
    faults: Callable[[Sandbox, str], dict[str, Any]]
    """The fault knobs for this CRM (given the sandbox, to name its records)."""
    expect: str = "completes"
    """completes | stops"""
    exit_code: int = ExitCode.OK
    message: tuple[str, ...] = ()
    """Words the stop message must contain (any one of them)."""
    tally: str | None = None
    """The FaultTally kind this scenario must have provoked at least once."""
    hubspot_oauth: bool = False
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    prepare: Callable[[Sandbox, str], None] | None = None


def partner_ids(sandbox: Sandbox, crm: str) -> list[str]:
    if crm == "salesforce":
        rows = sandbox.emulation("salesforce").admin(
            "state", {"object": "Account", "soql": "SELECT Id FROM Account WHERE IsPartner = true"}
        )
        return sorted(r["Id"] for r in rows)
    portal = sandbox.emulation("hubspot").portal  # type: ignore[attr-defined]
    return sorted(set(portal.companies) - set(portal.customer_ids))


def set_usage(sandbox: Sandbox, crm: str, used: int) -> None:
    if crm == "salesforce":
        sandbox.emulation("salesforce").admin("set_usage", {"used": used})
    else:
        sandbox.emulation("hubspot").limits.daily_used = used  # type: ignore[attr-defined]


def fresh_budget(sandbox: Sandbox, crm: str) -> None:
    """Start the day at zero calls used, so a small daily limit bites in the middle of the run."""
    set_usage(sandbox, crm, 0)


def spent_budget(sandbox: Sandbox, crm: str) -> None:
    """Another integration used the whole day's allowance before this run: the CRM itself refuses."""
    set_usage(sandbox, crm, 50)


SCENARIOS = [
    Scenario("latency_spikes", lambda sb, crm: {"latency_ms": 5, "latency_jitter_ms": 120}),
    Scenario(
        "rate_limit",
        lambda sb, crm: {"rate_limit_per_second": 4 if crm == "salesforce" else 0.6},
        tally="rate_limited",
    ),
    Scenario("server_errors_10pct", lambda sb, crm: {"error_rate": 0.1}, tally="server_error_5xx"),
    Scenario("dropped_connections", lambda sb, crm: {"drop_rate": 0.1}, tally="dropped_connection"),
    Scenario(
        "session_expiry",
        lambda sb, crm: {"session_expiry_after_calls": 3},
        tally="session_expired_401",
        hubspot_oauth=True,
    ),
    Scenario(
        "record_write_failures_transient",
        lambda sb, crm: {
            "record_failure_ids": partner_ids(sb, crm)[::2],
            "record_failure_code": "UNABLE_TO_LOCK_ROW",
            "record_failure_times": 1,
        },
        tally="record_write_failure",
    ),
    Scenario(
        "record_write_failures_permanent",
        lambda sb, crm: {
            "record_failure_ids": partner_ids(sb, crm)[:2],
            "record_failure_code": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        },
        expect="stops",
        exit_code=ExitCode.PARTIAL,
        message=("2 partner record(s) were not written",),
        tally="record_write_failure",
    ),
    Scenario(
        "daily_budget_guard",
        lambda sb, crm: {"daily_limit": 10},
        expect="stops",
        exit_code=ExitCode.PARTIAL,
        message=("budget guard",),
        prepare=fresh_budget,
    ),
    Scenario(
        "daily_limit_refused_by_crm",
        lambda sb, crm: {"daily_limit": 50},
        expect="stops",
        exit_code=ExitCode.PARTIAL,
        message=("daily",),
        tally="daily_limit",
        prepare=spent_budget,
    ),
]

REPORT: dict[str, dict[str, Any]] = {}


def new_sandbox() -> Sandbox:
    return build_sandbox(seed=SEED, partners=PARTNERS, opportunities=OPPORTUNITIES).start()


@pytest.fixture(scope="module")
def clean_values(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Values]]:
    """Per CRM: the KPI values one clean sync writes into a fresh, identically seeded sandbox."""
    out: dict[str, Values] = {}
    sandbox = new_sandbox()
    try:
        for crm in available_crms():
            cfg = prepared(tmp_path_factory.mktemp(f"clean-{crm}"), sandbox, crm)
            run = sync(cfg, StateStore.open(cfg.state.url), crm)
            assert run.status == "ok", run.message
            out[crm] = without_timestamps(crm_values(sandbox, cfg, crm))
            assert len(out[crm]) == PARTNERS
            assert all(sum(v is not None for v in row.values()) >= 5 for row in out[crm].values())
    finally:
        sandbox.stop()
    yield out
    target = os.environ.get("PARTNERKPI_FAULT_REPORT")
    if target:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        Path(target).write_text(json.dumps(summary(REPORT), indent=2, sort_keys=True) + "\n")


def available_crms() -> list[str]:
    return list(CRMS)


def summary(report: dict[str, dict[str, Any]]) -> dict[str, Any]:
    injected: Counter[str] = Counter()
    for entry in report.values():
        injected.update(entry["injected"])
    return {
        "scenarios": report,
        "faults_injected": sum(injected.values()),
        "faults_by_kind": dict(injected),
        "faults_survived": sum(sum(e["injected"].values()) for e in report.values() if e["passed"]),
        "scenarios_run": len(report),
        "scenarios_passed": sum(1 for e in report.values() if e["passed"]),
    }


def reset(sandbox: Sandbox) -> None:
    for emulation in sandbox.emulations:
        emulation.faults.update(
            {
                "latency_ms": 0.0,
                "latency_jitter_ms": 0.0,
                "error_rate": 0.0,
                "drop_rate": 0.0,
                "rate_limit_per_second": 0.0,
                "daily_limit": 0,
                "session_expiry_after_calls": 0,
                "record_failure_ids": [],
                "record_failure_rate": 0.0,
                "record_failure_code": "",
                "record_failure_times": 0,
            }
        )


@pytest.mark.parametrize("crm", CRMS)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_a_sync_under_a_fault_completes_or_stops_cleanly_and_the_next_run_converges(
    crm: str, scenario: Scenario, tmp_path: Path, clean_values: dict[str, Values]
) -> None:
    if crm not in clean_values:
        pytest.fail(f"{crm}: the connector or its sandbox emulation is not available")
    sandbox = new_sandbox()
    try:
        cfg: AppConfig = prepared(
            tmp_path,
            sandbox,
            crm,
            hubspot_oauth=scenario.hubspot_oauth,
            connector_overrides=scenario.overrides,
        )
        store = StateStore.open(cfg.state.url)
        tally = FaultTally.attach(sandbox)
        if scenario.prepare is not None:
            scenario.prepare(sandbox, crm)
        sandbox.emulation(crm).faults.update(scenario.faults(sandbox, crm))
        sandbox.reset_counters()

        run = sync(cfg, store, crm)
        calls = sandbox.calls(f"{crm}.")
        injected = {kind: n for kind, n in tally.counts.items() if n}
        if scenario.name == "latency_spikes":
            injected["delayed_call"] = calls
        if scenario.name == "daily_budget_guard":
            injected["budget_guard_stop"] = 1
        if scenario.tally is not None:
            provoked = sum(n for kind, n in tally.counts.items() if kind.startswith(scenario.tally))
            assert provoked > 0, f"{scenario.name} injected nothing: {dict(tally.counts)}"

        if scenario.expect == "completes":
            assert (run.status, run.exit_code) == ("ok", ExitCode.OK), run.message
            assert without_timestamps(crm_values(sandbox, cfg, crm)) == clean_values[crm]
        else:
            assert run.status in ("failed", "partial")
            assert run.exit_code == scenario.exit_code, (run.exit_code, run.message)
            assert any(word in run.message for word in scenario.message), run.message
            assert "\n" not in run.message and "Traceback" not in run.message
            recorded = store.run(run.run_id or -1)
            assert recorded is not None and recorded.status == run.status
            # Nothing half-baked: every value the CRM holds now is one the clean run also writes.
            for partner, row in without_timestamps(crm_values(sandbox, cfg, crm)).items():
                for name, value in row.items():
                    assert value is None or value == clean_values[crm][partner][name], (partner, name)

        reset(sandbox)
        again = sync(cfg, store, crm)
        assert (again.status, again.exit_code) == ("ok", ExitCode.OK), again.message
        assert without_timestamps(crm_values(sandbox, cfg, crm)) == clean_values[crm]
        settled = sync(cfg, store, crm)
        assert settled.counts.get("planned_fields") == 0
        REPORT[f"{crm}:{scenario.name}"] = {
            "crm": crm,
            "connector": connector_name(crm),
            "outcome": scenario.expect,
            "exit_code": run.exit_code,
            "message": run.message,
            "api_calls_seen_by_sandbox": calls,
            "injected": injected,
            "passed": True,
        }
    finally:
        sandbox.stop()


SOAK_OPPORTUNITIES = 10_000
SOAK_FAULTS = {
    "error_rate": 0.1,
    "drop_rate": 0.05,
    "latency_jitter_ms": 10.0,
    "session_expiry_after_calls": 12,
}


@pytest.mark.slow
@pytest.mark.parametrize("crm", CRMS)
def test_a_soak_under_every_recoverable_fault_at_once_gives_the_clean_values(
    crm: str, tmp_path: Path, clean_values: dict[str, Values]
) -> None:
    """A bigger pull (many pages) under 5xx, dropped connections, jitter and session expiry together:
    the values equal a clean run's on an identically seeded sandbox."""
    if crm not in clean_values:
        pytest.fail(f"{crm}: the connector or its sandbox emulation is not available")
    values: list[Values] = []
    injected: dict[str, int] = {}
    for faulty in (False, True):
        sandbox = build_sandbox(seed=SEED, partners=PARTNERS, opportunities=SOAK_OPPORTUNITIES).start()
        try:
            cfg = prepared(
                tmp_path / f"faulty-{faulty}",
                sandbox,
                crm,
                hubspot_oauth=True,
                connector_overrides={"salesforce": {"page_size": 200}},
            )
            store = StateStore.open(cfg.state.url)
            tally = FaultTally.attach(sandbox)
            if faulty:
                sandbox.emulation(crm).faults.update(SOAK_FAULTS)
            run = sync(cfg, store, crm)
            assert (run.status, run.exit_code) == ("ok", ExitCode.OK), run.message
            assert run.counts["pulled"] >= SOAK_OPPORTUNITIES * 0.9
            values.append(without_timestamps(crm_values(sandbox, cfg, crm)))
            if faulty:
                injected = {kind: n for kind, n in tally.counts.items() if n}
                assert injected.get("server_error_5xx", 0) + injected.get("dropped_connection", 0) > 0
            store.close()
        finally:
            sandbox.stop()
    assert values[0] == values[1]
    REPORT[f"{crm}:soak_all_recoverable_faults"] = {
        "crm": crm,
        "connector": connector_name(crm),
        "outcome": "completes",
        "exit_code": 0,
        "message": "",
        "api_calls_seen_by_sandbox": None,
        "injected": injected,
        "passed": True,
    }
