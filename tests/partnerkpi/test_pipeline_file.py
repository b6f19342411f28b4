"""The whole pipeline with no CRM at all: the file connector on tests/data/maven-crm.

Foundation acceptance: the known answer for all partners in last_365_days as of 2017-12-31; ``pull`` twice
leaves the same mirror; ``sync`` twice writes nothing the second time.
"""

from __future__ import annotations

import csv
import json
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from kpi_core.result import GroupKey, GroupKind
from partnerkpi.config import AppConfig, load_config
from partnerkpi.pipeline import (
    compute_kpis,
    connector_config,
    open_connector,
    pull_into_store,
    sync_connector,
)
from partnerkpi.progress import ProgressReporter
from partnerkpi.state import StateStore
from tests.cli_in_process import run_partnerkpi

REPO = Path(__file__).resolve().parents[2]
MAVEN = REPO / "tests" / "data" / "maven-crm" / "sales_pipeline.csv"

CONFIG = """
version: 1
state:
  url: sqlite:///state.sqlite
kpi:
  reporting_currency: USD
  periods: [last_365_days, previous_quarter]
connectors:
  - name: maven
    type: file
    path: {path}
    columns:
      id: opportunity_id
      partner: sales_agent
      amount: close_value
      stage: deal_stage
      created: engage_date
      closed: close_date
    stages:
      Won: won
      Lost: lost
      Engaging: open
      Prospecting: open
    output_path: out/partner_kpis.csv
writeback:
  maven:
    fields:
      - {{field: quality_score, kpi: quality_score, period: last_365_days}}
      - {{field: won_revenue, kpi: won_revenue, period: last_365_days}}
      - {{field: win_rate, kpi: win_rate, period: last_365_days}}
      - {{field: score_breakdown, kpi: score_breakdown, period: last_365_days}}
      - {{field: kpis_updated_at, kpi: updated_at}}
"""


@pytest.fixture
def app(tmp_path: Path) -> AppConfig:
    path = tmp_path / "partnerkpi.yaml"
    path.write_text(CONFIG.format(path=MAVEN))
    return load_config(path)


def quiet() -> ProgressReporter:
    return ProgressReporter.silent()


def mirror_rows(store: StateStore) -> list[tuple[object, ...]]:
    return sorted(
        (o.id, o.partner_id, o.amount, o.status, o.created_on, o.closed_on, o.deleted)
        for o in store.iter_opportunities("maven", include_deleted=True)
    )


def test_maven_known_answer_all_partners_last_365_days(app: AppConfig) -> None:
    from datetime import date

    store = StateStore.open(app.state.url)
    with open_connector(connector_config(app, "maven")) as connector:
        pull_into_store(store, connector, store.start_run("maven", "pull"), quiet())
    result = compute_kpis(store, app, "maven", as_of=date(2017, 12, 31))
    partners = result.for_group(GroupKey(GroupKind.PARTNERS), "last_365_days")
    assert partners is not None
    f = partners.figures
    assert f["deal_count"].value == 4238
    assert f["won_revenue"].value == Decimal("10005534")
    assert isinstance(f["avg_deal_size"].value, Decimal)
    assert f["avg_deal_size"].value.quantize(Decimal("0.01")) == Decimal("2360.91")
    assert round(float(f["win_rate"].value or 0), 4) == 0.6315
    # 30 agents with deals, each a partner; no direct deals in this data set.
    partner_groups = [
        g for g in result.groups if g.group.kind is GroupKind.PARTNER and g.period.name == "last_365_days"
    ]
    assert len(partner_groups) == 30
    direct = result.for_group(GroupKey(GroupKind.DIRECT), "last_365_days")
    assert direct is not None and direct.figures["deal_count"].value == 0


def test_pull_twice_leaves_the_same_mirror(app: AppConfig) -> None:
    store = StateStore.open(app.state.url)
    with open_connector(connector_config(app, "maven")) as connector:
        first = pull_into_store(store, connector, store.start_run("maven", "pull"), quiet())
        before = mirror_rows(store)
        second = pull_into_store(store, connector, store.start_run("maven", "pull"), quiet())
    assert first["inserted"] == 8800 and first["deleted"] == 0
    assert second["inserted"] == 0 and second["changed"] == 0 and second["deleted"] == 0
    assert second["unchanged"] == 8800
    assert mirror_rows(store) == before


def test_sync_twice_writes_nothing_the_second_time(app: AppConfig, tmp_path: Path) -> None:
    from datetime import date

    store = StateStore.open(app.state.url)
    first = sync_connector(app, store, "maven", quiet(), as_of=date(2017, 12, 31))
    assert first.status == "ok", first.message
    assert first.counts["written_records"] == 30
    output = tmp_path / "out" / "partner_kpis.csv"
    rows = list(csv.DictReader(output.open()))
    assert len(rows) == 30
    assert set(rows[0]) >= {"partner_id", "quality_score", "won_revenue", "win_rate", "kpis_updated_at"}
    content = output.read_bytes()
    second = sync_connector(app, store, "maven", quiet(), as_of=date(2017, 12, 31))
    assert second.status == "ok"
    assert second.counts["planned_fields"] == 0
    assert "written_records" not in second.counts
    assert output.read_bytes() == content
    assert [r.status for r in store.runs(limit=5, connector="maven")] == ["ok", "ok"]


def test_cli_sync_report_json_and_runs(app: AppConfig, tmp_path: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        """In this process: what the commands do is tested here, the process in test_cli."""
        return run_partnerkpi(["--config", str(tmp_path / "partnerkpi.yaml"), *args], cwd=tmp_path)

    sync = cli("sync", "--as-of", "2017-12-31")
    assert sync.returncode == 0, sync.stderr
    assert "wrote" in sync.stdout
    again = cli("sync", "--as-of", "2017-12-31")
    assert again.returncode == 0 and "wrote" not in again.stdout
    report = cli("report", "--format", "json", "--as-of", "2017-12-31", "--period", "last_365_days")
    assert report.returncode == 0, report.stderr
    doc = json.loads(report.stdout)
    assert doc["schema"] == "partnerkpi.report/v1"
    (conn,) = doc["connectors"]
    partners = next(g for g in conn["groups"] if g["group"]["kind"] == "partners")
    assert partners["figures"]["won_revenue"]["value"] == "10005534"
    assert partners["figures"]["deal_count"]["value"] == 4238
    runs = cli("runs")
    assert runs.returncode == 0 and runs.stdout.count("sync") >= 2
