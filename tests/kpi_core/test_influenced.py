"""kpis.md "Sourced and influenced": a partner's influenced deals are the ones it took part in, in any
role; each deal counts once per partner and once in each total; sourced figures do not move."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from kpi_core import GroupKind, KpiResult, KpiSettings, Opportunity, Status, compute
from kpi_core.accumulate import PassRow, pass_row
from kpi_core.compute import accumulator, kpis
from kpi_core.registry import INFLUENCED_FIGURES
from tests.kpi_core.builders import MODIFIED, group, opp, run
from tests.kpi_core.test_properties import AS_OF, opportunities

WON, LOST, OPEN = Status.WON, Status.LOST, Status.OPEN
INFLUENCED = {"attribution": ["sourced", "influenced"]}
PARTNERS = ["p1", "p2", "p3", "p4"]


def influenced(result: KpiResult, name: str, key: str | GroupKind = GroupKind.OVERALL) -> object:
    return group(result, key).influenced[name].value


def test_a_deal_with_a_sourced_partner_and_two_influencers_counts_once_for_each_of_the_three() -> None:
    deals = [
        opp(WON, partner="p1", amount=100, influencers=("p2", "p3")),
        opp(WON, partner="p2", amount=50),
    ]
    result = run(deals, partners=PARTNERS, **INFLUENCED)
    assert [influenced(result, "deal_count", p) for p in PARTNERS] == [1, 2, 1, 0]
    assert [influenced(result, "won_revenue", p) for p in PARTNERS] == [100, 150, 100, 0]
    assert influenced(result, "avg_deal_size", "p2") == Decimal(75)
    # sourced: as if nobody influenced anything
    assert [group(result, p).figures["won_revenue"].value for p in PARTNERS] == [100, 50, 0, 0]


def test_overall_influenced_revenue_is_not_the_sum_of_the_partners() -> None:
    deals = [opp(WON, partner="p1", amount=100, influencers=("p2", "p3")), opp(WON, partner="p2", amount=50)]
    result = run(deals, partners=PARTNERS, **INFLUENCED)
    assert [influenced(result, "won_revenue", p) for p in PARTNERS] == [100, 150, 100, 0]  # 350 in all
    assert influenced(result, "won_revenue", GroupKind.PARTNERS) == 150
    assert influenced(result, "deal_count", GroupKind.PARTNERS) == 2
    assert influenced(result, "won_revenue", GroupKind.OVERALL) == 150


def test_a_direct_deal_a_partner_influenced_leaves_direct_and_joins_partners() -> None:
    deals = [opp(WON, partner=None, amount=80, influencers=("p4",)), opp(WON, partner=None, amount=20)]
    result = run(deals, partners=PARTNERS, **INFLUENCED)
    assert group(result, GroupKind.DIRECT).figures["won_revenue"].value == 100  # sourced: both are direct
    assert influenced(result, "won_revenue", GroupKind.DIRECT) == 20
    assert influenced(result, "won_revenue", GroupKind.PARTNERS) == 80
    assert influenced(result, "won_revenue", "p4") == 80
    assert influenced(result, "deal_count", GroupKind.OVERALL) == 2


def test_an_influenced_open_deal_is_in_the_influencers_pipeline() -> None:
    deals = [opp(OPEN, partner="p1", amount=200, probability=0.5, influencers=("p2",))]
    result = run(deals, partners=PARTNERS, **INFLUENCED)
    assert influenced(result, "open_count", "p2") == 1
    assert influenced(result, "open_amount", "p2") == 200
    assert influenced(result, "weighted_amount", "p2") == Decimal(100)
    assert group(result, "p2").figures["open_amount"].value == 0


def test_influenced_figures_have_priors_and_changes() -> None:
    deals = [
        opp(WON, partner="p1", amount=100, influencers=("p2",), closed=date(2024, 3, 1)),
        opp(WON, partner="p3", amount=40, influencers=("p2",), closed=date(2023, 12, 15)),  # prior window
    ]
    result = run(deals, partners=PARTNERS, **INFLUENCED)
    revenue = group(result, "p2").influenced["won_revenue"]
    assert (revenue.value, revenue.prior, revenue.change) == (100, 40, 60)
    assert revenue.change_pct == 1.5


def test_influenced_figures_compare_with_last_year_where_configured() -> None:
    deals = [
        opp(WON, partner="p1", amount=100, influencers=("p2",), closed=date(2024, 3, 1)),
        opp(WON, partner="p3", amount=25, influencers=("p2",), closed=date(2023, 3, 1)),
    ]
    result = run(deals, partners=PARTNERS, compare_to=["prior", "last_year"], **INFLUENCED)
    revenue = group(result, "p2").influenced["won_revenue"]
    assert (revenue.last_year, revenue.change_vs_last_year) == (25, 75)


def test_an_influencer_without_a_partner_record_gets_no_group_but_counts_in_partners() -> None:
    deals = [opp(WON, partner=None, amount=70, influencers=("ghost",))]
    result = run(deals, partners=PARTNERS, **INFLUENCED)
    assert all(g.group.partner_id != "ghost" for g in result.groups)
    assert influenced(result, "won_revenue", GroupKind.PARTNERS) == 70
    assert result.data_quality.unknown_partner == 0  # the rule counts the sourced partner only


def test_a_deleted_deal_counts_for_no_influencer() -> None:
    deals = [opp(WON, partner="p1", amount=100, influencers=("p2",), deleted=True)]
    result = run(deals, partners=PARTNERS, **INFLUENCED)
    assert influenced(result, "deal_count", "p2") == 0
    assert result.opportunities_seen == 1


def test_without_influenced_attribution_no_group_has_influenced_figures() -> None:
    result = run([opp(WON, partner="p1", influencers=("p2",))], partners=PARTNERS)
    assert all(g.influenced == {} for g in result.groups)


def test_sourced_figures_are_the_same_with_and_without_influenced_attribution() -> None:
    deals = [
        opp(WON, partner="p1", amount=100, influencers=("p2", "p3")),
        opp(OPEN, partner=None, amount=30, influencers=("p1",)),
        opp(LOST, partner="p3", amount=10, influencers=("p4",)),
    ]
    with_it = run(deals, partners=PARTNERS, **INFLUENCED)
    without = run(deals, partners=PARTNERS)
    assert [dataclasses.replace(g, influenced={}) for g in with_it.groups] == without.groups


SETTINGS = KpiSettings.model_validate(
    {"periods": ["last_30_days", "quarter_to_date", "previous_month"], **INFLUENCED}
)
SCOPE = ["A", "B", "Z"]


@st.composite
def with_influencers(draw: st.DrawFn) -> Opportunity:
    base = draw(opportunities())
    involved = draw(st.lists(st.sampled_from(["A", "B", "C", "Z"]), max_size=3))
    return dataclasses.replace(base, influencers=tuple(sorted(set(involved) - {base.partner_id})))


def _relabelled(opps: list[Opportunity], member: Callable[[Opportunity], str | None]) -> list[Opportunity]:
    """The oracle's input: each deal sourced by ``member(deal)`` (None: direct), with no influencers."""
    return [dataclasses.replace(o, partner_id=member(o), influencers=()) for o in opps]


def _involved(o: Opportunity) -> set[str]:
    return {p for p in (o.partner_id, *o.influencers) if p is not None}


@settings(max_examples=60, deadline=None)
@given(st.lists(with_influencers(), max_size=30))
def test_influenced_figures_equal_sourced_figures_over_each_partners_involved_deals(
    opps: list[Opportunity],
) -> None:
    """The oracle: a plain sourced pass over the deals relabelled to the partner (or to 'any partner')."""
    result = compute(iter(opps), settings=SETTINGS, as_of=AS_OF, partners=SCOPE)
    plain = KpiSettings(periods=SETTINGS.periods)
    for pid in SCOPE:
        mine = [o for o in opps if pid in _involved(o)]
        oracle = compute(
            iter(_relabelled(mine, lambda o, pid=pid: pid)), settings=plain, as_of=AS_OF, partners=[pid]
        )
        for period in SETTINGS.periods:
            got = group(result, pid, period).influenced
            want = group(oracle, pid, period).figures
            assert {f.value: got[f.value] for f in INFLUENCED_FIGURES} == {
                f.value: want[f.value] for f in INFLUENCED_FIGURES
            }, (pid, period)
    oracle = compute(
        iter(_relabelled(opps, lambda o: "any" if _involved(o) else None)), settings=plain, as_of=AS_OF,
        partners=["any"],
    )  # fmt: skip
    for kind in (GroupKind.PARTNERS, GroupKind.DIRECT, GroupKind.OVERALL):
        for period in SETTINGS.periods:
            got = group(result, kind, period).influenced
            want = group(oracle, kind, period).figures
            assert all(got[f.value] == want[f.value] for f in INFLUENCED_FIGURES), (kind, period)


@settings(max_examples=40, deadline=None)
@given(st.lists(with_influencers(), max_size=25), st.lists(with_influencers(), max_size=8), st.data())
def test_folding_records_with_influencers_out_and_in_equals_a_full_pass(
    start: list[Opportunity], new: list[Opportunity], data: st.DataObject
) -> None:
    before = [o for o in start if not o.deleted]
    changed = data.draw(st.lists(st.sampled_from(before), unique=True)) if before else []
    after = [o for o in before if o not in changed] + new
    acc = accumulator(settings=SETTINGS, as_of=AS_OF, partners=SCOPE)
    acc.add(before)
    restored = accumulator(settings=SETTINGS, as_of=AS_OF, partners=SCOPE)
    assert restored.load(acc.state())  # through the saved state, as a re-run would
    restored.remove(changed)
    restored.add(new)
    folded = kpis(restored, settings=SETTINGS, as_of=AS_OF, partners=SCOPE)
    assert folded.groups == compute(iter(after), settings=SETTINGS, as_of=AS_OF, partners=SCOPE).groups


def test_a_saved_state_without_influence_is_not_folded_into_an_influenced_pass() -> None:
    plain = KpiSettings(periods=SETTINGS.periods)
    saved = accumulator(settings=plain, as_of=AS_OF, partners=SCOPE)
    saved.add([opp(WON, partner="A", influencers=("B",))])
    fresh = accumulator(settings=SETTINGS, as_of=AS_OF, partners=SCOPE)
    assert fresh.fingerprint != saved.fingerprint
    assert not fresh.load(saved.state())


def test_the_pass_reads_only_the_fields_its_rules_use() -> None:
    """An id, stage, currency label, expected close day or modification time never moves a figure: the
    pass reads each record as a PassRow (its rules' fields only)."""
    one = opp(WON, partner="p1", amount=100, influencers=("p2",))
    other = dataclasses.replace(
        one, id="elsewhere", stage="Anything", currency="EUR", expected_close_on=date(2030, 1, 1),
        modified_at=MODIFIED.replace(year=2031),
    )  # fmt: skip
    assert run([one], partners=PARTNERS, **INFLUENCED) == run([other], partners=PARTNERS, **INFLUENCED)
    assert pass_row(one)[-1] == ("p2",) and len(pass_row(one)) == len(PassRow.__args__)  # type: ignore[attr-defined]


def test_attribution_always_lists_sourced_and_each_name_once() -> None:
    assert KpiSettings().attribution == ["sourced"] and not KpiSettings().influenced
    with pytest.raises(ValidationError, match="sourced figures are always computed"):
        KpiSettings.model_validate({"attribution": ["influenced"]})
    with pytest.raises(ValidationError, match=r"attribution\[1\]: 'influenced' is listed twice"):
        KpiSettings.model_validate({"attribution": ["influenced", "influenced", "sourced"]})
