"""Writing KPI values onto partner Accounts: sObject Collections PATCH, 200 records a call, allOrNone
false, one result per record. Records that hit a row lock (UNABLE_TO_LOCK_ROW) are sent again, only
those, a bounded number of times; other record errors are reported with the record id, field and message.

Values arrive in the field's unit (connectors.base.FieldKind); Currency values arrive in the reporting
(corporate) currency and, in a multi-currency org, are converted into each Account's own currency, because
Salesforce reads a Currency field in its record's CurrencyIsoCode.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from simple_salesforce.api import Salesforce

from connectors.base import FieldKind, FieldSpec, FieldUpdate, FieldValue, RecordError, WriteResult
from connectors.salesforce.client import SalesforceClient, sobject_bulk2
from connectors.salesforce.transport import RETRYABLE_RECORD_CODES
from kpi_core.money import RateTable

log = logging.getLogger(__name__)

COLLECTION_PATH = "composite/sobjects"


def json_value(value: FieldValue) -> Any:
    """A field value as Salesforce's JSON takes it (numbers as numbers, datetimes in UTC ISO 8601)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**53 else float(value)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return value


def to_account_currency(
    value: FieldValue, account_currency: str | None, rates: RateTable, scale: int
) -> tuple[FieldValue, RecordError | None]:
    """A reporting-currency amount in the Account's currency (CurrencyType's rate: Salesforce converts
    fields of objects other than Opportunity with the static rates)."""
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
    converted = Decimal(str(value)) * rate
    return converted.quantize(Decimal(1).scaleb(-scale)), None


class Writer:
    def __init__(
        self,
        client: SalesforceClient,
        *,
        sobject: str,
        batch_size: int,
        retry_attempts: int,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.sobject = sobject
        self.batch_size = batch_size
        self.retry_attempts = retry_attempts
        self.sleep = sleep

    def records(
        self,
        updates: Sequence[FieldUpdate],
        specs: Mapping[str, FieldSpec],
        account_currency: Mapping[str, str] | None,
        rates: RateTable | None,
    ) -> tuple[list[dict[str, Any]], dict[str, WriteResult]]:
        """The collection records to send, and the results of updates that cannot be sent."""
        records: list[dict[str, Any]] = []
        failed: dict[str, WriteResult] = {}
        for update in updates:
            record: dict[str, Any] = {"attributes": {"type": self.sobject}, "id": update.partner_id}
            errors: list[RecordError] = []
            for name, value in update.values.items():
                spec = specs.get(name)
                out: FieldValue = value
                if spec is not None and spec.kind is FieldKind.CURRENCY and rates is not None:
                    code = (account_currency or {}).get(update.partner_id)
                    out, error = to_account_currency(value, code, rates, spec.scale)
                    if error is not None:
                        errors.append(RecordError(error.message, error.code, field=name))
                        continue
                record[name] = json_value(out)
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
                    self.sleep(min(0.5 * 2 ** (attempt - 1), 10.0))
                pending = retry
        return results

    def send_bulk(self, records: Sequence[dict[str, Any]], poll_seconds: float) -> dict[str, WriteResult]:
        """One Bulk API 2.0 update job for many records: a result per record from the job's failed
        results; row-locked records are sent again through sObject Collections (bounded)."""
        if not records:
            return {}
        rows = [_csv_row(r) for r in records]
        jobs: list[dict[str, Any]] = self.client.call(
            f"bulk-writing {len(rows)} {self.sobject} record(s)",
            lambda sf: sobject_bulk2(sf, self.sobject).update(records=rows, wait=poll_seconds),  # type: ignore[arg-type]
        )
        results = {str(r["id"]): WriteResult(str(r["id"]), True) for r in records}
        locked: list[dict[str, Any]] = []
        by_id = {str(r["id"]): r for r in records}
        for job in jobs:
            if not int(job.get("numberRecordsFailed") or 0):
                continue
            job_id = str(job["job_id"])

            def failed_records(sf: Salesforce, job_id: str = job_id) -> str:
                return str(sobject_bulk2(sf, self.sobject).get_failed_records(job_id))

            text = self.client.call("reading a bulk job's failed records", failed_records)
            for row in csv.DictReader(io.StringIO(text)):
                record_id = row.get("sf__Id") or row.get("Id") or ""
                result = WriteResult(record_id, False, (_bulk_error(row.get("sf__Error") or ""),))
                if result.errors[0].retryable and record_id in by_id and self.retry_attempts > 0:
                    locked.append(by_id[record_id])
                results[record_id] = result
        if locked:
            results.update(self.send(locked))
        return results

    def _patch(self, records: Sequence[dict[str, Any]]) -> list[Any]:
        payload = {"allOrNone": False, "records": list(records)}
        answer = self.client.call(
            f"writing {len(records)} {self.sobject} record(s)",
            lambda sf: sf.restful(COLLECTION_PATH, method="PATCH", json=payload),
        )
        if not isinstance(answer, list) or len(answer) != len(records):
            # Salesforce answers one entry per record, in order; anything else cannot be matched up.
            return [
                {
                    "success": False,
                    "errors": [{"statusCode": "UNEXPECTED_ANSWER", "message": "no per-record answer"}],
                }
            ] * len(records)
        return answer


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


def _result(record_id: str, answer: Any) -> WriteResult:
    if isinstance(answer, Mapping) and answer.get("success"):
        return WriteResult(record_id, True)
    raw = answer.get("errors") if isinstance(answer, Mapping) else None
    errors = []
    for error in raw or [{"statusCode": "UNKNOWN", "message": "Salesforce gave no reason"}]:
        code = str(error.get("statusCode") or "")
        fields = error.get("fields") or []
        errors.append(
            RecordError(
                message=str(error.get("message") or code),
                code=code,
                field=str(fields[0]) if fields else None,
                retryable=code in RETRYABLE_RECORD_CODES,
            )
        )
    return WriteResult(record_id, False, tuple(errors))
