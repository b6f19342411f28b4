"""Benchmark: kpi_core.compute against a straightforward pandas implementation of the same figures.

Run as ``.venv/bin/python -m bench.kpi_compute`` (add ``--rows 100000`` for a quick look). Each
implementation runs in its own fresh subprocess, so that time and peak RSS are not mixed:

- ``ours``: compute() over a list of 1,000,000 synthetic Opportunity objects built before the clock starts;
- ``pandas``: the same list into a DataFrame (timed: that is how pandas reads the input), then masks and
  groupbys per period;
- ``ours-streaming``: compute() over a generator that builds each Opportunity on the fly from compact
  columns; its time includes building the records, its peak RSS shows the pass's bounded memory.

Each child prints one JSON line with its figures and a digest of results; the parent checks that the
digests agree and writes bench/results/kpi_compute.json. Synthetic rows are generated, deterministically,
outside the timed step.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from kpi_core import GroupKind, KpiResult, KpiSettings, Opportunity, Status, compute

RESULTS = Path(__file__).parent / "results" / "kpi_compute.json"
AS_OF = date(2024, 6, 15)
PERIODS = ["last_30_days", "last_90_days", "quarter_to_date", "last_365_days"]
SETTINGS = KpiSettings(periods=PERIODS)
CHANNELS = [None, "PAID_SEARCH", "Web", "Email", "REFERRALS", "Partner Referral", "OFFLINE", "trade fair", ""]
OPEN_PROBABILITIES = [0.1, 0.2, 0.4, 0.6, 0.8]
MODIFIED = datetime(2024, 6, 15, tzinfo=timezone.utc)
IMPLEMENTATIONS = ("ours", "pandas", "ours-streaming")
TARGETS = {"seconds": 5.0, "peak_rss_mb": 500.0, "ratio_ours_pandas": 1.0}


@dataclass
class Columns:
    """The synthetic opportunities as compact columns (shared small pools of values)."""

    partner: list[str | None]
    amount: list[Decimal | None]
    original: list[Decimal | None]
    status: list[Status]
    created: list[date | None]
    closed: list[date | None]
    probability: list[float]
    channel: list[str | None]
    deleted: list[bool]

    def __len__(self) -> int:
        return len(self.partner)


def partner_ids(partners: int) -> list[str]:
    return [f"P{i:04d}" for i in range(1, partners + 1)]


def generate(rows: int, partners: int, seed: int = 20240615) -> Columns:
    """Deterministic synthetic opportunities: three years of history, 10% direct, a little dirt."""
    rnd = random.Random(seed)
    ids = partner_ids(partners)
    days = [AS_OF - timedelta(days=n) for n in range(1100)]
    amounts = [Decimal(rnd.randint(100, 5_000_000)) / 100 for _ in range(50_000)]
    cols = Columns([], [], [], [], [], [], [], [], [])
    for _ in range(rows):
        roll = rnd.random()
        status = Status.OPEN if roll < 0.30 else Status.WON if roll < 0.75 else Status.LOST
        age = rnd.randrange(1095)
        created = days[age]
        closed = None
        if status is not Status.OPEN:
            closed = days[max(0, age - rnd.randrange(180))]
        dirt = rnd.random()
        amount: Decimal | None = rnd.choice(amounts)
        original = amount
        if dirt < 0.01:
            amount = original = None
        elif dirt < 0.012:
            amount = original = -amount  # type: ignore[operator]
        elif dirt < 0.014:
            amount = None  # unknown currency
        cols.partner.append(None if rnd.random() < 0.1 else ids[rnd.randrange(partners)])
        cols.amount.append(amount)
        cols.original.append(original)
        cols.status.append(status)
        cols.created.append(None if 0.014 <= dirt < 0.019 else created)
        cols.closed.append(closed)
        cols.probability.append(
            rnd.choice(OPEN_PROBABILITIES) if status is Status.OPEN else float(status is Status.WON)
        )
        cols.channel.append(rnd.choice(CHANNELS))
        cols.deleted.append(0.019 <= dirt < 0.029)
    return cols


def opportunities(cols: Columns) -> Iterator[Opportunity]:
    for i in range(len(cols)):
        yield Opportunity(
            id=f"o{i}",
            partner_id=cols.partner[i],
            amount=cols.amount[i],
            amount_original=cols.original[i],
            currency="USD",
            status=cols.status[i],
            created_on=cols.created[i],
            closed_on=cols.closed[i],
            expected_close_on=None,
            probability=cols.probability[i],
            channel=cols.channel[i],
            modified_at=MODIFIED,
            deleted=cols.deleted[i],
        )


# --- the digest both implementations produce, to check that they agree ---------------------------------


def digest_ours(result: KpiResult) -> dict[str, Any]:
    out: dict[str, Any] = {}
    names: tuple[str, ...] = (
        "deal_count",
        "won_revenue",
        "closed_count",
        "created_count",
        "cohort_open",
        "open_count",
    )
    names += ("open_amount", "weighted_amount", "avg_cycle_days")
    for g in result.groups:
        period = g.period.name
        if g.group.kind is GroupKind.PARTNER:
            score = g.figures["quality_score"]
            key = f"{period}/score_sum"
            out[key] = round(out.get(key, 0.0) + float(score.value or 0) + float(score.prior or 0), 6)
            continue
        for name in names:
            fig = g.figures[name]
            out[f"{period}/{g.group.kind.value}/{name}"] = [_plain(fig.value), _plain(fig.prior)]
        for segment, figures in g.channels.items():
            out[f"{period}/{g.group.kind.value}/{segment.value}/deal_count"] = figures["deal_count"].value
    return out


def _plain(x: object) -> object:
    if isinstance(x, Decimal):
        return str(x.normalize())
    if isinstance(x, float):
        return round(x, 9)
    return x


# --- the pandas implementation -------------------------------------------------------------------------


def compute_pandas(opps: list[Opportunity], partners: list[str]) -> dict[str, Any]:
    """The same figures, the way a pandas user would write them: a DataFrame, then masks and groupbys."""
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped]

    from kpi_core.periods import parse_period, resolve_period

    table = SETTINGS.segment_table()
    df = pd.DataFrame(
        {
            "partner": [o.partner_id for o in opps],
            "amount": [o.amount for o in opps],
            "original": [o.amount_original for o in opps],
            "status": [o.status.value if o.status is not None else None for o in opps],
            "created": [o.created_on.toordinal() if o.created_on else -1 for o in opps],
            "closed": [o.closed_on.toordinal() if o.closed_on else -1 for o in opps],
            "probability": [o.probability for o in opps],
            "channel": [o.channel for o in opps],
            "deleted": [o.deleted for o in opps],
        }
    )
    df = df[~df["deleted"]]
    df = df[df["status"].notna()]
    df = df[(df["status"] == "open") | (df["closed"] >= 0)]
    ok = df["amount"].notna() & df["original"].notna()
    ok &= df["amount"].map(lambda a: a is not None and a >= 0)
    df["money"] = df["amount"].where(ok, Decimal(0))
    df["has_money"] = ok
    df["weight"] = df["probability"].map(
        lambda p: Decimal(repr(p)) if p == p and p is not None else Decimal(0)
    )
    df["segment"] = (
        df["channel"]
        .fillna("")
        .str.strip()
        .str.casefold()
        .map(lambda c: table[c].value if c in table else "unclassified")
    )
    df["partner_key"] = df["partner"].fillna("~direct")
    df["is_partner"] = df["partner"].notna()
    df["cycle"] = (df["closed"] - df["created"]).clip(lower=0)
    won, lost, open_ = df["status"] == "won", df["status"] == "lost", df["status"] == "open"
    has_created = df["created"] >= 0
    groups = {"partners": df["is_partner"], "direct": ~df["is_partner"], "overall": df["is_partner"] | True}
    out: dict[str, Any] = {}

    def money_sum(s: pd.Series) -> Decimal:
        return sum(s, Decimal(0))

    def window_figures(mask: pd.Series, first: int, last: int, day: int) -> dict[str, Any]:
        in_p_closed = (df["closed"] >= first) & (df["closed"] <= last)
        w = mask & won & in_p_closed
        lost_n = int((mask & lost & in_p_closed).sum())
        created = mask & has_created & (df["created"] >= first) & (df["created"] <= last)
        cyc = df.loc[w & has_created, "cycle"]
        open_at = mask & has_created & (df["created"] <= day) & (open_ | (df["closed"] > day))
        money = df.loc[open_at, "money"]
        return {
            "deal_count": int(w.sum()),
            "won_revenue": money_sum(df.loc[w, "money"]),
            "closed_count": int(w.sum()) + lost_n,
            "created_count": int(created.sum()),
            "cohort_open": int((created & open_).sum()),
            "open_count": int(open_at.sum()),
            "open_amount": money_sum(money),
            "weighted_amount": money_sum(money * df.loc[open_at, "weight"]),
            "avg_cycle_days": max(1.0, float(cyc.mean())) if len(cyc) else None,
            "segments": df.loc[w, "segment"].value_counts().to_dict(),
        }

    def scores(first: int, last: int) -> pd.Series:
        in_p = df["is_partner"] & (df["closed"] >= first) & (df["closed"] <= last)
        per = pd.DataFrame(index=pd.Index(partners, name="partner_key"))
        per["won_revenue"] = df[in_p & won].groupby("partner_key")["money"].agg(money_sum)
        per["deal_count"] = df[in_p & won].groupby("partner_key").size()
        per["lost"] = df[in_p & lost].groupby("partner_key").size()
        per = per.reindex(partners)
        per["won_revenue"] = per["won_revenue"].map(lambda v: v if isinstance(v, Decimal) else Decimal(0))
        per[["deal_count", "lost"]] = per[["deal_count", "lost"]].fillna(0)
        total_won, total_lost = int((in_p & won).sum()), int((in_p & lost).sum())
        p0 = total_won / (total_won + total_lost) if total_won + total_lost else 0.5
        k = SETTINGS.smoothing_k
        smoothed = (per["deal_count"] + k * p0) / (per["deal_count"] + per["lost"] + k)
        n = len(per)

        def pct(s: pd.Series) -> pd.Series:
            return (s.rank(method="average") - 0.5) / n

        revenue_rank = pd.Series([float(v) for v in per["won_revenue"]], index=per.index)
        weights = SETTINGS.weights
        return 100 * (
            weights.won_revenue * pct(revenue_rank)
            + weights.deal_count * pct(per["deal_count"])
            + weights.win_rate_smoothed * pct(smoothed.round(12))
        )

    for name in PERIODS:
        spec = parse_period(name)
        w = resolve_period(spec, AS_OF)
        spans = [(w.first, w.last), (w.prior_first, w.prior_last)]
        score_sum = 0.0
        for first, last in spans:
            score_sum += float(np.clip(scores(first.toordinal(), last.toordinal()), 0, 100).sum())
        out[f"{name}/score_sum"] = round(score_sum, 6)
        for kind, mask in groups.items():
            now = window_figures(mask, w.first.toordinal(), w.last.toordinal(), w.last.toordinal())
            before = window_figures(
                mask, w.prior_first.toordinal(), w.prior_last.toordinal(), w.prior_last.toordinal()
            )
            for figure in now:
                if figure == "segments":
                    for segment in ("paid", "earned", "owned", "unclassified"):
                        out[f"{name}/{kind}/{segment}/deal_count"] = int(now["segments"].get(segment, 0))
                    continue
                out[f"{name}/{kind}/{figure}"] = [_plain(now[figure]), _plain(before[figure])]
    return out


# --- the child process: one implementation, timed ------------------------------------------------------


def _status_mb(field: str) -> float | None:
    """A field of /proc/self/status (VmRSS, VmHWM) in MB; None where there is no /proc."""
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return None


def reset_peak_rss() -> bool:
    """Reset the kernel's high-water mark (Linux), so that VmHWM afterwards is the compute step's peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def process_peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def child(impl: str, rows: int, partners: int) -> dict[str, Any]:
    cols = generate(rows, partners)
    known = partner_ids(partners)
    opps = list(opportunities(cols)) if impl != "ours-streaming" else None
    if opps is not None:
        del cols
    gc.collect()
    rss_before = _status_mb("VmRSS") or process_peak_rss_mb()
    peak_is_compute_only = reset_peak_rss()
    start, cpu_start = time.perf_counter(), time.process_time()
    if impl == "pandas":
        assert opps is not None
        digest = compute_pandas(opps, known)
    else:
        source = iter(opps) if opps is not None else opportunities(cols)
        result = compute(source, settings=SETTINGS, as_of=AS_OF, partners=known)
        digest = None
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    peak = (_status_mb("VmHWM") if peak_is_compute_only else None) or process_peak_rss_mb()
    if digest is None:
        digest = digest_ours(result)
    return {
        "implementation": impl,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "peak_rss_mb": round(peak, 1),
        "rss_before_compute_mb": round(rss_before, 1),
        "compute_rss_increase_mb": round(peak - rss_before, 1),
        "peak_is_compute_step_only": peak_is_compute_only,
        "digest": digest,
    }


def run_child(impl: str, rows: int, partners: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.kpi_compute", "--child", impl, "--rows", str(rows)]
    command += ["--partners", str(partners)]
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=Path(__file__).parents[1])
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    return [f"{k}: {a.get(k)!r} != {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--partners", type=int, default=1_000)
    parser.add_argument("--child", choices=IMPLEMENTATIONS)
    parser.add_argument("--repeat", type=int, default=1, help="runs per implementation; the fastest is kept")
    parser.add_argument("--no-write", action="store_true", help="print, do not write bench/results")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.rows, args.partners)))
        return 0
    runs = {}
    for impl in IMPLEMENTATIONS:
        tries = [run_child(impl, args.rows, args.partners) for _ in range(max(1, args.repeat))]
        runs[impl] = min(tries, key=lambda r: float(r["seconds"]))
        runs[impl]["all_seconds"] = [r["seconds"] for r in tries]
    digests = {impl: r.pop("digest") for impl, r in runs.items()}
    mismatch = differences(digests["ours"], digests["pandas"])
    ours, pandas_ = runs["ours"], runs["pandas"]
    ratio = round(ours["seconds"] / pandas_["seconds"], 3)
    report = {
        "benchmark": "kpi_compute",
        "rows": args.rows,
        "repeat": args.repeat,
        "partners": args.partners,
        "periods": PERIODS,
        "as_of": AS_OF.isoformat(),
        "machine": {"python": platform.python_version(), "cpus": _cpus(), "platform": platform.platform()},
        "targets": TARGETS,
        "runs": list(runs.values()),
        "ratio_ours_pandas": ratio,
        "results_agree": not mismatch and digests["ours"] == digests["ours-streaming"],
        "mismatches": mismatch[:20],
        "targets_met": {
            "seconds": ours["seconds"] < TARGETS["seconds"],
            "peak_rss_mb": ours["peak_rss_mb"] < TARGETS["peak_rss_mb"],
            "ratio_ours_pandas": ratio <= TARGETS["ratio_ours_pandas"],
        },
    }
    text = json.dumps(report, indent=2)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text + "\n")
    print(text)
    print()
    print("| implementation | wall s | CPU s | peak RSS MB | RSS before compute MB | increase MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in runs.values():
        print(
            f"| {r['implementation']} | {r['seconds']} | {r['cpu_seconds']} | {r['peak_rss_mb']} "
            f"| {r['rss_before_compute_mb']} | {r['compute_rss_increase_mb']} |"
        )
    return 0 if report["results_agree"] else 1


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    raise SystemExit(main())
