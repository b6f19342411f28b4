"""KpiSettings: defaults from kpis.md and precise validation errors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from kpi_core import KpiSettings, Segment


def errors(data: dict[str, Any]) -> list[tuple[tuple[int | str, ...], str]]:
    with pytest.raises(ValidationError) as info:
        KpiSettings.model_validate(data)
    return [(tuple(e["loc"]), e["msg"]) for e in info.value.errors()]


def test_defaults_follow_kpis_md() -> None:
    s = KpiSettings()
    assert s.reporting_currency == "USD" and s.timezone == "UTC" and s.fiscal_year_start_month == 1
    assert s.periods == ["last_90_days", "quarter_to_date", "last_365_days"]
    assert (s.weights.won_revenue, s.weights.deal_count, s.weights.win_rate_smoothed) == (0.5, 0.3, 0.2)
    assert s.smoothing_k == 5 and s.min_closed == 3 and s.targets == []
    table = s.segment_table()
    assert table["paid_search"] is Segment.PAID and table["purchased list"] is Segment.PAID
    assert table["web"] is Segment.OWNED and table["word of mouth"] is Segment.EARNED
    assert table["offline"] is Segment.UNCLASSIFIED


def test_weights_not_summing_to_one_are_rejected() -> None:
    [(loc, msg)] = errors({"weights": {"won_revenue": 0.5, "deal_count": 0.3, "win_rate_smoothed": 0.3}})
    assert loc == ("weights",) and "sum to 1" in msg


def test_weights_within_tolerance_are_accepted() -> None:
    s = KpiSettings.model_validate(
        {"weights": {"won_revenue": 0.1, "deal_count": 0.2, "win_rate_smoothed": 0.7}}
    )
    assert s.weights.win_rate_smoothed == 0.7


def test_negative_weight_is_rejected_at_its_place() -> None:
    locs = [
        loc
        for loc, _ in errors({"weights": {"won_revenue": 1.2, "deal_count": -0.2, "win_rate_smoothed": 0}})
    ]
    assert ("weights", "deal_count") in locs


def test_negative_smoothing_k_is_rejected() -> None:
    [(loc, msg)] = errors({"smoothing_k": -1})
    assert loc == ("smoothing_k",) and "greater than or equal to 0" in msg


def test_unknown_keys_are_errors() -> None:
    [(loc, _)] = errors({"weights": {"won_revenue": 1, "deal_count": 0, "win_rate_smoothed": 0, "bonus": 1}})
    assert loc == ("weights", "bonus")


def test_unknown_period_is_named_with_its_index() -> None:
    [(loc, msg)] = errors({"periods": ["last_30_days", "last_month"]})
    assert loc == ("periods",) and "periods[1]" in msg and "last_month" in msg


def test_duplicate_period_is_rejected() -> None:
    [(_, msg)] = errors({"periods": ["last_30_days", "last_30_days"]})
    assert "twice" in msg


def test_unknown_timezone_and_fiscal_month() -> None:
    found = dict(errors({"timezone": "Mars/Olympus", "fiscal_year_start_month": 13}))
    assert "unknown time zone" in found[("timezone",)]
    assert ("fiscal_year_start_month",) in found


def test_currency_code_is_normalised_and_checked() -> None:
    assert KpiSettings(reporting_currency="eur").reporting_currency == "EUR"
    [(loc, _)] = errors({"reporting_currency": "EURO"})
    assert loc == ("reporting_currency",)


def test_a_channel_in_two_segments_is_rejected() -> None:
    [(loc, msg)] = errors({"channel_segments": {"paid": ["Web"], "owned": ["web"]}})
    assert loc == ("channel_segments",) and "both" in msg


def test_unknown_segment_is_rejected() -> None:
    [(loc, _)] = errors({"channel_segments": {"bought": ["x"]}})
    assert loc[0] == "channel_segments"


def test_targets_are_checked() -> None:
    s = KpiSettings.model_validate(
        {"targets": [{"group": "partner:001A", "period": "last_90_days", "open_amount": "25000"}]}
    )
    assert s.target_for("partner:001A", "last_90_days") == Decimal(25000)
    assert s.target_for("partners", "last_90_days") is None
    [(loc, _)] = errors({"targets": [{"group": "resellers", "period": "last_90_days", "open_amount": 1}]})
    assert loc == ("targets", 0, "group")
    [(loc, _)] = errors({"targets": [{"group": "overall", "period": "last_90_days", "open_amount": 0}]})
    assert loc == ("targets", 0, "open_amount")
    [(_, msg)] = errors({"targets": [{"group": "overall", "period": "month_to_date", "open_amount": 1}]})
    assert "targets[0].period" in msg and "not one of periods" in msg


def test_compare_to_defaults_to_the_prior_period_alone() -> None:
    s = KpiSettings()
    assert s.compare_to == ["prior"] and not s.last_year


def test_compare_to_accepts_prior_last_year_or_both() -> None:
    for value in (["prior"], ["last_year"], ["prior", "last_year"], ["last_year", "prior"]):
        s = KpiSettings.model_validate({"compare_to": value})
        assert s.compare_to == value and s.last_year is ("last_year" in value)


def test_compare_to_rejects_an_unknown_comparison_at_its_index() -> None:
    [(loc, msg)] = errors({"compare_to": ["prior", "last_month"]})
    assert loc == ("compare_to", 1) and "'prior'" in msg and "'last_year'" in msg


def test_compare_to_rejects_a_duplicate_and_an_empty_list() -> None:
    [(loc, msg)] = errors({"compare_to": ["last_year", "last_year"]})
    assert loc == ("compare_to",) and msg == "Value error, compare_to[1]: 'last_year' is listed twice"
    [(loc, _)] = errors({"compare_to": []})
    assert loc == ("compare_to",)
