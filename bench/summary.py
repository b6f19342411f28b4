"""The table of figures, targets and whether each is met, from the JSON results of the other benchmarks.

Run ``.venv/bin/python -m bench.summary`` (``make bench`` runs it last); writes bench/results/summary.json
and prints the table as Markdown (docs/performance.md carries it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bench.harness import RESULTS, write_result

Row = dict[str, Any]


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def api_rows(data: dict[str, Any]) -> list[Row]:
    command = f".venv/bin/python -m bench.api_calls --opportunities {data['opportunities']}"
    rows: list[Row] = []
    n = f"{data['opportunities']:,}"
    for crm, c in data["connectors"].items():
        f, met = c["figures"], c["targets_met"]
        rows += [
            row(
                f"{crm}: first-sync API calls / minimum ({n} opps)",
                "<= 1.05",
                f"{f['first_sync_ratio']} ({f['first_sync_calls']} / {f['first_sync_minimum']})",
                met["first_sync_ratio_le_1.05"],
                command,
            ),
            row(
                f"{crm}: no-change re-run, reads per object (max) / writes",
                "<= 2 / 0",
                f"{f['no_change_max_reads_per_object']} / {f['no_change_write_calls']}",
                met["no_change_le_2_reads_per_object"] and met["no_change_0_writes"],
                command,
            ),
            row(
                f"{crm}: 1% re-run time / first sync ({n} opps)",
                "< 0.05",
                f"{f['one_percent_over_first_seconds']}",
                f["one_percent_over_first_seconds"] < 0.05,
                command,
            ),
            row(
                f"{crm}: full-refresh puller / ours, 1% re-run (time; calls)",
                "> 1 (ours cheaper)",
                f"{f['full_refresh_over_ours_seconds']}x; {f['full_refresh_over_ours_calls']}x",
                f["full_refresh_over_ours_seconds"] > 1,
                command,
            ),
            row(
                f"{crm}: per-record writer / ours, write calls (apply time)",
                "> 1 (ours cheaper)",
                f"{f['per_record_over_ours_write_calls']}x ({f['per_record_over_ours_apply_seconds']}x)",
                f["per_record_over_ours_write_calls"] > 1,
                command,
            ),
        ]
    return rows


def rate_rows(data: dict[str, Any]) -> list[Row]:
    command = f".venv/bin/python -m bench.rate_limit --opportunities {data['opportunities']}"
    rows = []
    for label, r in data["runs"].items():
        rows.append(
            row(
                f"{label}: first-sync wall / rate-limit+latency bound ({data['opportunities']:,} opps)",
                "<= 1.2, no 429 after 10 s",
                f"{r['ratio_to_bound']} ({r['seconds']} s / {r['bound_seconds']} s; 429s: "
                f"{r['responses_429']}, after 10 s: {r['responses_429_after_first_10s']})",
                r["target_met"],
                command,
            )
        )
    return rows


def throughput_rows(data: dict[str, Any]) -> list[Row]:
    command = ".venv/bin/python -m bench.throughput"
    if data.get("hubspot_opportunities", data["opportunities"]) != data["opportunities"]:
        command += f" --hubspot-opportunities {data['hubspot_opportunities']}"
    rows = []
    for label, r in data["runs"].items():
        first = r["first_sync"]
        n = f"{r.get('opportunities', data['opportunities']):,}"
        rows.append(
            row(
                f"{label}: first sync, records/s ({n} opps, no latency)",
                "(measured)",
                f"{first['records_per_second']:,} ({first['seconds']} s)",
                None,
                command,
            )
        )
        rows.append(
            row(
                f"{label}: peak RSS of the sync process",
                "< 1024 MB",
                f"{first['peak_rss_mb']} MB",
                r["peak_rss_under_1gb"],
                command,
            )
        )
        if "incremental_share" in r:
            rows.append(
                row(
                    f"{label}: 1% re-run time / first sync ({n} opps)",
                    "< 0.05",
                    f"{r['incremental_share']} ({r['one_percent_rerun']['seconds']} s)",
                    r["incremental_under_5_percent"],
                    command,
                )
            )
    return rows


def compute_rows(data: dict[str, Any]) -> list[Row]:
    command = ".venv/bin/python -m bench.kpi_compute"
    ours = next(r for r in data["runs"] if r["implementation"] == "ours")
    met = data["targets_met"]
    return [
        row(f"KPI compute, {data['rows']:,} rows", "< 5 s", f"{ours['seconds']} s", met["seconds"], command),
        row("KPI compute, peak RSS", "< 500 MB", f"{ours['peak_rss_mb']} MB", met["peak_rss_mb"], command),
        row(
            "KPI compute, ours / pandas",
            "<= 1.0",
            f"{data['ratio_ours_pandas']}",
            met["ratio_ours_pandas"],
            command,
        ),
    ]


def mirror_rows(data: dict[str, Any]) -> list[Row]:
    command = ".venv/bin/python -m bench.kpi_from_mirror"
    agree = "same figures" if data["figures_agree"] else "FIGURES DIFFER"
    return [
        row(
            f"KPI pass from the SQLite mirror, ours / DuckDB on the same file ({data['rows']:,} rows)",
            f"<= {data['target_ratio']}",
            f"{data['ratio_ours_duckdb']} ({data['ours_seconds']} s / {data['duckdb_seconds']} s; {agree} "
            f"on {data['values_compared']:,} values)",
            data["target_met"],
            command,
        )
    ]


def row(figure: str, target: str, measured: str, met: bool | None, command: str) -> Row:
    return {"figure": figure, "target": target, "measured": measured, "met": met, "command": command}


SECTIONS: list[tuple[str, Callable[[dict[str, Any]], list[Row]]]] = [
    ("api_calls", api_rows),
    ("rate_limit", rate_rows),
    ("throughput", throughput_rows),
    ("kpi_compute", compute_rows),
    ("kpi_from_mirror", mirror_rows),
]


def markdown(rows: list[Row]) -> str:
    lines = ["| figure | target | measured | met? | reproduce |", "|---|---|---|---|---|"]
    for r in rows:
        met = "n/a" if r["met"] is None else ("**yes**" if r["met"] else "**no**")
        lines.append(f"| {r['figure']} | {r['target']} | {r['measured']} | {met} | `{r['command']}` |")
    return "\n".join(lines)


def main() -> int:
    rows: list[Row] = []
    missing = []
    for name, build in SECTIONS:
        data = load(name)
        if data is None:
            missing.append(name)
            continue
        rows += build(data)
    write_result("summary", {"benchmark": "summary", "rows": rows, "missing": missing})
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
