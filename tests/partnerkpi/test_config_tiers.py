"""kpi.tiers in the YAML (docs/kpis.md, "Partner tiers"): each error names its path and line."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.partnerkpi.test_config import error, load

TIERS = """
kpi:
  periods: [last_90_days]
  tiers:
    measure: quality_score
    period: previous_quarter
    demote_after: 2
    levels:
      - {name: Platinum, min: 80}
      - {name: Gold, min: 60}
      - {name: Registered, min: 0}
"""  # lines: 1 kpi, 2 periods, 3 tiers, 4 measure, 5 period, 6 demote_after, 7 levels, 8, 9, 10


def test_tiers_are_off_by_default_and_load_when_configured(tmp_path: Path) -> None:
    assert load(tmp_path, "kpi:\n  periods: [last_90_days]\n").kpi.tiers is None
    tiers = load(tmp_path, TIERS).kpi.tiers
    assert tiers is not None and tiers.names == ["Platinum", "Gold", "Registered"]
    assert (tiers.measure, tiers.demote_after, tiers.history, tiers.levels[1].min) == (
        "quality_score",
        2,
        8,
        Decimal(60),
    )


def test_levels_must_decrease_strictly(tmp_path: Path) -> None:
    err = error(tmp_path, TIERS.replace("Gold, min: 60", "Gold, min: 80"))
    assert str(err) == (
        "kpi.tiers.levels[1].min: 80 is not below levels[0].min (80): list the levels highest first "
        "(config.yaml:9)"
    )


def test_level_names_are_unique_ignoring_case(tmp_path: Path) -> None:
    err = error(tmp_path, TIERS.replace("Registered", "gold"))
    assert (
        str(err)
        == "kpi.tiers.levels[2].name: 'gold' is the name of levels[1] (ignoring case) (config.yaml:10)"
    )


def test_a_level_name_must_be_usable_as_a_picklist_value(tmp_path: Path) -> None:
    err = error(tmp_path, TIERS.replace("Gold,", "'Gold; Silver',"))
    assert str(err).startswith("kpi.tiers.levels[1].name: ") and "';'" in str(err)
    assert str(err).endswith("(config.yaml:9)")
    err = error(tmp_path, TIERS.replace("Gold,", "' Gold',"))
    assert "blanks around it" in str(err) and str(err).endswith("(config.yaml:9)")


def test_the_measure_is_a_supported_partner_figure(tmp_path: Path) -> None:
    err = error(tmp_path, TIERS.replace("measure: quality_score", "measure: quality"))
    assert str(err).startswith("kpi.tiers.measure: ") and "unknown figure 'quality'" in str(err)
    assert str(err).endswith("(config.yaml:4)")
    err = error(tmp_path, TIERS.replace("measure: quality_score", "measure: open_amount"))
    assert "'open_amount' cannot be a tier measure yet" in str(err) and str(err).endswith("(config.yaml:4)")
    assert load(tmp_path, TIERS.replace("quality_score", "won_revenue")).kpi.tiers is not None


def test_the_period_is_a_completed_period_name(tmp_path: Path) -> None:
    err = error(tmp_path, TIERS.replace("period: previous_quarter", "period: quarter_to_date"))
    assert str(err).startswith("kpi.tiers.period: 'quarter_to_date' is not a completed period")
    assert str(err).endswith("(config.yaml:5)")
    err = error(tmp_path, TIERS.replace("period: previous_quarter", "period: previous_week"))
    assert "unknown period 'previous_week'" in str(err) and str(err).endswith("(config.yaml:5)")


def test_demote_after_is_at_least_one_and_within_the_history(tmp_path: Path) -> None:
    err = error(tmp_path, TIERS.replace("demote_after: 2", "demote_after: 0"))
    assert str(err).startswith("kpi.tiers.demote_after: ") and str(err).endswith("(config.yaml:6)")
    err = error(tmp_path, TIERS.replace("demote_after: 2", "demote_after: 9"))
    assert str(err) == (
        "kpi.tiers.demote_after: 9 is more than history (8): a demotion could never happen (config.yaml:6)"
    )
