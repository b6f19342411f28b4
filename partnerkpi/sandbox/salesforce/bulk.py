"""Bulk API 2.0 job state: query jobs (results snapshotted at creation, CSV pages with Sforce-Locator)
and ingest jobs (one CSV upload, processed at UploadComplete, successful/failed results as CSV)."""

from __future__ import annotations

import base64
import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from partnerkpi.sandbox.salesforce.query import Result
from partnerkpi.sandbox.salesforce.schema import format_datetime

DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
DELETABLE_QUERY_STATES = frozenset({"JobComplete", "Aborted", "Failed"})


@dataclass
class Job:
    id: str
    operation: str
    object: str
    created: datetime
    user_id: str
    version: str
    column_delimiter: str = "COMMA"
    line_ending: str = "LF"
    state: str = "UploadComplete"
    query: str = ""
    result: Result | None = None
    external_id_field: str | None = None
    data: str | None = None
    successful: list[dict[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    """(sf__Id, sf__Error, the row as uploaded) per failed row."""
    columns: list[str] = field(default_factory=list)
    polls: int = 0

    @property
    def is_query(self) -> bool:
        return self.operation in ("query", "queryAll")

    def info(self) -> dict[str, Any]:
        base: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": self.user_id,
            "createdDate": format_datetime(self.created),
            "systemModstamp": format_datetime(self.created),
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.version),
            "lineEnding": self.line_ending,
            "columnDelimiter": self.column_delimiter,
        }
        if self.is_query:
            if self.state == "JobComplete":
                base.update(
                    numberRecordsProcessed=len(self.result.rows) if self.result else 0,
                    retries=0,
                    totalProcessingTime=42,
                )
            return base
        base.update(
            jobType="V2Ingest",
            contentUrl=f"services/data/v{self.version}/jobs/ingest/{self.id}/batches",
            externalIdFieldName=self.external_id_field,
        )
        if self.state in ("JobComplete", "UploadComplete", "InProgress", "Failed"):
            base.update(
                numberRecordsProcessed=len(self.successful) + len(self.failed),
                numberRecordsFailed=len(self.failed),
                retries=0,
                totalProcessingTime=42,
                apiActiveProcessingTime=40,
                apexProcessingTime=0,
            )
        return base

    def poll(self) -> None:
        """Jobs advance as they are polled: UploadComplete -> InProgress -> JobComplete."""
        self.polls += 1
        if self.state == "UploadComplete":
            self.state = "InProgress"
        elif self.state == "InProgress":
            self.state = "JobComplete"


def encode_locator(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def decode_locator(locator: str) -> int | None:
    try:
        return int(base64.b64decode(locator + "=" * (-len(locator) % 4)).decode())
    except ValueError:
        return None


def read_csv(job: Job, text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=DELIMITERS.get(job.column_delimiter, ","))
    rows = list(reader)
    if not rows:
        return [], []
    header = rows[0]
    return header, [dict(zip(header, r, strict=False)) for r in rows[1:] if r]


def results_csv(job: Job, kind: str) -> str:
    delimiter = DELIMITERS.get(job.column_delimiter, ",")
    ending = LINE_ENDINGS.get(job.line_ending, "\n")
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=ending, quoting=csv.QUOTE_ALL)
    if kind == "successfulResults":
        writer.writerow(["sf__Id", "sf__Created", *job.columns])
        for row in job.successful:
            writer.writerow([row["sf__Id"], row["sf__Created"], *(row.get(c, "") for c in job.columns)])
    elif kind == "failedResults":
        writer.writerow(["sf__Id", "sf__Error", *job.columns])
        for record_id, error, row in job.failed:
            writer.writerow([record_id, error, *(row.get(c, "") for c in job.columns)])
    else:
        writer.writerow(job.columns)
    return buffer.getvalue()
