"""The Salesforce REST, SOAP-login, OAuth, Tooling, Bulk 1.0 and Bulk 2.0 endpoints over one emulated org.

Limits as Salesforce applies them: every REST call counts against DailyApiRequests and every answer
carries ``Sforce-Limit-Info``; the daily allowance exhausted answers 403 REQUEST_LIMIT_EXCEEDED
"TotalRequests Limit exceeded.". Salesforce has no per-second rate limit on REST: what it throttles is
concurrent long-running requests, also with 403 REQUEST_LIMIT_EXCEEDED (and never 429). So
``Faults.rate_limit_per_second`` answers calls beyond the rate in any one second with that 403
("ConcurrentPerOrgLongTxn Limit exceeded."), the only throttling answer a Salesforce client ever sees.
"""

from __future__ import annotations

import re
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from kpi_core.clock import utcnow
from partnerkpi.sandbox.core import Emulation, Request, Response, Route
from partnerkpi.sandbox.generator import SeedData, generate
from partnerkpi.sandbox.salesforce import bulk, bulk1_wire
from partnerkpi.sandbox.salesforce.auth import SalesforceCredentials, Sessions, oauth_token, soap_login
from partnerkpi.sandbox.salesforce.bulk1 import ROUTE_PREFIX as BULK1
from partnerkpi.sandbox.salesforce.bulk1 import Bulk1
from partnerkpi.sandbox.salesforce.bulk1_state import DAILY_BATCHES
from partnerkpi.sandbox.salesforce.describe import sobject_result
from partnerkpi.sandbox.salesforce.ids import PREFIXES, make_id
from partnerkpi.sandbox.salesforce.org import WRITABLE_OBJECTS, Org, add_user, build_org, json_ready
from partnerkpi.sandbox.salesforce.query import Result, execute, render, render_csv
from partnerkpi.sandbox.salesforce.schema import RecordError, RequestError, coerce, to_json
from partnerkpi.sandbox.salesforce.soql import SoqlError, parse
from partnerkpi.sandbox.salesforce.tables import Table

API_VERSION = "59.0"
"""simple-salesforce 1.12's DEFAULT_API_VERSION; any vNN.N is accepted."""
DEFAULT_DAILY_LIMIT = 100_000
DAILY_BULK_QUERY_JOBS = 10_000
MAX_OPEN_CURSORS = 10
_DATA = r"/services/data/v(?P<ver>\d+\.\d+)"
_FAILURE_MESSAGES = {
    "UNABLE_TO_LOCK_ROW": "unable to obtain exclusive access to this record or 1 records: {id}",
    "FIELD_CUSTOM_VALIDATION_EXCEPTION": "Partner scores are locked while the quarterly partner review is open.",
}
_AUTH_FREE = frozenset({"salesforce.soap_login", "salesforce.oauth_token", "salesforce.versions"})
_ALL_OR_NONE = RecordError(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using AllOrNone header",
)
Handler = Callable[[Request, "re.Match[str]"], Response]


def sf_error(status: int, code: str, message: str, fields: list[str] | None = None) -> Response:
    body: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        body["fields"] = fields
    return Response.json([body], status)


@dataclass
class _Cursor:
    result: Result
    batch: int
    path: str
    tooling: bool


class SalesforceEmulation(Emulation):
    name = "salesforce"
    prefixes = ("/services/",)

    def __init__(
        self, data: SeedData | None = None, credentials: SalesforceCredentials | None = None
    ) -> None:
        super().__init__()
        self.data = data or generate()
        self.credentials = credentials or SalesforceCredentials()
        self.org: Org = build_org(self.data)
        add_user(self.org, self.credentials.username)
        self.sessions = Sessions(self.org.org_id)
        self.api_usage = 0
        self.usage_day = utcnow().date()
        self.bulk_query_jobs = 0
        self._recent: deque[float] = deque()
        self._cursors: OrderedDict[str, _Cursor] = OrderedDict()
        self._jobs: dict[str, bulk.Job] = {}
        self.bulk1 = Bulk1(self.org)
        self._failure_attempts: Counter[str] = Counter()
        self.monotonic: Callable[[], float] = time.monotonic
        """The clock of the per-second rate limit (tests pin it)."""

    # -- plumbing ----------------------------------------------------------------------------------------
    def routes(self) -> list[Route]:
        d = _DATA
        table: list[tuple[str, str, Handler, str]] = [
            ("POST", r"/services/Soap/u/(?P<ver>\d+\.\d+)(?:/.*)?", self._soap, "soap_login"),
            ("POST", r"/services/oauth2/token", self._oauth, "oauth_token"),
            ("GET", r"/services/data/?", self._versions, "versions"),
            ("GET", d + r"/limits/?", self._limits, "limits"),
            ("GET", d + r"/(?P<kind>query|queryAll)(?:/(?P<locator>[\w-]+))?/?", self._query, "query"),
            (
                "GET",
                d + r"/tooling/(?P<kind>query)(?:/(?P<locator>[\w-]+))?/?",
                self._tooling_query,
                "tooling_query",
            ),
            ("GET", d + r"/sobjects/?", self._describe_global, "describe_global"),
            ("GET", d + r"/sobjects/(?P<obj>\w+)/describe/?", self._describe, "describe"),
            (
                "GET",
                d + r"/tooling/sobjects/(?P<obj>\w+)/describe/?",
                self._tooling_describe,
                "tooling_describe",
            ),
            ("GET", d + r"/sobjects/(?P<obj>\w+)/?", self._sobject_info, "sobject_info"),
            ("POST", d + r"/sobjects/(?P<obj>\w+)/?", self._create, "sobject_create"),
            ("GET", d + r"/sobjects/(?P<obj>\w+)/(?P<id>\w+)/?", self._get, "sobject_get"),
            ("PATCH", d + r"/sobjects/(?P<obj>\w+)/(?P<id>\w+)/?", self._update, "sobject_update"),
            ("DELETE", d + r"/sobjects/(?P<obj>\w+)/(?P<id>\w+)/?", self._delete, "sobject_delete"),
            ("POST", d + r"/tooling/sobjects/(?P<obj>\w+)/?", self._tooling_create, "tooling_create"),
            ("GET", d + r"/tooling/sobjects/(?P<obj>\w+)/(?P<id>\w+)/?", self._tooling_get, "tooling_get"),
            ("PATCH", d + r"/composite/sobjects/?", self._collection_update, "composite_update"),
            ("POST", d + r"/composite/sobjects/?", self._collection_create, "composite_create"),
            ("POST", d + r"/jobs/query/?", self._bulk_query_create, "bulk2_query_create"),
            (
                "GET",
                d + r"/jobs/query/(?P<job>\w+)/results/?",
                self._bulk_query_results,
                "bulk2_query_results",
            ),
            ("GET", d + r"/jobs/(?P<kind>query|ingest)/(?P<job>\w+)/?", self._bulk_job_get, "bulk2_job_get"),
            (
                "PATCH",
                d + r"/jobs/(?P<kind>query|ingest)/(?P<job>\w+)/?",
                self._bulk_job_patch,
                "bulk2_job_patch",
            ),
            (
                "DELETE",
                d + r"/jobs/(?P<kind>query|ingest)/(?P<job>\w+)/?",
                self._bulk_job_delete,
                "bulk2_job_delete",
            ),
            ("POST", d + r"/jobs/ingest/?", self._bulk_ingest_create, "bulk2_ingest_create"),
            (
                "PUT",
                d + r"/jobs/ingest/(?P<job>\w+)/batches/?",
                self._bulk_ingest_upload,
                "bulk2_ingest_upload",
            ),
            (
                "GET",
                d
                + r"/jobs/ingest/(?P<job>\w+)/(?P<results>successfulResults|failedResults|unprocessedrecords)/?",
                self._bulk_ingest_results,
                "bulk2_ingest_results",
            ),
            *self.bulk1.routes(),
        ]
        return [
            Route(method, re.compile(pattern), self._locked(handler), f"salesforce.{name}")
            for method, pattern, handler, name in table
        ]

    def _locked(self, handler: Handler) -> Handler:
        def run(request: Request, match: re.Match[str]) -> Response:
            with self.lock:
                try:
                    return handler(request, match)
                except RequestError as exc:
                    return sf_error(exc.status, exc.code, exc.message)

        return run

    @property
    def daily_limit(self) -> int:
        return self.faults.daily_limit or DEFAULT_DAILY_LIMIT

    def before(self, request: Request, route: Route) -> Response | None:
        if route.endpoint in _AUTH_FREE:
            return None
        with self.lock:
            refuse = self._refusal(request, route)
            if route.endpoint.startswith(f"salesforce.{BULK1}"):
                # Bulk API 1.0 authenticates with the session id in X-SFDC-Session (Bulk API Developer
                # Guide, "Send HTTP Requests with cURL"; simple-salesforce and tap-salesforce send it).
                token = (request.header("X-SFDC-Session") or "").strip()
            else:
                scheme, _, token = (request.header("Authorization") or "").partition(" ")
                token = token if scheme.lower() in ("bearer", "oauth") else ""
            if token not in self.sessions.calls:
                return refuse(401, "INVALID_SESSION_ID", "Session expired or invalid")
            self.sessions.calls[token] += 1
            expiry = self.faults.session_expiry_after_calls
            if expiry and self.sessions.calls[token] > expiry:
                del self.sessions.calls[token]
                return refuse(401, "INVALID_SESSION_ID", "Session expired or invalid")
            today = utcnow().date()
            if today != self.usage_day:
                self.usage_day, self.api_usage, self.bulk_query_jobs = today, 0, 0
                self.bulk1.batches_today = 0
            if self.api_usage >= self.daily_limit:
                return refuse(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            rate = self.faults.rate_limit_per_second
            if rate:
                now = self.monotonic()
                while self._recent and now - self._recent[0] >= 1.0:
                    self._recent.popleft()
                if len(self._recent) >= rate:
                    return refuse(403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.")
                self._recent.append(now)
            self.api_usage += 1
        return None

    @staticmethod
    def _refusal(request: Request, route: Route) -> Callable[[int, str, str], Response]:
        """How this call's refusals read: REST's ``[{errorCode, message}]``, or for Bulk 1.0 its own
        error body, HTTP 400 InvalidSessionId "Invalid session id" (jsforce's ``isSessionExpired``
        tests exactly that) and ExceededQuota for an exhausted allowance."""
        if not route.endpoint.startswith(f"salesforce.{BULK1}"):
            return sf_error

        def bulk1_refusal(status: int, code: str, message: str) -> Response:
            if code == "INVALID_SESSION_ID":
                error = bulk1_wire.Bulk1Error("InvalidSessionId", "Invalid session id")
            else:
                error = bulk1_wire.Bulk1Error("ExceededQuota", message)
            return bulk1_wire.error_response(request, error)

        return bulk1_refusal

    def decorate(self, request: Request, response: Response) -> None:
        if request.path.startswith("/services/data"):
            response.headers["Sforce-Limit-Info"] = f"api-usage={self.api_usage}/{self.daily_limit}"

    def server_error(self, request: Request) -> Response:
        return sf_error(
            500,
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact support: 1370958613-52187 (-1284451381)",
        )

    def not_found(self, request: Request) -> Response:
        if request.path.startswith("/services/async/"):
            error = bulk1_wire.Bulk1Error(
                "InvalidUrl", f"The URI {request.path} is not a Bulk API 1.0 resource"
            )
            return bulk1_wire.error_response(request, error)
        return sf_error(404, "NOT_FOUND", "The requested resource does not exist")

    # -- auth --------------------------------------------------------------------------------------------
    def _soap(self, request: Request, m: re.Match[str]) -> Response:
        return soap_login(request, m["ver"], self.credentials, self.sessions, self.org.user_id)

    def _oauth(self, request: Request, m: re.Match[str]) -> Response:
        return oauth_token(request, self.credentials, self.sessions, self.org.user_id)

    def _versions(self, request: Request, m: re.Match[str]) -> Response:
        return Response.json(
            [{"label": "Winter '24", "url": f"/services/data/v{API_VERSION}", "version": API_VERSION}]
        )

    def _limits(self, request: Request, m: re.Match[str]) -> Response:
        return Response.json(
            {
                "DailyApiRequests": {
                    "Max": self.daily_limit,
                    "Remaining": max(0, self.daily_limit - self.api_usage),
                },
                "DailyBulkV2QueryJobs": {
                    "Max": DAILY_BULK_QUERY_JOBS,
                    "Remaining": DAILY_BULK_QUERY_JOBS - self.bulk_query_jobs,
                },
                "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
                "DailyBulkApiBatches": {
                    "Max": DAILY_BATCHES,
                    "Remaining": DAILY_BATCHES - self.bulk1.batches_today,
                },
                "DataStorageMB": {"Max": 1024, "Remaining": 1000},
            }
        )

    # -- query -------------------------------------------------------------------------------------------
    def _batch_size(self, request: Request, default: int = 2000) -> int:
        options = request.header("Sforce-Query-Options") or ""
        found = re.search(r"batchSize\s*=\s*(\d+)", options)
        return min(2000, max(200, int(found.group(1)))) if found else default

    def _query(self, request: Request, m: re.Match[str], tooling: bool = False) -> Response:
        version = m["ver"]
        path = "tooling/query" if tooling else m["kind"]
        if m["locator"]:
            return self._more(request, m["locator"], version)
        soql = request.param("q")
        if not soql:
            return sf_error(400, "MALFORMED_QUERY", "A query string has to be specified")
        try:
            parsed = parse(soql, utcnow().date())
            result = execute(self.org, parsed, include_deleted=m["kind"] == "queryAll", tooling=tooling)
        except SoqlError as exc:
            return sf_error(400, exc.code, exc.render(soql))
        if parsed.count:
            return Response.json({"totalSize": len(result.rows), "done": True, "records": []})
        cursor_id = self.org.ids.next(PREFIXES["QueryLocator"])
        self._cursors[cursor_id] = _Cursor(result, self._batch_size(request), path, tooling)
        while len(self._cursors) > MAX_OPEN_CURSORS:
            self._cursors.popitem(last=False)
        return self._page(cursor_id, 0, version, self._cursors[cursor_id].batch)

    def _tooling_query(self, request: Request, m: re.Match[str]) -> Response:
        return self._query(request, m, tooling=True)

    def _more(self, request: Request, locator: str, version: str) -> Response:
        cursor_id, _, offset = locator.rpartition("-")
        cursor = self._cursors.get(cursor_id)
        if cursor is None or not offset.isdigit():
            return sf_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        self._cursors.move_to_end(cursor_id)
        return self._page(cursor_id, int(offset), version, self._batch_size(request, cursor.batch))

    def _page(self, cursor_id: str, offset: int, version: str, batch: int) -> Response:
        cursor = self._cursors[cursor_id]
        rows = cursor.result.rows
        end = min(offset + batch, len(rows))
        body: dict[str, Any] = {"totalSize": len(rows), "done": end >= len(rows)}
        if end < len(rows):
            body["nextRecordsUrl"] = f"/services/data/v{version}/{cursor.path}/{cursor_id}-{end}"
        body["records"] = render(cursor.result, rows[offset:end], version, cursor.tooling)
        return Response.json(body)

    # -- describe ----------------------------------------------------------------------------------------
    def _table(self, name: str, tooling: bool = False) -> Table:
        table = self.org.table(name, tooling)
        if table is None:
            raise RequestError(
                "NOT_FOUND",
                f"The requested resource does not exist: sObject type '{name}' is not supported.",
                404,
            )
        return table

    def _object_describe(self, table: Table, version: str, full: bool) -> dict[str, Any]:
        base = f"/services/data/v{version}/sobjects/{table.name}"
        fields = self.org.visible_fields(table) if full else None
        return sobject_result(table.name, table.prefix, base, table.name in WRITABLE_OBJECTS, fields)

    def _describe_global(self, request: Request, m: re.Match[str]) -> Response:
        objects = [self._object_describe(t, m["ver"], False) for t in self.org.tables.values()]
        return Response.json({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": objects})

    def _describe(self, request: Request, m: re.Match[str]) -> Response:
        return Response.json(self._object_describe(self._table(m["obj"]), m["ver"], True))

    def _tooling_describe(self, request: Request, m: re.Match[str]) -> Response:
        return Response.json(self._object_describe(self._table(m["obj"], tooling=True), m["ver"], True))

    def _sobject_info(self, request: Request, m: re.Match[str]) -> Response:
        return Response.json(
            {
                "objectDescribe": self._object_describe(self._table(m["obj"]), m["ver"], False),
                "recentItems": [],
            }
        )

    # -- records -----------------------------------------------------------------------------------------
    def record(
        self, table: Table, row: int, version: str = API_VERSION, fields: list[str] | None = None
    ) -> dict[str, Any]:
        visible = self.org.visible_fields(table)
        if fields:
            wanted = {f.lower() for f in fields}
            visible = [f for f in visible if f.name.lower() in wanted]
        out: dict[str, Any] = {
            "attributes": {
                "type": table.name,
                "url": f"/services/data/v{version}/sobjects/{table.name}/{table.id_of(row)}",
            }
        }
        for fdef in visible:
            out[fdef.name] = to_json(table.value(row, fdef.name), fdef)
        return out

    def _get(self, request: Request, m: re.Match[str], tooling: bool = False) -> Response:
        table = self._table(m["obj"], tooling)
        row = table.find(m["id"])
        if row is None:
            return self.not_found(request)
        if table.deleted(row):
            return sf_error(404, "ENTITY_IS_DELETED", "entity is deleted", [])
        fields = (request.param("fields") or "").split(",") if request.param("fields") else None
        return Response.json(self.record(table, row, m["ver"], fields))

    def _tooling_get(self, request: Request, m: re.Match[str]) -> Response:
        return self._get(request, m, tooling=True)

    def injected_failure(self, record_id: str | None) -> RecordError | None:
        """The per-record write failure the faults ask for, if any, for this record."""
        faults = self.faults
        key = record_id or ""
        listed = bool(record_id) and record_id in faults.record_failure_ids
        if not listed and not (faults.record_failure_rate and self.rng.random() < faults.record_failure_rate):
            return None
        if faults.record_failure_times:
            self._failure_attempts[key] += 1
            if self._failure_attempts[key] > faults.record_failure_times:
                return None
        code = faults.record_failure_code or "UNABLE_TO_LOCK_ROW"
        message = _FAILURE_MESSAGES.get(code, f"{code}: the record could not be saved").format(id=record_id)
        return RecordError(code, message, [])

    def _writable(self, name: str) -> Table:
        table = self._table(name)
        if table.name not in WRITABLE_OBJECTS:
            raise RequestError("INVALID_TYPE_FOR_OPERATION", f"entity type cannot be updated: {table.name}")
        return table

    def _plan_update(
        self, record: dict[str, Any], as_user: bool = False
    ) -> tuple[Table, int, dict[str, Any]]:
        attributes = record.get("attributes") or {}
        table = self._writable(str(attributes.get("type") or ""))
        record_id = record.get("id", record.get("Id"))
        row = self.org.locate(table, record_id, table.name)
        values = self.org.prepare(table, record, creating=False, as_user=as_user)
        failure = self.injected_failure(table.id_of(row))
        if failure:
            raise failure
        return table, row, values

    def _plan_create(self, table: Table, record: dict[str, Any], as_user: bool = False) -> dict[str, Any]:
        values = self.org.prepare(table, record, creating=True, as_user=as_user)
        failure = self.injected_failure(None)
        if failure:
            raise failure
        return values

    def _create(self, request: Request, m: re.Match[str]) -> Response:
        table = self._writable(m["obj"])
        body = request.json()
        if not isinstance(body, dict):
            return sf_error(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        try:
            values = self._plan_create(table, body)
        except RecordError as exc:
            return sf_error(400, exc.code, exc.message, exc.fields)
        row = table.insert(values, utcnow())
        return Response.json({"id": table.id_of(row), "success": True, "errors": []}, 201)

    def _update(self, request: Request, m: re.Match[str]) -> Response:
        table = self._writable(m["obj"])
        if table.find(m["id"]) is None:
            return self.not_found(request)
        body = request.json()
        if not isinstance(body, dict):
            return sf_error(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        try:
            _, row, values = self._plan_update({**body, "attributes": {"type": table.name}, "id": m["id"]})
        except RecordError as exc:
            return sf_error(400, exc.code, exc.message, exc.fields)
        table.write(row, values, utcnow())
        return Response(204)

    def _delete(self, request: Request, m: re.Match[str]) -> Response:
        table = self._writable(m["obj"])
        row = table.find(m["id"])
        if row is None:
            return self.not_found(request)
        if table.deleted(row):
            return sf_error(404, "ENTITY_IS_DELETED", "entity is deleted", [])
        failure = self.injected_failure(table.id_of(row))
        if failure:
            return sf_error(400, failure.code, failure.message, failure.fields)
        table.delete(row, utcnow())
        return Response(204)

    # -- sObject Collections -----------------------------------------------------------------------------
    def _collection_body(self, request: Request) -> tuple[bool, list[dict[str, Any]]]:
        body = request.json()
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise RequestError("JSON_PARSER_ERROR", "The request body must be {allOrNone, records: [...]}")
        if len(records) > 200:
            raise RequestError(
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
            )
        return bool(body.get("allOrNone", False)), records

    def _collection_update(self, request: Request, m: re.Match[str]) -> Response:
        all_or_none, records = self._collection_body(request)
        planned: list[tuple[Table, int, dict[str, Any]] | RecordError] = []
        ids: list[str | None] = []
        for record in records:
            try:
                plan = self._plan_update(record)
                planned.append(plan)
                ids.append(plan[0].id_of(plan[1]))
            except RecordError as exc:
                planned.append(exc)
                table = self.org.table(str((record.get("attributes") or {}).get("type") or ""))
                row = table.find(str(record.get("id", ""))) if table else None
                ids.append(table.id_of(row) if table and row is not None else None)
        return Response.json(self._apply(planned, ids, all_or_none))

    def _collection_create(self, request: Request, m: re.Match[str]) -> Response:
        all_or_none, records = self._collection_body(request)
        planned: list[tuple[Table, int, dict[str, Any]] | RecordError] = []
        for record in records:
            try:
                table = self._writable(str((record.get("attributes") or {}).get("type") or ""))
                planned.append((table, -1, self._plan_create(table, record)))
            except RecordError as exc:
                planned.append(exc)
        return Response.json(self._apply(planned, [None] * len(planned), all_or_none))

    def _apply(
        self,
        planned: list[tuple[Table, int, dict[str, Any]] | RecordError],
        ids: list[str | None],
        all_or_none: bool,
    ) -> list[dict[str, Any]]:
        failed = any(isinstance(p, RecordError) for p in planned)
        results: list[dict[str, Any]] = []
        now = utcnow()
        for plan, record_id in zip(planned, ids, strict=False):
            entry: dict[str, Any] = {}
            if isinstance(plan, RecordError):
                if record_id:
                    entry["id"] = record_id
                entry.update(success=False, errors=[plan.as_json()])
            elif failed and all_or_none:
                if record_id:
                    entry["id"] = record_id
                entry.update(success=False, errors=[_ALL_OR_NONE.as_json()])
            else:
                table, row, values = plan
                if row < 0:
                    row = table.insert(values, now)
                else:
                    table.write(row, values, now)
                entry.update(id=table.id_of(row), success=True, errors=[])
            results.append(entry)
        return results

    # -- Tooling API -------------------------------------------------------------------------------------
    def _tooling_create(self, request: Request, m: re.Match[str]) -> Response:
        if m["obj"].lower() != "customfield":
            return sf_error(400, "INVALID_TYPE_FOR_OPERATION", f"entity type cannot be inserted: {m['obj']}")
        body = request.json()
        if not isinstance(body, dict):
            return sf_error(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        try:
            field_id = self.org.create_custom_field(body)
        except RequestError as exc:
            return sf_error(400, exc.code, exc.message, [])
        return Response.json(
            {"id": field_id, "success": True, "errors": [], "warnings": [], "infos": []}, 201
        )

    # -- Bulk API 2.0 ------------------------------------------------------------------------------------
    def _new_job(self, operation: str, obj: str, version: str, body: dict[str, Any]) -> bulk.Job:
        job = bulk.Job(
            id=self.org.ids.next(PREFIXES["Job"]),  # never reused: a deleted job's id answers 404
            operation=operation,
            object=obj,
            created=utcnow(),
            user_id=self.org.user_id,
            version=version,
            column_delimiter=str(body.get("columnDelimiter") or "COMMA"),
            line_ending=str(body.get("lineEnding") or "LF"),
        )
        self._jobs[job.id] = job
        return job

    def _job(self, job_id: str, query: bool) -> bulk.Job:
        job = self._jobs.get(job_id)
        if job is None or job.is_query != query:
            raise RequestError("NOT_FOUND", "The requested resource does not exist", 404)
        return job

    def _bulk_query_create(self, request: Request, m: re.Match[str]) -> Response:
        body = request.json() or {}
        operation = body.get("operation")
        soql = body.get("query")
        if operation not in ("query", "queryAll") or not soql:
            return sf_error(
                400, "INVALIDJOB", "InvalidJob : operation must be query or queryAll and query is required"
            )
        if self.bulk_query_jobs >= DAILY_BULK_QUERY_JOBS:
            return sf_error(400, "LIMIT_EXCEEDED", "Daily limit of Bulk API 2.0 query jobs exceeded")
        try:
            parsed = parse(soql, utcnow().date())
            if parsed.count:
                return sf_error(400, "API_ERROR", "Aggregate queries are not supported by Bulk API 2.0")
            result = execute(self.org, parsed, include_deleted=operation == "queryAll")
        except SoqlError as exc:
            return sf_error(400, "INVALIDJOB", f"InvalidJob : {exc.render(soql)}")
        self.bulk_query_jobs += 1
        job = self._new_job(operation, result.table.name, m["ver"], body)
        job.query, job.result = soql, result
        return Response.json(job.info())

    def _bulk_query_results(self, request: Request, m: re.Match[str]) -> Response:
        job = self._job(m["job"], query=True)
        if job.state != "JobComplete" or job.result is None:
            return sf_error(400, "API_ERROR", f"Job {job.id} is not complete: {job.state}")
        locator = request.param("locator")
        offset = 0 if not locator else bulk.decode_locator(locator)
        if offset is None:
            return sf_error(400, "INVALIDLOCATOR", "Invalid locator")
        max_records = int(request.param("maxRecords") or 50_000)
        rows = job.result.rows
        end = min(len(rows), offset + max(1, max_records))
        text = render_csv(
            job.result,
            rows[offset:end],
            bulk.DELIMITERS.get(job.column_delimiter, ","),
            bulk.LINE_ENDINGS.get(job.line_ending, "\n"),
        )
        headers = {
            "Sforce-Locator": bulk.encode_locator(end) if end < len(rows) else "null",
            "Sforce-NumberOfRecords": str(end - offset),
        }
        return Response.text(text, 200, "text/csv", **headers)

    def _bulk_job_get(self, request: Request, m: re.Match[str]) -> Response:
        job = self._job(m["job"], query=m["kind"] == "query")
        job.poll()
        return Response.json(job.info())

    def _bulk_job_patch(self, request: Request, m: re.Match[str]) -> Response:
        job = self._job(m["job"], query=m["kind"] == "query")
        state = (request.json() or {}).get("state")
        if state == "Aborted":
            if job.state in ("JobComplete", "Failed", "Aborted"):
                return sf_error(400, "INVALIDJOBSTATE", f"Job {job.id} is already {job.state}")
            job.state = "Aborted"
            return Response.json(job.info())
        if state == "UploadComplete" and not job.is_query:
            if job.state != "Open":
                return sf_error(400, "INVALIDJOBSTATE", f"Job {job.id} is not open: {job.state}")
            self._process_ingest(job)
            job.state = "UploadComplete"
            return Response.json(job.info())
        return sf_error(400, "INVALIDJOBSTATE", f"Cannot change job state to {state}")

    def _bulk_job_delete(self, request: Request, m: re.Match[str]) -> Response:
        # Bulk API 2.0 "Delete a Query Job": only a JobComplete, Aborted or Failed job, else 400 API_ERROR;
        # "Delete a Job" (ingest) also takes UploadComplete. A deleted job is gone: 404 from then on.
        job = self._job(m["job"], query=m["kind"] == "query")
        if job.state not in bulk.DELETABLE_QUERY_STATES | (set() if job.is_query else {"UploadComplete"}):
            return sf_error(
                400, "API_ERROR", "Error encountered when deleting the job because the job is not terminated"
            )
        del self._jobs[job.id]
        return Response(204)

    def _bulk_ingest_create(self, request: Request, m: re.Match[str]) -> Response:
        body = request.json() or {}
        operation = body.get("operation")
        if operation not in ("insert", "update", "upsert", "delete"):
            return sf_error(400, "INVALIDJOB", f"InvalidJob : unsupported operation: {operation}")
        table = self._writable(str(body.get("object") or ""))
        job = self._new_job(operation, table.name, m["ver"], body)
        job.state = "Open"
        job.external_id_field = body.get("externalIdFieldName")
        return Response.json(job.info())

    def _bulk_ingest_upload(self, request: Request, m: re.Match[str]) -> Response:
        job = self._job(m["job"], query=False)
        if job.state != "Open" or job.data is not None:
            return sf_error(
                409, "INVALIDJOBSTATE", "Only one upload of data is allowed per job, while the job is Open"
            )
        job.data = request.body.decode("utf-8")
        return Response(201)

    def _process_ingest(self, job: bulk.Job) -> None:
        table = self._writable(job.object)
        header, rows = bulk.read_csv(job, job.data or "")
        job.columns = header
        now = utcnow()
        for row in rows:
            record_id = row.get("Id") or row.get("id") or ""
            values = {
                k: (None if v == "#N/A" else v) for k, v in row.items() if k.lower() != "id" and v != ""
            }
            try:
                if job.operation == "insert":
                    prepared = self._plan_create(table, values)
                    new_row = table.insert(prepared, now)
                    job.successful.append({"sf__Id": table.id_of(new_row), "sf__Created": "true", **row})
                    continue
                target = self.org.locate(table, record_id, table.name)
                failure = self.injected_failure(table.id_of(target))
                if failure:
                    raise failure
                if job.operation == "delete":
                    table.delete(target, now)
                else:
                    table.write(target, self.org.prepare(table, values, creating=False), now)
                job.successful.append({"sf__Id": table.id_of(target), "sf__Created": "false", **row})
            except RecordError as exc:
                job.failed.append(
                    (record_id, f"{exc.code}:{exc.message}:{','.join(exc.fields) or '--'}", row)
                )
            except RequestError as exc:
                job.failed.append((record_id, f"{exc.code}:{exc.message}:--", row))

    def _bulk_ingest_results(self, request: Request, m: re.Match[str]) -> Response:
        job = self._job(m["job"], query=False)
        return Response.text(bulk.results_csv(job, m["results"]), 200, "text/csv")

    # -- admin: change data as a person in the CRM would ----------------------------------------------------
    def admin(self, action: str, payload: Any) -> Any:
        payload = payload or {}
        actions: dict[str, Callable[[dict[str, Any]], Any]] = {
            "update_opportunity": lambda p: self.update_opportunity(p["id"], **p.get("fields", {})),
            "delete_opportunity": lambda p: self.delete_opportunity(p["id"]),
            "create_opportunity": lambda p: self.create_opportunity(**p.get("fields", {})),
            "update_account": lambda p: self.update_account(p["id"], **p.get("fields", {})),
            "state": lambda p: self.state(p.get("object", "Opportunity"), p.get("ids"), p.get("soql")),
            "set_usage": lambda p: self.set_usage(int(p["used"])),
            "expire_sessions": lambda p: self.expire_sessions(),
            "register_jwt_key": lambda p: self.register_jwt_key(p["public_key_pem"]),
        }
        if action not in actions:
            raise KeyError(action)
        with self.lock:
            return actions[action](payload)

    def _user_write(self, obj: str, record_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        table = self._table(obj)
        row = table.find(record_id)
        if row is None:
            raise KeyError(record_id)
        values = {}
        for key, raw in fields.items():
            fdef = table.field(key)
            if fdef is None:
                raise ValueError(f"no field {key} on {obj}")
            values[fdef.name] = coerce(fdef, raw)
        table.write(row, values, utcnow())
        return self.ground_truth(table, row)

    def update_opportunity(self, record_id: str, **fields: Any) -> dict[str, Any]:
        """Move a stage, edit an amount or any field (bumps SystemModstamp), as a sales rep would."""
        with self.lock:
            return self._user_write("Opportunity", record_id, fields)

    def update_account(self, record_id: str, **fields: Any) -> dict[str, Any]:
        """Edit an Account field (custom ones too, whatever field-level security says), as an admin would."""
        with self.lock:
            return self._user_write("Account", record_id, fields)

    def delete_opportunity(self, record_id: str) -> dict[str, Any]:
        with self.lock:
            table = self._table("Opportunity")
            row = table.find(record_id)
            if row is None:
                raise KeyError(record_id)
            table.delete(row, utcnow())
            return self.ground_truth(table, row)

    def create_opportunity(self, **fields: Any) -> dict[str, Any]:
        with self.lock:
            table = self._table("Opportunity")
            defaults = {
                "Name": "New opportunity",
                "StageName": "Prospecting",
                "CloseDate": date.today().isoformat(),
                "CurrencyIsoCode": "USD",
            }
            values = {}
            for key, raw in {**defaults, **fields}.items():
                fdef = table.field(key)
                if fdef is None:
                    raise ValueError(f"no field {key} on Opportunity")
                values[fdef.name] = coerce(fdef, raw)
            row = table.insert(values, utcnow())
            return self.ground_truth(table, row)

    def ground_truth(self, table: Table, row: int) -> dict[str, Any]:
        """Every field of a record (custom ones too), JSON-ready: what tests compare against."""
        return {name: json_ready(table.value(row, name)) for name in table.fields}

    def state(self, obj: str, ids: list[str] | None = None, soql: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            table = self._table(obj)
            if soql:
                result = execute(self.org, parse(soql, utcnow().date()), include_deleted=True)
                rows: list[int] = list(result.rows)
                table = result.table
            elif ids is not None:
                rows = [r for r in (table.find(i) for i in ids) if r is not None]
            else:
                rows = list(table.rows())[:1000]
            return [self.ground_truth(table, r) for r in rows]

    def set_usage(self, used: int) -> dict[str, int]:
        with self.lock:
            self.api_usage = used
            return {"used": used, "max": self.daily_limit}

    def expire_sessions(self) -> dict[str, bool]:
        with self.lock:
            self.sessions.expire_all()
            return {"ok": True}

    def register_jwt_key(self, public_key_pem: str) -> dict[str, bool]:
        with self.lock:
            self.credentials.jwt_public_key_pem = public_key_pem
            return {"ok": True}

    # -- handy ids ---------------------------------------------------------------------------------------
    def account_id(self, partner_key: int) -> str:
        return make_id("001", partner_key)

    def opportunity_id(self, opportunity_key: int) -> str:
        return make_id("006", opportunity_key)
