"""Benchmark: API calls per sync against the minimum the API permits, and the naive baselines beside them.

Run ``.venv/bin/python -m bench.api_calls [--opportunities 100000]``; writes bench/results/api_calls.json.
Per connector (Salesforce; HubSpot when its connector imports), on one sandbox (its own process), each
sync a fresh ``bench.sync_child`` process:

1. first sync (empty state store): calls from the sandbox's counters against the minimum;
2. re-run with no change: read calls per object, write calls;
3. re-run after 1% of the deals were edited (amount + 1, through the sandbox's admin methods);
4. baseline full refresh: 1% edited again, the same re-run with no watermark (every deal, every run);
5. baseline per-record writer: a first sync into a fresh state store whose writes go one update call per
   partner record instead of batches (the KPI fields then all count as changed, as on our first sync).

The minimum (stated in the result as ``minimum_rule``) counts the pages the API's largest page allows for
the rows actually moved, plus the metadata reads without which the rows cannot be read or interpreted.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path
from typing import Any

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

SALESFORCE_RULE = (
    "1 login + 1 describe Opportunity + 1 OpportunityStage + 2 currency reads (CurrencyType, "
    "DatedConversionRate: a multi-currency org) + ceil(partner accounts / 2000) + max(1, ceil(deleted / 2000)) "
    "deletion read + ceil(rows pulled / 2000) Opportunity pages + ceil(records written / 200) writes. The "
    "connector's COUNT() (which picks REST or Bulk) is not in the minimum: it is counted as overhead."
)
HUBSPOT_RULE = (
    "1 pipelines + 1 association labels (the Partner label's typeId) + ceil(deals / 100) list pages on a "
    "first sync, or max(1, ceil(deals / 200)) search pages on a re-run + ceil(deals / 1000) association "
    "batch reads + ceil(partner companies / 100) company batch reads + the deletion check: on a run that "
    "lists the archived deals (a first sync; a re-run whose live-deal count differs from the expected one) "
    "max(1, ceil(archived / 100)) archived-list pages, otherwise 1 (search cannot see archived deals, so "
    "one call must tell whether any were archived; the connector's is a live-deal count) + ceil(records "
    "written / 100) batch updates. The live-deal count a listing run also makes (for the next run's check) "
    "is overhead. A private app token: no login call."
)
WRITE_ENDPOINTS = ("composite", "ingest", "sobject_update", "batch_update", "companies.update", "patch")


def pages(rows: int, size: int) -> int:
    return math.ceil(rows / size) if rows > 0 else 0


def minimum(crm: str, counts: dict[str, Any], first: bool, archived_total: int | None = None) -> int:
    pulled, written = int(counts.get("pulled", 0)), int(counts.get("written_records", 0))
    if crm == "salesforce":
        partners = int(counts.get("partners", 0))
        metadata = (
            1 + 1 + 1 + 2 + max(1, pages(partners, 2000)) + max(1, pages(int(counts.get("deleted", 0)), 2000))
        )
        return metadata + pages(pulled, 2000) + pages(written, 200)
    archived = int(counts.get("source_hubspot_deleted", 0) if archived_total is None else archived_total)
    deal_pages = pages(pulled, 100) if first else max(1, pages(pulled, 200))
    partners = int(counts.get("partners", 0))
    listed = int(counts.get("source_hubspot_archived_listings", 0))
    deletion_check = max(1, pages(archived, 100)) if listed else 1
    return 2 + deal_pages + pages(pulled, 1000) + pages(partners, 100) + deletion_check + pages(written, 100)


def is_write(endpoint: str) -> bool:
    return any(w in endpoint for w in WRITE_ENDPOINTS) and "results" not in endpoint


def measure(
    sandbox: SandboxProcess,
    config: Path,
    name: str,
    crm: str,
    label: str,
    archived_total: int | None = None,
    **flags: Any,
) -> dict[str, Any]:
    sandbox.command("reset")
    result = run_sync_child(config, name, config.parent / f"{label}.json", **flags)
    calls = sandbox.counters(f"{crm}.")
    tally = sandbox.command("tally")
    writes = sum(n for k, n in calls.items() if is_write(k))
    total = sum(calls.values())
    first = label in ("first_sync", "baseline_per_record_writer")
    floor = minimum(
        crm,
        result["counts"],
        first=first or (flags.get("full_refresh", False) and crm == "hubspot"),
        archived_total=archived_total,
    )
    return {
        "seconds": result["seconds"],
        "stages": result["stages"],
        "counts": result["counts"],
        "calls": total,
        "calls_by_endpoint": calls,
        "reads_by_object": _objects(crm, calls, tally["objects"]),
        "write_calls": writes,
        "read_calls": total - writes,
        "minimum_calls": floor,
        "ratio_to_minimum": round(total / floor, 3) if floor else None,
        "peak_rss_mb": result["peak_rss_mb"],
    }


def _objects(crm: str, calls: dict[str, int], objects: dict[str, int]) -> dict[str, int]:
    """Read calls per object: Salesforce from each query's FROM (its later pages as query_more, describe
    apart); HubSpot from the endpoint's object (deals.list + deals.search -> deals)."""
    out: dict[str, int] = {}
    if crm == "salesforce":
        out.update(objects)
        for key, n in calls.items():
            if "describe" in key:
                out["describe:" + key.split(".", 1)[1]] = n
        return out
    for key, n in calls.items():
        if not is_write(key):
            obj = key.split(".")[1]  # hubspot.deals.list -> deals
            out[obj] = out.get(obj, 0) + n
    return out


def bench_crm(sandbox: SandboxProcess, crm: str, workdir: Path) -> dict[str, Any]:
    name = connector_name(crm)
    overrides: dict[str, Any] = {}
    if crm == "salesforce":
        overrides = {"bulk_threshold": 10_000_000}  # REST pages of 2,000: the figure the minimum counts
    else:
        overrides = {"rate_limits": {"requests_per_10s": 100_000, "use_headers": False}}
    config = write_config(workdir / "ours", sandbox.connectors, crm, overrides)
    provision(load_config(config), name)
    out: dict[str, Any] = {"connector_overrides": overrides}
    out["first_sync"] = measure(sandbox, config, name, crm, "first_sync")
    archived = None
    if crm == "hubspot":
        archived = int(out["first_sync"]["counts"].get("source_hubspot_deleted", 0))
    out["no_change_rerun"] = measure(sandbox, config, name, crm, "no_change_rerun", archived)
    out["changed_deals"] = sandbox.command(f"change {crm} 0.01")["changed"]
    out["one_percent_rerun"] = measure(sandbox, config, name, crm, "one_percent_rerun", archived)
    sandbox.command(f"change {crm} 0.01")
    out["baseline_full_refresh"] = measure(
        sandbox, config, name, crm, "baseline_full_refresh", archived, full_refresh=True
    )
    naive = write_config(workdir / "naive", sandbox.connectors, crm, overrides)
    out["baseline_per_record_writer"] = measure(
        sandbox, naive, name, crm, "baseline_per_record_writer", per_record_writes=True
    )
    ours_first, rerun = out["first_sync"], out["one_percent_rerun"]
    full, naive_run = out["baseline_full_refresh"], out["baseline_per_record_writer"]
    no_change = out["no_change_rerun"]
    record_reads = {k: n for k, n in no_change["reads_by_object"].items() if not k.startswith("describe:")}
    out["figures"] = {
        "first_sync_calls": ours_first["calls"],
        "first_sync_minimum": ours_first["minimum_calls"],
        "first_sync_ratio": ours_first["ratio_to_minimum"],
        "no_change_max_reads_per_object": max(record_reads.values(), default=0),
        "no_change_reads_by_object": no_change["reads_by_object"],
        "no_change_write_calls": no_change["write_calls"],
        "one_percent_rerun_calls": rerun["calls"],
        "one_percent_rerun_minimum": rerun["minimum_calls"],
        "one_percent_over_first_seconds": round(rerun["seconds"] / ours_first["seconds"], 3),
        "full_refresh_over_ours_seconds": round(full["seconds"] / rerun["seconds"], 2),
        "full_refresh_over_ours_calls": round(full["calls"] / rerun["calls"], 2),
        "per_record_writer_write_calls": naive_run["write_calls"],
        "our_first_sync_write_calls": ours_first["write_calls"],
        "per_record_over_ours_write_calls": round(
            naive_run["write_calls"] / max(1, ours_first["write_calls"]), 1
        ),
        "per_record_over_ours_apply_seconds": round(
            naive_run["stages"]["apply"] / max(0.001, ours_first["stages"]["apply"]), 1
        ),
    }
    out["targets_met"] = {
        "first_sync_ratio_le_1.05": ours_first["ratio_to_minimum"] <= 1.05,
        "no_change_le_2_reads_per_object": out["figures"]["no_change_max_reads_per_object"] <= 2,
        "no_change_0_writes": no_change["write_calls"] == 0,
    }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--opportunities", type=int, default=100_000)
    parser.add_argument("--partners", type=int, default=500)
    parser.add_argument(
        "--crm",
        choices=("salesforce", "hubspot"),
        action="append",
        help="run only this CRM (repeatable); the figures are printed, bench/results is left as it is",
    )
    args = parser.parse_args(argv)
    crms = args.crm or ["salesforce", "hubspot"]
    report: dict[str, Any] = {
        "benchmark": "api_calls",
        "opportunities": args.opportunities,
        "partners": args.partners,
        "machine": machine(),
        "minimum_rule": {"salesforce": SALESFORCE_RULE, "hubspot": HUBSPOT_RULE},
        "connectors": {},
    }
    with (
        tempfile.TemporaryDirectory(prefix="bench-api-") as tmp,
        SandboxProcess(args.opportunities, args.partners, hubspot="hubspot" in crms) as sandbox,
    ):
        for crm in crms:
            report["connectors"][crm] = bench_crm(sandbox, crm, Path(tmp) / crm)
            print(crm, report["connectors"][crm]["figures"], flush=True)
    if not args.crm:
        write_result("api_calls", report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
