"""connectors.hubspot.normalize: a raw deal becomes an Opportunity (status from the stage, home-currency
amount, days in the reporting time zone), bad values become None. Against the sandbox:
test_hubspot_sandbox.py."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from connectors.hubspot.normalize import DealShape, RawDeal, StageMeta, day_of, opportunity, parse_datetime
from kpi_core.schema import Status

STAGES = {
    "won": StageMeta("Won", True, 1.0),
    "lost": StageMeta("Lost", True, 0.0),
    "open": StageMeta("Open", False, 0.4),
    "closed_noprob": StageMeta("Closed?", True, None),
}
SHAPE = DealShape(channel_property="hs_analytics_source", timezone="UTC")
NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)


def deal(**props: str | None) -> RawDeal:
    return RawDeal("901", props)


def test_won_deal_normalized() -> None:
    o = opportunity(
        deal(
            dealstage="won",
            amount="1000",
            deal_currency_code="eur",
            amount_in_home_currency="1086.96",
            closedate="2026-03-31T00:00:00.000Z",
            createdate="2026-01-05T23:30:00.000Z",
            hs_analytics_source="REFERRALS",
            hs_lastmodifieddate="2026-04-01T10:00:00.123Z",
        ),
        shape=SHAPE,
        stages=STAGES,
        partner_id="501",
        fallback_modified=NOW,
    )
    assert o.status is Status.WON
    assert o.amount == Decimal("1086.96") and o.amount_original == Decimal("1000") and o.currency == "EUR"
    assert o.closed_on == date(2026, 3, 31) and o.expected_close_on is None
    assert o.created_on == date(2026, 1, 5)
    assert o.channel == "REFERRALS" and o.partner_id == "501" and o.probability == 1.0
    assert o.modified_at == datetime(2026, 4, 1, 10, 0, 0, 123000, tzinfo=timezone.utc)


def test_bad_values_become_none_and_unknown_stage_has_no_status() -> None:
    o = opportunity(
        deal(dealstage="retired", amount="n/a", amount_in_home_currency="", closedate="not a date"),
        shape=SHAPE,
        stages=STAGES,
        partner_id=None,
        fallback_modified=NOW,
    )
    assert o.status is None and o.amount is None and o.amount_original is None
    assert o.expected_close_on is None and o.created_on is None and o.modified_at == NOW


def test_open_deal_and_closed_stage_without_probability_asks_hs_is_closed_won() -> None:
    open_deal = opportunity(
        deal(dealstage="open", closedate="2026-12-01T00:00:00Z"),
        shape=SHAPE,
        stages=STAGES,
        partner_id=None,
        fallback_modified=NOW,
    )
    assert open_deal.status is Status.OPEN and open_deal.expected_close_on == date(2026, 12, 1)
    assert open_deal.closed_on is None and open_deal.probability == 0.4
    closed = opportunity(
        deal(dealstage="closed_noprob", hs_is_closed_won="true"),
        shape=SHAPE,
        stages=STAGES,
        partner_id=None,
        fallback_modified=NOW,
    )
    assert closed.status is Status.WON


def test_created_day_in_reporting_time_zone_but_midnight_utc_keeps_its_day() -> None:
    evening = parse_datetime("2026-01-06T03:00:00Z")
    assert day_of(evening, "America/New_York") == date(2026, 1, 5)
    assert day_of(parse_datetime("2026-01-06T00:00:00Z"), "America/New_York") == date(2026, 1, 6)
    assert parse_datetime("1767657600000") == datetime(2026, 1, 6, tzinfo=timezone.utc)
