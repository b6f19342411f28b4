"""Benchmark: first syncs of 1,000,000 opportunities with no latency, and the 1% incremental re-run.

Run ``.venv/bin/python -m bench.throughput [--opportunities 1000000]``; writes
bench/results/throughput.json and one pyinstrument profile per first sync
(bench/results/throughput_profile_<run>.txt).

One sandbox process serves both CRMs with no latency and no limits; each sync is a fresh
``bench.sync_child`` process (its peak RSS is its own ``ru_maxrss``: the sandbox's memory is not in it),
into an empty state store:

- ``salesforce_rest``: REST query pages of 2,000 (``bulk_threshold`` raised above N);
- ``salesforce_bulk``: the default config, which switches to Bulk API 2.0 above 50,000 changed rows;
  then 1% of the deals are edited (amount + 1, through the sandbox's admin methods) and the sync re-runs;
- ``hubspot_list``: the list API, 100 deals a page, the connector's pacing lifted (no limits here);
  then the same 1% re-run (the search API).

Records per second = opportunities pulled / the sync's wall time (pull, mirror, compute, snapshot, plan and
the write of 500 partner records, all of it).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from bench.harness import (
    RESULTS,
    connector_name,
    machine,
    provision,
    run_sync_child,
    write_config,
    write_result,
)
from bench.sandbox_process import SandboxProcess
from partnerkpi.config import load_config

TARGETS = {"peak_rss_mb": 1024.0, "incremental_share": 0.05}
HUBSPOT_UNPACED = {"rate_limits": {"requests_per_10s": 1_000_000, "use_headers": False}}


def first_and_rerun(
    sandbox: SandboxProcess, workdir: Path, crm: str, label: str, overrides: dict[str, Any], rerun: bool
) -> dict[str, Any]:
    name = connector_name(crm)
    config = write_config(workdir / label, sandbox.connectors, crm, overrides)
    provision(load_config(config), name)
    sandbox.command("reset")
    profile = RESULTS / f"throughput_profile_{label}.txt"
    first = run_sync_child(config, name, workdir / f"{label}.json", profile=profile)
    calls = sandbox.counters(f"{crm}.")
    pulled = int(first["counts"]["pulled"])
    out: dict[str, Any] = {
        "connector_overrides": overrides,
        "first_sync": {
            **first,
            "calls": sum(calls.values()),
            "calls_by_endpoint": calls,
            "records_per_second": round(pulled / first["seconds"]),
            "pull_records_per_second": round(pulled / max(0.001, first["stages"]["pull"])),
            "profile": str(profile.relative_to(RESULTS.parents[1])),
        },
        "peak_rss_under_1gb": first["peak_rss_mb"] < TARGETS["peak_rss_mb"],
    }
    if rerun:
        out["changed_deals"] = sandbox.command(f"change {crm} 0.01")["changed"]
        sandbox.command("reset")
        again = run_sync_child(config, name, workdir / f"{label}-rerun.json")
        again["calls"] = sum(sandbox.counters(f"{crm}.").values())
        out["one_percent_rerun"] = again
        share = again["seconds"] / first["seconds"]
        out["incremental_share"] = round(share, 4)
        out["incremental_under_5_percent"] = share < TARGETS["incremental_share"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--opportunities", type=int, default=1_000_000)
    parser.add_argument("--partners", type=int, default=500)
    parser.add_argument(
        "--hubspot-opportunities", type=int, help="N for the HubSpot runs (default: the same)"
    )
    parser.add_argument("--skip", action="append", default=[], help="a run to leave out (repeatable)")
    args = parser.parse_args(argv)
    report: dict[str, Any] = {
        "benchmark": "throughput",
        "opportunities": args.opportunities,
        "hubspot_opportunities": args.hubspot_opportunities or args.opportunities,
        "partners": args.partners,
        "machine": machine(),
        "targets": TARGETS,
        "runs": {},
    }
    plan: list[tuple[str, str, dict[str, Any], bool]] = [
        ("salesforce_bulk", "salesforce", {}, True),
        ("salesforce_rest", "salesforce", {"bulk_threshold": 10_000_000}, False),
        ("hubspot_list", "hubspot", HUBSPOT_UNPACED, True),
    ]
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp:
        for crm in ("salesforce", "hubspot"):
            runs = [p for p in plan if p[1] == crm and p[0] not in args.skip]
            if not runs:
                continue
            size = args.opportunities if crm == "salesforce" else report["hubspot_opportunities"]
            with SandboxProcess(size, args.partners, hubspot=crm == "hubspot") as sandbox:
                for label, _, overrides, rerun in runs:
                    report["runs"][label] = first_and_rerun(sandbox, Path(tmp), crm, label, overrides, rerun)
                    report["runs"][label]["opportunities"] = size
                    first = report["runs"][label]["first_sync"]
                    print(
                        label, first["seconds"], first["records_per_second"], first["peak_rss_mb"], flush=True
                    )
                    write_result("throughput", report)
    write_result("throughput", report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
