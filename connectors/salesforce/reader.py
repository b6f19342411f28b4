"""Reading query results page by page: REST query/queryAll with nextRecordsUrl (each page one call under
the retry policy, so a failed page is fetched again, not the whole query), and Bulk API 2.0 query jobs
(CSV pages until the locator says null).

Both read one page ahead through connectors/lookahead.py (``read_ahead``, depth 1): while the caller
works on page k (normalizing it, storing it), page k+1's call runs on a worker thread, so the API's
latency is waited for during that work instead of after it. Only one call is ever in flight ahead of the
caller; an error of that call is raised where its page is taken; closing the iterator waits for the call
in flight (its page is dropped) and starts no other.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from typing import Any, ParamSpec

from pydantic import BaseModel
from simple_salesforce.api import Salesforce
from simple_salesforce.bulk2 import JobState, Operation, _Bulk2Client
from simple_salesforce.exceptions import SalesforceOperationError
from simple_salesforce.util import call_salesforce

from connectors.answers import parse_answer
from connectors.errors import ConnectorError
from connectors.lookahead import read_ahead
from connectors.salesforce import answers, soql
from connectors.salesforce.answers import QueryPage
from connectors.salesforce.client import SalesforceClient, sobject_bulk2

Record = dict[str, Any]
Page = QueryPage
BulkPage = tuple[list[Record], str | None]
"""A Bulk API 2.0 result set: its rows and the next set's locator (None: the last one)."""

BULK_PAGE_RECORDS = 50_000
FIRST_POLL_SECONDS = 0.1
JOB_TIMEOUT_SECONDS = 86_400
"""As simple-salesforce: a Bulk API 2.0 job may run for 24 hours."""
LOOKAHEAD_THREAD = "salesforce-lookahead"
LOOKAHEAD_DEPTH = 1
"""Pages read ahead. One is enough, and more would only cost memory: a page is 2,000 REST rows or 50,000
Bulk rows, and the caller's work on one (normalizing and storing: about 250 ms for a REST page, seconds for
a Bulk page) outlasts one call's latency (about 150 ms), so one call ahead already hides it all. A further
page would sit in memory waiting (a 50,000-row Bulk page and its dicts are most of the pull's peak RSS)."""


P = ParamSpec("P")


def flattened(pages: Callable[P, Generator[list[Record], None, None]]) -> Callable[P, Iterator[Record]]:
    """``pages`` one record at a time, with the same parameters; closing it closes the pages (and the
    call read ahead)."""

    def records(*args: P.args, **kwargs: P.kwargs) -> Iterator[Record]:
        with closing(pages(*args, **kwargs)) as found:
            for page in found:
                yield from page

    return records


class Reader:
    def __init__(self, client: SalesforceClient, page_size: int) -> None:
        self.client = client
        self.page_size = page_size

    def _headers(self) -> dict[str, str]:
        return {"Sforce-Query-Options": f"batchSize={self.page_size}"}

    def pages(
        self,
        query: str,
        *,
        include_deleted: bool = False,
        what: str = "a query",
        rows: type[BaseModel] | None = None,
    ) -> Generator[list[Record], None, None]:
        """Pages of records (``attributes`` removed); one API call per page, the next one in flight. Each
        page is checked before it is handed on (answers.query_page: every record carries the fields
        selected, and fits ``rows`` when given), in the call that fetched it."""
        headers = self._headers()
        fields, sobject = soql.selected(query)

        def check(answer: Any, call: str) -> Page:
            return answers.query_page(answer, fields, call, rows)

        def first() -> Page:
            return self.client.read(
                what,
                lambda sf: sf.query(query, include_deleted=include_deleted, headers=headers),
                check,
                sobject,
            )

        def following(result: Page) -> Callable[[], Page] | None:
            if result.done or not result.nextRecordsUrl:
                return None

            url = result.nextRecordsUrl

            def more(sf: Salesforce) -> Any:
                return sf.query_more(url, identifier_is_url=True, headers=headers)

            return lambda: self.client.read(what, more, check, sobject)

        with closing(read_ahead(first, following, depth=LOOKAHEAD_DEPTH, name=LOOKAHEAD_THREAD)) as results:
            for result in results:
                yield [_plain(r) for r in result.records]

    records = flattened(pages)
    """``pages``' records one at a time (the same parameters)."""

    def count(self, query: str, what: str = "a count") -> int:
        """totalSize of a ``SELECT COUNT()`` query (one call, no rows). An answer without it is
        UnexpectedAnswer, never 0: "nothing changed" would move the watermark past the changes."""
        _, sobject = soql.selected(query)
        page = self.client.read(
            what, lambda sf: sf.query(query), lambda answer, call: parse_answer(Page, answer, call), sobject
        )
        return page.totalSize

    def bulk_pages(
        self, sobject: str, query: str, *, what: str = "a bulk query"
    ) -> Generator[list[Record], None, None]:
        """Pages of a Bulk API 2.0 query job: CSV rows as dicts of strings ("" becomes None); the next
        page's call in flight while the caller works on one. The job's answers and each result set are
        checked before they are believed (answers.bulk_job, answers.bulk_result_page)."""
        poll = self.client.config.bulk_poll_seconds
        fields, _ = soql.selected(query)

        def bulk(sf: Salesforce) -> _Bulk2Client:
            return sobject_bulk2(sf, sobject)._client

        job = self.client.read(
            what, lambda sf: bulk(sf).create_job(Operation.query, query), answers.bulk_job, sobject
        )
        self._wait_for_job(lambda sf: bulk(sf).get_job(job.id, True), poll, what, sobject)

        def results(locator: str | None) -> Callable[[], BulkPage]:
            def page(sf: Salesforce) -> Any:
                return _query_results(bulk(sf), job.id, locator)

            def check(response: Any, call: str) -> BulkPage:
                return answers.bulk_result_page(response.headers, response.content, fields, call)

            return lambda: self.client.read(what, page, check, sobject)

        def following(page: BulkPage) -> Callable[[], BulkPage] | None:
            return results(page[1]) if page[1] else None

        with closing(
            read_ahead(results(None), following, depth=LOOKAHEAD_DEPTH, name=LOOKAHEAD_THREAD)
        ) as pages:
            for rows, _ in pages:
                yield rows

    def _wait_for_job(
        self, get_job: Callable[[Salesforce], Any], poll: float, what: str, sobject: str | None = None
    ) -> None:
        """Poll a Bulk API 2.0 job until it is complete: soon at first, then twice as long each time, up to
        ``poll`` (bulk_poll_seconds) between polls. simple-salesforce's wait_for_job sleeps the whole
        interval before its first poll and again before each next one: seconds of a pull spent asleep
        when the job is long done. Each poll is one call under the retry policy, its answer checked
        (answers.bulk_job); a failed or aborted job fails as simple-salesforce fails it (the same
        message)."""
        delay = min(FIRST_POLL_SECONDS, poll)
        deadline = time.monotonic() + JOB_TIMEOUT_SECONDS
        state = JobState.in_progress.value
        while time.monotonic() < deadline:
            time.sleep(delay)
            state = self.client.read(what, get_job, _job_state, sobject)
            if state == JobState.job_complete:
                return
            delay = min(delay * 2, poll)
        raise ConnectorError(f"Salesforce Bulk API job failed ({what}): Job timeout. Job status: {state}")


def _query_results(client: _Bulk2Client, job_id: str, locator: str | None) -> Any:
    """``GET /jobs/query/{id}/results`` as simple-salesforce's get_query_results sends it, with the raw
    answer handed back: its headers are read and checked here, not taken with defaults (a missing
    Sforce-Locator would read as "the last set")."""
    params: dict[str, Any] = {"maxRecords": BULK_PAGE_RECORDS}
    if locator:
        params["locator"] = locator
    return call_salesforce(
        url=client._construct_request_url(job_id, True) + "/results",
        method="GET",
        session=client.session,
        headers=client._get_headers(client.JSON_CONTENT_TYPE, client.CSV_CONTENT_TYPE),
        params=params,
    )


def _job_state(answer: Any, call: str) -> str:
    """The state of a job's status answer; a failed or aborted job raises simple-salesforce's own error
    for it (with the answer, as simple-salesforce prints it)."""
    job = answers.bulk_job(answer, call)
    if job.state in (JobState.aborted, JobState.failed):
        raise SalesforceOperationError(f"Job failure. Response content: {job.errorMessage or answer}")
    return job.state


def _plain(record: dict[str, Any]) -> Record:
    """The record without its ``attributes`` (type and URL). In place: the page's JSON is ours alone, and
    a pop is far cheaper than copying every field of every record."""
    record.pop("attributes", None)
    return record
