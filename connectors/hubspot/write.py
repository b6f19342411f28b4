"""Writing KPI values onto companies: batch updates of up to 100, one WriteResult per company.

HubSpot answers a batch update 200, or 207 with ``errors`` whose ``context.ids`` name the companies that
failed; those are mapped back to their records, and the retryable ones (a concurrent edit: CONFLICT;
RATE_LIMITS; INTERNAL_ERROR) are sent again, a bounded number of times. A value HubSpot finds invalid
refuses the WHOLE request with 400: the batch is then split in halves until the bad record stands alone,
so that the others are still written.

Every answer is checked (connectors.answers): one that is not a batch answer (status, results with ids,
errors) is UnexpectedAnswer naming the call: nothing of that batch is confirmed, so the ledger does not
record it and the next run writes it again.

Values are written as HubSpot stores them: numbers as plain decimal strings (no exponent), datetimes as
ISO 8601 in UTC with milliseconds, text as is, None as "" (clears the property). Writeback hands values
already in the field's unit (a rate in percentage points): nothing is rescaled here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Literal

from hubspot.crm.companies import BatchInputSimplePublicObjectBatchInput, SimplePublicObjectBatchInput
from pydantic import BaseModel

from connectors.answers import parse_json_answer
from connectors.fields import FieldKind, FieldSpec, FieldUpdate, FieldValue, RecordError, WriteResult
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.failures import HubSpotApiError
from connectors.values import plain_number, to_decimal

log = logging.getLogger(__name__)

RETRYABLE_CATEGORIES = frozenset({"CONFLICT", "RATE_LIMITS", "INTERNAL_ERROR", "TIMEOUT"})
UPDATE_CALL = "POST /crm/v3/objects/companies/batch/update"


class BatchObject(BaseModel):
    id: str


class BatchError(BaseModel):
    """One item of a 207's ``errors`` (HubSpot's StandardError); ``context.ids`` names the records."""

    category: str
    message: str = ""
    context: dict[str, list[str]] = {}


class BatchAnswer(BaseModel):
    """A batch update's answer (BatchResponseSimplePublicObject[WithErrors])."""

    status: Literal["PENDING", "PROCESSING", "CANCELED", "COMPLETE"]
    results: list[BatchObject]
    errors: list[BatchError] = []


class UnwritableValue(ValueError):
    """A value that cannot be written to its field (a wrong type): reported for its record only."""


def format_value(value: FieldValue, spec: FieldSpec | None) -> str:
    """The string HubSpot stores for ``value`` in a field of ``spec``'s kind."""
    if value is None:
        return ""
    kind = spec.kind if spec is not None else None
    if kind is FieldKind.DATETIME or (kind is None and isinstance(value, datetime)):
        if not isinstance(value, datetime):
            raise UnwritableValue(f"expected a datetime, got {type(value).__name__}")
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        utc = moment.astimezone(timezone.utc)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    if kind is FieldKind.TEXT or (kind is None and isinstance(value, str)):
        text = str(value)
        return text[: spec.length] if spec is not None else text
    if isinstance(value, (datetime, bool)):
        raise UnwritableValue(f"expected a number, got {type(value).__name__}")
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except ArithmeticError:
            raise UnwritableValue(f"expected a number, got {value!r}") from None
    else:
        number = to_decimal(value)
    if not number.is_finite():
        raise UnwritableValue(f"expected a finite number, got {number}")
    return plain_number(number)


class CompanyWriter:
    def __init__(self, client: HubSpotClient, batch_size: int, retry_attempts: int) -> None:
        self.client = client
        self.batch_size = batch_size
        self.retry_attempts = retry_attempts
        self.batch_calls = 0

    def write(self, updates: Sequence[FieldUpdate], specs: Mapping[str, FieldSpec]) -> list[WriteResult]:
        results: dict[str, WriteResult] = {}
        ready: list[tuple[str, dict[str, str]]] = []
        for update in _merged(updates):
            try:
                props = {name: format_value(v, specs.get(name)) for name, v in update.values.items()}
            except (UnwritableValue, ArithmeticError, TypeError) as exc:
                results[update.partner_id] = WriteResult(
                    update.partner_id, False, (RecordError(str(exc), code="INVALID_VALUE"),)
                )
                continue
            ready.append((update.partner_id, props))
        pending = ready
        for attempt in range(self.retry_attempts + 1):
            retry: list[tuple[str, dict[str, str]]] = []
            for start in range(0, len(pending), self.batch_size):
                batch = pending[start : start + self.batch_size]
                for result in self._send(batch):
                    results[result.partner_id] = result
                    if not result.ok and all(e.retryable for e in result.errors):
                        retry.append(next(item for item in batch if item[0] == result.partner_id))
            if not retry or attempt == self.retry_attempts:
                break
            log.info("HubSpot: %d company update(s) failed retryably; sending them again", len(retry))
            pending = retry
        return [results[u.partner_id] for u in _merged(updates)]

    def _send(self, batch: list[tuple[str, dict[str, str]]]) -> list[WriteResult]:
        """One batch update; on a whole-request 400, the halves separately (down to one record)."""
        request = BatchInputSimplePublicObjectBatchInput(
            inputs=[SimplePublicObjectBatchInput(id=pid, properties=props) for pid, props in batch]
        )
        api = self.client.apis.companies_batch
        self.batch_calls += 1
        try:
            # the raw body, read inside the call: a body cut short is retried like a dropped connection
            body: Any = self.client.call(lambda: api.update(request, _preload_content=False).data)
        except HubSpotApiError as exc:
            if exc.status != 400:
                raise
            if len(batch) == 1:
                return [WriteResult(batch[0][0], False, (RecordError(str(exc), code=exc.category),))]
            middle = len(batch) // 2
            return self._send(batch[:middle]) + self._send(batch[middle:])
        return _results(batch, parse_json_answer(BatchAnswer, body, UPDATE_CALL))


def _results(batch: list[tuple[str, dict[str, str]]], answer: BatchAnswer) -> list[WriteResult]:
    written = {r.id for r in answer.results}
    failed: dict[str, list[RecordError]] = {}
    unplaced: list[RecordError] = []
    for error in answer.errors:
        record_error = RecordError(
            message=(error.message or error.category)[:500],
            code=error.category,
            retryable=error.category in RETRYABLE_CATEGORIES,
        )
        ids = error.context.get("ids") or error.context.get("id") or []
        if not ids:
            unplaced.append(record_error)
        for object_id in ids:
            failed.setdefault(object_id, []).append(record_error)
    out = []
    for pid, _props in batch:
        if pid in failed:
            out.append(WriteResult(pid, False, tuple(failed[pid])))
        elif pid in written:
            out.append(WriteResult(pid, True))
        else:
            errors = tuple(unplaced) or (
                RecordError("HubSpot did not confirm this update", code="UNCONFIRMED"),
            )
            out.append(WriteResult(pid, False, errors))
    return out


def _merged(updates: Iterable[FieldUpdate]) -> list[FieldUpdate]:
    """One update per company (HubSpot refuses a batch naming an id twice), later values winning."""
    values: dict[str, dict[str, FieldValue]] = {}
    for update in updates:
        values.setdefault(update.partner_id, {}).update(update.values)
    return [FieldUpdate(pid, vals) for pid, vals in values.items()]
