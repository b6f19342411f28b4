"""Benchmark: the conformance suite's third-party clients beside our own connectors, on the same sandbox data.

Run ``.venv/bin/python -m bench.conformance [--opportunities 20000] [--only NAME ...]`` (the client venvs
first: ``make conformance-clients``); writes bench/results/conformance.json and prints the markdown table
docs/performance.md carries. Each client (and ours, per CRM) gets a fresh sandbox of the same seed, then:

1. first sync (empty state);
2. re-run with no change (the state the first run left);
3. re-run after 1% of the opportunities / deals were edited (amount + 1, through the sandbox's admin methods).

Per run: sandbox API calls (its counters; 404s for paths it lacks are counted apart as ``unrouted``), wall
time, peak memory (the process's VmHWM from /proc, read at its exit by the wrapper and sampled while it
runs: unlike a child's ``ru_maxrss`` it does not carry over the parent's RSS through fork/exec), records
emitted per stream, and the client's exit code with its last error line when it failed. A client's
discover/catalog call is setup and is not counted. Ours is a whole ``partnerkpi sync`` (read, compute, write
back), so its calls are split into reads and writes; the clients only read.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.harness import AS_OF, RESULTS, connector_name, machine, provision, write_config, write_result
from partnerkpi.config import load_config
from partnerkpi.demo import sandbox_connectors
from tests.conformance import test_airbyte_hubspot as airbyte_hubspot
from tests.conformance import test_dlt_salesforce as dlt_salesforce
from tests.conformance import test_tap_hubspot as tap_hubspot
from tests.conformance.catalogs import (
    airbyte_configured_catalog,
    dlt_program,
    read_jsonl,
    select_singer_streams,
)
from tests.conformance.harness import WRAPPER, ClientRun, Conformance

REPO = Path(__file__).resolve().parents[1]
START = "2023-01-01T00:00:00Z"
"""Every client's start date: before the seed's oldest record (the sandbox's data begins in 2023)."""
WRITE_MARKS = ("composite", "ingest", "sobject_update", "batch_update", "companies.update", "patch")

Sync = Callable[[Conformance, Any], tuple[ClientRun, Any, dict[str, int]]]
"""(run, state from the previous sync or None) -> (the process, state for the next, records per stream)."""


@dataclass(frozen=True)
class Plan:
    name: str
    crm: str
    setup: Callable[[Conformance], Any]
    sync: Callable[[Conformance, Any, Any], tuple[ClientRun, Any, dict[str, int]]]


# -- Singer taps -----------------------------------------------------------------------------------------
def _tap_salesforce_config(run: Conformance) -> dict[str, Any]:
    return {
        **run.salesforce_oauth(),
        "start_date": START,
        "api_type": "REST",
        "select_fields_by_default": True,
    }


def _singer(client: str, config: Callable[[Conformance], dict[str, Any]], streams: list[str], **meta: Any):  # type: ignore[no-untyped-def]
    flag = (
        "--properties"  # both taps read their catalog from --properties (their main checks args.properties)
    )

    def setup(run: Conformance) -> Any:
        if client == "tap-hubspot":  # its conformance test's config (OAuth) and catalog (with associations)
            run.write("config.json", tap_hubspot.client_config(run))
            run.write("catalog.json", tap_hubspot.selected_catalog(run))
            return None
        found = run.run(client, ["--config", "{dir}/config.json", "--discover"], {"config.json": config(run)})
        run.write("catalog.json", select_singer_streams(found.ok().json(), streams, **meta))
        return None

    args = ["--config", "{dir}/config.json", flag, "{dir}/catalog.json"]
    return setup, _stateful_sync(client, args, ClientRun.singer_state)


# -- Airbyte sources -------------------------------------------------------------------------------------
def _airbyte_salesforce_config(run: Conformance) -> dict[str, Any]:
    oauth = run.salesforce_oauth()
    keys = ("client_id", "client_secret", "refresh_token")
    return {"auth_type": "Client", "is_sandbox": False, "start_date": START, **{k: oauth[k] for k in keys}}


def _airbyte(client: str, config: Callable[[Conformance], dict[str, Any]], streams: list[str]):  # type: ignore[no-untyped-def]
    def setup(run: Conformance) -> Any:
        if client == "airbyte-source-hubspot":
            # Its discover reads the legacy property lists of every object type, contacts first, which the
            # sandbox app's scopes refuse: the catalog a user selects, as its conformance test does.
            run.write("config.json", config(run))
            run.write("catalog.json", airbyte_hubspot.selected_catalog())
            return None
        found = run.run(client, ["discover", "--config", "{dir}/config.json"], {"config.json": config(run)})
        run.write("catalog.json", airbyte_configured_catalog(found.ok().catalog(), streams))
        return None

    args = ["read", "--config", "{dir}/config.json", "--catalog", "{dir}/catalog.json"]
    return setup, _stateful_sync(client, args, ClientRun.airbyte_state)


def _stateful_sync(client: str, args: list[str], state_of: Callable[[ClientRun], Any]):  # type: ignore[no-untyped-def]
    """A Singer tap's or Airbyte source's run: the state the previous run left goes in with ``--state``,
    the state it emits comes out (the previous one when it emitted none)."""

    def sync(run: Conformance, context: Any, state: Any) -> tuple[ClientRun, Any, dict[str, int]]:
        files = {} if state is None else {"state.json": state}
        extra = [] if state is None else ["--state", "{dir}/state.json"]
        result = run.run(client, [*args, *extra], files)
        try:
            following = state_of(result)
        except AssertionError:
            following = state
        return result, following, dict(result.streams())

    return sync


# -- dlt -------------------------------------------------------------------------------------------------
def _dlt(crm: str, tables: list[str]):  # type: ignore[no-untyped-def]
    def body(run: Conformance) -> str:
        if crm == "hubspot":
            return (
                "from hubspot import hubspot\n"
                f"source = hubspot(api_key={run.hubspot_token!r}).with_resources({', '.join(map(repr, tables))})\n"
                "report(pipeline.run(source, loader_file_format='jsonl'))\n"
            )
        o = run.salesforce_oauth()  # its conformance test's program, over both resources
        return dlt_salesforce.BODY.format(
            username=o["username"], password=o["password"], token=o["security_token"]
        ).replace('"opportunity", "account"', ", ".join(map(repr, tables)))

    def setup(run: Conformance) -> Any:
        return dlt_program(run, body(run))

    def sync(run: Conformance, program: Any, state: Any) -> tuple[ClientRun, Any, dict[str, int]]:
        result = run.run_python("dlt", program)
        records: dict[str, int] = {}
        loads = [i for m in result.messages if m.get("type") == "DLT_LOAD" for i in m["load_ids"]]
        if result.returncode == 0:  # no load id: an incremental run that found nothing new
            records = {t: len(read_jsonl(run.root / "dlt-out", t, loads)) if loads else 0 for t in tables}
        return result, None, records

    return setup, sync


# -- ours ------------------------------------------------------------------------------------------------
def _ours(crm: str):  # type: ignore[no-untyped-def]
    def setup(run: Conformance) -> Any:
        config = write_config(run.root / "ours", sandbox_connectors(run.sandbox), crm)
        provision(load_config(config), connector_name(crm))
        return config

    def sync(run: Conformance, config: Any, state: Any) -> tuple[ClientRun, Any, dict[str, int]]:
        out = run.root / "ours" / "result.json"
        argv = [sys.executable, "-m", "bench.sync_child", "--config", str(config)]
        argv += ["--connector", connector_name(crm), "--out", str(out), "--as-of", AS_OF.isoformat()]
        result = run.run_command(f"ours-{crm}", argv, PYTHONPATH=f"{WRAPPER}:{REPO}")
        records: dict[str, int] = {}
        if out.exists():
            detail = json.loads(out.read_text())
            out.unlink()
            records = {"pulled": int(detail.get("counts", {}).get("pulled", 0))}
            if detail.get("status") != "ok":
                result.returncode = result.returncode or 1
                result.stderr += f"\n{detail.get('message')}"
        return result, None, records

    return setup, sync


def plans() -> list[Plan]:
    sf_streams = ["Opportunity", "Account", "OpportunityPartner"]
    specs = [
        ("ours-salesforce", "salesforce", _ours("salesforce")),
        ("ours-hubspot", "hubspot", _ours("hubspot")),
        (
            "tap-salesforce",
            "salesforce",
            _singer(
                "tap-salesforce",
                _tap_salesforce_config,
                sf_streams,
                replication_method="INCREMENTAL",
                replication_key="SystemModstamp",
            ),
        ),
        ("tap-hubspot", "hubspot", _singer("tap-hubspot", tap_hubspot.client_config, ["deals", "companies"])),
        (
            "airbyte-source-salesforce",
            "salesforce",
            _airbyte("airbyte-source-salesforce", _airbyte_salesforce_config, sf_streams),
        ),
        (
            "airbyte-source-hubspot",
            "hubspot",
            _airbyte("airbyte-source-hubspot", airbyte_hubspot.client_config, ["deals", "companies"]),
        ),
        ("dlt-salesforce", "salesforce", _dlt("salesforce", ["opportunity", "account"])),
        ("dlt-hubspot", "hubspot", _dlt("hubspot", ["companies", "deals"])),
    ]
    return [Plan(name, crm, setup, sync) for name, crm, (setup, sync) in specs]


# -- measuring -------------------------------------------------------------------------------------------
def figures(result: ClientRun, records: dict[str, int]) -> dict[str, Any]:
    calls = dict(result.calls)
    writes = sum(n for k, n in calls.items() if any(m in k for m in WRITE_MARKS) and "results" not in k)
    failure = _failure(result) if result.returncode != 0 else None
    return {
        "exit_code": result.returncode,
        "failure": failure,
        "calls": sum(calls.values()),
        "read_calls": sum(calls.values()) - writes,
        "write_calls": writes,
        "unrouted": sum(result.unrouted.values()),
        "unrouted_paths": dict(result.unrouted.most_common(8)),
        "calls_by_endpoint": calls,
        "seconds": round(result.wall_s, 2),
        "peak_rss_mb": round(result.peak_rss_kb / 1024, 1),
        "records": records,
        "records_total": sum(records.values()),
    }


def _failure(result: ClientRun) -> str:
    """One short line: the API error code the client hit when its output names one, else its last line."""
    lines = [ln for ln in result.stderr.strip().splitlines() if ln.strip()]
    last = (result.logs() or lines or [f"exit {result.returncode}"])[-1]
    if result.returncode == -9:
        return f"killed after {result.wall_s:.0f} s"
    codes = re.findall(r'"(?:errorCode|category)":\s*"(\w+)"', result.stderr + " ".join(result.logs()))
    status = re.search(r"\b(\d{3}) Client Error", last)
    if codes:
        return (f"HTTP {status.group(1)} " if status else "") + codes[-1]
    return last[:160]


def bench_plan(plan: Plan, opportunities: int, partners: int, timeout_s: float) -> dict[str, Any]:
    out: dict[str, Any] = {"crm": plan.crm}
    with Conformance(opportunities=opportunities, partners=partners) as run:
        run.timeout_s = timeout_s
        started = time.monotonic()
        try:
            context = plan.setup(run)
        except AssertionError as exc:  # discover failed: the row names it
            out["setup_failure"] = str(exc).splitlines()[0][:300] + _unrouted_note(run)
            print(f"  {plan.name} discover: FAILED: {out['setup_failure']}", flush=True)
            return out
        out["setup_seconds"] = round(time.monotonic() - started, 2)
        state: Any = None
        changed = max(1, opportunities // 100)
        for label in ("first_sync", "no_change_rerun", "one_percent_rerun"):
            if label == "one_percent_rerun":
                edit = run.change_opportunities if plan.crm == "salesforce" else run.change_deals
                out["changed_records"] = len(edit(changed))
            result, state, records = plan.sync(run, context, state)
            out[label] = figures(result, records)
            print(f"  {plan.name} {label}: {_brief(out[label])}", flush=True)
            if result.returncode == -9:  # killed at the timeout: a re-run would only repeat it
                out["skipped"] = (
                    f"re-runs not attempted: {label.replace('_', ' ')} killed after {timeout_s:.0f} s"
                )
                break
    return out


def _unrouted_note(run: Conformance) -> str:
    paths = run.sandbox.unrouted.most_common(3)
    return f" (no route: {', '.join(p for p, _ in paths)})" if paths else ""


def _brief(f: dict[str, Any]) -> str:
    state = "ok" if f["exit_code"] == 0 else f"FAILED: {f['failure']}"
    return (
        f"{f['calls']} calls, {f['seconds']} s, {f['peak_rss_mb']} MB, {f['records_total']} records, {state}"
    )


def table(report: dict[str, Any]) -> str:
    """The markdown table for docs/performance.md: calls / seconds / MB / records per run."""
    head = "| client | CRM | first sync | no-change re-run | 1% changed re-run | status |"
    lines = [head, "|---|---|---|---|---|---|"]
    for name, row in report["clients"].items():
        if "setup_failure" in row:
            lines.append(f"| {name} | {row['crm']} | – | – | – | discover: {_short(row['setup_failure'])} |")
            continue
        cells, problems = [], []
        for label in ("first_sync", "no_change_rerun", "one_percent_rerun"):
            f = row.get(label)
            if f is None:
                cells.append("not run")
                continue
            cells.append(f"{f['calls']} / {f['seconds']} s / {f['peak_rss_mb']} MB / {f['records_total']}")
            if f["exit_code"] != 0:
                problems.append((label.replace("_", " "), _short(f["failure"])))
            elif f["unrouted"]:
                problems.append((label.replace("_", " "), f"{f['unrouted']} calls the sandbox lacks"))
        if len(problems) == 3 and len({text for _, text in problems}) == 1:
            problems = [("every run", problems[0][1])]
        notes = [f"{where}: {text}" for where, text in problems] + (
            [row["skipped"]] if "skipped" in row else []
        )
        status = "; ".join(notes) or "ok"
        lines.append(f"| {name} | {row['crm']} | {' | '.join(cells)} | {status.replace('|', '/')} |")
    return "\n".join(lines)


def _short(text: str) -> str:
    """A failure as a table cell: no command line, no pipe characters, at most ~110 characters."""
    text = re.sub(r"exited (-?\d+): \S+ .*?(?= \(no route|$)", r"exited \1", text)
    text = text.replace("In processing pipe ", "").replace("|", "/")
    return text if len(text) <= 110 else text[:107] + "..."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--opportunities", type=int, default=20_000)
    parser.add_argument("--partners", type=int, default=50)
    parser.add_argument(
        "--only",
        action="append",
        help="run only this client (repeatable); its rows replace theirs in the file",
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per client run")
    parser.add_argument("--table", action="store_true", help="print the table of the last results and stop")
    args = parser.parse_args(argv)
    args.dry = False
    if args.table:
        print(table(json.loads((RESULTS / "conformance.json").read_text())))
        return 0
    chosen = [p for p in plans() if not args.only or p.name in args.only]
    report: dict[str, Any] = {
        "opportunities": args.opportunities,
        "partners": args.partners,
        "machine": machine(),
        "clients": {},
    }
    previous = RESULTS / "conformance.json"
    if args.only and previous.exists():  # the other clients' rows stay as they were measured
        kept = json.loads(previous.read_text())
        if (kept.get("opportunities"), kept.get("partners")) != (args.opportunities, args.partners):
            print("the result file holds another size: this run's rows are printed, not written", flush=True)
            args.dry = True
        report["clients"] = kept.get("clients", {}) if not args.dry else {}
    for plan in chosen:
        print(f"{plan.name} ({plan.crm}, {args.opportunities} opportunities)", flush=True)
        try:
            row = bench_plan(plan, args.opportunities, args.partners, args.timeout)
        except Exception as exc:  # one client's surprise must not lose the others' figures
            row = {"crm": plan.crm, "setup_failure": f"benchmark error: {exc!r}"[:300]}
            print(f"  {plan.name}: {row['setup_failure']}", flush=True)
        row["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        report["clients"][plan.name] = row
        report["table"] = table(report)
        if not args.dry:
            write_result("conformance", report)  # after each client: a long run keeps what it measured
    print(report["table"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
