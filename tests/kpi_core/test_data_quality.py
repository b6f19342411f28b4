"""kpis.md "Data quality": each counter, and what a record that breaks a rule is left out of."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from kpi_core import GroupKind, Status
from tests.kpi_core.builders import group, opp, run, value

WON, LOST, OPEN = Status.WON, Status.LOST, Status.OPEN
MAR = date(2024, 3, 1)


def counters(result: object) -> dict[str, int]:
    found = result.data_quality.as_dict()  # type: ignore[attr-defined]
    return {k: v for k, v in found.items() if v}


def test_missing_amount_still_counts_in_deal_count_and_rates_not_in_sums() -> None:
    result = run(
        [opp(WON, amount=None, original=None), opp(WON, amount=100), opp(LOST, amount=None, original=None)]
    )
    assert counters(result) == {"missing_amount": 2}
    assert value(result, "deal_count") == 2
    assert value(result, "won_revenue") == Decimal(100)
    assert value(result, "avg_deal_size") == Decimal(100)
    assert value(result, "win_rate") == 2 / 3


def test_amount_without_amount_original_counts_as_missing() -> None:
    result = run([opp(WON, amount=70, original=None), opp(WON, amount=100)])
    assert counters(result) == {"missing_amount": 1}
    assert value(result, "won_revenue") == Decimal(100)


def test_negative_amount_is_treated_as_missing() -> None:
    deals = [opp(WON, amount=-50, created=MAR, closed=date(2024, 3, 11)), opp(WON, amount=100, created=MAR)]
    deals.append(opp(OPEN, amount=-5, created=MAR))
    result = run(deals)
    assert counters(result) == {"negative_amount": 2}
    assert value(result, "deal_count") == 2
    assert value(result, "won_revenue") == Decimal(100)
    assert value(result, "avg_cycle_days") == (10 + 30) / 2  # still in the cycle
    assert value(result, "open_count") == 1 and value(result, "open_amount") == Decimal(0)


def test_unknown_currency_and_negative_original_break_both_rules() -> None:
    result = run([opp(WON, amount=None, original="-10", currency="XYZ")])
    assert counters(result) == {"unknown_currency": 1, "negative_amount": 1}
    assert value(result, "deal_count") == 1 and value(result, "won_revenue") == Decimal(0)


def test_unknown_stage_is_left_out_entirely() -> None:
    result = run(
        [opp(None, amount=100, created=MAR, closed=None), opp(None, created=MAR, closed=date(2024, 3, 5))]
    )
    assert counters(result) == {"unknown_stage": 2}
    for name in ("deal_count", "closed_count", "created_count", "open_count"):
        assert value(result, name) == 0, name


def test_closed_without_close_date_is_left_out_entirely() -> None:
    result = run(
        [opp(WON, created=MAR, closed=None), opp(LOST, created=MAR, closed=None), opp(OPEN, created=MAR)]
    )
    assert counters(result) == {"closed_without_close_date": 2}
    assert value(result, "created_count") == 1
    assert value(result, "closed_count") == 0
    assert value(result, "open_count") == 1


def test_missing_created_is_left_out_of_created_open_at_and_the_cycle_only() -> None:
    deals = [
        opp(WON, amount=100, created=None),
        opp(LOST, created=None),
        opp(OPEN, created=None),
        opp(WON, amount=300, created=date(2024, 3, 21)),
    ]
    result = run(deals)
    assert counters(result) == {"missing_created": 3}
    assert value(result, "deal_count") == 2
    assert value(result, "won_revenue") == Decimal(400)
    assert value(result, "win_rate") == 2 / 3
    assert value(result, "avg_cycle_days") == 10.0
    assert value(result, "created_count") == 1
    assert value(result, "open_count") == 0


def test_unknown_partner_is_counted_per_record_and_stays_a_partner_deal() -> None:
    deals = [opp(WON, partner="X", amount=5), opp(OPEN, partner="X"), opp(WON, partner="A", amount=1)]
    result = run(deals, partners=["A"])
    assert counters(result) == {"unknown_partner": 2}
    assert value(result, "won_revenue", GroupKind.PARTNERS) == Decimal(6)
    assert [g.group.partner_id for g in result.groups if g.group.kind is GroupKind.PARTNER] == ["A"]
    assert counters(run(deals)) == {}


def test_counters_count_input_records_once_whatever_the_periods() -> None:
    deals = [
        opp(WON, amount=None, original=None),
        opp(WON, amount=None, original=None, closed=date(2019, 1, 1)),
    ]
    result = run(deals, periods=["last_30_days", "last_90_days", "year_to_date", "previous_month"])
    assert counters(result) == {"missing_amount": 2}
    assert group(result, GroupKind.OVERALL, "year_to_date").figures["deal_count"].value == 1


def test_an_absurd_amount_is_read_as_no_amount() -> None:
    from kpi_core.money import to_money

    assert to_money("1e9999") is None
    assert to_money("1E15") is None
    assert to_money("999999999999999.99") == Decimal("999999999999999.99")
