"""The HubSpot connector through the real hubspot-api-client over HTTPS against the sandbox's HubSpot
emulation, asserting what it did by the sandbox's call counters and the portal's own records."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from connectors import registry
from connectors.base import CheckStatus, PullBatch
from connectors.errors import AuthError, ConnectionFailed
from connectors.fields import FieldKind, FieldSpec, FieldUpdate, ProvisionAction
from connectors.hubspot import HubSpotConfig, HubSpotConnector
from connectors.hubspot.watermark import HubSpotWatermark
from connectors.retry import RetryPolicy
from kpi_core import clock
from kpi_core.schema import Opportunity, Status
from partnerkpi.sandbox.core import Sandbox
from partnerkpi.sandbox.generator import STAGES, generate
from partnerkpi.sandbox.hubspot import CHANNEL_SOURCES, PARTNER_LABEL_TYPE_ID, HubSpotEmulation

FAST_RETRY = RetryPolicy(attempts=6, initial_wait=0.01, max_wait=2.0)
NO_RETRY = RetryPolicy(attempts=1)
UNPACED = {"use_headers": False, "requests_per_10s": 100_000, "searches_per_second": 5}
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


@dataclass
class Portal:
    sandbox: Sandbox
    emulation: HubSpotEmulation

    def config(self, **extra: Any) -> HubSpotConfig:
        values: dict[str, Any] = {
            "name": "hubspot",
            "type": "hubspot",
            "host": self.sandbox.url,
            "ca_bundle": self.sandbox.ca_path,
            "auth": {"flow": "private_app", "token": self.emulation.access_token},
            "rate_limits": UNPACED,
        }
        values.update(extra)
        return HubSpotConfig.model_validate(values)

    def connector(self, policy: RetryPolicy = FAST_RETRY, **extra: Any) -> HubSpotConnector:
        return HubSpotConnector(self.config(**extra), retry_policy=policy)

    def count(self, endpoint: str) -> int:
        return self.sandbox.counters[f"hubspot.{endpoint}"]

    def live_deal_ids(self) -> set[str]:
        portal = self.emulation.portal
        return {portal.deal_id(k) for k in portal.deal_keys() if not portal.is_archived(k)}

    def archived_deal_ids(self) -> set[str]:
        portal = self.emulation.portal
        return {portal.deal_id(k) for k in portal.deal_keys() if portal.is_archived(k)}

    def expected_partner(self, deal_id: str) -> str | None:
        portal = self.emulation.portal
        key = portal.deal_key(deal_id)
        assert key is not None
        partners = [
            a.company_id
            for a in portal.deal_associations(key)
            if any(t.type_id == PARTNER_LABEL_TYPE_ID and t.category == "USER_DEFINED" for t in a.types)
        ]
        return min(partners, key=int) if partners else None


@contextmanager
def portal(deals: int, partners: int = 20, seed: int = 7, customers: int | None = None) -> Iterator[Portal]:
    emulation = HubSpotEmulation(
        generate(seed=seed, partners=partners, opportunities=deals), customers=customers
    )
    with Sandbox([emulation]) as sandbox:
        yield Portal(sandbox, emulation)


@pytest.fixture
def small() -> Iterator[Portal]:
    with portal(2_000) as p:
        yield p


def opportunities(batches: list[PullBatch]) -> dict[str, Opportunity]:
    return {o.id: o for b in batches for o in b.opportunities}


def read_mark(text: str | None) -> HubSpotWatermark:
    """A watermark a pull handed over, read back as the next pull reads it."""
    mark = HubSpotWatermark.load(text)
    assert mark is not None, "no watermark"
    return mark


def deleted(batches: list[PullBatch]) -> set[str]:
    return {i for b in batches for i in b.deleted_opportunity_ids}


# -- pull ------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_first_pull_of_25000_deals_gets_every_deal_and_partner_at_the_minimum_calls() -> None:
    with portal(25_000, partners=40) as p:
        connector = p.connector()
        batches = list(connector.pull(None))
        got = opportunities(batches)
        live = p.live_deal_ids()
        assert set(got) == live
        assert deleted(batches) == p.archived_deal_ids()
        wrong = [i for i, o in got.items() if o.partner_id != p.expected_partner(i)]
        assert wrong == []
        assert sum(1 for o in got.values() if o.partner_id) > 15_000
        assert {pt.id for b in batches for pt in b.partners} == {
            o.partner_id for o in got.values() if o.partner_id
        }
        # 25,000 deals: 250 list pages of live deals (+1 of archived ones), 25 association reads of 1,000,
        # 2 metadata calls (pipelines, labels), partner names 100 a call, the live-deal count: 281 in all.
        live_pages = math.ceil(len(live) / 100)
        archived_pages = max(1, math.ceil(len(p.archived_deal_ids()) / 100))
        assert p.count("deals.list") == live_pages + archived_pages == 251
        assert p.count("associations.batch_read") == math.ceil(len(live) / 1000) == 25
        assert p.count("pipelines.list") == 1 and p.count("associations.labels") == 1
        assert p.count("companies.batch_read") <= 2
        assert p.count("deals.search") == 1  # the live-deal count the next pull compares with
        assert p.sandbox.calls("hubspot.") == connector.stats.api_calls <= 281
        assert batches[-1].watermark is not None


@pytest.mark.slow
def test_12000_changes_are_picked_up_past_the_search_cap_and_an_unchanged_rerun_is_cheap() -> None:
    with portal(14_000, partners=30) as p:
        connector = p.connector()
        with clock.frozen(T0):
            first = list(connector.pull(None))
        watermark = first[-1].watermark
        assert read_mark(watermark).modified == T0
        with clock.frozen(T0 + timedelta(hours=1)):
            touched = p.emulation.touch_deals(12_000)
        assert touched["touched"] == 12_000
        changed = {
            i
            for i in p.live_deal_ids()
            if (
                p.emulation.portal.deal(p.emulation.portal.deal_key(i) or 0).props["hs_lastmodifieddate"]
                or ""
            )
            >= "2026-11-02T10:00:00"
        }
        assert len(changed) == 12_000
        p.sandbox.reset_counters()
        with clock.frozen(T0 + timedelta(hours=2)):
            second = list(connector.pull(watermark))
        got = opportunities(second)
        assert changed <= set(got)
        assert all(got[i].partner_id == p.expected_partner(i) for i in changed)
        assert connector.stats.extra["hubspot_search_restarts"] >= 1  # the 10,000 cap was passed
        assert p.count("deals.search") <= math.ceil(12_000 / 200) + 3  # + the live-deal count
        assert p.count("deals.list") == 0  # the count matches: no archived deal to list
        assert p.count("associations.batch_read") == math.ceil(len(got) / 1000)
        final = second[-1].watermark
        assert read_mark(final).modified == T0 + timedelta(hours=2)
        marks = [read_mark(b.watermark).modified for b in second if b.watermark]
        assert marks == sorted(marks) and all(m <= read_mark(final).modified for m in marks)

        p.sandbox.reset_counters()
        with clock.frozen(T0 + timedelta(hours=3)):
            third = list(connector.pull(second[-1].watermark))
        assert opportunities(third) == {}
        assert p.count("deals.search") == 2  # one page of changes (none), the live-deal count
        assert p.sandbox.calls("hubspot.") == p.count("deals.search") + 2  # + pipelines, labels


def test_normalized_deals_equal_the_portal_seed(small: Portal) -> None:
    """What kpi_core gets equals the sandbox's own data: the figures computed from either agree."""
    got = opportunities(list(small.connector().pull(None)))
    stage_of = {s.key: s for s in STAGES}
    checked = 0
    for seed in small.emulation.data.opportunities:
        deal_id = small.emulation.portal.deal_id(seed.key)
        if seed.deleted:
            assert deal_id not in got
            continue
        o = got[deal_id]
        info = stage_of.get(seed.stage)
        expected = (
            None
            if info is None
            else (Status.OPEN if not info.is_closed else Status.WON if info.is_won else Status.LOST)
        )
        assert o.status is expected
        assert o.partner_id == (None if seed.partner_key is None else str(5_000_000_000 + seed.partner_key))
        assert o.created_on == seed.created_at.date()
        assert o.amount_original == seed.amount and o.currency == seed.currency
        if seed.currency == "USD" and seed.amount is not None:
            assert o.amount == seed.amount
        if expected in (Status.WON, Status.LOST):
            assert o.closed_on == seed.close_date and o.expected_close_on is None
        assert o.channel == (CHANNEL_SOURCES[seed.channel] if seed.channel else None)
        checked += 1
    assert checked > 1_900


def test_archived_deal_comes_back_as_a_deletion(small: Portal) -> None:
    connector = small.connector()
    with clock.frozen(T0):
        first = list(connector.pull(None))
    victim = sorted(opportunities(first))[10]
    with clock.frozen(T0 + timedelta(hours=1)):
        small.emulation.archive_deal(victim)
    with clock.frozen(T0 + timedelta(hours=2)):
        second = list(connector.pull(first[-1].watermark))
    assert deleted(second) == {victim}  # older archives are not handed over again
    assert victim not in opportunities(second)


def test_deal_property_partner_mode_reads_no_associations(small: Portal) -> None:
    connector = small.connector(partner={"deal_property": "dealname"})
    got = opportunities(list(connector.pull(None)))
    assert small.count("associations.batch_read") == 0 and small.count("associations.labels") == 0
    assert all(o.partner_id == f"Opportunity {int(o.id) - 9_000_000_000}" for o in got.values())


def test_property_lists_are_chunked(small: Portal) -> None:
    connector = small.connector(properties_per_request=5)
    got = opportunities(list(connector.pull(None)))
    assert len(got) == len(small.live_deal_ids())
    assert all(
        o.modified_at.year >= 2024 for o in got.values()
    )  # hs_lastmodifieddate came from a later chunk
    assert small.count("deals.batch_read") == math.ceil(len(got) / 100) * 2


def test_unknown_partner_label_is_a_clear_error(small: Portal) -> None:
    connector = small.connector(partner={"association_label": "Reseller"})
    with pytest.raises(Exception, match=r"no deal-to-company association label 'Reseller'.*Partner"):
        list(connector.pull(None))


# -- pacing, retries, auth ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_under_a_10_per_second_limit_a_full_pull_meets_no_429(small: Portal) -> None:
    small.emulation.faults.rate_limit_per_second = 10  # 100 calls per rolling 10 s
    connector = small.connector(policy=NO_RETRY, page_size=20, rate_limits={"searches_per_second": 4})
    got = opportunities(list(connector.pull(None)))
    assert len(got) == len(small.live_deal_ids())
    assert connector.stats.api_calls > 100  # more than one window's worth
    assert connector.pacer.general.waited > 0  # it paced instead of meeting a 429 (NO_RETRY would fail)
    assert connector.stats.retries == 0


def test_injected_429s_on_search_are_retried_honouring_retry_after(small: Portal) -> None:
    connector = small.connector()
    with clock.frozen(T0):
        first = list(connector.pull(None))
    with clock.frozen(T0 + timedelta(hours=1)):
        small.emulation.touch_deals(700)
    small.emulation.faults.search_rate_per_second = 1  # the connector asks for 5/s: HubSpot says 429
    with clock.frozen(T0 + timedelta(hours=2)):
        second = list(connector.pull(first[-1].watermark))
    assert len(opportunities(second)) == 700
    assert connector.stats.retries >= 1


def test_injected_5xx_and_dropped_connections_are_retried(small: Portal) -> None:
    small.emulation.faults.error_rate = 0.15
    small.emulation.faults.drop_rate = 0.05
    connector = small.connector()
    got = opportunities(list(connector.pull(None)))
    assert set(got) == small.live_deal_ids()
    assert small.sandbox.counters["hubspot.fault.5xx"] + small.sandbox.counters["hubspot.fault.dropped"] > 0
    assert connector.stats.retries >= 1


OAUTH = {
    "flow": "oauth",
    "client_id": "sandbox-client-id",
    "client_secret": "sandbox-client-secret",
    "refresh_token": "sandbox-refresh-token",
}


def test_oauth_token_refreshed_mid_run_on_401(small: Portal) -> None:
    small.emulation.faults.session_expiry_after_calls = 5
    connector = small.connector(auth=OAUTH)
    got = opportunities(list(connector.pull(None)))
    assert set(got) == small.live_deal_ids()
    assert small.count("oauth.token") >= 5  # 21 list pages at 5 calls a token


class SteppedTicker:
    """Monotonic time the test moves (the connector's pacer and token lifetimes read it)."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_oauth_token_renewed_before_it_expires(small: Portal) -> None:
    ticker = SteppedTicker()
    config = small.config(auth=OAUTH)
    connector = HubSpotConnector(config, retry_policy=FAST_RETRY, ticker=ticker)
    with clock.frozen(T0):
        first = list(connector.pull(None))
    assert small.count("oauth.token") == 1
    ticker.now += 26 * 60  # past 25 of the token's 30 minutes
    with clock.frozen(T0 + timedelta(minutes=26)):
        list(connector.pull(first[-1].watermark))
    assert small.count("oauth.token") == 2
    assert len(small.emulation.auth.access) == 2  # the first token was still valid: renewed ahead of time


def test_bad_refresh_token_is_an_auth_error_without_the_secret(small: Portal) -> None:
    auth = {"flow": "oauth", "client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret"}
    connector = small.connector(auth={**auth, "refresh_token": "stolen-refresh-xyz"})
    with pytest.raises(Exception, match="BAD_REFRESH_TOKEN") as caught:
        list(connector.pull(None))
    assert "stolen-refresh-xyz" not in str(caught.value)


def test_refused_private_app_token_is_an_auth_error(small: Portal) -> None:
    connector = small.connector(auth={"flow": "private_app", "token": "pat-wrong-secret"})
    with pytest.raises(AuthError, match="401") as caught:
        list(connector.pull(None))
    assert "pat-wrong-secret" not in str(caught.value)
    assert small.sandbox.calls("hubspot.") == 1  # a 401 is not retried


def test_registry_builds_the_connector_and_close_releases_it(small: Portal) -> None:
    cls = registry.get("hubspot")
    assert cls is HubSpotConnector
    with cls(small.config()) as connector:
        assert connector.check()[0].status is CheckStatus.OK


def test_untrusted_certificate_is_connection_failed_at_once(small: Portal) -> None:
    connector = small.connector(ca_bundle=None)
    with pytest.raises(ConnectionFailed, match="not trusted"):
        list(connector.pull(None))
    assert small.sandbox.calls("hubspot.") == 0


def test_check_reports_token_pipelines_partners_properties_and_budget(small: Portal) -> None:
    connector = small.connector()
    specs = [FieldSpec("partner_win_rate", "Win rate", FieldKind.PERCENT)]
    before = {r.name: r for r in connector.check(specs)}
    assert before["hubspot.credentials"].status is CheckStatus.OK
    assert before["hubspot.pipelines"].status is CheckStatus.OK
    assert before["hubspot.partners"].status is CheckStatus.OK
    assert before["hubspot.properties"].status is CheckStatus.FAIL
    assert "daily calls left" in before["hubspot.rate_budget"].message
    connector.provision_fields(specs)
    after = {r.name: r for r in connector.check(specs)}
    assert after["hubspot.properties"].status is CheckStatus.OK
    auth = {
        "flow": "oauth",
        "client_id": "sandbox-client-id",
        "client_secret": "sandbox-client-secret",
        "refresh_token": "sandbox-refresh-token",
    }
    oauth = {r.name: r for r in small.connector(auth=auth).check()}
    assert oauth["hubspot.credentials"].status is CheckStatus.OK and small.count("oauth.token_info") == 1


# -- provision and write -----------------------------------------------------------------------------------
SPECS = [
    FieldSpec("partner_won_revenue", "Won revenue", FieldKind.CURRENCY, description="Revenue of deals won."),
    FieldSpec("partner_win_rate", "Win rate", FieldKind.PERCENT, description="Deals won of deals closed."),
    FieldSpec("partner_deal_count", "Deals won", FieldKind.NUMBER, scale=0),
    FieldSpec("partner_kpis_updated_at", "KPIs updated at", FieldKind.DATETIME),
    FieldSpec("partner_score_breakdown", "Score breakdown", FieldKind.TEXT),
]


def test_provision_is_idempotent_and_refuses_incompatible_types(small: Portal) -> None:
    connector = small.connector()
    first = connector.provision_fields(SPECS)
    assert [r.action for r in first] == [ProvisionAction.CREATED] * len(SPECS)
    props = small.emulation.portal.properties["companies"]
    assert props["partner_win_rate"].type == "number" and "63.15" in props["partner_win_rate"].description
    assert props["partner_won_revenue"].show_currency_symbol is True
    assert props["partner_kpis_updated_at"].type == "datetime"
    assert props["partner_win_rate"].group_name == "partner_kpis"
    assert small.emulation.portal.groups["companies"]["partner_kpis"].label == "Partner KPIs"
    second = connector.provision_fields(SPECS)
    assert [r.action for r in second] == [ProvisionAction.UNCHANGED] * len(SPECS)
    clash = connector.provision_fields([FieldSpec("partner_score_breakdown", "Score", FieldKind.NUMBER)])
    assert clash[0].action is ProvisionAction.REFUSED and "type string" in clash[0].message
    assert props["partner_score_breakdown"].type == "string"


def _updates(ids: list[str]) -> list[FieldUpdate]:
    at = datetime(2026, 11, 1, 8, 30, tzinfo=timezone.utc)
    return [
        FieldUpdate(
            i,
            {
                "partner_won_revenue": Decimal("1250.50"),
                "partner_win_rate": Decimal("63.15"),
                "partner_deal_count": Decimal(n),
                "partner_kpis_updated_at": at,
                "partner_score_breakdown": "Revenue p80",
            },
        )
        for n, i in enumerate(ids)
    ]


def test_writing_1000_companies_takes_10_batch_calls_and_reads_back() -> None:
    with portal(100, partners=700, customers=300) as p:
        connector = p.connector()
        connector.provision_fields(SPECS)
        ids = sorted(p.emulation.portal.companies, key=int)
        assert len(ids) == 1_000
        p.sandbox.reset_counters()
        results = connector.write_fields(_updates(ids), {s.name: s for s in SPECS})
        assert [r.partner_id for r in results] == ids and all(r.ok for r in results)
        assert p.count("companies.batch_update") == 10
        props = p.emulation.portal.companies[ids[7]].props
        assert props["partner_won_revenue"] == "1250.50" and props["partner_win_rate"] == "63.15"
        assert props["partner_deal_count"] == "7"
        assert props["partner_kpis_updated_at"] == "2026-11-01T08:30:00.000Z"
        names = [s.name for s in SPECS]
        live = connector.read_fields(ids[:3], names)
        assert live[ids[2]]["partner_won_revenue"] == Decimal("1250.50")
        assert live[ids[2]]["partner_kpis_updated_at"] == datetime(2026, 11, 1, 8, 30, tzinfo=timezone.utc)
        stored = connector.stored_values(_updates(ids[:3]), {s.name: s for s in SPECS})
        assert stored == live  # what we wrote reads back equal: verify_live sees no edits


def test_207_errors_reported_by_company_while_the_rest_are_written(small: Portal) -> None:
    connector = small.connector()
    connector.provision_fields(SPECS)
    ids = sorted(small.emulation.portal.companies, key=int)[:25]
    faults = small.emulation.faults
    faults.record_failure_ids = [ids[3], ids[5]]
    faults.record_failure_code = "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    results = {
        r.partner_id: r
        for r in connector.write_fields(_updates([*ids, "5999999999"]), {s.name: s for s in SPECS})
    }
    assert not results[ids[3]].ok and results[ids[3]].errors[0].code == "VALIDATION_ERROR"
    assert not results[ids[3]].errors[0].retryable
    assert not results["5999999999"].ok and results["5999999999"].errors[0].code == "OBJECT_NOT_FOUND"
    written = [i for i in ids if i not in (ids[3], ids[5])]
    assert all(results[i].ok for i in written)
    assert all(small.emulation.portal.companies[i].props.get("partner_win_rate") == "63.15" for i in written)
    assert small.emulation.portal.companies[ids[3]].props.get("partner_win_rate") is None


def test_retryable_207_errors_are_sent_again(small: Portal) -> None:
    connector = small.connector()
    connector.provision_fields(SPECS)
    ids = sorted(small.emulation.portal.companies, key=int)[:10]
    faults = small.emulation.faults
    faults.record_failure_ids = [ids[1]]
    faults.record_failure_code = "UNABLE_TO_LOCK_ROW"
    faults.record_failure_times = 2
    small.sandbox.reset_counters()
    results = connector.write_fields(_updates(ids), {s.name: s for s in SPECS})
    assert all(r.ok for r in results)
    assert small.count("companies.batch_update") == 3  # the batch, then the one company twice


def test_a_value_hubspot_refuses_fails_its_record_only(small: Portal) -> None:
    connector = small.connector()
    connector.provision_fields(SPECS)
    ids = sorted(small.emulation.portal.companies, key=int)[:8]
    updates = _updates(ids)
    updates[2] = FieldUpdate(ids[2], {"partner_unknown_property": "x"})
    # Through the writer itself: since issue 14 the connector refuses a property it does not own before
    # sending anything (tests/connectors/test_write_ownership.py); the writer's halving is tested here.
    results = {r.partner_id: r for r in connector.writer.write(updates, {s.name: s for s in SPECS})}
    assert not results[ids[2]].ok and "partner_unknown_property" in results[ids[2]].errors[0].message
    assert all(results[i].ok for i in ids if i != ids[2])


@pytest.mark.slow
def test_restart_skips_deals_already_handed_over_and_walks_a_crowded_instant(
    small: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the cap lowered to 1,000, 1,500 deals changed at ONE instant cannot be passed by restarting
    from the last value seen: they are walked by hs_object_id, each handed over once."""
    monkeypatch.setattr("connectors.hubspot.search.SEARCH_CAP", 1_000)
    connector = small.connector()
    with clock.frozen(T0):
        first = list(connector.pull(None))
    crowd = sorted(small.live_deal_ids(), key=int)[:1_500]
    with clock.frozen(T0 + timedelta(hours=1)):
        for deal_id in crowd:
            small.emulation.update_deal(deal_id, {"dealname": "renamed"})
        small.emulation.touch_deals(300, start_id=sorted(small.live_deal_ids(), key=int)[1_600])
    with clock.frozen(T0 + timedelta(hours=2)):
        second = list(connector.pull(first[-1].watermark))
    handed = [o.id for b in second for o in b.opportunities]
    assert set(crowd) <= set(handed) and len(set(handed)) == 1_800
    assert len(handed) == len(set(handed))  # no deal twice
    assert connector.stats.extra["hubspot_search_restarts"] >= 2
