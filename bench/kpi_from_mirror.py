"""Benchmark: from the SQLite mirror on disk to KPIs, partnerkpi's full pass against DuckDB attaching the
same file and computing the same figures with the SQL below (issue 19's target: at most 2x DuckDB).

Run as ``.venv/bin/python -m bench.kpi_from_mirror`` (``--rows 100000`` for a quick look). The mirror is
written once through the state store itself (the figure ``first_write_seconds``), from the synthetic
opportunities of bench.kpi_compute; then each side runs in a fresh subprocess, alternately, ``--repeat``
times (the fastest kept):

- ``ours``: what ``partnerkpi sync`` does without a saved pass: every live record of the mirror through
  the one pass (StateStore.iter_pass_rows, Accumulator.add_rows) to the figures of every group;
- ``duckdb``: DuckDB 1.5 with its sqlite_scanner extension (from PyPI: duckdb-extension-sqlite-scanner)
  ATTACHing the same file, one GROUP BY per partner and window over a cross join with the windows.

Both print a digest of the partners' won, won revenue, lost, created, open count and open amount in each
period and its prior; the parent checks that they agree exactly and writes
bench/results/kpi_from_mirror.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.harness import write_result
from bench.kpi_compute import AS_OF, SETTINGS, generate, partner_ids
from kpi_core import GroupKind, KpiResult, Opportunity
from kpi_core.periods import resolve_period

CONNECTOR = "bench"
TARGET_RATIO = 2.0
BATCH = 50_000
SIDES = ("ours", "duckdb")


def build(path: Path, rows: int, partners: int) -> float:
    """The mirror of ``rows`` synthetic opportunities (bench.kpi_compute's), written by the state store;
    the seconds it took."""
    from datetime import datetime, timezone

    from connectors.base import PullBatch as Batch
    from partnerkpi.state import StateStore

    cols = generate(rows, partners)
    store = StateStore.open(f"sqlite:///{path}")
    run = store.start_run(CONNECTOR, "pull")
    moment = datetime(2024, 6, 15, tzinfo=timezone.utc)
    started = time.perf_counter()
    for start in range(0, rows, BATCH):
        batch = [
            Opportunity(
                f"o{i:08d}",
                cols.partner[i],
                cols.amount[i],
                cols.original[i],
                "USD",
                cols.status[i],
                cols.created[i],
                cols.closed[i],
                None,
                cols.probability[i],
                cols.channel[i],
                moment,
                cols.deleted[i],
            )
            for i in range(start, min(rows, start + BATCH))
        ]
        store.apply_pull_batch(CONNECTOR, Batch(opportunities=batch), run)
    return time.perf_counter() - started


def windows() -> list[tuple[str, str, date, date]]:
    """(period, value | prior, first, last) of every configured period."""
    out = []
    for name in SETTINGS.periods:
        w = resolve_period(name, AS_OF, SETTINGS.fiscal_year_start_month)
        out += [(name, "value", w.first, w.last), (name, "prior", w.prior_first, w.prior_last)]
    return out


def digest_ours(result: KpiResult) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for g in result.groups:
        if g.group.kind is not GroupKind.PARTNER:
            continue
        f = g.figures
        for part in ("value", "prior"):
            won, closed = getattr(f["deal_count"], part), getattr(f["closed_count"], part)
            out[f"{g.period.name}|{part}|{g.group.partner_id}"] = [
                won,
                str(getattr(f["won_revenue"], part)),
                closed - won,
                getattr(f["created_count"], part),
                getattr(f["open_count"], part),
                str(getattr(f["open_amount"], part)),
            ]
    return out


def run_ours(path: Path) -> dict[str, Any]:
    from kpi_core.compute import accumulator, gc_paused, kpis
    from partnerkpi.state import StateStore

    started = time.perf_counter()
    store = StateStore.open(f"sqlite:///{path}")
    acc = accumulator(settings=SETTINGS, as_of=AS_OF, partners=None)
    with gc_paused():
        acc.add_rows(store.iter_pass_rows(CONNECTOR))
    result = kpis(acc, settings=SETTINGS, as_of=AS_OF, partners=None)
    return {"seconds": time.perf_counter() - started, "digest": digest_ours(result)}


SQL = """
WITH w(period, part, first, last) AS (VALUES {windows}),
o AS (
    SELECT partner_id,
           CASE WHEN amount_original IS NOT NULL AND amount IS NOT NULL
                     AND CAST(amount AS DECIMAL(18, 2)) >= 0
                THEN CAST(amount AS DECIMAL(18, 2)) END AS money,
           status, CAST(created_on AS DATE) AS created, CAST(closed_on AS DATE) AS closed
    FROM m.opportunities
    WHERE connector = '{connector}' AND NOT deleted AND partner_id IS NOT NULL AND status IS NOT NULL
      AND NOT (status IN ('won', 'lost') AND closed_on IS NULL)
)
SELECT w.period, w.part, o.partner_id,
       count(*) FILTER (WHERE status = 'won' AND closed BETWEEN w.first AND w.last) AS won,
       coalesce(sum(money) FILTER (WHERE status = 'won' AND closed BETWEEN w.first AND w.last), 0) AS revenue,
       count(*) FILTER (WHERE status = 'lost' AND closed BETWEEN w.first AND w.last) AS lost,
       count(*) FILTER (WHERE created BETWEEN w.first AND w.last) AS created,
       count(*) FILTER (WHERE created <= w.last AND (status = 'open' OR closed > w.last)) AS open_n,
       coalesce(sum(money) FILTER (WHERE created <= w.last AND (status = 'open' OR closed > w.last)), 0)
           AS open_amount
FROM o CROSS JOIN w
GROUP BY ALL
"""
"""The yardstick: the same six figures per partner and window, as an analyst would write them. Money as
DECIMAL(18, 2): exact for these amounts (whole cents below 10^16) and DuckDB's fast decimal (a 64-bit
integer; DECIMAL(38, 10) measured 8 times slower), so that the yardstick is the fast one."""


def run_duckdb(path: Path) -> dict[str, Any]:
    import duckdb
    import duckdb_extensions

    duckdb_extensions.import_extension("sqlite_scanner")  # from PyPI: DuckDB's own download is offline here
    started = time.perf_counter()
    con = duckdb.connect()
    con.sql("LOAD sqlite_scanner")
    con.sql(f"ATTACH '{path}' AS m (TYPE sqlite, READ_ONLY)")
    values = ", ".join(f"('{p}', '{part}', DATE '{a}', DATE '{b}')" for p, part, a, b in windows())
    rows = con.sql(SQL.format(windows=values, connector=CONNECTOR)).fetchall()
    seconds = time.perf_counter() - started
    digest = {
        f"{period}|{part}|{pid}": [won, str(Decimal(revenue).normalize()), lost, created, open_n,
                                   str(Decimal(open_amount).normalize())]
        for period, part, pid, won, revenue, lost, created, open_n, open_amount in rows
    }  # fmt: skip
    return {"seconds": seconds, "digest": digest}


def normalized(digest: dict[str, list[Any]], keys: set[str]) -> dict[str, list[Any]]:
    """Money as normalized decimal text; partners without any row in DuckDB's answer are all zeros."""
    out = {}
    for key in keys:
        won, revenue, lost, created, open_n, amount = digest.get(key, [0, "0", 0, 0, 0, "0"])
        out[key] = [won, Decimal(revenue).normalize(), lost, created, open_n, Decimal(amount).normalize()]
    return out


def child(side: str, path: Path) -> None:
    figures = run_ours(path) if side == "ours" else run_duckdb(path)
    print(json.dumps({**figures, "peak_rss_mb": peak_rss_mb()}))


def peak_rss_mb() -> float:
    """This process's own high-water mark (VmHWM: ru_maxrss would carry the parent's over the fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def measure(side: str, path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.kpi_from_mirror", "--child", side, "--path", str(path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    if done.returncode != 0:
        raise RuntimeError(f"{side} failed: {done.stderr[-2000:]}")
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--partners", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--child", choices=SIDES)
    parser.add_argument("--path", type=Path)
    parser.add_argument("--no-write", action="store_true", help="print, do not write bench/results")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.path)
        return
    with tempfile.TemporaryDirectory(prefix="partnerkpi-bench-") as tmp:
        path = Path(tmp) / "state.sqlite"
        first_write = build(path, args.rows, args.partners)
        runs: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
        for _ in range(args.repeat):
            for side in SIDES:
                runs[side].append(measure(side, path))
        size_mb = path.stat().st_size / 1e6
    best = {side: min(runs[side], key=lambda r: r["seconds"]) for side in SIDES}
    keys = set(best["ours"]["digest"]) | set(best["duckdb"]["digest"])
    expected = {f"{p}|{part}|{pid}" for p, part, _, _ in windows() for pid in partner_ids(args.partners)}
    agree = normalized(best["ours"]["digest"], keys) == normalized(best["duckdb"]["digest"], keys)
    ratio = best["ours"]["seconds"] / best["duckdb"]["seconds"]
    result = {
        "benchmark": "kpi_from_mirror",
        "rows": args.rows,
        "partners": args.partners,
        "periods": SETTINGS.periods,
        "python": platform.python_version(),
        "mirror_mb": round(size_mb, 1),
        "first_write_seconds": round(first_write, 2),
        "ours_seconds": round(best["ours"]["seconds"], 2),
        "duckdb_seconds": round(best["duckdb"]["seconds"], 2),
        "ours_peak_rss_mb": best["ours"]["peak_rss_mb"],
        "duckdb_peak_rss_mb": best["duckdb"]["peak_rss_mb"],
        "ratio_ours_duckdb": round(ratio, 2),
        "values_compared": len(keys) * 6,
        "every_partner_compared": expected <= keys,
        "figures_agree": agree,
        "target_ratio": TARGET_RATIO,
        "target_met": agree and ratio <= TARGET_RATIO,
        "runs": {side: [round(r["seconds"], 2) for r in runs[side]] for side in SIDES},
    }
    print(json.dumps(result, indent=2))
    if not args.no_write:
        write_result("kpi_from_mirror", result)
    if not agree:
        raise SystemExit("the two sides' figures differ")


if __name__ == "__main__":
    main()
