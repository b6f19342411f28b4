"""Bulk API 1.0 jobs and batches as the sandbox keeps them, with their JobInfo / BatchInfo fields (the
Bulk API Developer Guide's JobInfo and BatchInfo references) and the PK chunking header's options."""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from partnerkpi.sandbox.salesforce.bulk1_wire import Bulk1Error, stamp
from partnerkpi.sandbox.salesforce.query import Result

DAILY_BATCHES = 15_000
"""DailyBulkApiBatches: 15,000 batches per rolling 24 hours (Bulk API limits)."""
DEFAULT_CHUNK, MAX_CHUNK = 100_000, 250_000
"""PK chunking: default chunkSize 100,000, at most 250,000 (the guide's PK Chunking Header page)."""
PK_CHUNK_OBJECTS = frozenset(
    {"Account", "Asset", "Campaign", "CampaignMember", "Case", "Contact", "Event", "Lead", "LoginHistory"}
    | {"Opportunity", "Task", "User", "WorkOrder", "WorkOrderLineItem"}
)
"""The standard objects the PK Chunking Header page lists (custom, share and history objects too)."""
CONTENT_TYPES = {"CSV": "csv", "JSON": "json", "XML": "xml"}
EMPTY_CSV = "Records not found for this query"
"""The CSV result of a query that matched nothing (CumulusCI's and StreamSets' Bulk 1.0 readers test
for this exact text)."""


@dataclass
class Batch:
    id: str
    job_id: str
    created: datetime
    soql: str
    state: str = "Queued"
    outcome: str = "Completed"
    """The state the batch reaches when next read."""
    message: str | None = None
    result: Result | None = None
    rows: array[int] = field(default_factory=lambda: array("q"))
    result_ids: list[str] = field(default_factory=list)

    def info(self) -> dict[str, Any]:
        done = self.state == "Completed"
        return {
            "id": self.id,
            "jobId": self.job_id,
            "state": self.state,
            "stateMessage": self.message,
            "createdDate": stamp(self.created),
            "systemModstamp": stamp(self.created),
            "numberRecordsProcessed": len(self.rows) if done else 0,
            "numberRecordsFailed": 0,
            "totalProcessingTime": 42 if done else 0,
            "apiActiveProcessingTime": 40 if done else 0,
            "apexProcessingTime": 0,
        }


@dataclass
class Job:
    id: str
    operation: str
    object: str
    content_type: str
    concurrency: str
    version: str
    created: datetime
    user_id: str
    chunk_size: int | None = None
    start_row: str | None = None
    state: str = "Open"
    batches: dict[str, Batch] = field(default_factory=dict)

    def info(self) -> dict[str, Any]:
        states = [b.state for b in self.batches.values()]
        return {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": self.user_id,
            "createdDate": stamp(self.created),
            "systemModstamp": stamp(self.created),
            "state": self.state,
            "concurrencyMode": self.concurrency,
            "contentType": self.content_type,
            "numberBatchesQueued": states.count("Queued"),
            "numberBatchesInProgress": states.count("InProgress"),
            "numberBatchesCompleted": states.count("Completed"),
            "numberBatchesFailed": states.count("Failed"),
            "numberBatchesTotal": len(states),
            "numberRecordsProcessed": sum(b.info()["numberRecordsProcessed"] for b in self.batches.values()),
            "numberRetries": 0,
            "apiVersion": float(self.version),
            "numberRecordsFailed": 0,
            "totalProcessingTime": 0,
            "apiActiveProcessingTime": 0,
            "apexProcessingTime": 0,
        }

    @property
    def as_json(self) -> bool:
        return self.content_type == "JSON"

    def advance(self) -> None:
        for batch in self.batches.values():
            if batch.state == "Queued":
                batch.state = batch.outcome


def pk_chunking(header: str | None) -> tuple[int | None, str | None]:
    """``Sforce-Enable-PKChunking: true; chunkSize=1000; startRow=001...`` -> (chunk size, start id);
    (None, None) when off. ``parent=`` (history/share objects) is accepted and has nothing to do here."""
    if not header:
        return None, None
    enabled, size, start = False, DEFAULT_CHUNK, None
    for part in (p.strip() for p in header.split(";")):
        key, sep, value = part.partition("=")
        if not sep:
            if part.lower() not in ("true", "false"):
                raise Bulk1Error("InvalidJob", f"Sforce-Enable-PKChunking: invalid value '{part}'")
            enabled = part.lower() == "true"
            continue
        enabled = True
        if key == "chunkSize":
            if not value.isdigit() or not 1 <= int(value) <= MAX_CHUNK:
                raise Bulk1Error(
                    "InvalidJob", f"Sforce-Enable-PKChunking: chunkSize must be 1 to {MAX_CHUNK:,}"
                )
            size = int(value)
        elif key == "startRow":
            start = value
        elif key != "parent":
            raise Bulk1Error("InvalidJob", f"Sforce-Enable-PKChunking: unknown option '{key}'")
    return (size, start) if enabled else (None, None)
