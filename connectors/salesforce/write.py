"""Writing KPI values onto partner Accounts: sObject Collections PATCH, 200 records a call, allOrNone
false, one result per record. Records that hit a row lock (UNABLE_TO_LOCK_ROW) are sent again, only
those, a bounded number of times; other record errors are reported with the record id, field and message.

Values arrive as the Account will hold them (connectors.fields.FieldKind): in a multi-currency org a Currency
value is already in the Account's own currency (Salesforce reads a Currency field in its record's
CurrencyIsoCode): writeback converted the exact amount with ``to_account_currency`` (through the
connector's ``stored_values``) and rounded it once. Nothing is converted or rounded here.

Every answer is checked (connectors.answers): a collection answer that is not one SaveResult per record,
in order, or a Bulk job whose failed records cannot all be placed, is UnexpectedAnswer: nothing of that
call is confirmed, so the ledger does not record it and the next run writes it again.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, RootModel, StrictBool
from simple_salesforce.api import Salesforce

from connectors.answers import parse_answer
from connectors.errors import UnexpectedAnswer
from connectors.fields import FieldKind, FieldSpec, FieldUpdate, FieldValue, RecordError, WriteResult
from connectors.retry import DEFAULT_POLICY, RetryPolicy
from connectors.salesforce.client import SalesforceClient, sobject_bulk2
from connectors.salesforce.transport import RETRYABLE_RECORD_CODES
from kpi_core.money import RateTable

log = logging.getLogger(__name__)

COLLECTION_PATH = "composite/sobjects"
BULK_CALL = "Bulk API 2.0 ingest (update)"
BULK_FAILED_CALL = "GET /jobs/ingest/{id}/failedResults"


class SaveError(BaseModel):
    statusCode: str
    message: str = ""
    fields: list[str] = []


class SaveResult(BaseModel):
    """One record's answer to an sObject Collections update ("SaveResult": id, success, errors)."""

    id: str | None = None
    success: StrictBool
    errors: list[SaveError] = []


class SaveResults(RootModel[list[SaveResult]]):
    pass


class BulkJob(BaseModel):
    """What simple-salesforce reports of one finished ingest job."""

    job_id: str
    numberRecordsFailed: int
    numberRecordsProcessed: int
    numberRecordsTotal: int


class BulkJobs(RootModel[list[BulkJob]]):
    pass


def json_value(value: FieldValue) -> Any:
    """A field value as Salesforce's JSON takes it (numbers as numbers, datetimes in UTC ISO 8601)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**53 else float(value)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return value


def to_account_currency(
    value: FieldValue, account_currency: str | None, rates: RateTable
) -> tuple[FieldValue, RecordError | None]:
    """The one conversion: a reporting-currency amount in the Account's currency (CurrencyType's rate:
    Salesforce converts fields of objects other than Opportunity with the static rates), exact; writeback
    rounds the result once to the field's scale."""
    if (
        value is None
        or account_currency is None
        or account_currency.upper() == rates.reporting_currency.upper()
    ):
        return value, None
    rate = rates.static.get(account_currency.upper())
    if rate is None or not isinstance(value, (Decimal, int, float)):
        return None, RecordError(
            f"no conversion rate from {rates.reporting_currency} to the account's currency {account_currency}",
            code="UNKNOWN_CURRENCY",
        )
    return Decimal(str(value)) * rate, None


class Writer:
    def __init__(
        self,
        client: SalesforceClient,
        *,
        sobject: str,
        batch_size: int,
        retry_attempts: int,
        policy: RetryPolicy = DEFAULT_POLICY,
    ) -> None:
        self.client = client
        self.sobject = sobject
        self.batch_size = batch_size
        self.retry_attempts = retry_attempts
        self.policy = policy

    def records(
        self,
        updates: Sequence[FieldUpdate],
        specs: Mapping[str, FieldSpec],
        account_currency: Mapping[str, str] | None,
        rates: RateTable | None,
    ) -> tuple[list[dict[str, Any]], dict[str, WriteResult]]:
        """The collection records to send, and the results of updates that cannot be sent (a Currency
        value for an Account whose currency has no rate: it could not have been converted)."""
        records: list[dict[str, Any]] = []
        failed: dict[str, WriteResult] = {}
        for update in updates:
            record: dict[str, Any] = {"attributes": {"type": self.sobject}, "id": update.partner_id}
            errors: list[RecordError] = []
            for name, value in update.values.items():
                spec = specs.get(name)
                if spec is not None and spec.kind is FieldKind.CURRENCY and rates is not None:
                    code = (account_currency or {}).get(update.partner_id)
                    _, error = to_account_currency(value, code, rates)
                    if error is not None:
                        errors.append(RecordError(error.message, error.code, field=name))
                        continue
                record[name] = json_value(value)
            if errors:
                failed[update.partner_id] = WriteResult(update.partner_id, False, tuple(errors))
            else:
                records.append(record)
        return records, failed

    def send(self, records: Sequence[dict[str, Any]]) -> dict[str, WriteResult]:
        """Send in batches; resend row-locked records; one result per record id."""
        results: dict[str, WriteResult] = {}
        for start in range(0, len(records), self.batch_size):
            pending = list(records[start : start + self.batch_size])
            attempt = 0
            while pending:
                answers = self._patch(pending)
                retry: list[dict[str, Any]] = []
                for record, answer in zip(pending, answers, strict=True):
                    result = _result(str(record["id"]), answer)
                    if (
                        not result.ok
                        and all(e.retryable for e in result.errors)
                        and attempt < self.retry_attempts
                    ):
                        retry.append(record)
                    else:
                        results[result.partner_id] = result
                if retry:
                    attempt += 1
                    log.info("resending %d row-locked record(s) (attempt %d)", len(retry), attempt + 1)
                    self.policy.pause_before_resend(attempt)
                pending = retry
        return results

    def send_bulk(self, records: Sequence[dict[str, Any]], poll_seconds: float) -> dict[str, WriteResult]:
        """One Bulk API 2.0 update job for many records: a result per record from the job's failed
        results; row-locked records are sent again through sObject Collections (bounded). A record of a
        job that did not process all its records, and is not among its failed results, is not confirmed."""
        if not records:
            return {}
        rows = [_csv_row(r) for r in records]
        try:
            answer: Any = self.client.call(
                f"bulk-writing {len(rows)} {self.sobject} record(s)",
                lambda sf: sobject_bulk2(sf, self.sobject).update(records=rows, wait=poll_seconds),  # type: ignore[arg-type]
            )
        except (KeyError, TypeError, ValueError) as exc:  # simple-salesforce indexes the job's answers itself
            raise UnexpectedAnswer(
                BULK_CALL, f"a job answer lacks what simple-salesforce reads ({type(exc).__name__})"
            ) from None
        jobs = parse_answer(BulkJobs, answer, BULK_CALL).root
        if sum(j.numberRecordsTotal for j in jobs) != len(rows):
            raise UnexpectedAnswer(
                BULK_CALL, f"its jobs hold {sum(j.numberRecordsTotal for j in jobs)} of {len(rows)} records"
            )
        results: dict[str, WriteResult] = {}
        locked: list[dict[str, Any]] = []
        by_id = {str(r["id"]): r for r in records}
        start = 0
        for job in jobs:
            ids = [str(r["id"]) for r in records[start : start + job.numberRecordsTotal]]
            start += job.numberRecordsTotal
            failed = self._failed_records(job) if job.numberRecordsFailed else {}
            if not set(failed) <= set(ids):  # a failure we cannot place would leave its record "written"
                raise UnexpectedAnswer(
                    BULK_FAILED_CALL.format(id=job.job_id), "it names records the job was not sent"
                )
            unprocessed = job.numberRecordsProcessed < job.numberRecordsTotal
            for record_id in ids:
                result = failed.get(record_id)
                if result is None and unprocessed:
                    result = WriteResult(
                        record_id,
                        False,
                        (RecordError("the Bulk job did not process this record", "UNPROCESSED"),),
                    )
                results[record_id] = result or WriteResult(record_id, True)
                if result is not None and result.errors[0].retryable and self.retry_attempts > 0:
                    locked.append(by_id[record_id])
        if locked:
            results.update(self.send(locked))
        return results

    def _failed_records(self, job: BulkJob) -> dict[str, WriteResult]:
        """The job's failed results by record id; every failed record must be placed, or none is believed."""
        call = BULK_FAILED_CALL.format(id=job.job_id)

        def failed_records(sf: Salesforce) -> str:
            return str(sobject_bulk2(sf, self.sobject).get_failed_records(job.job_id))

        text = self.client.call("reading a bulk job's failed records", failed_records)
        reader = csv.DictReader(io.StringIO(text))
        if not {"sf__Id", "sf__Error"} <= set(reader.fieldnames or ()):
            raise UnexpectedAnswer(call, "the CSV has no sf__Id and sf__Error columns")
        out: dict[str, WriteResult] = {}
        for row in reader:
            record_id = row.get("sf__Id") or row.get("Id") or ""
            out[record_id] = WriteResult(record_id, False, (_bulk_error(row.get("sf__Error") or ""),))
        if len(out) != job.numberRecordsFailed or "" in out:
            raise UnexpectedAnswer(
                call, f"{len(out)} failed record(s) named of the {job.numberRecordsFailed} the job counts"
            )
        return out

    def _patch(self, records: Sequence[dict[str, Any]]) -> list[SaveResult]:
        """One collection update; its answer checked: one SaveResult per record, in order (Salesforce
        answers "an array of SaveResult objects in the same order as the request"), else UnexpectedAnswer."""
        payload = {"allOrNone": False, "records": list(records)}

        def check(answer: Any, call: str) -> list[SaveResult]:
            results = parse_answer(SaveResults, answer, call).root
            if len(results) != len(records):
                raise UnexpectedAnswer(call, f"{len(results)} result(s) for {len(records)} record(s)")
            for i, (record, result) in enumerate(zip(records, results, strict=True)):
                if result.id is not None and result.id[:15] != str(record["id"])[:15]:
                    raise UnexpectedAnswer(call, f"result {i} names another record than the one sent")
            return results

        return self.client.read(
            f"writing {len(records)} {self.sobject} record(s)",
            lambda sf: sf.restful(COLLECTION_PATH, method="PATCH", json=payload),
            check,
        )


def _csv_row(record: Mapping[str, Any]) -> dict[str, str]:
    """A collection record as a Bulk API CSV row: ``#N/A`` clears a field (an empty cell leaves it)."""
    row = {"Id": str(record["id"])}
    for key, value in record.items():
        if key in ("attributes", "id"):
            continue
        row[key] = "#N/A" if value is None else str(value)
    return row


def _bulk_error(text: str) -> RecordError:
    """``CODE:message:fields`` (fields ``--`` when none), as Bulk API failed results give it."""
    code, _, rest = text.partition(":")
    message, field = rest, ""
    if ":" in rest:
        message, _, field = rest.rpartition(":")
    field = field.strip(" -")
    return RecordError(
        message=message or code,
        code=code,
        field=field.split(",")[0] if field else None,
        retryable=code in RETRYABLE_RECORD_CODES,
    )


def _result(record_id: str, answer: SaveResult) -> WriteResult:
    if answer.success:
        return WriteResult(record_id, True)
    errors = tuple(
        RecordError(
            message=error.message or error.statusCode,
            code=error.statusCode,
            field=error.fields[0] if error.fields else None,
            retryable=error.statusCode in RETRYABLE_RECORD_CODES,
        )
        for error in answer.errors
    )
    return WriteResult(record_id, False, errors or (RecordError("Salesforce gave no reason", "UNKNOWN"),))
