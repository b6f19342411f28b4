"""Reading query results page by page: REST query/queryAll with nextRecordsUrl (each page one call under
the retry policy, so a failed page is fetched again, not the whole query), and Bulk API 2.0 query jobs
(CSV pages until the locator says null)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from simple_salesforce.api import Salesforce
from simple_salesforce.bulk2 import Operation, _Bulk2Client

from connectors.salesforce.client import SalesforceClient, sobject_bulk2

Record = dict[str, Any]

BULK_PAGE_RECORDS = 50_000


class Reader:
    def __init__(self, client: SalesforceClient, page_size: int) -> None:
        self.client = client
        self.page_size = page_size

    def _headers(self) -> dict[str, str]:
        return {"Sforce-Query-Options": f"batchSize={self.page_size}"}

    def pages(
        self, soql: str, *, include_deleted: bool = False, what: str = "a query"
    ) -> Iterator[list[Record]]:
        """Pages of records (``attributes`` removed); one API call per page."""
        headers = self._headers()
        result: dict[str, Any] = self.client.call(
            what, lambda sf: sf.query(soql, include_deleted=include_deleted, headers=headers)
        )
        while True:
            yield [_plain(r) for r in result.get("records") or ()]
            next_url = result.get("nextRecordsUrl")
            if result.get("done", True) or not next_url:
                return

            def more(sf: Salesforce, url: str = str(next_url)) -> dict[str, Any]:
                page: dict[str, Any] = sf.query_more(url, identifier_is_url=True, headers=headers)
                return page

            result = self.client.call(what, more)

    def records(self, soql: str, *, include_deleted: bool = False, what: str = "a query") -> Iterator[Record]:
        for page in self.pages(soql, include_deleted=include_deleted, what=what):
            yield from page

    def count(self, soql: str, what: str = "a count") -> int:
        """totalSize of a ``SELECT COUNT()`` query (one call, no rows)."""
        result: dict[str, Any] = self.client.call(what, lambda sf: sf.query(soql))
        return int(result.get("totalSize") or 0)

    def bulk_pages(self, sobject: str, soql: str, *, what: str = "a bulk query") -> Iterator[list[Record]]:
        """Pages of a Bulk API 2.0 query job: CSV rows as dicts of strings ("" becomes None)."""
        poll = self.client.config.bulk_poll_seconds

        def bulk(sf: Salesforce) -> _Bulk2Client:
            return sobject_bulk2(sf, sobject)._client

        job: dict[str, Any] = self.client.call(what, lambda sf: bulk(sf).create_job(Operation.query, soql))
        job_id = str(job["id"])
        self.client.call(what, lambda sf: bulk(sf).wait_for_job(job_id, True, poll))
        locator = ""
        while True:

            def results(sf: Salesforce, locator: str = locator) -> dict[str, Any]:
                return dict(bulk(sf).get_query_results(job_id, locator, BULK_PAGE_RECORDS))

            page = self.client.call(what, results)
            rows = csv.DictReader(io.StringIO(page["records"]))
            yield [{k: (v if v != "" else None) for k, v in row.items()} for row in rows]
            locator = page["locator"]
            if not locator:
                return


def _plain(record: dict[str, Any]) -> Record:
    return {k: v for k, v in record.items() if k != "attributes"}
