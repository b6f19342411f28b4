"""The incremental pass: a saved state, with the changed records folded out (old version) and in (new
version), gives exactly the figures of a full pass over the records as they are now."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from kpi_core import KpiResult, KpiSettings, Opportunity, Status, compute
from kpi_core.compute import accumulator, kpis
from tests.kpi_core import test_maven as maven
from tests.kpi_core.test_properties import AS_OF, PERIODS, SETTINGS, opportunities

PARTNERS = ["A", "B", "Z"]


def full(opps: list[Opportunity], partners: list[str] | None = PARTNERS) -> KpiResult:
    return compute(iter(opps), settings=SETTINGS, as_of=AS_OF, partners=partners)


def folded(
    before: list[Opportunity],
    removed: list[Opportunity],
    added: list[Opportunity],
    partners: list[str] | None = PARTNERS,
    kpi: KpiSettings = SETTINGS,
    as_of: date = AS_OF,
) -> KpiResult:
    acc = accumulator(settings=kpi, as_of=as_of, partners=partners)
    acc.add(before)
    acc.remove(removed)
    acc.add(added)
    return kpis(acc, settings=kpi, as_of=as_of, partners=partners)


def live(opps: list[Opportunity]) -> list[Opportunity]:
    return [o for o in opps if not o.deleted]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(opportunities(), max_size=30),
    st.lists(opportunities(), max_size=10),
    st.lists(opportunities(), max_size=10),
    st.randoms(),
)
def test_folding_out_old_versions_and_in_new_ones_equals_a_full_pass(
    start: list[Opportunity],
    replacements: list[Opportunity],
    new: list[Opportunity],
    rnd: random.Random,
) -> None:
    before = live(start)
    # some records change (the replacement takes over the id), some are deleted, some are new
    changed = rnd.sample(before, min(len(before), len(replacements)))
    after_versions = [dataclasses.replace(r, id=o.id) for o, r in zip(changed, replacements, strict=False)]
    rest = [o for o in before if o not in changed]
    deleted = rest[: len(rest) // 4]
    now = [o for o in rest if o not in deleted] + live(after_versions) + live(new)

    result = folded(before, changed + deleted, live(after_versions) + live(new))
    assert result == full(now)


LAST_YEAR = KpiSettings(periods=PERIODS, min_closed=2, compare_to=["prior", "last_year"])
TWO_YEARS = st.dates(min_value=date(2022, 11, 1), max_value=date(2024, 4, 5))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(opportunities(TWO_YEARS), max_size=30),
    st.lists(opportunities(TWO_YEARS), max_size=10),
    st.randoms(),
)
def test_with_last_year_folding_changed_records_equals_a_full_pass(
    start: list[Opportunity], replacements: list[Opportunity], rnd: random.Random
) -> None:
    """The last-year windows are windows of the same pass: folding stays exact for them too."""
    before = live(start)
    changed = rnd.sample(before, min(len(before), len(replacements)))
    after_versions = [dataclasses.replace(r, id=o.id) for o, r in zip(changed, replacements, strict=False)]
    now = [o for o in before if o not in changed] + live(after_versions)

    result = folded(before, changed, live(after_versions), kpi=LAST_YEAR)
    assert result == compute(iter(now), settings=LAST_YEAR, as_of=AS_OF, partners=PARTNERS)


def test_a_saved_pass_without_last_year_is_not_loaded_once_last_year_is_asked_for() -> None:
    opps = maven_opportunities()[:500]
    scope = sorted(maven.offices())
    as_of = date(2017, 10, 15)
    kpi = KpiSettings(periods=["quarter_to_date", "last_30_days"])
    acc = accumulator(settings=kpi, as_of=as_of, partners=scope)
    acc.add(opps)
    with_last_year = kpi.model_copy(update={"compare_to": ["prior", "last_year"]})
    other = accumulator(settings=with_last_year, as_of=as_of, partners=scope)
    assert other.fingerprint != acc.fingerprint and not other.load(acc.state())
    explicit = accumulator(
        settings=kpi.model_copy(update={"compare_to": ["prior"]}), as_of=as_of, partners=scope
    )
    assert explicit.fingerprint == acc.fingerprint


def test_a_record_folded_out_counts_nowhere() -> None:
    won = [o for o in maven_opportunities()[:400] if o.status is Status.WON]
    scope = sorted({o.partner_id or "" for o in won})
    kpi = KpiSettings(periods=["previous_quarter"])
    as_of = date(2017, 7, 1)
    result = folded(won, won[:10], [], scope, kpi, as_of)
    assert result == compute(iter(won[10:]), settings=kpi, as_of=as_of, partners=scope)


def maven_opportunities() -> list[Opportunity]:
    return [maven.opportunity(r, maven.by_agent(r)) for r in maven.rows()]


def test_one_percent_of_the_maven_deals_changed_gives_the_full_pass_figures() -> None:
    """8,800 real-shaped deals; 88 of them move on (won, lost, re-valued) and 20 are deleted."""
    kpi = KpiSettings(periods=["previous_quarter", "quarter_to_date", "last_90_days"])
    as_of = date(2017, 10, 15)
    scope = sorted(maven.offices())
    before = maven_opportunities()
    rnd = random.Random(7)
    picked = rnd.sample(before, 108)
    changed, deleted = picked[:88], picked[88:]
    after = []
    for i, o in enumerate(changed):
        status = (Status.WON, Status.LOST, Status.OPEN)[i % 3]
        closed = date(2017, 10, 1 + i % 14) if status is not Status.OPEN else None
        amount = (o.amount or Decimal(0)) + Decimal("1234.56")
        after.append(dataclasses.replace(o, status=status, closed_on=closed, amount=amount))
    gone = {o.id for o in picked}
    now = [o for o in before if o.id not in gone] + after

    result = folded(before, changed + deleted, after, scope, kpi, as_of)
    assert result == compute(iter(now), settings=kpi, as_of=as_of, partners=scope)
    assert result != compute(iter(before), settings=kpi, as_of=as_of, partners=scope)


def test_a_saved_state_survives_json_and_loads_into_a_fresh_pass() -> None:
    opps = maven_opportunities()
    scope = sorted(maven.offices())
    kpi = KpiSettings(periods=["previous_quarter", "last_30_days"])
    as_of = date(2017, 10, 15)
    acc = accumulator(settings=kpi, as_of=as_of, partners=scope)
    acc.add(opps[:5000])
    state = json.loads(json.dumps(acc.state()))

    fresh = accumulator(settings=kpi, as_of=as_of, partners=scope)
    assert fresh.load(state)
    fresh.add(opps[5000:])
    assert kpis(fresh, settings=kpi, as_of=as_of, partners=scope) == compute(
        iter(opps), settings=kpi, as_of=as_of, partners=scope
    )


def test_a_state_of_another_day_config_or_partner_list_is_never_loaded() -> None:
    opps = maven_opportunities()[:500]
    scope = sorted(maven.offices())
    kpi = KpiSettings(periods=["previous_quarter", "last_30_days"])
    acc = accumulator(settings=kpi, as_of=date(2017, 10, 15), partners=scope)
    acc.add(opps)
    state = acc.state()

    other_day = accumulator(settings=kpi, as_of=date(2017, 10, 16), partners=scope)
    other_periods = accumulator(
        settings=KpiSettings(periods=["last_30_days"]), as_of=date(2017, 10, 15), partners=scope
    )
    other_partners = accumulator(settings=kpi, as_of=date(2017, 10, 15), partners=scope[:-1])
    other_channels = accumulator(
        settings=KpiSettings(
            periods=["previous_quarter", "last_30_days"], channel_segments={"paid": ["Trade fair"]}
        ),
        as_of=date(2017, 10, 15),
        partners=scope,
    )
    for other in (other_day, other_periods, other_partners, other_channels):
        assert other.fingerprint != acc.fingerprint
        assert not other.load(state)
        assert other.seen == 0  # left as it was


def test_without_a_partner_scope_only_a_full_pass_is_exact() -> None:
    """No partner records: a partner whose deals all went away would linger as a zero group."""
    acc = accumulator(settings=SETTINGS, as_of=AS_OF, partners=None)
    twin = accumulator(settings=SETTINGS, as_of=AS_OF, partners=None)
    assert not twin.load(acc.state())


def test_a_state_of_another_day_with_the_same_windows_is_loaded() -> None:
    """What a pass counts depends on the windows and pipeline days, not on the day itself: a state
    from yesterday serves today while the periods have not moved (previous_quarter all quarter long)."""
    opps = maven_opportunities()
    scope = sorted(maven.offices())
    kpi = KpiSettings(periods=["previous_quarter"])
    acc = accumulator(settings=kpi, as_of=date(2017, 10, 15), partners=scope)
    acc.add(opps)
    today = accumulator(settings=kpi, as_of=date(2017, 10, 16), partners=scope)
    assert today.load(acc.state())
    assert kpis(today, settings=kpi, as_of=date(2017, 10, 16), partners=scope) == compute(
        iter(opps), settings=kpi, as_of=date(2017, 10, 16), partners=scope
    )
