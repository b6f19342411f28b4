"""Current values of KPI properties on companies (for plans that verify live values), typed as writeback
compares them: numbers as Decimal, datetimes as aware datetimes, text as str, empty as None."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from hubspot.crm.companies import BatchReadInputSimplePublicObjectId, SimplePublicObjectId

from connectors.base import FieldValue
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
        answer = client.call(partial(api.read, request, archived=False))
        for record in answer.results or []:
            props = dict(record.properties or {})
            out[str(record.id)] = {f: typed(props.get(f), types.get(f)) for f in fields}
    return out
