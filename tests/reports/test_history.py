"""A partner's KPIs across stored snapshots: read back exactly as each run computed them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from rich.console import Console

from kpi_core.result import GroupKey, GroupKind
from partnerkpi.reports.history import (
    history_table,
    latest_runs,
    partner_history,
    print_history,
    report_history,
    series,
)
from partnerkpi.reports.serialize import group_dict
from partnerkpi.state import StateStore
from partnerkpi.state.records import SnapshotRow
from tests.reports.conftest import SNAPSHOTS
from tests.reports.sandbox_sample import CONNECTOR, Sample, open_store

PARTNER = "P-0008"


def test_partner_history_has_one_point_per_snapshot_and_period(sample_store: StateStore) -> None:
    points = partner_history(sample_store, CONNECTOR, PARTNER)
    assert len(points) == SNAPSHOTS * 3
    assert [p.as_of for p in points] == sorted(p.as_of for p in points)
    assert {p.period for p in points} == {"last_90_days", "quarter_to_date", "last_365_days"}


def test_partner_history_equals_what_each_run_computed(sample: Sample, sample_store: StateStore) -> None:
    points = partner_history(sample_store, CONNECTOR, PARTNER, period="last_90_days")
    assert len(points) == SNAPSHOTS
    for p in points[-3:]:
        computed = sample.result(p.as_of).for_group(GroupKey(GroupKind.PARTNER, PARTNER), "last_90_days")
        assert computed is not None
        assert p.quality_score == computed.figures["quality_score"].value
        assert p.won_revenue == computed.figures["won_revenue"].value
        assert p.deal_count == computed.figures["deal_count"].value
        assert p.win_rate == computed.figures["win_rate"].value
        assert p.open_amount == computed.figures["open_amount"].value
        assert p.low_sample == computed.low_sample


def test_partner_history_of_an_unknown_partner_is_empty(sample_store: StateStore) -> None:
    assert partner_history(sample_store, CONNECTOR, "nobody") == []
    assert partner_history(sample_store, "another-connector", PARTNER) == []


def test_a_second_run_on_the_same_day_is_a_row_and_wins_the_chart(sample: Sample, tmp_path: Path) -> None:
    store = open_store(tmp_path)
    sample.fill_store(store, 2)
    day = sample.data.end
    result = sample.result(day)
    group = result.for_group(GroupKey(GroupKind.PARTNER, PARTNER), "last_90_days")
    assert group is not None
    run_id = store.start_run(CONNECTOR, "sync")
    payload = group_dict(group)
    payload["figures"]["quality_score"]["value"] = 1.5  # what a later run of the same day measured
    store.save_snapshot(CONNECTOR, run_id, day, [SnapshotRow.from_group(group, payload)])
    points = partner_history(store, CONNECTOR, PARTNER, "last_90_days")
    assert [p.as_of for p in points] == [day - timedelta(days=30), day, day]
    chart = series(points, "last_90_days")
    assert [p.as_of for p in chart] == [day - timedelta(days=30), day]
    assert chart[-1].quality_score == 1.5 and chart[-1].run_id == run_id
    assert latest_runs(store, CONNECTOR)[-1] == run_id
    store.close()


def test_report_history_keeps_the_latest_days_and_the_partners_asked_for(sample_store: StateStore) -> None:
    history = report_history(sample_store, [CONNECTOR], partner_ids=[PARTNER, "P-0001"], points=4)
    by_partner = history[CONNECTOR]
    assert set(by_partner) == {PARTNER, "P-0001"}
    days = sorted({p.as_of for p in by_partner[PARTNER]})
    every_day = sorted({p.as_of for p in partner_history(sample_store, CONNECTOR, PARTNER)})
    assert days == every_day[-4:]
    assert len(by_partner[PARTNER]) == 4 * 3


def test_history_table_shows_one_row_per_snapshot_within_100_columns(sample_store: StateStore) -> None:
    points = partner_history(sample_store, CONNECTOR, PARTNER, "last_90_days")
    console = Console(width=100, record=True, color_system=None)
    console.print(history_table(points, "history"))
    text = console.export_text()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 100
    for p in points:
        row = next(line for line in lines if p.as_of.isoformat() in line)
        assert f"{p.won_revenue:,.0f}" in row
        assert f"{p.quality_score:.1f}" in row


def test_history_table_marks_the_changes_against_the_snapshot_above(sample_store: StateStore) -> None:
    points = partner_history(sample_store, CONNECTOR, PARTNER, "last_90_days")[-2:]
    console = Console(width=100, record=True, color_system=None)
    console.print(history_table(points, "history"))
    last = next(line for line in console.export_text().splitlines() if points[1].as_of.isoformat() in line)
    assert points[0].quality_score is not None and points[1].quality_score is not None
    arrow = "▲" if points[1].quality_score > points[0].quality_score else "▼"
    assert f"{points[1].quality_score:.1f}" in last and arrow in last


def test_print_history_prints_a_table_per_period(sample_store: StateStore) -> None:
    console = Console(width=100, record=True, color_system=None)
    shown = print_history(
        console, sample_store, CONNECTOR, PARTNER, ["last_90_days", "last_365_days"], "Brightridge", "USD"
    )
    text = console.export_text()
    assert shown == 2 * SNAPSHOTS
    assert "Brightridge (P-0008) · last 90 days · USD" in text
    assert "last 365 days" in text and "quarter to date" not in text


def test_print_history_says_when_nothing_is_stored(sample_store: StateStore) -> None:
    console = Console(width=100, record=True, color_system=None)
    assert print_history(console, sample_store, CONNECTOR, "nobody", []) == 0
    assert "no stored snapshots of partner nobody" in console.export_text()


def test_print_history_names_the_stored_periods_when_none_asked_for_is_stored(
    sample_store: StateStore,
) -> None:
    console = Console(width=100, record=True, color_system=None)
    assert print_history(console, sample_store, CONNECTOR, PARTNER, ["this_month"]) == 0
    text = console.export_text()
    assert "for this_month" in text and "last_90_days" in text


def test_print_history_shows_every_stored_period_by_default(sample_store: StateStore) -> None:
    console = Console(width=100, record=True, color_system=None)
    assert print_history(console, sample_store, CONNECTOR, PARTNER) == 3 * SNAPSHOTS
    assert "quarter to date" in console.export_text()
