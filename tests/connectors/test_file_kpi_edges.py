"""KPI edge cases through the file connector, the mirror and compute_kpis (issue 14, "exact to the
cent"): JSONL amounts are exact Decimals, a partner seen only on deleted rows is out of the quality-score
scope, and a deal won since the prior period's end weighs 1 in the rebuilt prior pipeline even when its
stage has no probability. Every expected value is worked out by hand in the comments."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from kpi_core.result import Figure, GroupKey, GroupKind, KpiResult
from partnerkpi.config import AppConfig, load_config
from partnerkpi.pipeline import compute_kpis, connector_config, open_connector, pull_into_store
from partnerkpi.progress import ProgressReporter
from partnerkpi.state import StateStore

AS_OF = date(2026, 3, 31)  # last_90_days: Jan 1 .. Mar 31; its prior Oct 3 .. Dec 31 (L' = Dec 31)

CONFIG = """
version: 1
state:
  url: "{url}"
kpi:
  periods: [last_90_days]
connectors:
  - name: f
    type: file
    path: {path}
    columns:
      id: id
      partner: partner
      amount: amount
      stage: stage
      created: created
      closed: closed
      deleted: deleted
    stages:
      Won: won
      Lost: lost
      Talking: {{status: open, probability: 0.25}}
"""


def app_for(tmp_path: Path, source: Path, url: str | None = None) -> AppConfig:
    """The file connector's config on the state ``url`` (a state test's), else a SQLite file."""
    path = tmp_path / "partnerkpi.yaml"
    path.write_text(CONFIG.format(url=url or f"sqlite:///{tmp_path / 'state.sqlite'}", path=source))
    return load_config(path)


def sync(app: AppConfig) -> tuple[StateStore, KpiResult]:
    """Pull the file into the mirror and compute from the mirror, as ``partnerkpi sync`` does."""
    store = StateStore.open(app.state.url)
    with open_connector(connector_config(app, "f")) as connector:
        pull_into_store(store, connector, store.start_run("f", "pull"), ProgressReporter.silent())
    return store, compute_kpis(store, app, "f", as_of=AS_OF)


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["id", "partner", "amount", "stage", "created", "closed", "deleted"])
        out.writerows(rows)
    return path


def figure(result: KpiResult, name: str, key: GroupKind | str = GroupKind.OVERALL) -> Figure:
    group = GroupKey(key) if isinstance(key, GroupKind) else GroupKey(GroupKind.PARTNER, key)
    found = result.for_group(group, "last_90_days")
    assert found is not None, f"no group {group}"
    return found.figures[name]


def scope(result: KpiResult) -> list[str | None]:
    return [g.group.partner_id for g in result.groups if g.group.kind is GroupKind.PARTNER]


# -- JSONL amounts are Decimal ---------------------------------------------------------------------


def test_jsonl_amounts_are_exact_decimals_and_sum_to_the_cent(tmp_path: Path, state_url: str) -> None:
    won = '"stage": "Won", "created": "2026-01-05", "closed": "2026-02-10"'
    lines = [
        # as a binary float 98765432109876.54 reads back as ...76.55 (and 12345678901234.565 as .564)
        f'{{"id": "big", "partner": "A", "amount": 98765432109876.54, {won}}}',
        f'{{"id": "odd", "partner": "A", "amount": 12345678901234.565, {won}}}',
        f'{{"id": "half", "partner": "B", "amount": 1234.565, {won}}}',
        *(f'{{"id": "t{i}", "partner": "B", "amount": 0.1, {won}}}' for i in range(100)),
        *(f'{{"id": "f{i}", "partner": "B", "amount": 0.2, {won}}}' for i in range(100)),
        f'{{"id": "int", "partner": "B", "amount": 7, {won}}}',
    ]
    source = tmp_path / "o.jsonl"
    source.write_text("\n".join(lines) + "\n")
    store, result = sync(app_for(tmp_path, source, state_url))
    amounts = {o.id: o.amount for o in store.iter_opportunities("f")}
    assert amounts["big"] == Decimal("98765432109876.54")
    assert amounts["odd"] == Decimal("12345678901234.565")
    assert amounts["half"] == Decimal("1234.565")
    assert amounts["int"] == Decimal(7)
    # A: 98765432109876.54 + 12345678901234.565 = 111111111011111.105
    assert figure(result, "won_revenue", "A").value == Decimal("111111111011111.105")
    # B: 1234.565 + 100 x 0.1 + 100 x 0.2 + 7 = 1271.565, exactly
    assert figure(result, "won_revenue", "B").value == Decimal("1271.565")
    assert figure(result, "won_revenue").value == Decimal("111111111012382.670")


# -- scope -------------------------------------------------------------------------------------------


def scope_rows(gone_deleted: str = "true") -> list[list[str]]:
    return [
        ["a1", "A", "100", "Won", "2026-01-05", "2026-02-10", ""],
        ["a2", "A", "100", "Won", "2026-01-05", "2026-02-11", ""],
        ["b1", "B", "300", "Won", "2026-01-05", "2026-02-10", ""],
        ["b2", "B", "0", "Lost", "2026-01-05", "2026-02-10", ""],
        ["c1", "C", "0", "Lost", "2026-01-05", "2026-02-10", ""],
        # Gone's only deals are deleted: a big win and a loss that would shift every percentile
        ["g1", "Gone", "5000", "Won", "2026-01-05", "2026-02-10", gone_deleted],
        ["g2", "Gone", "0", "Lost", "2026-01-05", "2026-02-10", gone_deleted],
    ]


def test_a_partner_seen_only_on_deleted_deals_is_out_of_the_quality_score_scope(
    tmp_path: Path, state_url: str
) -> None:
    source = write_csv(tmp_path / "o.csv", scope_rows())
    store, result = sync(app_for(tmp_path, source, state_url))
    assert store.partner_ids("f") == {"A", "B", "C"}
    assert scope(result) == ["A", "B", "C"]
    # Among A, B, C (n = 3): revenue A 200, B 300, C 0 -> C 1/6, A 3/6, B 5/6;
    # deal_count A 2, B 1, C 0 -> C 1/6, B 3/6, A 5/6;
    # p0 = 3 won / 5 closed (Gone's deleted deals left out), smoothed with k = 5:
    # A (2 + 3) / 7, B (1 + 3) / 7, C (0 + 3) / 6 -> C 1/6, B 3/6, A 5/6.
    score_a = 100 * (0.5 * 3 / 6 + 0.3 * 5 / 6 + 0.2 * 5 / 6)
    score_b = 100 * (0.5 * 5 / 6 + 0.3 * 3 / 6 + 0.2 * 3 / 6)
    score_c = 100 * (0.5 / 6 + 0.3 / 6 + 0.2 / 6)
    assert figure(result, "quality_score", "A").value == pytest.approx(score_a)
    assert figure(result, "quality_score", "B").value == pytest.approx(score_b)
    assert figure(result, "quality_score", "C").value == pytest.approx(score_c)
    assert figure(result, "win_rate_smoothed", "C").value == pytest.approx(0.5)
    assert figure(result, "won_revenue", GroupKind.PARTNERS).value == Decimal(500)  # 200 + 300
    assert result.data_quality.unknown_partner == 0


def test_a_partner_whose_last_live_deal_is_deleted_leaves_the_scope_on_the_next_pull(
    tmp_path: Path, state_url: str
) -> None:
    source = write_csv(tmp_path / "o.csv", scope_rows(gone_deleted=""))
    app = app_for(tmp_path, source, state_url)
    _, before = sync(app)
    assert scope(before) == ["A", "B", "C", "Gone"]
    write_csv(source, scope_rows(gone_deleted="yes"))
    store, after = sync(app)
    assert scope(after) == ["A", "B", "C"]
    assert "Gone" in {p.id for p in store.partners("f", include_deleted=True) if p.deleted}
    assert figure(after, "quality_score", "C").value == pytest.approx(100 / 6)


# -- the rebuilt prior pipeline ----------------------------------------------------------------------


def test_a_deal_won_since_the_prior_end_with_no_stage_probability_weighs_one_in_the_prior(
    tmp_path: Path,
) -> None:
    source = write_csv(
        tmp_path / "o.csv",
        [
            # open on Dec 31 (L') and won on Feb 15; the Won stage has no probability in the config
            ["w", "A", "40", "Won", "2025-12-01", "2026-02-15", ""],
            ["t", "A", "100", "Talking", "2025-11-01", "", ""],  # open throughout, probability 0.25
        ],
    )
    _, result = sync(app_for(tmp_path, source))
    weighted = figure(result, "weighted_amount")
    # prior (Dec 31): 40 x 1 + 100 x 0.25 = 65; now (Mar 31): only the open deal, 25
    assert weighted.prior == Decimal(65)
    assert weighted.value == Decimal(25)
    assert figure(result, "open_amount").prior == Decimal(140)
