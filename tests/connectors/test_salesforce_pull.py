"""The Salesforce connector's pull through simple-salesforce over HTTPS against the sandbox, asserting the
sandbox's call counters."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from connectors.salesforce.watermark import SalesforceWatermark
from kpi_core import clock
from kpi_core.schema import Status
from partnerkpi.sandbox.core import Sandbox
from partnerkpi.sandbox.generator import STAGES
from tests.connectors.test_salesforce_fixtures import (
    PULL_CONSTANT_CALLS,
    calls_besides_login,
    connector,
    deleted,
    emulation,
    final_watermark,
    opportunities,
    partners,
)

SandboxFactory = Callable[..., Sandbox]


def live_ids(sandbox: Sandbox) -> set[str]:
    rows = emulation(sandbox).state("Opportunity", soql="SELECT Id FROM Opportunity WHERE IsDeleted = false")
    return {str(r["Id"]) for r in rows}


@pytest.mark.slow
def test_first_pull_costs_its_pages_and_a_rerun_only_the_constant(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(partners=50, opportunities=20_000, hubspot=False)
    expected = live_ids(sandbox)
    with connector(sandbox) as conn:
        first = list(conn.pull(None))
        pulled = opportunities(first)
        assert set(pulled) == expected
        assert len(partners(first)) == 50
        assert calls_besides_login(sandbox) == PULL_CONSTANT_CALLS + math.ceil(len(expected) / 2_000)
        assert sandbox.counters["salesforce.query"] == PULL_CONSTANT_CALLS - 1 + math.ceil(
            len(expected) / 2_000
        )
        assert conn.stats.api_calls == sandbox.calls("salesforce.")

        sandbox.reset_counters()
        again = list(conn.pull(final_watermark(first)))
        assert opportunities(again) == {}
        assert calls_besides_login(sandbox) == PULL_CONSTANT_CALLS


def test_watermarks_move_forward_and_never_pass_the_run_start(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(opportunities=5_000, hubspot=False)
    with connector(sandbox) as conn:
        batches = list(conn.pull(None))
    marks = [moment(b.watermark) for b in batches if b.watermark]
    assert len(marks) == 4  # three pages of 2,000 rows, then the run's end
    assert marks == sorted(marks)
    for batch in batches:
        if batch.watermark and batch.opportunities:
            assert max(o.modified_at for o in batch.opportunities) <= moment(batch.watermark)


def moment(text: str) -> datetime:
    """The time a watermark the pull handed over says, read back as the next pull reads it."""
    mark = SalesforceWatermark.load(text)
    assert mark is not None
    return mark.modified


def test_a_changed_deal_is_pulled_again_and_a_deleted_one_comes_back_as_a_deletion(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(hubspot=False)
    org = emulation(sandbox)
    with connector(sandbox) as conn:
        first = list(conn.pull(None))
        pulled = opportunities(first)
        changed_id, gone_id = sorted(pulled)[:2]
        org.update_opportunity(changed_id, StageName="Closed Won", Amount=1234, CurrencyIsoCode="USD")
        org.delete_opportunity(gone_id)

        sandbox.reset_counters()
        second = list(conn.pull(final_watermark(first)))
    assert set(opportunities(second)) == {changed_id}
    changed = opportunities(second)[changed_id]
    assert changed.status is Status.WON and changed.amount == Decimal(1234)
    assert changed.modified_at > pulled[changed_id].modified_at
    assert deleted(second) == {gone_id}
    assert calls_besides_login(sandbox) == PULL_CONSTANT_CALLS + 1


def test_a_eur_deal_closed_in_march_is_converted_at_marchs_dated_rate(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(hubspot=False)
    org = emulation(sandbox)
    rows = org.state(
        "Opportunity",
        soql="SELECT Id, Amount, CloseDate FROM Opportunity WHERE CurrencyIsoCode = 'EUR' AND IsClosed = true "
        "AND IsDeleted = false AND Amount != null",
    )
    march = [r for r in rows if date.fromisoformat(str(r["CloseDate"])).month == 3]
    assert march, "the seed has EUR deals closed in March"
    deal = march[0]
    close = date.fromisoformat(str(deal["CloseDate"]))
    rate = next(
        r.rate for r in org.data.dated_rates if r.currency == "EUR" and r.start == date(close.year, 3, 1)
    )
    assert rate != org.data.static_rates["EUR"]
    with connector(sandbox) as conn:
        pulled = opportunities(conn.pull(None))[str(deal["Id"])]
    assert pulled.currency == "EUR" and pulled.closed_on == close
    assert pulled.amount_original == Decimal(str(deal["Amount"]))
    assert pulled.amount == Decimal(str(deal["Amount"])) / rate


def test_open_deals_use_todays_rate(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(hubspot=False)
    org = emulation(sandbox)
    rows = org.state(
        "Opportunity",
        soql="SELECT Id, Amount, CurrencyIsoCode FROM Opportunity WHERE CurrencyIsoCode != 'USD' "
        "AND IsClosed = false AND IsDeleted = false AND Amount != null",
    )
    assert rows
    today = date(2026, 11, 22)
    in_force = {
        r.currency: r.rate
        for r in org.data.dated_rates
        if r.start <= today and (r.next_start is None or today < r.next_start)
    }
    with clock.frozen(datetime(2026, 11, 22, 12, tzinfo=timezone.utc)), connector(sandbox) as conn:
        pulled = opportunities(conn.pull(None))
    for row in rows:
        opp = pulled[str(row["Id"])]
        assert opp.status is Status.OPEN and opp.closed_on is None and opp.expected_close_on is not None
        assert opp.amount == Decimal(str(row["Amount"])) / in_force[str(row["CurrencyIsoCode"])]


def test_normalized_fields_match_the_org(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(hubspot=False)
    org = emulation(sandbox)
    truth = {
        str(r["Id"]): r
        for r in org.state(
            "Opportunity",
            soql="SELECT Id, StageName, Probability, LeadSource, PartnerAccountId, CreatedDate FROM Opportunity "
            "WHERE IsDeleted = false",
        )
    }
    with connector(sandbox, timezone="UTC") as conn:
        pulled = opportunities(conn.pull(None))
    assert set(pulled) == set(truth)
    stages = {s.label: s for s in STAGES}
    for opp_id, row in truth.items():
        opp = pulled[opp_id]
        assert opp.partner_id == row["PartnerAccountId"]
        assert opp.channel == row["LeadSource"]
        assert opp.stage == row["StageName"]
        meta = stages.get(str(row["StageName"]))
        if meta is None:
            assert opp.status is None  # a stage the metadata does not know
        else:
            assert opp.status is (
                Status.OPEN if not meta.is_closed else Status.WON if meta.is_won else Status.LOST
            )
        if row["Probability"] is not None:
            assert opp.probability == pytest.approx(float(row["Probability"]) / 100)
        assert opp.created_on == date.fromisoformat(str(row["CreatedDate"])[:10])


def test_opportunity_partner_mode(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(opportunities=500, hubspot=False)
    org = emulation(sandbox)
    links = {
        str(r["OpportunityId"]): str(r["AccountToId"])
        for r in org.state(
            "OpportunityPartner",
            soql="SELECT OpportunityId, AccountToId FROM OpportunityPartner WHERE IsPrimary = true",
        )
    }
    with connector(sandbox, partner={"mode": "opportunity_partner"}) as conn:
        pulled = opportunities(conn.pull(None))
    assert links and all(pulled[o].partner_id == a for o, a in links.items() if o in pulled)
    assert {o.id for o in pulled.values() if o.partner_id is None} == set(pulled) - set(links)
    # one OpportunityPartner call per 200 opportunities read
    assert sandbox.counters["salesforce.query"] == PULL_CONSTANT_CALLS - 1 + 1 + math.ceil(len(pulled) / 200)


def test_lookup_field_mode_reads_the_field_and_the_accounts_it_names(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(opportunities=300, hubspot=False)
    org = emulation(sandbox)
    partner_account = org.account_id(1)
    customer = org.state("Account", soql="SELECT Id FROM Account WHERE IsPartner = false")[0]["Id"]
    first, second = org.opportunity_id(10), org.opportunity_id(11)
    org.update_opportunity(first, AccountId=partner_account)
    org.update_opportunity(second, AccountId=customer)
    with connector(sandbox, partner={"mode": "lookup_field", "field": "AccountId"}) as conn:
        batches = list(conn.pull(None))
    pulled = opportunities(batches)
    assert pulled[first].partner_id == partner_account
    assert pulled[second].partner_id == customer
    assert sum(1 for o in pulled.values() if o.partner_id) == 2
    assert customer in partners(batches)  # an account the lookup names, though not flagged IsPartner


def test_partner_account_mode_lists_the_partner_accounts(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(partners=20, hubspot=False)
    org = emulation(sandbox)
    with connector(sandbox) as conn:
        found = partners(conn.pull(None))
    assert set(found) == {org.account_id(k) for k in range(1, 21)}
    assert found[org.account_id(1)].name == "Partner 0001"


def test_bulk_api_above_the_threshold_gives_the_same_records(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(opportunities=800, hubspot=False)
    with connector(sandbox) as rest:
        by_rest = opportunities(rest.pull(None))
    sandbox.reset_counters()
    with connector(sandbox, bulk_threshold=100) as bulk:
        batches = list(bulk.pull(None))
    assert opportunities(batches) == by_rest
    assert sandbox.counters["salesforce.bulk2_query_create"] == 1
    assert sandbox.counters["salesforce.bulk2_query_results"] >= 1
    assert sandbox.counters["salesforce.query"] == PULL_CONSTANT_CALLS - 1  # no REST pages
    assert final_watermark(batches)


def test_a_reporting_currency_other_than_the_corporate_one(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(hubspot=False)
    org = emulation(sandbox)
    rows = org.state(
        "Opportunity",
        soql="SELECT Id, Amount, CloseDate FROM Opportunity WHERE CurrencyIsoCode = 'USD' AND IsClosed = true "
        "AND IsDeleted = false AND Amount != null",
    )
    deal = next(r for r in rows if date.fromisoformat(str(r["CloseDate"])).month == 3)
    close = date.fromisoformat(str(deal["CloseDate"]))
    eur_in_march = next(
        r.rate for r in org.data.dated_rates if r.currency == "EUR" and r.start == date(close.year, 3, 1)
    )
    with connector(sandbox, reporting_currency="EUR") as conn:
        pulled = opportunities(conn.pull(None))[str(deal["Id"])]
    assert pulled.currency == "USD"
    assert pulled.amount == Decimal(str(deal["Amount"])) / (Decimal(1) / eur_in_march)
