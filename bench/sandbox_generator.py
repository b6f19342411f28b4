"""Benchmark: the sandbox's seeded generator at 1,000,000 opportunities (the issue asks for < 60 s).

Writes bench/results/sandbox_generator.json: wall time, records per second, the columns' size in memory,
the process's peak RSS, and the time to build the Salesforce emulation's org over the same data.
Run: .venv/bin/python bench/sandbox_generator.py [--opportunities N]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from dataclasses import fields
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from partnerkpi.sandbox.core import Request
from partnerkpi.sandbox.generator import generate
from partnerkpi.sandbox.salesforce import SalesforceEmulation

RESULTS = Path(__file__).resolve().parent / "results" / "sandbox_generator.json"


QUERY = (
    "SELECT Id, Amount, CurrencyIsoCode, StageName, CloseDate, CreatedDate, PartnerAccountId, LeadSource, "
    "SystemModstamp, IsDeleted FROM Opportunity WHERE SystemModstamp >= 2000-01-01T00:00:00Z "
    "ORDER BY SystemModstamp, Id"
)


def _query_pages(emulation: SalesforceEmulation, pages: int = 20) -> tuple[list[float], int]:
    """Server-side cost of the incremental REST query: the first page, then pages of 2,000 (no network)."""
    token = emulation.sessions.issue()
    headers = {"Authorization": f"Bearer {token}", "Host": "127.0.0.1"}
    timings = []
    started = time.perf_counter()
    route = next(r for r in emulation.routes() if r.endpoint == "salesforce.query")
    path = "/services/data/v59.0/queryAll/"
    query: dict[str, list[str]] = {"q": [QUERY]}
    rows = 0
    for _ in range(pages):
        match = route.pattern.fullmatch(path)
        assert match is not None
        body = json.loads(route.handler(Request("GET", path, query, headers, b""), match).body)
        timings.append(round(time.perf_counter() - started, 4))
        started = time.perf_counter()
        rows += len(body["records"])
        if body["done"]:
            break
        path, query = body["nextRecordsUrl"], {}
    total = sum(timings[1:]) or timings[0]
    return timings, round((rows - 2000) / total) if len(timings) > 1 else round(rows / total)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--opportunities", type=int, default=1_000_000)
    parser.add_argument("--partners", type=int, default=500)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    started = time.perf_counter()
    data = generate(seed=args.seed, partners=args.partners, opportunities=args.opportunities)
    generated = time.perf_counter() - started
    columns = data.columns
    assert columns is not None
    column_bytes = sum(
        getattr(columns, f.name).buffer_info()[1] * getattr(columns, f.name).itemsize for f in fields(columns)
    )

    started = time.perf_counter()
    emulation = SalesforceEmulation(data)
    built = time.perf_counter() - started
    assert len(emulation.org.tables["Opportunity"].stage) == args.opportunities  # type: ignore[attr-defined]

    pages_seconds, rows_per_second = _query_pages(emulation)

    result = {
        "benchmark": "sandbox_generator",
        "opportunities": args.opportunities,
        "partners": args.partners,
        "seed": args.seed,
        "generate_seconds": round(generated, 3),
        "records_per_second": round(args.opportunities / generated),
        "limit_seconds": 60,
        "within_limit": generated < 60,
        "columns_megabytes": round(column_bytes / 1e6, 1),
        "salesforce_org_build_seconds": round(built, 3),
        "rest_query_first_page_seconds": pages_seconds[0],
        "rest_query_rows_per_second": rows_per_second,
        "peak_rss_megabytes": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0 if result["within_limit"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
