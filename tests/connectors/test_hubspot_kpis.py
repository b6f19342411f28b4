"""The KPIs of a pull through the HubSpot sandbox equal those computed straight from the sandbox's own seed:
the connector loses, invents and misreads nothing on the way (amount in the home currency, status from
stage metadata, partner by association label, channel, deletions)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

from connectors.hubspot import HubSpotConfig, HubSpotConnector
from connectors.retry import RetryPolicy
from kpi_core import KpiSettings, compute
from kpi_core.result import KpiResult
from kpi_core.schema import Opportunity, Status
from partnerkpi.sandbox.core import Sandbox
from partnerkpi.sandbox.generator import STAGES, generate
from partnerkpi.sandbox.hubspot import CHANNEL_SOURCES, HubSpotEmulation
from tests.connectors.seed_kpis import assert_same_kpis, rates_of

AS_OF = date(2026, 10, 31)
PERIODS = ["last_90_days", "quarter_to_date", "last_365_days", "previous_quarter"]
STAGE_INFO = {s.key: s for s in STAGES}
COMPANY_ID_BASE = 5_000_000_000
CENT = Decimal("0.01")


def straight_from_seed(emulation: HubSpotEmulation, today: date) -> Iterator[Opportunity]:
    """The naive reading of the seed: the home-currency amount HubSpot keeps (to the cent, at the rate of
    the close day, or today's for open deals) and the probability of the deal's HubSpot stage."""
    data = emulation.data
    rates = rates_of(data)
    for seed in data.opportunities:
        if seed.deleted:
            continue
        stage = STAGE_INFO.get(seed.stage)
        status = None
        if stage is not None:
            status = Status.WON if stage.is_won else Status.LOST if stage.is_closed else Status.OPEN
        closed = stage is not None and stage.is_closed
        converted = rates.convert(seed.amount, seed.currency, seed.close_date if closed else today)
        pipeline = emulation.portal.pipeline_for(seed)
        hubspot_stage = next((s for s in pipeline.stages if s.neutral == seed.stage), None)
        yield Opportunity(
            id=emulation.portal.deal_id(seed.key),
            partner_id=str(COMPANY_ID_BASE + seed.partner_key) if seed.partner_key else None,
            amount=None if converted is None else converted.quantize(CENT, rounding=ROUND_HALF_UP),
            amount_original=seed.amount,
            currency=seed.currency,
            status=status,
            created_on=seed.created_at.astimezone(timezone.utc).date(),
            closed_on=seed.close_date if closed else None,
            expected_close_on=None if closed else seed.close_date,
            probability=float(hubspot_stage.probability) if hubspot_stage else None,
            channel=CHANNEL_SOURCES.get(seed.channel) if seed.channel else None,
            modified_at=seed.modified_at,
        )


def figures(result: KpiResult) -> dict[tuple[str, str], dict[str, object]]:
    return {
        (g.group.partner_id or g.group.label, g.period.name): {k: f.value for k, f in g.figures.items()}
        for g in result.groups
    }


def test_kpis_through_the_connector_equal_kpis_from_the_seed() -> None:
    emulation = HubSpotEmulation(generate(seed=11, partners=25, opportunities=6_000))
    with Sandbox([emulation]) as sandbox:
        config = HubSpotConfig.model_validate(
            {
                "name": "hubspot",
                "type": "hubspot",
                "host": sandbox.url,
                "ca_bundle": sandbox.ca_path,
                "access_token": emulation.access_token,
                "rate_limits": {"use_headers": False, "requests_per_10s": 100_000},
            }
        )
        with HubSpotConnector(config, retry_policy=RetryPolicy(attempts=2, initial_wait=0.01)) as connector:
            batches = list(connector.pull(None))
    pulled = [o for b in batches for o in b.opportunities]
    partners = {p.id for b in batches for p in b.partners}
    settings = KpiSettings(periods=PERIODS)
    through = compute(pulled, settings=settings, as_of=AS_OF, partners=partners)
    today = datetime.now(timezone.utc).date()
    seed_partners = {str(COMPANY_ID_BASE + p.key) for p in emulation.data.partners}
    naive = compute(
        straight_from_seed(emulation, today), settings=settings, as_of=AS_OF, partners=seed_partners
    )
    got, want = figures(through), figures(naive)
    assert_same_kpis(through, naive, got, want, partners=25)
