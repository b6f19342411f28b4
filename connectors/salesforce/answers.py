"""What each Salesforce answer the connector reads must hold before any of it is believed: pydantic models
of the REST query page, the describe, the Bulk API 2.0 query job and its result pages, the org's limits,
and of the rows the metadata reads hand on (stages, currencies). ``connectors.answers`` reads an answer
into its model; an answer that does not fit is UnexpectedAnswer naming the call and what was missing.

Shapes as Salesforce documents them: the REST query resource answers ``{totalSize, done, records}`` plus
``nextRecordsUrl`` while ``done`` is false, and every record carries every selected field (null when
empty) (developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_query.htm); Bulk API 2.0
results are CSV whose header row names the selected fields, with the ``Sforce-NumberOfRecords`` and
``Sforce-Locator`` headers (``null`` on the last set) (api_asynch/query_get_job_results.htm).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr
from simple_salesforce.bulk2 import JobState

from connectors.answers import parse_answer
from connectors.errors import UnexpectedAnswer

Record = dict[str, Any]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class QueryPage(_Answer):
    """One page of ``GET /query``, ``/queryAll`` or a ``nextRecordsUrl`` (a ``COUNT()`` answers one too,
    with no records)."""

    totalSize: StrictInt = Field(ge=0)
    done: StrictBool
    records: list[Any]
    nextRecordsUrl: StrictStr | None = None


class StageRow(_Answer):
    """An OpportunityStage row: whether a deal in the stage is closed, won, and its default probability."""

    ApiName: StrictStr = Field(min_length=1)
    IsClosed: StrictBool
    IsWon: StrictBool
    DefaultProbability: Decimal | None = None


class CurrencyTypeRow(_Answer):
    IsoCode: StrictStr = Field(min_length=3)
    ConversionRate: Decimal = Field(gt=0)
    IsCorporate: StrictBool


class DatedRateRow(_Answer):
    IsoCode: StrictStr = Field(min_length=3)
    ConversionRate: Decimal = Field(gt=0)
    StartDate: date
    NextStartDate: date | None = None


class DescribedField(_Answer):
    name: StrictStr = Field(min_length=1)
    type: StrictStr = Field(min_length=1)


class Describe(_Answer):
    """``GET /sobjects/{object}/describe``: the connector reads the fields (name, type and, for the KPI
    fields, length / precision / scale / updateable, which stay as Salesforce sent them)."""

    name: StrictStr = Field(min_length=1)
    fields: list[DescribedField] = Field(min_length=1)

    def by_name(self) -> dict[str, dict[str, Any]]:
        return {f.name: f.model_dump() for f in self.fields}


QUERY_JOB_STATES = frozenset(s.value for s in JobState)


class BulkJob(_Answer):
    """A Bulk API 2.0 query job, as its create and its status calls answer it (read by ``bulk_job``)."""

    id: StrictStr = Field(min_length=1)
    state: StrictStr
    errorMessage: str | None = None


_BULK_HEADERS = ("Sforce-NumberOfRecords", "Sforce-Locator")


class BulkResultHeaders(_Answer):
    number_of_records: int = Field(alias="Sforce-NumberOfRecords", ge=0)
    """A header, so text: read as an int when it is one."""
    locator: StrictStr = Field(alias="Sforce-Locator", min_length=1)

    @property
    def next_locator(self) -> str | None:
        return None if self.locator == "null" else self.locator


class DailyRequests(_Answer):
    Max: StrictInt = Field(ge=0)
    Remaining: StrictInt


class Limits(_Answer):
    """``GET /limits``: the connector reads the daily API allowance."""

    DailyApiRequests: DailyRequests


def bulk_job(answer: Any, call: str) -> BulkJob:
    """``answer`` as a query job in one of the states Bulk API 2.0 documents."""
    job = parse_answer(BulkJob, answer, call)
    if job.state not in QUERY_JOB_STATES:
        raise UnexpectedAnswer(call, f"state is none of {', '.join(sorted(QUERY_JOB_STATES))}")
    return job


def query_page(
    answer: Any, fields: Sequence[str], call: str, rows: type[BaseModel] | None = None
) -> QueryPage:
    """``answer`` as a query page whose every record carries ``fields`` (the first part of a path: a
    relationship comes as a nested record, or null); ``rows``: a model each record must also fit."""
    page = parse_answer(QueryPage, answer, call)
    if not page.done and not page.nextRecordsUrl:  # read as the last page, the rest would be lost
        raise UnexpectedAnswer(call, "done is false but there is no nextRecordsUrl")
    needed = frozenset(f.split(".", 1)[0] for f in fields)
    for i, record in enumerate(page.records):
        if not isinstance(record, dict):
            raise UnexpectedAnswer(call, f"records.{i}: not an object")
        if not needed <= record.keys():
            raise UnexpectedAnswer(call, f"records.{i}: no {', '.join(sorted(needed - record.keys()))}")
        if rows is not None:
            parse_answer(rows, record, f"{call}, records.{i}")
    return page


def bulk_result_page(
    headers: Mapping[str, str], body: bytes, fields: Sequence[str], call: str
) -> tuple[list[Record], str | None]:
    """A Bulk API 2.0 result set as rows (strings; "" is None) and the next set's locator (None: the last
    set). The header row must name every field asked for, and the rows must be as many as
    ``Sforce-NumberOfRecords`` says (a set cut short would otherwise pass for a smaller one)."""
    meta = parse_answer(BulkResultHeaders, {k: headers[k] for k in _BULK_HEADERS if k in headers}, call)
    text = body.replace(b"\x00", b"").decode("utf-8", "replace")  # as simple-salesforce filters them
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [f for f in fields if f not in header]
    if missing:
        raise UnexpectedAnswer(call, f"the CSV header row lacks {', '.join(missing)}")
    rows = [{k: (v if v != "" else None) for k, v in row.items()} for row in reader]
    if len(rows) != meta.number_of_records:
        raise UnexpectedAnswer(
            call, f"{len(rows)} CSV rows where Sforce-NumberOfRecords says {meta.number_of_records}"
        )
    return rows, meta.next_locator
