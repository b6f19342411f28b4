"""The Salesforce connector: the protocol's five abilities over one client (see the modules it wires)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from connectors.base import CheckResult, Connector, FieldWriter, PullBatch
from connectors.errors import UnexpectedAnswer
from connectors.fields import FieldKind, FieldSpec, FieldUpdate, FieldValue, ProvisionResult, WriteResult
from connectors.retry import DEFAULT_POLICY, RetryPolicy
from connectors.salesforce import currency, soql
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.config import SalesforceConfig
from connectors.salesforce.health import run_checks
from connectors.salesforce.provision import Provisioner, refuse_unowned
from connectors.salesforce.pull import ID_CHUNK, Puller, PullState
from connectors.salesforce.reader import Reader
from connectors.salesforce.watermark import SalesforceWatermark
from connectors.salesforce.write import Writer, to_account_currency
from kpi_core import clock
from kpi_core.money import RateTable

_ORG_ID = re.compile(r"00D[0-9A-Za-z]{12}")
"""A 15-character Salesforce org id (key prefix 00D)."""


class SalesforceConnector(Connector[SalesforceConfig], FieldWriter):
    watermark_model = SalesforceWatermark

    def __init__(self, config: SalesforceConfig, *, retry_policy: RetryPolicy = DEFAULT_POLICY) -> None:
        super().__init__(config)
        self.client = SalesforceClient(config, self.stats, retry_policy)
        self.reader = Reader(self.client, config.page_size)
        self.puller = Puller(self.client, config)
        self.writer = Writer(
            self.client,
            sobject=config.partner_object,
            batch_size=config.write_batch_size,
            retry_attempts=config.write_retry_attempts,
            policy=retry_policy,
        )
        self.provisioner = Provisioner(
            self.client,
            self.reader,
            config.partner_object,
            config.permission_set,
            config.writer_permission_set,
        )

    def check(self, specs: Sequence[FieldSpec] = ()) -> list[CheckResult]:
        """The protocol's check; given the writeback's field specs, also checks those fields."""
        return run_checks(self.client, self.puller, self.provisioner, specs)

    def pull(self, watermark: str | None) -> Iterator[PullBatch]:
        return self.puller.run(watermark)

    def instance_id(self) -> str:
        """The org's 15-character id. An opaque access token, what every flow gets unless the connected
        app issues JWT-based ones, is ``<org id>!<secret>``: the id is read from there, no call is made
        (only the prefix is kept). Otherwise one call, ``SELECT Id FROM Organization`` (its one row)."""
        prefix, bang, _ = str(self.client.sf.session_id or "").partition("!")
        if bang and _ORG_ID.fullmatch(prefix):
            return prefix
        query = soql.select(["Id"], "Organization", limit=1)
        for row in self.reader.records(query, what="reading the org id (Organization)"):
            org = str(row.get("Id") or "")[:15]
            if _ORG_ID.fullmatch(org):
                return org
        raise UnexpectedAnswer(f"GET /query ({query})", "no Organization row with an org id (00D...)")

    def read_fields(
        self, partner_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, FieldValue]]:
        """Raw field values as Salesforce holds them (Currency in the Account's currency, Percent in points)."""
        out: dict[str, dict[str, FieldValue]] = {}
        ids = list(dict.fromkeys(partner_ids))
        for start in range(0, len(ids), ID_CHUNK):
            chunk = ids[start : start + ID_CHUNK]
            query = soql.select(["Id", *fields], self.config.partner_object, where=[soql.is_in("Id", chunk)])
            for row in self.reader.records(query, what="reading KPI fields"):
                out[str(row["Id"])] = {f: row.get(f) for f in fields}
        return out

    def write_fields(
        self, updates: Sequence[FieldUpdate], specs: Mapping[str, FieldSpec]
    ) -> list[WriteResult]:
        """Values as stored_values gave them, rounded by writeback; refused whole (ProvisionError) when
        a target is not one of our custom fields with the expected type (one describe per run)."""
        targets = (name for u in updates for name in u.values)
        refuse_unowned(targets, specs, self.provisioner.known_fields(), self.config.partner_object)
        account_currency, rates = self._currency_context(updates, specs)
        records, failed = self.writer.records(updates, specs, account_currency, rates)
        if len(records) > self.config.bulk_write_threshold:
            sent = self.writer.send_bulk(records, self.config.bulk_poll_seconds)
        else:
            sent = self.writer.send(records)
        results = {**sent, **failed}
        return [results[u.partner_id] for u in updates]

    def stored_values(
        self, updates: Sequence[FieldUpdate], specs: Mapping[str, FieldSpec]
    ) -> dict[str, dict[str, FieldValue]]:
        """Currency values converted, exactly, into each Account's own currency (writeback rounds them
        once, then hands them to write_fields as they are)."""
        account_currency, rates = self._currency_context(updates, specs)
        out: dict[str, dict[str, FieldValue]] = {}
        for update in updates:
            values = dict(update.values)
            for name, value in update.values.items():
                spec = specs.get(name)
                if spec is not None and spec.kind is FieldKind.CURRENCY and rates is not None:
                    converted, error = to_account_currency(
                        value, (account_currency or {}).get(update.partner_id), rates
                    )
                    values[name] = converted if error is None else value
            out[update.partner_id] = values
        return out

    def provision_fields(self, specs: Sequence[FieldSpec]) -> list[ProvisionResult]:
        return self.provisioner.provision(specs)

    def close(self) -> None:
        self.client.close()

    # -- currency for writes -------------------------------------------------------------------------
    def _currency_context(
        self, updates: Sequence[FieldUpdate], specs: Mapping[str, FieldSpec]
    ) -> tuple[dict[str, str] | None, RateTable | None]:
        """Each Account's currency and CurrencyType's rates, when Currency values are written to a
        multi-currency org; (None, None) otherwise. Calls when no pull ran before: describe Account,
        CurrencyType, partner Accounts (one per 2,000), and one per 200 accounts not among them; after a
        pull, only one per 200 accounts the pull did not read (none when partners are IsPartner accounts)."""
        money_fields = {n for n, s in specs.items() if s.kind is FieldKind.CURRENCY}
        if not any(u.values.get(n) is not None for u in updates for n in money_fields):
            return None, None
        meta = self.puller.meta
        rates: RateTable | None
        if meta is not None:
            multi, rates = meta.shape.multi_currency, meta.currencies.rates
        else:
            multi = "CurrencyIsoCode" in self.provisioner.known_fields()
            rates = currency.static_rates(self.reader, self.config.reporting_currency) if multi else None
        if not multi or rates is None:
            return None, None
        known = self.puller.account_currency
        if meta is None and any(u.partner_id not in known for u in updates):  # a pull read them already
            self.puller.partner_accounts(True, PullState(run_start=clock.utcnow()))  # one call per 2,000
        missing = [u.partner_id for u in updates if u.partner_id not in known]
        for start in range(0, len(missing), ID_CHUNK):
            chunk = missing[start : start + ID_CHUNK]
            query = soql.select(
                ["Id", "CurrencyIsoCode"], self.config.partner_object, where=[soql.is_in("Id", chunk)]
            )
            for row in self.reader.records(query, what="reading Account currencies"):
                code: Any = row.get("CurrencyIsoCode")
                if code:
                    known[str(row["Id"])] = str(code).upper()
        return dict(known), rates
