"""Bulk API 1.0 query jobs (``/services/async/{version}/job``), as simple-salesforce's ``sf.bulk`` and
tap-salesforce's BULK mode drive them: create a query/queryAll job, add the SOQL as a batch, close the
job, poll the batch, list its results, download each result as CSV, JSON or XML.

References: the Bulk API Developer Guide (JobInfo, BatchInfo, "PK Chunking Header", "Errors", "Walk
Through a Bulk Query Sample"), simple-salesforce 1.12 ``simple_salesforce/bulk.py`` and tap-salesforce
2.8.1 ``tap_salesforce/salesforce/bulk.py``. Choices where the guide is silent are marked "Chosen".

- A batch runs its SOQL on the sandbox's engine when it is added (a snapshot, like Bulk 2.0 here) and
  answers ``Queued``; any later read of its job shows it ``Completed`` or ``Failed``. Chosen: one step,
  so tap-salesforce (20 s sleep between polls) and simple-salesforce (5 s) never sleep.
- A SOQL the engine refuses fails the batch: ``stateMessage`` "InvalidBatch : Failed to process query:
  CODE: message", the guide's form for a query that cannot run.
- Ids: jobs ``750``, batches ``751``, results ``752`` (the guide's samples), from the org's IdMinter:
  counters that only grow for the sandbox's life, the ``750`` one shared with Bulk 2.0 jobs (both are
  ``750`` jobs in a real org), so no id is ever handed out twice.
- Only query and queryAll are emulated; DML jobs answer InvalidJob naming that limit.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_right
from collections.abc import Callable

from kpi_core.clock import utcnow
from partnerkpi.sandbox.core import Request, Response
from partnerkpi.sandbox.salesforce.bulk1_state import (
    CONTENT_TYPES,
    DAILY_BATCHES,
    EMPTY_CSV,
    PK_CHUNK_OBJECTS,
    Batch,
    Job,
    pk_chunking,
)
from partnerkpi.sandbox.salesforce.bulk1_wire import (
    Bulk1Error,
    batch_list_response,
    body_fields,
    epoch_converter,
    error_response,
    info_response,
    json_response,
    result_list_response,
    wants_json,
    xml_records,
)
from partnerkpi.sandbox.salesforce.ids import PREFIXES
from partnerkpi.sandbox.salesforce.org import Org
from partnerkpi.sandbox.salesforce.query import Result, execute, render, render_csv
from partnerkpi.sandbox.salesforce.soql import SoqlError, parse

ROUTE_PREFIX = "bulk1_"
Handler = Callable[[Request, "re.Match[str]"], Response]


class Bulk1:
    """The Bulk API 1.0 jobs of one org; ``routes()`` gives the emulation its route table rows."""

    def __init__(self, org: Org) -> None:
        self.org = org
        self.jobs: dict[str, Job] = {}
        self.batches_today = 0
        self.result_file_rows = 1_000_000
        """Chosen: rows per result file (Salesforce splits results at 1 GB); tests lower it."""

    def routes(self) -> list[tuple[str, str, Handler, str]]:
        job = r"/services/async/(?P<ver>\d+\.\d+)/job"
        one = job + r"/(?P<job>\w+)"
        batch = one + r"/batch/(?P<batch>\w+)"
        table: list[tuple[str, str, Handler, str]] = [
            ("POST", job + "/?", self._create_job, "job_create"),
            ("GET", one + "/?", self._get_job, "job_get"),
            ("POST", one + "/?", self._update_job, "job_update"),
            ("POST", one + "/batch/?", self._add_batch, "batch_create"),
            ("GET", one + "/batch/?", self._list_batches, "batch_list"),
            ("GET", batch + "/?", self._get_batch, "batch_get"),
            ("GET", batch + "/request/?", self._batch_request, "batch_request"),
            ("GET", batch + "/result/?", self._result_list, "result_list"),
            ("GET", batch + r"/result/(?P<result>\w+)/?", self._result, "result_get"),
        ]
        return [(m, p, self._guard(h), ROUTE_PREFIX + name) for m, p, h, name in table]

    @staticmethod
    def _guard(handler: Handler) -> Handler:
        def run(request: Request, match: re.Match[str]) -> Response:
            try:
                return handler(request, match)
            except Bulk1Error as exc:
                return error_response(request, exc)

        return run

    # -- jobs --------------------------------------------------------------------------------------------
    def _job(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise Bulk1Error("InvalidJob", f"Unable to find object: {job_id}")
        return job

    def _create_job(self, request: Request, m: re.Match[str]) -> Response:
        fields = body_fields(request)
        operation = fields.get("operation", "")
        if operation not in ("query", "queryAll"):
            raise Bulk1Error(
                "InvalidJob",
                f"The sandbox emulates Bulk API 1.0 query and queryAll jobs only, not '{operation}'",
            )
        table = self.org.table(fields.get("object", ""))
        if table is None:
            raise Bulk1Error(
                "InvalidJob", f"Entity '{fields.get('object', '')}' is not supported by the Bulk API"
            )
        content_type = fields.get("contentType") or "XML"
        if content_type not in CONTENT_TYPES:
            raise Bulk1Error(
                "InvalidJob", f"Query jobs take contentType CSV, JSON or XML, not '{content_type}'"
            )
        concurrency = {"0": "Parallel", "1": "Serial"}.get(fields.get("concurrencyMode", ""), "")
        concurrency = concurrency or fields.get("concurrencyMode") or "Parallel"
        if concurrency not in ("Parallel", "Serial"):
            raise Bulk1Error("InvalidJob", f"Invalid concurrencyMode '{concurrency}'")
        chunk_size, start_row = pk_chunking(request.header("Sforce-Enable-PKChunking"))
        job = Job(
            self.org.ids.next(PREFIXES["Job"]),
            operation,
            table.name,
            content_type,
            concurrency,
            m["ver"],
            utcnow(),
            self.org.user_id,
            chunk_size,
            start_row,
        )
        self.jobs[job.id] = job
        return info_response("jobInfo", job.info(), wants_json(request), 201)

    def _get_job(self, request: Request, m: re.Match[str]) -> Response:
        job = self._job(m["job"])
        job.advance()
        return info_response("jobInfo", job.info(), job.as_json)

    def _update_job(self, request: Request, m: re.Match[str]) -> Response:
        """Close (``{"state": "Closed"}``) or abort a job; queued batches of an aborted job are not run."""
        job = self._job(m["job"])
        state = body_fields(request).get("state", "")
        if state not in ("Closed", "Aborted") or job.state == "Aborted":
            raise Bulk1Error("InvalidJobState", f"Job {job.id} is {job.state}: it cannot be set to '{state}'")
        if state == "Aborted":
            for batch in job.batches.values():
                if batch.state == "Queued":
                    batch.state, batch.message = "NotProcessed", "Job was aborted"
        else:
            job.advance()
        job.state = state
        return info_response("jobInfo", job.info(), wants_json(request))

    # -- batches -----------------------------------------------------------------------------------------
    def _batch(self, job: Job, batch_id: str) -> Batch:
        batch = job.batches.get(batch_id)
        if batch is None:
            raise Bulk1Error("InvalidBatch", f"Unable to find object: {batch_id}")
        return batch

    def _new_batch(self, job: Job, soql: str) -> Batch:
        if self.batches_today >= DAILY_BATCHES:
            raise Bulk1Error("ExceededQuota", f"Exceeded the {DAILY_BATCHES:,} batches allowed per 24 hours")
        self.batches_today += 1
        batch = Batch(self.org.ids.next(PREFIXES["Batch"]), job.id, utcnow(), soql)
        job.batches[batch.id] = batch
        return batch

    def _add_batch(self, request: Request, m: re.Match[str]) -> Response:
        job = self._job(m["job"])
        if job.state != "Open":
            raise Bulk1Error(
                "InvalidJobState", f"Job {job.id} is {job.state}: batches can be added to open jobs only"
            )
        sent = (request.header("Content-Type") or "").lower()
        named = [kind for kind in CONTENT_TYPES.values() if kind in sent]
        if named and named[0] != CONTENT_TYPES[job.content_type]:
            raise Bulk1Error(
                "InvalidBatch", f"Content-Type {sent} does not match the job's contentType {job.content_type}"
            )
        soql = request.body.decode("utf-8", "replace").strip()
        if not soql:
            raise Bulk1Error("InvalidBatch", "The batch is empty: a query batch holds one SOQL statement")
        batch = self._new_batch(job, soql)
        self._run(job, batch)
        return info_response("batchInfo", batch.info(), wants_json(request), 201)

    def _run(self, job: Job, batch: Batch) -> None:
        try:
            parsed = parse(batch.soql, utcnow().date())
            if parsed.count:
                raise SoqlError("MALFORMED_QUERY", "Aggregate queries are not supported by the Bulk API")
            result = execute(self.org, parsed, include_deleted=job.operation == "queryAll")
        except SoqlError as exc:
            batch.outcome = "Failed"
            batch.message = f"InvalidBatch : Failed to process query: {exc.code}: {exc.message}"
            return
        if result.table.name != job.object:
            batch.outcome = "Failed"
            batch.message = (
                f"InvalidBatch : The query's object {result.table.name} is not the job's {job.object}"
            )
            return
        batch.result, batch.rows = result, result.rows
        if job.chunk_size is not None:
            self._chunk(
                job,
                batch,
                result,
                bool(parsed.order) or parsed.limit is not None or parsed.offset is not None,
            )

    def _chunk(self, job: Job, batch: Batch, result: Result, has_clauses: bool) -> None:
        """PK chunking: the original batch becomes NotProcessed and one batch per ``chunkSize`` ids of the
        table (from ``startRow``) carries that id range's rows (the guide's PK Chunking Header page)."""
        table = result.table
        if table.name not in PK_CHUNK_OBJECTS and not table.name.endswith("__c"):
            batch.outcome, batch.message = (
                "Failed",
                f"InvalidBatch : Entity '{table.name}' is not supported by PK chunking",
            )
            return
        if has_clauses:
            batch.outcome = "Failed"
            batch.message = "InvalidBatch : PK chunking works only with queries that have no clause but WHERE"
            return
        assert job.chunk_size is not None
        ids = sorted(table.id_of(row) for row in table.rows())
        if job.start_row:
            ids = [i for i in ids if i >= job.start_row]
        bounds = ids[:: job.chunk_size]
        batch.outcome, batch.message, batch.rows = "NotProcessed", None, array("q")
        chunks = [self._new_batch(job, batch.soql) for _ in bounds]
        id_of = table.getter("Id")
        for row in result.rows:  # each row to the chunk whose [low, next low) holds its id
            n = bisect_right(bounds, id_of(row)) - 1
            if n >= 0:
                chunks[n].rows.append(row)
        for chunk in chunks:
            chunk.result = result

    def _list_batches(self, request: Request, m: re.Match[str]) -> Response:
        job = self._job(m["job"])
        job.advance()
        return batch_list_response([b.info() for b in job.batches.values()], job.as_json)

    def _get_batch(self, request: Request, m: re.Match[str]) -> Response:
        job = self._job(m["job"])
        job.advance()
        return info_response("batchInfo", self._batch(job, m["batch"]).info(), job.as_json)

    def _batch_request(self, request: Request, m: re.Match[str]) -> Response:
        batch = self._batch(self._job(m["job"]), m["batch"])
        return Response.text(batch.soql, 200, "text/plain")

    # -- results -----------------------------------------------------------------------------------------
    def _completed(self, m: re.Match[str]) -> tuple[Job, Batch]:
        job = self._job(m["job"])
        job.advance()
        batch = self._batch(job, m["batch"])
        if batch.state != "Completed":
            raise Bulk1Error("InvalidBatch", "Batch not completed")
        if not batch.result_ids:
            files = max(1, -(-len(batch.rows) // self.result_file_rows))
            batch.result_ids = [self.org.ids.next(PREFIXES["BatchResult"]) for _ in range(files)]
        return job, batch

    def _result_list(self, request: Request, m: re.Match[str]) -> Response:
        job, batch = self._completed(m)
        return result_list_response(batch.result_ids, job.as_json)

    def _result(self, request: Request, m: re.Match[str]) -> Response:
        job, batch = self._completed(m)
        if m["result"] not in batch.result_ids or batch.result is None:
            raise Bulk1Error("InvalidBatch", f"Unable to find object: {m['result']}")
        start = batch.result_ids.index(m["result"]) * self.result_file_rows
        rows = batch.rows[start : start + self.result_file_rows]
        if job.content_type == "JSON":
            return json_response(render(batch.result, rows, job.version, convert=epoch_converter))
        if job.content_type == "XML":
            return Response.text(xml_records(render(batch.result, rows, job.version)), 200, "application/xml")
        if not rows:
            return Response.text(EMPTY_CSV, 200, "text/csv")
        return Response.text(render_csv(batch.result, rows), 200, "text/csv")
