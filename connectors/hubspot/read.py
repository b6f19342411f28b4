"""Reads outside the pull, each answer checked (connectors/hubspot/answers.py): the current values of KPI
properties on companies (for plans that verify live values), typed as writeback compares them (numbers as
Decimal, datetimes as aware datetimes, text as str, empty as None); the company property types; which
portal the token belongs to; the daily API allowance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hubspot.crm.companies import BatchReadInputSimplePublicObjectId, SimplePublicObjectId

from connectors.base import FieldValue
from connectors.hubspot.answers import (
    ACCOUNT_DETAILS,
    COMPANY_PROPERTIES,
    DAILY_LIMIT,
    READ_COMPANIES,
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
    api = client.apis.companies_batch
    ids = list(dict.fromkeys(company_ids))
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        request = BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=i) for i in chunk],
            properties=list(fields),
            properties_with_history=[],
        )
        answer = client.read(BatchRead, READ_COMPANIES, api.read, request, archived=False)
        for record in answer.results:
            out[record.id] = {f: typed(record.properties.get(f), types.get(f)) for f in fields}
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
