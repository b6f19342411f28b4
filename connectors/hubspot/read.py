"""HubSpot's reads by id, and its reads outside the pull, each answer checked (connectors/hubspot/answers.py):

- the batch read of objects' properties by id (the pull's deal properties past the first chunk, the
  partners' names, the KPI values read back);
- the current values of KPI properties on companies (for plans that verify live values), typed as
  writeback compares them (numbers as Decimal, datetimes as aware datetimes, text as str, empty as None);
- the company property types, which portal the token belongs to, the daily API allowance.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

from hubspot.crm.associations.v4 import Configuration as AssociationsConfiguration
from hubspot.crm.companies import BatchReadInputSimplePublicObjectId as CompanyBatchRead
from hubspot.crm.companies import SimplePublicObjectId as CompanyId
from hubspot.crm.deals import BatchReadInputSimplePublicObjectId as DealBatchRead
from hubspot.crm.deals import SimplePublicObjectId as DealId

from connectors.fields import FieldValue
from connectors.hubspot.answers import (
    ACCOUNT_DETAILS,
    COMPANY_PROPERTIES,
    DAILY_LIMIT,
    READ_COMPANIES,
    READ_DEALS,
    AccountDetails,
    BatchRead,
    DailyLimit,
    DailyLimits,
    Properties,
)
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.normalize import parse_datetime, text
from kpi_core.money import to_money

BATCH = 100
"""Objects per batch read (HubSpot's limit)."""

MODEL_CONFIG = AssociationsConfiguration()
"""One configuration for every request model we build: the SDK otherwise deep-copies a fresh default
Configuration per model object (35 µs each: a third of a 1M-deal pull's time in the profile)."""

_BATCH_READS: dict[str, tuple[Any, Any, str, str]] = {
    "deals": (DealBatchRead, DealId, READ_DEALS, "deals_batch"),
    "companies": (CompanyBatchRead, CompanyId, READ_COMPANIES, "companies_batch"),
}
"""Per object type: the SDK's request and id models, the call as messages name it, the kept API object."""


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def batch_read(
    client: HubSpotClient,
    kind: Literal["deals", "companies"],
    ids: Sequence[str],
    properties: Sequence[str],
) -> dict[str, dict[str, str | None]]:
    """Object id -> the ``properties`` asked for, for up to BATCH ids in one call (POST: no URL length
    limit); ids HubSpot does not know (or has archived) are left out of the answer."""
    request_model, id_model, call, api_name = _BATCH_READS[kind]
    request = request_model(
        inputs=[id_model(id=i, local_vars_configuration=MODEL_CONFIG) for i in ids],
        properties=list(properties),
        properties_with_history=[],
        local_vars_configuration=MODEL_CONFIG,
    )
    api = getattr(client.apis, api_name)
    answer = client.read(BatchRead, call, api.read, request, archived=False)
    return {r.id: r.properties for r in answer.results}


def typed(raw: Any, kind: str | None) -> FieldValue:
    value = text(raw)
    if value is None:
        return None
    if kind == "number":
        number = to_money(value)
        return number if number is not None else value
    if kind in ("datetime", "date"):
        moment = parse_datetime(value)
        return moment if moment is not None else value
    return value


def read_company_fields(
    client: HubSpotClient, company_ids: Sequence[str], fields: Sequence[str], types: Mapping[str, str]
) -> dict[str, dict[str, FieldValue]]:
    """Companies that do not exist (or are archived) are left out of the answer."""
    out: dict[str, dict[str, FieldValue]] = {}
    for chunk in chunks(list(dict.fromkeys(company_ids)), BATCH):
        for company, values in batch_read(client, "companies", chunk, fields).items():
            out[company] = {f: typed(values.get(f), types.get(f)) for f in fields}
    return out


def read_property_types(client: HubSpotClient) -> dict[str, str]:
    """Company property name -> its type (``number``, ``datetime``, ``string``, ...)."""
    api = client.apis.properties
    answer = client.read(Properties, COMPANY_PROPERTIES, api.get_all, "companies", archived=False)
    return {p.name: p.type for p in answer.results}


def read_account(client: HubSpotClient) -> AccountDetails:
    """The portal the token belongs to (its id, time zone, company currency)."""
    return client.get(AccountDetails, ACCOUNT_DETAILS, "/account-info/v3/details")


def read_daily_limit(client: HubSpotClient) -> DailyLimit | None:
    """The portal's daily API call allowance and today's usage (None: HubSpot lists no such limit)."""
    return client.get(DailyLimits, DAILY_LIMIT, "/integrations/v1/limit/daily").api_calls()
