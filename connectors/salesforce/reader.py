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

import csv
import io
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from typing import Any

from simple_salesforce.api import Salesforce
from simple_salesforce.bulk2 import JobState, Operation, _Bulk2Client
from simple_salesforce.exceptions import SalesforceOperationError

from connectors.errors import ConnectorError
from connectors.lookahead import read_ahead
from connectors.salesforce.client import SalesforceClient, sobject_bulk2

Record = dict[str, Any]
Page = dict[str, Any]

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


class Reader:
    def __init__(self, client: SalesforceClient, page_size: int) -> None:
        self.client = client
        self.page_size = page_size

    def _headers(self) -> dict[str, str]:
        return {"Sforce-Query-Options": f"batchSize={self.page_size}"}

    def pages(
        self, soql: str, *, include_deleted: bool = False, what: str = "a query"
    ) -> Generator[list[Record], None, None]:
        """Pages of records (``attributes`` removed); one API call per page, the next one in flight."""
        headers = self._headers()

        def first() -> Page:
            page: Page = self.client.call(
                what, lambda sf: sf.query(soql, include_deleted=include_deleted, headers=headers)
            )
            return page

        def following(result: Page) -> Callable[[], Page] | None:
            next_url = result.get("nextRecordsUrl")
            if result.get("done", True) or not next_url:
                return None

            def more(sf: Salesforce, url: str = str(next_url)) -> Page:
                page: Page = sf.query_more(url, identifier_is_url=True, headers=headers)
                return page

            return lambda: self.client.call(what, more)

        with closing(read_ahead(first, following, depth=LOOKAHEAD_DEPTH, name=LOOKAHEAD_THREAD)) as results:
            for result in results:
                yield [_plain(r) for r in result.get("records") or ()]

    def records(self, soql: str, *, include_deleted: bool = False, what: str = "a query") -> Iterator[Record]:
        with closing(self.pages(soql, include_deleted=include_deleted, what=what)) as pages:
            for page in pages:
                yield from page

    def count(self, soql: str, what: str = "a count") -> int:
        """totalSize of a ``SELECT COUNT()`` query (one call, no rows)."""
        result: dict[str, Any] = self.client.call(what, lambda sf: sf.query(soql))
        return int(result.get("totalSize") or 0)

    def bulk_pages(
        self, sobject: str, soql: str, *, what: str = "a bulk query"
    ) -> Generator[list[Record], None, None]:
        """Pages of a Bulk API 2.0 query job: CSV rows as dicts of strings ("" becomes None); the next
        page's call in flight while the caller works on one."""
        poll = self.client.config.bulk_poll_seconds

        def bulk(sf: Salesforce) -> _Bulk2Client:
            return sobject_bulk2(sf, sobject)._client

        job: dict[str, Any] = self.client.call(what, lambda sf: bulk(sf).create_job(Operation.query, soql))
        job_id = str(job["id"])
        self._wait_for_job(lambda sf: bulk(sf).get_job(job_id, True), poll, what)

        def results(locator: str) -> Callable[[], Page]:
            def page(sf: Salesforce) -> Page:
                return dict(bulk(sf).get_query_results(job_id, locator, BULK_PAGE_RECORDS))

            return lambda: self.client.call(what, page)

        def following(page: Page) -> Callable[[], Page] | None:
            locator = page["locator"]
            return results(locator) if locator else None

        with closing(
            read_ahead(results(""), following, depth=LOOKAHEAD_DEPTH, name=LOOKAHEAD_THREAD)
        ) as pages:
            for page in pages:
                yield _csv_rows(page["records"])

    def _wait_for_job(self, get_job: Callable[[Salesforce], Any], poll: float, what: str) -> None:
        """Poll a Bulk API 2.0 job until it is complete: soon at first, then twice as long each time, up to
        ``poll`` (bulk_poll_seconds) between polls. simple-salesforce's wait_for_job sleeps the whole
        interval before its first poll and again before each next one: seconds of a pull spent asleep
        when the job is long done. Each poll is one call under the retry policy; a failed or aborted job
        fails as simple-salesforce fails it (the same message)."""
        delay = min(FIRST_POLL_SECONDS, poll)
        deadline = time.monotonic() + JOB_TIMEOUT_SECONDS
        state = JobState.in_progress.value
        while time.monotonic() < deadline:
            time.sleep(delay)
            state = self.client.call(what, lambda sf: _job_state(get_job(sf)))
            if state == JobState.job_complete:
                return
            delay = min(delay * 2, poll)
        raise ConnectorError(f"Salesforce Bulk API job failed ({what}): Job timeout. Job status: {state}")


def _job_state(info: Any) -> str:
    """The job's state; a failed or aborted job raises simple-salesforce's own error for it."""
    state = str(info["state"])
    if state in (JobState.aborted, JobState.failed):
        raise SalesforceOperationError(f"Job failure. Response content: {info.get('errorMessage') or info}")
    return state


def _csv_rows(text: str) -> list[Record]:
    return [
        {k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))
    ]


def _plain(record: dict[str, Any]) -> Record:
    """The record without its ``attributes`` (type and URL). In place: the page's JSON is ours alone, and
    a pop is far cheaper than copying every field of every record."""
    record.pop("attributes", None)
    return record
