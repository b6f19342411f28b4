"""One test per rule of kpis.md ("The KPIs", "Sets", groups and scope)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from kpi_core import GroupKind, RateTable, Segment, Status
from kpi_core.money import DatedRate
from kpi_core.scoring import percentiles
from tests.kpi_core.builders import group, opp, prior, run, value

WON, LOST, OPEN = Status.WON, Status.LOST, Status.OPEN
MAR = date(2024, 3, 1)


def test_avg_deal_size_the_articles_example_200_and_400_in_the_last_15_days_give_300() -> None:
    result = run(
        [opp(WON, amount=200, closed=date(2024, 3, 20)), opp(WON, amount=400, closed=date(2024, 3, 30))],
        periods=["last_15_days"],
    )
    assert value(result, "avg_deal_size") == Decimal(300)
    assert value(result, "won_revenue") == Decimal(600)
    assert value(result, "deal_count") == 2


def test_avg_deal_size_a_lost_deal_never_enters_it() -> None:
    result = run([opp(WON, amount=200), opp(WON, amount=400), opp(LOST, amount=5000)])
    assert value(result, "avg_deal_size") == Decimal(300)
    assert value(result, "won_revenue") == Decimal(600)


def test_avg_deal_size_counts_only_won_deals_with_an_amount_and_is_none_without_any() -> None:
    result = run([opp(WON, amount=200), opp(WON, amount=None)])
    assert value(result, "avg_deal_size") == Decimal(200)
    assert value(result, "deal_count") == 2
    assert value(run([opp(WON, amount=None)]), "avg_deal_size") is None
    assert value(run([opp(LOST)]), "avg_deal_size") is None


def test_deal_count_is_won_deals_closed_in_the_period() -> None:
    result = run(
        [
            opp(WON),
            opp(WON, closed=date(2023, 12, 1)),
            opp(LOST),
            opp(OPEN),
            opp(WON, closed=date(2024, 4, 1)),
        ]
    )
    assert value(result, "deal_count") == 1
    assert prior(result, "deal_count") == 1


def test_win_rate_is_none_with_nothing_closed() -> None:
    result = run([opp(OPEN), opp(OPEN)])
    assert value(result, "win_rate") is None
    assert value(result, "closed_count") == 0


def test_win_rate_is_won_over_closed_with_closed_count() -> None:
    result = run([opp(WON), opp(WON), opp(LOST)])
    assert value(result, "win_rate") == pytest.approx(2 / 3)
    assert value(result, "closed_count") == 3


def test_close_rate_of_the_cohort_with_open_deals_and_cohort_open() -> None:
    created = date(2024, 2, 1)
    cohort = [opp(WON, created=created), opp(WON, created=created), opp(LOST, created=created)]
    cohort += [opp(OPEN, created=created), opp(OPEN, created=created)]
    older = [opp(WON, created=date(2023, 6, 1))]  # won in P, created before it: not in CREATED
    result = run(cohort + older)
    assert value(result, "created_count") == 5
    assert value(result, "close_rate") == pytest.approx(2 / 5)
    assert value(result, "cohort_open") == 2
    assert value(run([opp(WON, created=date(2023, 6, 1))]), "close_rate") is None


def velocity_case() -> list[object]:
    return [
        opp(WON, amount=100, created=MAR, closed=date(2024, 3, 31)),  # 30 days
        opp(WON, amount=300, created=date(2024, 3, 31), closed=date(2024, 3, 21)),  # -10 days: counts as 0
        opp(LOST, amount=50),
        opp(LOST, amount=50),
        opp(OPEN, amount=10, created=MAR),
        opp(OPEN, amount=20, created=MAR),
    ]


def test_deal_velocity_on_a_hand_computed_case() -> None:
    result = run(velocity_case())  # type: ignore[arg-type]
    assert value(result, "open_count") == 2
    assert value(result, "win_rate") == 0.5
    assert value(result, "avg_deal_size") == Decimal(200)
    assert value(result, "avg_cycle_days") == 15.0  # (30 + 0) / 2
    # 2 x 0.5 x 200 / 15 = 13.33..., exact in Decimal
    assert value(result, "deal_velocity") == Decimal(200) / Decimal(15)


def test_avg_cycle_days_is_at_least_one() -> None:
    result = run([opp(WON, created=date(2024, 3, 31), closed=date(2024, 3, 31))])
    assert value(result, "avg_cycle_days") == 1.0


def test_deal_velocity_is_none_when_a_factor_is_none() -> None:
    result = run([opp(OPEN, created=MAR)])  # win_rate and avg_deal_size are None
    assert value(result, "deal_velocity") is None
    result = run([opp(OPEN, created=MAR), opp(LOST)])  # avg_deal_size None (nothing won)
    assert value(result, "deal_velocity") is None


def test_deal_velocity_is_zero_when_open_count_is_zero() -> None:
    result = run([opp(WON), opp(LOST)])
    assert value(result, "open_count") == 0
    assert value(result, "deal_velocity") == Decimal(0)


def test_percentile_ties_count_half() -> None:
    assert percentiles([1, 1, 2, 3]) == [0.25, 0.25, 0.625, 0.875]
    assert percentiles([Decimal(0)] * 4) == [0.5] * 4


def test_quality_score_on_a_hand_computed_case() -> None:
    a = [opp(WON, partner="A", amount=100), opp(WON, partner="A", amount=100)]
    b = [opp(WON, partner="B", amount=300), opp(LOST, partner="B")]
    result = run(a + b, partners=["A", "B", "C"])
    # p0 = 3/4; smoothed: A 5.75/7, B 4.75/7, C 3.75/5
    assert value(result, "win_rate_smoothed", "A") == pytest.approx(5.75 / 7)
    assert value(result, "win_rate_smoothed", "C") == pytest.approx(0.75)
    assert value(result, "pct_won_revenue", "A") == pytest.approx(1.5 / 3)
    assert value(result, "pct_deal_count", "B") == pytest.approx(0.5)
    assert value(result, "pct_win_rate_smoothed", "B") == pytest.approx(1 / 6)
    assert value(result, "quality_score", "A") == pytest.approx(100 * (0.5 * 0.5 + 0.3 * 5 / 6 + 0.2 * 5 / 6))
    assert value(result, "quality_score", "B") == pytest.approx(100 * (0.5 * 5 / 6 + 0.3 * 0.5 + 0.2 / 6))
    assert value(result, "quality_score", "C") == pytest.approx(100 * (0.5 / 6 + 0.3 / 6 + 0.2 * 0.5))
    assert "quality_score" not in group(result, GroupKind.PARTNERS).figures


def test_quality_score_ties_score_the_same() -> None:
    deals = [opp(WON, partner=p, amount=500) for p in ("A", "B")] + [opp(WON, partner="C", amount=900)]
    result = run(deals)
    assert value(result, "quality_score", "A") == value(result, "quality_score", "B")
    assert value(result, "pct_won_revenue", "A") == pytest.approx(1 / 3)  # (0 below + 0.5 x 2 equal) / 3


def test_quality_score_change_is_score_minus_prior_score() -> None:
    now = [opp(WON, partner="A"), opp(LOST, partner="B")]
    before = [
        opp(WON, partner="B", closed=date(2023, 12, 1)),
        opp(LOST, partner="A", closed=date(2023, 12, 1)),
    ]
    result = run(now + before)
    fig = group(result, "A").figures["quality_score"]
    assert fig.value is not None and fig.prior is not None
    assert fig.value > fig.prior
    assert fig.change == pytest.approx(fig.value - fig.prior)  # type: ignore[operator]


def test_smoothing_uses_the_partner_win_rate_in_the_period() -> None:
    deals = [opp(WON, partner="A"), opp(LOST, partner="B"), opp(LOST, partner="B"), opp(LOST, partner="B")]
    deals += [opp(WON, partner=None)] * 1  # a direct deal is not a partner deal: p0 stays 1/4
    result = run(deals, smoothing_k=5)
    assert value(result, "win_rate_smoothed", "A") == pytest.approx((1 + 5 * 0.25) / (1 + 5))
    assert value(result, "win_rate_smoothed", "B") == pytest.approx((0 + 5 * 0.25) / (3 + 5))


def test_smoothing_p0_is_one_half_when_no_partner_deal_closed() -> None:
    result = run([opp(OPEN, partner="A"), opp(WON, partner=None)], partners=["A", "B"])
    assert value(result, "win_rate_smoothed", "A") == 0.5
    assert value(result, "win_rate_smoothed", "B") == 0.5


def test_low_sample_below_min_closed() -> None:
    deals = [opp(WON, partner="A"), opp(LOST, partner="A")] + [opp(WON, partner="B")] * 3
    result = run(deals, min_closed=3)
    assert group(result, "A").low_sample is True
    assert group(result, "B").low_sample is False
    assert group(result, GroupKind.PARTNERS).low_sample is None


def test_deleted_records_are_left_out_of_everything() -> None:
    kept = [opp(WON, amount=100)]
    gone = [opp(WON, amount=900, deleted=True), opp(OPEN, amount=None, deleted=True, created=None)]
    result = run(kept + gone)
    assert value(result, "deal_count") == 1 and value(result, "won_revenue") == Decimal(100)
    assert value(result, "open_count") == 0
    assert result.data_quality.as_dict() == dict.fromkeys(result.data_quality.as_dict(), 0)
    assert result.opportunities_seen == 3


def test_groups_partner_partners_direct_overall() -> None:
    deals = [
        opp(WON, partner="A", amount=1),
        opp(WON, partner="B", amount=2),
        opp(WON, partner=None, amount=4),
    ]
    result = run(deals)
    assert value(result, "won_revenue", "A") == Decimal(1)
    assert value(result, "won_revenue", GroupKind.PARTNERS) == Decimal(3)
    assert value(result, "won_revenue", GroupKind.DIRECT) == Decimal(4)
    assert value(result, "won_revenue", GroupKind.OVERALL) == Decimal(7)
    kinds = [g.group.kind for g in result.groups]
    assert kinds == [GroupKind.PARTNER] * 2 + [GroupKind.PARTNERS, GroupKind.DIRECT, GroupKind.OVERALL]


def test_scope_is_the_known_partners_and_a_partner_without_deals_gets_zeros() -> None:
    result = run([opp(WON, partner="A")], partners=["A", "Z"])
    assert value(result, "deal_count", "Z") == 0
    assert value(result, "won_revenue", "Z") == Decimal(0)
    # p0 = 1, so A (1 + 5) / (1 + 5) and Z (0 + 5) / 5 tie on the smoothed win rate
    assert value(result, "win_rate_smoothed", "Z") == 1.0
    assert value(result, "quality_score", "Z") == pytest.approx(100 * (0.5 * 0.25 + 0.3 * 0.25 + 0.2 * 0.5))


def test_without_partner_records_the_scope_is_every_partner_seen() -> None:
    result = run([opp(OPEN, partner="A"), opp(WON, partner="B")])
    partners = sorted(g.group.partner_id or "" for g in result.groups if g.group.kind is GroupKind.PARTNER)
    assert partners == ["A", "B"]
    assert result.data_quality.unknown_partner == 0


def test_segments_add_up_to_the_totals() -> None:
    deals = [
        opp(WON, amount=100, channel="PAID_SEARCH", created=MAR),
        opp(WON, amount=50, channel="paid_search ", created=MAR),
        opp(WON, amount=30, channel="Web", created=MAR),
        opp(LOST, channel="Word of mouth", created=MAR),
        opp(WON, amount=20, channel=None, created=MAR),
        opp(WON, amount=1, channel="a trade fair", created=MAR),
        opp(OPEN, channel="OFFLINE", created=MAR),
    ]
    g = group(run(deals), GroupKind.OVERALL)
    paid = g.channels[Segment.PAID]
    assert paid["deal_count"].value == 2 and paid["won_revenue"].value == Decimal(150)
    assert g.channels[Segment.UNCLASSIFIED]["deal_count"].value == 2
    assert g.channels[Segment.EARNED]["win_rate"].value == 0.0
    for name in ("deal_count", "won_revenue"):
        assert sum(c[name].value for c in g.channels.values()) == g.figures[name].value  # type: ignore[misc]
    shares = [c["revenue_share"].value for c in g.channels.values()]
    assert sum(s for s in shares if s is not None) == pytest.approx(1.0)
    assert g.channels[Segment.UNCLASSIFIED]["close_rate"].value == pytest.approx(2 / 3)


def test_revenue_share_is_none_when_nothing_was_won() -> None:
    g = group(run([opp(LOST, channel="Web")]), GroupKind.OVERALL)
    assert all(c["revenue_share"].value is None for c in g.channels.values())


def test_currency_conversion_at_the_dated_rate_before_any_sum() -> None:
    rates = RateTable("USD", static={"EUR": Decimal("0.5")})
    rates.add_dated(
        [
            DatedRate("EUR", Decimal("0.9"), date(2024, 1, 1), date(2024, 3, 1)),
            DatedRate("EUR", Decimal("0.8"), date(2024, 3, 1)),
        ]
    )

    def in_eur(amount: str, closed: date) -> object:
        original = Decimal(amount)
        converted = rates.convert(original, "EUR", closed)
        return opp(WON, amount=converted, original=original, currency="EUR", closed=closed)

    result = run([in_eur("90", date(2024, 2, 10)), in_eur("80", date(2024, 3, 10))])  # type: ignore[list-item]
    assert value(result, "won_revenue") == Decimal(200)
    assert isinstance(value(result, "won_revenue"), Decimal)


def test_an_unknown_currency_is_never_summed() -> None:
    rates = RateTable("USD")
    original = Decimal(1000)
    stray = opp(
        WON, amount=rates.convert(original, "XYZ", date(2024, 3, 1)), original=original, currency="XYZ"
    )
    result = run([stray, opp(WON, amount=100)])
    assert value(result, "won_revenue") == Decimal(100)
    assert value(result, "deal_count") == 2
    assert value(result, "avg_deal_size") == Decimal(100)
    assert result.data_quality.unknown_currency == 1


def test_every_figure_has_its_prior_and_change() -> None:
    result = run([opp(WON, amount=300), opp(WON, amount=100, closed=date(2023, 12, 1))])
    fig = group(result).figures["won_revenue"]
    assert (fig.value, fig.prior, fig.change) == (Decimal(300), Decimal(100), Decimal(200))
    assert fig.change_pct == 2.0
    names = set(group(result).figures)
    assert {
        "deal_count",
        "avg_deal_size",
        "open_amount",
        "pipeline_change_pct",
        "coverage",
        "deal_velocity",
    } <= names
    count = group(result).figures["win_rate"]
    assert count.change == 0.0 and count.change_pct == 0.0
