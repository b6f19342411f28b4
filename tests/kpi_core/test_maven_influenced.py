"""Issue 20's check on the Maven data: each sales agent a sourced partner, and on a fixed subset (every
fourth deal) a generated influencer, the next agent of the same regional office. The sourced figures are
exactly those of the plain run; the influenced ones match a naive count from the CSV text."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from functools import cache

from kpi_core import GroupKey, GroupKind, KpiResult, KpiSettings, Opportunity, compute
from tests.kpi_core.test_maven import by_agent, offices, opportunity, ours, rows

SETTINGS = KpiSettings.model_validate(
    {"periods": ["previous_year"], "attribution": ["sourced", "influenced"]}
)
AS_OF = date(2018, 1, 1)


@cache
def colleague() -> dict[str, str]:
    """Each agent -> the next agent (by name, cyclically) of the same regional office."""
    by_office: dict[str, list[str]] = {}
    for agent, office in sorted(offices().items()):
        by_office.setdefault(office, []).append(agent)
    return {a: team[(i + 1) % len(team)] for team in by_office.values() for i, a in enumerate(team)}


def influencer(index: int, agent: str) -> str | None:
    return colleague()[agent] if index % 4 == 0 else None


def with_influencers() -> list[Opportunity]:
    out = []
    for i, r in enumerate(rows()):
        o = opportunity(r, by_agent(r))
        extra = influencer(i, r["sales_agent"])
        out.append(dataclasses.replace(o, influencers=(extra,) if extra else ()))
    return out


def influenced_run() -> KpiResult:
    return compute(iter(with_influencers()), settings=SETTINGS, as_of=AS_OF, partners=set(offices()))


def test_sourced_figures_on_maven_are_unchanged_by_influencers() -> None:
    assert sum(1 for o in with_influencers() if o.influencers) == 2200
    plain = ours(by_agent, "previous_year", AS_OF)
    got = influenced_run()
    assert [dataclasses.replace(g, influenced={}) for g in got.groups] == plain.groups
    assert got.data_quality == plain.data_quality


def naive_influenced(agent: str) -> tuple[int, Decimal]:
    """Won deals of 2017 the agent sourced or influenced, and their revenue, from the CSV text."""
    won, revenue = 0, 0
    for i, r in enumerate(rows()):
        involved = {r["sales_agent"], influencer(i, r["sales_agent"])}
        if agent in involved and r["deal_stage"] == "Won" and "2017-01-01" <= r["close_date"] <= "2017-12-31":
            won += 1
            revenue += int(r["close_value"])
    return won, Decimal(revenue)


def test_each_agents_influenced_figures_match_a_naive_count() -> None:
    result = influenced_run()
    checked = 0
    for g in result.groups:
        if g.group.kind is GroupKind.PARTNER and g.group.partner_id is not None:
            won, revenue = naive_influenced(g.group.partner_id)
            assert (g.influenced["deal_count"].value, g.influenced["won_revenue"].value) == (won, revenue)
            checked += 1
    assert checked == 35


def test_the_partners_total_counts_each_maven_deal_once() -> None:
    result = influenced_run()
    total = result.for_group(GroupKey(GroupKind.PARTNERS), "previous_year")
    assert total is not None
    assert total.influenced["won_revenue"].value == total.figures["won_revenue"].value
    partner_sum = sum(
        (g.influenced["won_revenue"].value for g in result.groups if g.group.kind is GroupKind.PARTNER),
        Decimal(0),
    )
    assert partner_sum > total.influenced["won_revenue"].value  # type: ignore[operator]
