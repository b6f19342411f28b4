"""The incremental pull: metadata, partner accounts, deletions, then the changed opportunities.

API calls of a pull (partner_account mode, multi-currency org with dated rates), the constant part:
  1 describe Opportunity (which fields exist: CurrencyIsoCode, the channel and partner fields)
  1 OpportunityStage (status from IsClosed/IsWon)
  2 CurrencyType + DatedConversionRate (single-currency org: 1 Organization)
  1 partner Accounts (IsPartner = true)
  1 deletions (queryAll IsDeleted = true since the watermark)
  1 COUNT() of changed opportunities (decides REST or Bulk, and skips the read when nothing changed)
  = 7, plus ceil(changed / page_size) REST query pages (none when nothing changed).
Each of the metadata reads takes one more call per 2,000 rows past the first 2,000. In the
opportunity_partner and lookup_field modes, one more Account call per 200 accounts referenced that the run
has not seen yet; in the opportunity_partner mode, one OpportunityPartner call per 200 opportunities read
(REST), or one per 2,000 primary partner links (Bulk). A change of an opportunity's partners that does not
touch the opportunity itself (no new SystemModstamp) is seen only by a full pull (watermark None).

Order: deletions before changes (a record undeleted later comes back as a change); the watermark of a
page is its last SystemModstamp (capped at the run's start; none when that is not past the stored
watermark, as for a page re-read in the lookback window); the final one is the run's start. A batch is
handed on only once every answer it comes from was checked (connectors/salesforce/answers.py): a broken
answer raises before its batch, so its watermark never reaches the store.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from connectors.answers import parse_answer
from connectors.base import PullBatch, with_expected
from connectors.errors import ConnectorError
from connectors.salesforce import currency, normalize, soql
from connectors.salesforce.answers import Describe, StageRow
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.client import sobject as client_sobject
from connectors.salesforce.config import SalesforceConfig
from connectors.salesforce.failures import SalesforceApiError
from connectors.salesforce.normalize import OpportunityShape, StageMeta
from connectors.salesforce.reader import Reader, Record
from connectors.salesforce.watermark import SalesforceWatermark
from kpi_core import clock
from kpi_core.schema import Opportunity, Partner

log = logging.getLogger(__name__)

BASE_FIELDS = ("Id", "StageName", "Amount", "CloseDate", "CreatedDate", "Probability", "SystemModstamp")
ID_CHUNK = 200
MISSING_FIELD_CODES = frozenset({"INVALID_FIELD", "INVALID_TYPE"})


@dataclass
class OrgMeta:
    opportunity_fields: frozenset[str]
    stages: dict[str, StageMeta]
    currencies: currency.OrgCurrencies
    shape: OpportunityShape


@dataclass
class PullState:
    """What one pull has seen so far."""

    run_start: datetime
    previous: datetime | None = None
    """The stored watermark the pull started from: a page's checkpoint never goes back past it."""
    partner_ids: set[str] = field(default_factory=set)


class Puller:
    def __init__(self, client: SalesforceClient, config: SalesforceConfig) -> None:
        self.client = client
        self.config = config
        self.reader = Reader(client, config.page_size)
        self.account_currency: dict[str, str] = {}
        """Partner account -> its CurrencyIsoCode, as the last pull saw it (writes convert into it)."""
        self.meta: OrgMeta | None = None

    # -- metadata ------------------------------------------------------------------------------------
    def describe_fields(self, sobject: str) -> dict[str, dict[str, Any]]:
        """The object's fields by API name, from its describe (checked: answers.Describe)."""
        described = self.client.read(
            f"describing {sobject}",
            lambda sf: client_sobject(sf, sobject).describe(),
            lambda answer, call: parse_answer(Describe, answer, call),
        )
        return described.by_name()

    def load_meta(self) -> OrgMeta:
        fields = frozenset(self.describe_fields("Opportunity"))
        partner_field = self.config.partner.opportunity_field
        for needed, why in ((self.config.channel_field, "channel_field"), (partner_field, "partner.field")):
            if needed is not None and needed not in fields:
                raise ConnectorError(
                    f"Salesforce Opportunity has no field {needed} ({why} in the connector config), or this "
                    "user cannot see it: check the field's API name and its field-level security"
                )
        stages: dict[str, StageMeta] = {}
        for row in self.reader.records(
            soql.select(["ApiName", "IsClosed", "IsWon", "DefaultProbability"], "OpportunityStage"),
            what="reading OpportunityStage",
            rows=StageRow,
        ):
            entry = normalize.stage_meta(row)
            if entry is not None:
                stages[entry[0]] = entry[1]
        multi = "CurrencyIsoCode" in fields
        currencies = currency.load(
            self.reader, multi_currency=multi, reporting_currency=self.config.reporting_currency
        )
        shape = OpportunityShape(
            partner_field=partner_field,
            channel_field=self.config.channel_field,
            multi_currency=multi,
            timezone=self.config.timezone,
            reporting_currency=currencies.reporting,
        )
        self.meta = OrgMeta(fields, stages, currencies, shape)
        return self.meta

    # -- partners ------------------------------------------------------------------------------------
    def _account_fields(self, multi_currency: bool) -> list[str]:
        return ["Id", "Name", *(["CurrencyIsoCode"] if multi_currency else [])]

    def partner_accounts(self, multi_currency: bool, state: PullState) -> list[Partner]:
        """Accounts flagged IsPartner (none when the org has no partner accounts feature)."""
        query = soql.select(
            self._account_fields(multi_currency), "Account", where=[soql.condition("IsPartner", "=", True)]
        )
        try:
            rows = list(self.reader.records(query, what="reading partner Accounts"))
        except SalesforceApiError as exc:
            if exc.code in MISSING_FIELD_CODES:
                log.info(
                    "Account has no IsPartner field (no partner accounts feature); partners by reference only"
                )
                return []
            raise
        return self._remember(rows, state)

    def _remember(self, rows: Sequence[Record], state: PullState) -> list[Partner]:
        out = []
        for row in rows:
            found = normalize.partner(row)
            state.partner_ids.add(found.id)
            code = normalize.text(row.get("CurrencyIsoCode"))
            if code:
                self.account_currency[found.id] = code.upper()
            out.append(found)
        return out

    def referenced_accounts(
        self, ids: Sequence[str], multi_currency: bool, state: PullState
    ) -> list[Partner]:
        """Accounts an opportunity names as its partner that the run has not read yet."""
        missing = sorted({i for i in ids if i not in state.partner_ids})
        found: list[Partner] = []
        for start in range(0, len(missing), ID_CHUNK):
            chunk = missing[start : start + ID_CHUNK]
            query = soql.select(
                self._account_fields(multi_currency), "Account", where=[soql.is_in("Id", chunk)]
            )
            found += self._remember(
                list(self.reader.records(query, what="reading partner Accounts by id")), state
            )
            state.partner_ids.update(chunk)  # an id that is no account is not asked for again
        return found

    # -- opportunities -------------------------------------------------------------------------------
    def _opportunity_query(self, meta: OrgMeta, since: datetime | None, *, bulk: bool) -> str:
        fields = list(BASE_FIELDS)
        extra = [meta.shape.channel_field, meta.shape.partner_field]
        if meta.shape.multi_currency:
            extra.append("CurrencyIsoCode")
        for name in extra:
            if name is not None and name not in fields:
                fields.append(name)
        where = [soql.condition("SystemModstamp", ">=", since)] if since is not None else []
        order = [] if bulk else ["SystemModstamp", "Id"]
        return soql.select(fields, "Opportunity", where=where, order_by=order)

    def _primary_partners(self, opportunity_ids: Sequence[str] | None = None) -> dict[str, str]:
        """Opportunity -> primary OpportunityPartner account: for the given opportunities (200 ids a
        call), or for every opportunity (a bulk read: one REST call per 2,000 links)."""
        primary = soql.condition("IsPrimary", "=", True)
        chunks: list[list[str] | None] = [None]
        if opportunity_ids is not None:
            ids = list(opportunity_ids)
            chunks = [ids[i : i + ID_CHUNK] for i in range(0, len(ids), ID_CHUNK)]
        out: dict[str, str] = {}
        for chunk in chunks:
            where = [primary] + ([soql.is_in("OpportunityId", chunk)] if chunk is not None else [])
            query = soql.select(["OpportunityId", "AccountToId"], "OpportunityPartner", where=where)
            for row in self.reader.records(query, what="reading primary OpportunityPartners"):
                opp, account = (
                    normalize.text(row.get("OpportunityId")),
                    normalize.text(row.get("AccountToId")),
                )
                if opp and account:
                    out[opp] = account
        return out

    def _normalize_page(
        self, rows: Sequence[Record], meta: OrgMeta, state: PullState, primary: Mapping[str, str]
    ) -> list[Opportunity]:
        normalizer = normalize.Normalizer(
            shape=meta.shape,
            stages=meta.stages,
            rates=meta.currencies.rates,
            today=clock.today(self.config.timezone),
            fallback_modified=state.run_start,
            primary_partners=primary,
        )
        read = normalizer.opportunity
        out = []
        for row in rows:
            try:
                out.append(read(row))
            except (KeyError, TypeError, ValueError) as exc:  # a record without an Id: nothing to store
                log.warning("skipped a malformed Opportunity record: %s", type(exc).__name__)
        return out

    def run(self, watermark: str | None) -> Iterator[PullBatch]:
        stored = SalesforceWatermark.load(watermark)
        previous = stored.modified if stored is not None else None
        state = PullState(run_start=clock.utcnow(), previous=previous)
        since = previous - timedelta(minutes=self.config.lookback_minutes) if previous else None
        meta = self.load_meta()
        partners = self.partner_accounts(meta.shape.multi_currency, state)
        deleted = self.deleted_ids(since)
        yield PullBatch(partners=partners, deleted_opportunity_ids=deleted)

        changed = self.reader.count(
            soql.count("Opportunity", [soql.condition("SystemModstamp", ">=", since)] if since else []),
            what="counting changed Opportunities",
        )
        log.info("Salesforce: %d changed opportunities since %s", changed, since or "the beginning")
        if changed > 0:
            bulk = changed > self.config.bulk_threshold
            pages = self._bulk(meta, since, state) if bulk else self._rest(meta, since, state)
            yield from with_expected(pages, changed)  # the first page tells the progress bar the count
        yield PullBatch(watermark=SalesforceWatermark(modified=state.run_start).dump())

    def _rest(
        self, meta: OrgMeta, since: datetime | None, state: PullState
    ) -> Generator[PullBatch, None, None]:
        query = self._opportunity_query(meta, since, bulk=False)
        with closing(self.reader.pages(query, what="reading changed Opportunities")) as pages:
            for page in pages:  # the next page is fetched while this one is normalized and stored
                primary = {}
                if meta.shape.partner_field is None and page:
                    primary = self._primary_partners([str(r["Id"]) for r in page if r.get("Id")])
                opportunities = self._normalize_page(page, meta, state, primary)
                yield self._batch(opportunities, meta, state, checkpoint=True)

    def _bulk(
        self, meta: OrgMeta, since: datetime | None, state: PullState
    ) -> Generator[PullBatch, None, None]:
        primary = self._primary_partners() if meta.shape.partner_field is None else {}
        query = self._opportunity_query(meta, since, bulk=True)
        pages = self.reader.bulk_pages("Opportunity", query, what="bulk-reading changed Opportunities")
        with closing(pages):
            for page in pages:
                yield self._batch(
                    self._normalize_page(page, meta, state, primary), meta, state, checkpoint=False
                )

    def _batch(
        self, opportunities: list[Opportunity], meta: OrgMeta, state: PullState, *, checkpoint: bool
    ) -> PullBatch:
        referenced = [o.partner_id for o in opportunities if o.partner_id]
        partners = self.referenced_accounts(referenced, meta.shape.multi_currency, state)
        mark = None
        if checkpoint and opportunities:
            # A page re-read in the lookback window can end before the stored watermark: that one holds.
            moment = min(max(o.modified_at for o in opportunities), state.run_start)
            if state.previous is None or moment > state.previous:
                mark = SalesforceWatermark(modified=moment).dump()
        return PullBatch(opportunities=opportunities, partners=partners, watermark=mark)

    def deleted_ids(self, since: datetime | None) -> list[str]:
        where = [soql.condition("IsDeleted", "=", True)]
        if since is not None:
            where.append(soql.condition("SystemModstamp", ">=", since))
        query = soql.select(["Id"], "Opportunity", where=where)
        return [
            str(r["Id"]) for r in self.reader.records(query, include_deleted=True, what="reading deletions")
        ]
