"""The HubSpot connector: the protocol's five abilities over one client (see the modules it wires)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import httpx

from connectors.base import CheckResult, Connector, FieldWriter, PullBatch
from connectors.fields import FieldSpec, FieldUpdate, FieldValue, ProvisionResult, WriteResult
from connectors.hubspot.answers import AccountDetails
from connectors.hubspot.auth import token_source
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.config import HubSpotConfig
from connectors.hubspot.health import run_checks
from connectors.hubspot.pacing import Pacer, SystemTicker, Ticker
from connectors.hubspot.provision import SHAPES, Provisioner, refuse_unowned
from connectors.hubspot.pull import DealPuller
from connectors.hubspot.read import read_account, read_company_fields, read_property_types, typed
from connectors.hubspot.watermark import HubSpotWatermark
from connectors.hubspot.write import CompanyWriter, UnwritableValue, format_value
from connectors.retry import DEFAULT_POLICY, RetryPolicy


class HubSpotConnector(Connector[HubSpotConfig], FieldWriter):
    watermark_model = HubSpotWatermark

    def __init__(
        self,
        config: HubSpotConfig,
        *,
        retry_policy: RetryPolicy = DEFAULT_POLICY,
        ticker: Ticker | None = None,
        oauth_http: httpx.Client | None = None,
    ) -> None:
        super().__init__(config)
        ticker = ticker or SystemTicker()
        self.pacer = Pacer.configured(config.rate_limits, ticker)
        tokens = token_source(
            config.auth,
            host=config.host,
            ticker=ticker,
            ca_bundle=config.ca_bundle,
            timeout=config.timeout_seconds,
            policy=retry_policy,
            http=oauth_http,
        )
        self.client = HubSpotClient(
            host=config.host,
            tokens=tokens,
            pacer=self.pacer,
            ca_bundle=str(config.ca_bundle) if config.ca_bundle is not None else None,
            timeout=config.timeout_seconds,
            stats=self.stats,
            policy=retry_policy,
        )
        self.writer = CompanyWriter(self.client, config.write_batch_size, config.write_retry_attempts)
        self.provisioner = Provisioner(self.client, config.property_group)
        self.last_pull: DealPuller | None = None
        self._property_types: dict[str, str] | None = None

    def puller(self) -> DealPuller:
        return DealPuller(self.client, self.config, self.stats)

    def check(self, specs: Sequence[FieldSpec] = ()) -> list[CheckResult]:
        """The protocol's check; given the writeback's field specs, also checks those properties."""
        return run_checks(self.client, self.config, self.puller(), self.provisioner, specs)

    def pull(self, watermark: str | None) -> Iterator[PullBatch]:
        self.last_pull = self.puller()
        return self.last_pull.pull(watermark)

    def instance_id(self) -> str:
        """The portal id (HubSpot's Hub ID) from ``GET /account-info/v3/details``, checked (``account``):
        one call, paced, counted and retried like every other. developers.hubspot.com, "Account
        information API"."""
        return str(self.account().portal_id)

    def read_fields(
        self, partner_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, FieldValue]]:
        if self._property_types is None or any(f not in self._property_types for f in fields):
            self._property_types = read_property_types(self.client)
        return read_company_fields(self.client, partner_ids, fields, self._property_types)

    def write_fields(
        self, updates: Sequence[FieldUpdate], specs: Mapping[str, FieldSpec]
    ) -> list[WriteResult]:
        """Refused whole (ProvisionError) when a target is not one of our properties with the expected
        type (the properties are read once per run)."""
        targets = (name for u in updates for name in u.values)
        refuse_unowned(targets, specs, self.provisioner.known_properties())
        return self.writer.write(updates, specs)

    def stored_values(
        self, updates: Sequence[FieldUpdate], specs: Mapping[str, FieldSpec]
    ) -> dict[str, dict[str, FieldValue]]:
        """The values as read_fields will read them back: written as HubSpot stores them (text cut to
        length, datetimes to the millisecond) and typed as read (numbers Decimal, datetimes aware)."""
        out: dict[str, dict[str, FieldValue]] = {}
        for update in updates:
            values = out.setdefault(update.partner_id, {})
            for name, value in update.values.items():
                spec = specs.get(name)
                try:
                    written = format_value(value, spec)
                except (UnwritableValue, ArithmeticError, TypeError):
                    values[name] = value
                    continue
                values[name] = typed(written, SHAPES[spec.kind].type if spec is not None else None)
        return out

    def account(self) -> AccountDetails:
        """The portal this connector's token belongs to (checked: a portal id is always there)."""
        return read_account(self.client)

    def provision_fields(self, specs: Sequence[FieldSpec]) -> list[ProvisionResult]:
        self._property_types = None
        return self.provisioner.provision(specs)

    def close(self) -> None:
        self.client.close()
