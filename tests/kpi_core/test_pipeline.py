"""kpis.md KPI 3: OPEN_AT(d), the weighted pipeline, its change (rebuilt or from a snapshot) and coverage."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from kpi_core import GroupKey, GroupKind, KpiSettings, Opportunity, PipelineSource, Status, compute
from kpi_core.compute import accumulator, kpis
from tests.kpi_core.builders import group, opp, prior, run, value

WON, LOST, OPEN = Status.WON, Status.LOST, Status.OPEN
AS_OF = date(2024, 3, 31)  # last_30_days: L = Mar 31, L' = Mar 1, L'' = Jan 30


def deals() -> list[object]:
    return [
        opp(OPEN, amount=100, probability=0.25, created=date(2024, 2, 1)),
        opp(WON, amount=40, probability=1.0, created=date(2024, 2, 15), closed=date(2024, 3, 15)),
        opp(LOST, amount=7, created=date(2024, 1, 1), closed=date(2024, 3, 1)),  # open until Feb 29
        opp(OPEN, amount=1000, probability=None, created=date(2024, 3, 31)),
        opp(OPEN, amount=5, created=date(2024, 4, 1)),  # created after as_of
    ]


def test_open_at_the_last_day_of_the_period_and_of_the_prior_one() -> None:
    result = run(deals(), periods=["last_30_days"])  # type: ignore[arg-type]
    assert value(result, "open_count") == 2
    assert value(result, "open_amount") == Decimal(1100)
    assert value(result, "weighted_amount") == Decimal(25)  # an unknown probability weighs nothing
    assert prior(result, "open_count") == 2  # the open deal and the one won after Mar 1
    assert prior(result, "open_amount") == Decimal(140)
    assert prior(result, "weighted_amount") == Decimal(65)


def test_pipeline_change_rebuilt_from_the_records() -> None:
    result = run(deals(), periods=["last_30_days"])  # type: ignore[arg-type]
    g = group(result)
    assert g.pipeline_prior_source is PipelineSource.REBUILT
    assert g.figures["pipeline_change"].value == Decimal(960)
    assert g.figures["pipeline_change"].prior == Decimal(133)  # 140 at Mar 1 against 7 at Jan 30
    assert g.figures["pipeline_change_pct"].value == pytest.approx(960 / 140)
    assert g.figures["pipeline_change_pct"].prior == pytest.approx(19.0)


def test_pipeline_change_from_a_stored_snapshot() -> None:
    asked: list[tuple[GroupKey, date]] = []

    def snapshot(key: GroupKey, day: date) -> Decimal | None:
        asked.append((key, day))
        return Decimal(500) if key == GroupKey(GroupKind.OVERALL) and day == date(2024, 3, 1) else None

    settings = KpiSettings(periods=["last_30_days"])
    result = compute(iter(deals()), settings=settings, as_of=AS_OF, pipeline_snapshot=snapshot)  # type: ignore[arg-type]
    overall = group(result)
    assert overall.pipeline_prior_source is PipelineSource.SNAPSHOT
    assert overall.figures["pipeline_change"].value == Decimal(600)
    assert overall.figures["open_amount"].prior == Decimal(500)
    assert overall.figures["pipeline_change"].prior == Decimal(493)  # 500 against 7 rebuilt at Jan 30
    assert group(result, GroupKind.PARTNERS).pipeline_prior_source is PipelineSource.REBUILT
    assert group(result, GroupKind.PARTNERS).figures["pipeline_change"].value == Decimal(960)
    assert len(asked) == len(set(asked))  # each group and day asked once


def test_pipeline_change_pct_is_none_against_an_empty_pipeline() -> None:
    result = run([opp(OPEN, amount=10, created=date(2024, 3, 28))], periods=["last_7_days"])
    assert value(result, "pipeline_change") == Decimal(10)
    assert value(result, "pipeline_change_pct") is None


def test_coverage_against_a_target() -> None:
    targets = [
        {"group": "overall", "period": "last_30_days", "open_amount": "2200"},
        {"group": "partner:p1", "period": "last_30_days", "open_amount": "550"},
    ]
    result = run(deals(), periods=["last_30_days"], targets=targets)  # type: ignore[arg-type]
    assert value(result, "coverage") == 0.5
    assert prior(result, "coverage") == pytest.approx(140 / 2200)
    assert value(result, "coverage", "p1") == 2.0
    assert value(result, "coverage", GroupKind.DIRECT) is None


def test_weighted_amount_is_exact_with_many_distinct_probabilities() -> None:
    probabilities = [i / 20 for i in range(21)] + [None, float("nan"), 1.5, -0.2]
    opps = [opp(OPEN, amount="10.01", probability=p, created=date(2024, 3, 1)) for p in probabilities]
    result = run(opps, periods=["last_30_days"])
    # 0.05 + 0.10 + ... + 1.00 = 10.5; None and NaN weigh 0; 1.5 is clamped to 1, -0.2 to 0
    assert value(result, "weighted_amount") == Decimal("10.01") * (Decimal("10.5") + 1)
    assert value(result, "open_amount") == Decimal("10.01") * len(probabilities)
    assert value(result, "open_count") == len(probabilities)


def won_since_prior_end() -> list[Opportunity]:
    """last_30_days as of Mar 31: L' = Mar 1. Both won deals were open on Mar 1 and won on Mar 15."""
    return [
        opp(OPEN, amount=100, probability=0.25, created=date(2024, 2, 1)),
        opp(WON, amount=40, probability=None, created=date(2024, 2, 15), closed=date(2024, 3, 15)),
        opp(WON, amount=10, probability=0.6, created=date(2024, 2, 20), closed=date(2024, 3, 15)),
    ]


def test_a_deal_won_since_the_prior_end_weighs_one_in_the_rebuilt_prior_even_without_a_probability() -> None:
    result = run(won_since_prior_end(), periods=["last_30_days"])
    # Mar 1 rebuilt from today's records: 100 x 0.25 + 40 x 1 (won, stage without probability)
    # + 10 x 1 (won: today's certainty, not its stage's 0.6) = 75
    assert prior(result, "weighted_amount") == Decimal(75)
    assert prior(result, "open_amount") == Decimal(150)
    assert prior(result, "open_count") == 3
    assert value(result, "weighted_amount") == Decimal(25)  # on Mar 31 only the open deal is open


def test_a_won_deal_weighs_one_whether_added_in_a_full_pass_or_folded_in() -> None:
    settings = KpiSettings(periods=["last_30_days"])
    now = won_since_prior_end()
    was_open = opp(OPEN, amount=40, probability=None, created=date(2024, 2, 15))
    won = dataclasses.replace(now[1], id=was_open.id)
    acc = accumulator(settings=settings, as_of=AS_OF, partners=None)
    acc.add([now[0], was_open, now[2]])
    acc.remove([was_open])
    acc.add([won])
    folded = kpis(acc, settings=settings, as_of=AS_OF)
    assert folded == compute(iter([now[0], won, now[2]]), settings=settings, as_of=AS_OF)
    assert prior(folded, "weighted_amount") == Decimal(75)
