"""Benchmark: wall time of a first sync against the lower bound the CRM's rate limits and latency allow.

Run ``.venv/bin/python -m bench.rate_limit [--opportunities 100000]``; writes bench/results/rate_limit.json.

The sandbox (its own process) is set like the real services (``SETTINGS``): Salesforce answers every call
after 150 ms (a REST query page of 2,000 rows takes about that; Salesforce has no per-second request
limit, only a daily one); HubSpot answers after 100 ms, allows 100 requests per rolling 10 s (a
Professional private app's 100/10 s; the sandbox answers 429 beyond it) and 5 searches per second. The
connectors run with their default settings (the HubSpot connector paces itself to 90% of the allowance).

The lower bound: paging is a cursor (Salesforce's nextRecordsUrl, HubSpot's ``after``), so the minimum
number of calls (bench.api_calls' rule) goes one after another: ``bound = minimum calls x latency``; for
HubSpot also at most 100 calls per 10 s: ``bound = max(minimum x latency, floor((minimum - 1) / 100) x
10 s)``. Everything the client does besides waiting for answers (parsing, normalizing, the mirror, the
compute) counts against us. 429s are counted from every answer the sandbox gives; "steady state" is after
the first 10-second window.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from bench.api_calls import minimum
from bench.harness import (
    connector_name,
    machine,
    provision,
    run_sync_child,
    write_config,
    write_result,
)
from bench.sandbox_process import SandboxProcess
from partnerkpi.config import load_config

SETTINGS: dict[str, dict[str, Any]] = {
    "salesforce": {"latency_ms": 150.0},
    "hubspot": {"latency_ms": 100.0, "rate_limit_per_second": 10.0, "search_rate_per_second": 5.0},
}
TARGET = 1.2


def bound_seconds(crm: str, calls: int) -> float:
    latency = float(SETTINGS[crm]["latency_ms"]) / 1000
    sequential = calls * latency
    if crm == "hubspot":
        window = int(10 * float(SETTINGS["hubspot"]["rate_limit_per_second"]))
        return max(sequential, ((calls - 1) // window) * 10.0)
    return sequential


def salesforce_bulk_minimum(counts: dict[str, Any]) -> int:
    """The Bulk API 2.0 path: the metadata reads, 1 job create, 1 status poll, one results page per
    50,000 rows (the connector's maxRecords), the writes."""
    rows = int(counts.get("pulled", 0))
    base = minimum("salesforce", {**counts, "pulled": 0}, first=True)
    return base + 2 + max(1, -(-rows // 50_000))


def run(
    sandbox: SandboxProcess, workdir: Path, crm: str, label: str, overrides: dict[str, Any]
) -> dict[str, Any]:
    name = connector_name(crm)
    config = write_config(workdir / label, sandbox.connectors, crm, overrides)
    sandbox.command(f"faults {crm} " + json.dumps({k: 0.0 for k in SETTINGS[crm]}))
    provision(load_config(config), name)
    sandbox.command(f"faults {crm} " + json.dumps(SETTINGS[crm]))
    sandbox.command("reset")
    result = run_sync_child(config, name, workdir / f"{label}.json")
    calls = sandbox.counters(f"{crm}.")
    tally = sandbox.command("tally")
    sandbox.command(f"faults {crm} " + json.dumps({k: 0.0 for k in SETTINGS[crm]}))
    counts = result["counts"]
    bulk = crm == "salesforce" and any("bulk2" in k for k in calls)
    floor = salesforce_bulk_minimum(counts) if bulk else minimum(crm, counts, first=True)
    bound = bound_seconds(crm, floor)
    too_many = [t for t in tally["429_at"]]
    return {
        "path": "bulk" if bulk else ("rest" if crm == "salesforce" else "list"),
        "connector_overrides": overrides,
        "seconds": result["seconds"],
        "stages": result["stages"],
        "counts": counts,
        "calls": sum(calls.values()),
        "calls_by_endpoint": calls,
        "minimum_calls": floor,
        "bound_seconds": round(bound, 2),
        "ratio_to_bound": round(result["seconds"] / bound, 2),
        "statuses": {k: n for k, n in tally["statuses"].items() if k.startswith(crm)},
        "responses_429": len(too_many),
        "responses_429_after_first_10s": sum(1 for t in too_many if t > 10.0),
        "target_met": result["seconds"] / bound <= TARGET and not any(t > 10.0 for t in too_many),
    }


CRMS = ("salesforce", "hubspot")
CASES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("salesforce_default", "salesforce", {}),
    ("salesforce_rest", "salesforce", {"bulk_threshold": 10_000_000}),  # REST pages forced
    ("hubspot_default", "hubspot", {}),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--opportunities", type=int, default=100_000)
    parser.add_argument("--partners", type=int, default=500)
    parser.add_argument(
        "--crm",
        choices=CRMS,
        action="append",
        help="run only this CRM's cases (repeatable); the figures are printed, bench/results is left as it is",
    )
    args = parser.parse_args(argv)
    crms = args.crm or list(CRMS)
    report: dict[str, Any] = {
        "benchmark": "rate_limit",
        "opportunities": args.opportunities,
        "partners": args.partners,
        "machine": machine(),
        "sandbox_settings": SETTINGS,
        "target_ratio": TARGET,
        "runs": {},
    }
    with (
        tempfile.TemporaryDirectory(prefix="bench-rate-") as tmp,
        SandboxProcess(args.opportunities, args.partners, hubspot="hubspot" in crms) as sandbox,
    ):
        work = Path(tmp)
        for label, crm, overrides in CASES:
            if crm in crms:
                report["runs"][label] = run(sandbox, work, crm, label, overrides)
                print(label, report["runs"][label]["ratio_to_bound"], flush=True)
    if args.crm:
        print(json.dumps(report["runs"], indent=2))
    else:
        write_result("rate_limit", report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
