"""Influenced attribution end to end on the file connector: sync, a re-run after only a deal's
influencers changed, and the influenced figure written to the output file (docs/kpis.md, "Sourced and
influenced")."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.cli_in_process import run_partnerkpi

CONFIG = """
version: 1
state: {{url: "sqlite:///{state}"}}
kpi: {{reporting_currency: USD, timezone: UTC, periods: [last_30_days], attribution: [sourced, influenced]}}
connectors:
  - name: export
    type: file
    path: {path}
    output_path: {out}
    columns: {{id: id, partner: partner, amount: amount, stage: stage, created: created, closed: closed,
              influencers: influencers}}
    stages: {{Won: won, Open: open}}
writeback:
  export:
    fields:
      - {{field: won, kpi: won_revenue, period: last_30_days}}
      - {{field: influenced_won, kpi: won_revenue, period: last_30_days, attribution: influenced}}
"""
AS_OF = "2026-11-30"


def export(rows: list[tuple[str, str, int, str]]) -> str:
    lines = ["id,partner,amount,stage,created,closed,influencers"]
    lines += [f"{i},{p},{a},Won,2026-11-01,2026-11-20,{infl}" for i, p, a, infl in rows]
    return "\n".join(lines) + "\n"


def written(out: Path) -> dict[str, tuple[str, str]]:
    with out.open(newline="") as f:
        return {r["partner_id"]: (r["won"], r["influenced_won"]) for r in csv.DictReader(f)}


def test_a_partner_added_to_an_existing_deal_moves_its_influenced_revenue_at_the_next_sync(
    tmp_path: Path,
) -> None:
    source, out = tmp_path / "export.csv", tmp_path / "scores.csv"
    config = tmp_path / "partnerkpi.yaml"
    config.write_text(CONFIG.format(state=tmp_path / "s.sqlite", path=source, out=out))
    source.write_text(export([("o1", "A", 100, "B"), ("o2", "B", 50, ""), ("o3", "C", 20, "")]))

    def sync() -> None:
        proc = run_partnerkpi(["--config", str(config), "sync", "--as-of", AS_OF], cwd=tmp_path)
        assert proc.returncode == 0, proc.stdout + proc.stderr

    sync()
    assert written(out) == {"A": ("100.00", "100.00"), "B": ("50.00", "150.00"), "C": ("20.00", "20.00")}

    source.write_text(export([("o1", "A", 100, "B;C"), ("o2", "B", 50, ""), ("o3", "C", 20, "")]))
    sync()  # only o1's influencers changed: C took part in it
    assert written(out) == {"A": ("100.00", "100.00"), "B": ("50.00", "150.00"), "C": ("20.00", "120.00")}

    source.write_text(export([("o1", "A", 100, "C"), ("o2", "B", 50, ""), ("o3", "C", 20, "")]))
    sync()  # B left o1
    assert written(out) == {"A": ("100.00", "100.00"), "B": ("50.00", "50.00"), "C": ("20.00", "120.00")}

    report = run_partnerkpi(
        ["--config", str(config), "report", "--format", "json", "--as-of", AS_OF], cwd=tmp_path
    )
    groups = json.loads(report.stdout)["connectors"][0]["groups"]
    total = next(g for g in groups if g["group"]["kind"] == "partners")
    assert total["influenced"]["won_revenue"]["value"] == "170"  # each deal once, not 100 + 50 + 120


def test_an_influencer_seen_only_as_influencer_is_a_partner_of_the_export(tmp_path: Path) -> None:
    source, out = tmp_path / "export.csv", tmp_path / "scores.csv"
    config = tmp_path / "partnerkpi.yaml"
    config.write_text(CONFIG.format(state=tmp_path / "s.sqlite", path=source, out=out))
    source.write_text(export([("o1", "A", 100, "Z")]))
    proc = run_partnerkpi(["--config", str(config), "sync", "--as-of", AS_OF], cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert written(out)["Z"] == ("0.00", "100.00")
