"""The reader's one-page lookahead (connectors/salesforce/reader.py) through simple-salesforce over HTTPS
against the sandbox: every record once and in order, errors where their page is taken, nothing left
running or fetched after the caller stops, and one renewal of an expired session for both threads."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from connectors.errors import ConnectorError
from connectors.salesforce import reader as reader_module
from connectors.salesforce.reader import LOOKAHEAD_THREAD, Reader
from partnerkpi.sandbox.core import Response, Sandbox
from partnerkpi.sandbox.salesforce import bulk as sandbox_bulk
from partnerkpi.sandbox.salesforce.emulation import sf_error
from tests.connectors.test_salesforce_fixtures import connector, emulation, opportunities

SandboxFactory = Callable[..., Sandbox]

QUERY = "SELECT Id, Amount FROM Opportunity ORDER BY Id"
PAGE = 200


def lookahead_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == LOOKAHEAD_THREAD and t.is_alive()]


def sandbox_ids(sandbox: Sandbox) -> list[str]:
    """The live opportunities' ids in QUERY's order, as the sandbox's own query engine sorts them."""
    soql = "SELECT Id FROM Opportunity WHERE IsDeleted = false ORDER BY Id"
    return [str(r["Id"]) for r in emulation(sandbox).state("Opportunity", soql=soql)]


def wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


def fail_rest_page(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, page: int, answers: list[Response]
) -> None:
    """The sandbox answers the query_more call of page ``page`` (1-based) with ``answers``, one per call,
    then as usual."""
    org = emulation(sandbox)
    original = org._more

    def more(request: Any, locator: str, version: str) -> Response:
        offset = locator.rpartition("-")[2]
        if offset == str((page - 1) * PAGE) and answers:
            return answers.pop(0)
        return original(request, locator, version)

    monkeypatch.setattr(org, "_more", more)


def expired_locator() -> Response:
    return sf_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")


def server_error() -> Response:
    return sf_error(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred.")


@pytest.fixture
def small(sandbox_factory: SandboxFactory) -> Sandbox:
    return sandbox_factory(opportunities=1_500, hubspot=False)


# -- every record once, in order ------------------------------------------------------------------------


def test_rest_pages_yield_every_record_once_in_order(small: Sandbox) -> None:
    with connector(small, page_size=PAGE) as conn:
        small.reset_counters()
        pages = list(conn.reader.pages(QUERY, what="reading Opportunities"))
    ids = [str(r["Id"]) for page in pages for r in page]
    assert ids == sandbox_ids(small)
    assert all(len(page) == PAGE for page in pages[:-1]) and len(pages) == -(-len(ids) // PAGE)
    assert small.counters["salesforce.query"] == len(pages)  # one call per page, none extra
    assert not lookahead_threads()


def test_bulk_pages_yield_every_record_once(small: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader_module, "BULK_PAGE_RECORDS", 400)
    with connector(small) as conn:
        small.reset_counters()
        pages = list(conn.reader.bulk_pages("Opportunity", "SELECT Id FROM Opportunity"))
    ids = [str(r["Id"]) for page in pages for r in page]
    assert sorted(ids) == sorted(sandbox_ids(small)) and len(ids) == len(set(ids))
    assert [len(p) for p in pages][:-1] == [400] * (len(pages) - 1)
    assert small.counters["salesforce.bulk2_query_results"] == len(pages)
    assert not lookahead_threads()


def test_the_next_page_is_asked_for_while_the_caller_holds_the_current_one(small: Sandbox) -> None:
    with connector(small, page_size=PAGE) as conn:
        conn.reader.count("SELECT COUNT() FROM Opportunity")  # logged in
        small.reset_counters()
        pages = conn.reader.pages(QUERY)
        next(pages)
        assert wait_for(lambda: small.counters["salesforce.query"] == 2)  # page 2 asked for already
        time.sleep(0.05)
        assert small.counters["salesforce.query"] == 2  # and nothing beyond it
        pages.close()


# -- errors where their page is taken --------------------------------------------------------------------


def test_an_error_on_page_3_surfaces_after_pages_1_and_2_with_todays_message(
    small: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_rest_page(small, monkeypatch, 3, [expired_locator()])
    taken: list[int] = []
    with connector(small, page_size=PAGE) as conn, pytest.raises(ConnectorError) as caught:
        for page in conn.reader.pages(QUERY, what="reading changed Opportunities"):
            taken.append(len(page))
    assert taken == [PAGE, PAGE]
    assert str(caught.value) == (
        "Salesforce answered HTTP 400 INVALID_QUERY_LOCATOR to reading changed Opportunities: "
        "invalid query locator"
    )
    assert not lookahead_threads()


def test_a_5xx_on_page_3_is_retried_as_that_one_call(small: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    fail_rest_page(small, monkeypatch, 3, [server_error(), server_error()])
    with connector(small, page_size=PAGE) as conn:
        small.reset_counters()
        pages = list(conn.reader.pages(QUERY))
        assert conn.stats.retries == 2
    assert [str(r["Id"]) for page in pages for r in page] == sandbox_ids(small)
    assert small.counters["salesforce.query"] == len(pages) + 2


def test_a_bulk_error_on_page_3_surfaces_after_pages_1_and_2_with_todays_message(
    small: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader_module, "BULK_PAGE_RECORDS", 400)
    decode = sandbox_bulk.decode_locator
    monkeypatch.setattr(
        sandbox_bulk, "decode_locator", lambda loc: None if decode(loc) == 800 else decode(loc)
    )
    taken: list[int] = []
    with connector(small) as conn, pytest.raises(ConnectorError) as caught:
        for page in conn.reader.bulk_pages("Opportunity", "SELECT Id FROM Opportunity", what="bulk-reading"):
            taken.append(len(page))
    assert taken == [400, 400]
    assert re.fullmatch(
        r"Salesforce answered HTTP 400 INVALIDLOCATOR to bulk-reading: Invalid locator", str(caught.value)
    )
    assert not lookahead_threads()


# -- stopping early -------------------------------------------------------------------------------------


@pytest.fixture
def slow(sandbox_factory: SandboxFactory) -> Sandbox:
    """Every call takes 100 ms: the lookahead's call is still in flight when the caller stops."""
    return sandbox_factory(opportunities=1_500, hubspot=False, latency_ms=100.0)


def test_stopping_after_page_1_leaves_no_thread_and_fetches_at_most_one_page_more(slow: Sandbox) -> None:
    with connector(slow, page_size=PAGE) as conn:
        conn.reader.count("SELECT COUNT() FROM Opportunity")
        slow.reset_counters()
        for _page in conn.reader.pages(QUERY):
            break
        assert not lookahead_threads()
        time.sleep(0.3)
    assert slow.counters["salesforce.query"] <= 2


def test_a_caller_that_raises_on_page_1_leaves_no_thread(slow: Sandbox) -> None:
    with connector(slow, page_size=PAGE) as conn:
        conn.reader.count("SELECT COUNT() FROM Opportunity")
        slow.reset_counters()
        pages: Iterator[list[dict[str, Any]]] = conn.reader.pages(QUERY)
        with pytest.raises(RuntimeError, match="stop"):
            for _page in pages:
                raise RuntimeError("stop")
        del pages
        assert not lookahead_threads()
        time.sleep(0.3)
    assert slow.counters["salesforce.query"] <= 2


def test_a_pull_closed_after_its_first_opportunity_batch_leaves_no_thread(slow: Sandbox) -> None:
    with connector(slow, page_size=PAGE) as conn:
        batches = conn.pull(None)
        first = next(batches)  # partners and deletions
        assert not first.opportunities
        slow.reset_counters()
        assert next(batches).opportunities
        batches.close()
        assert not lookahead_threads()
        time.sleep(0.3)
    assert slow.counters["salesforce.query"] <= 3  # COUNT() and page 1, then at most page 2 in flight


def test_a_bulk_reader_closed_after_page_1_leaves_no_thread(
    slow: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader_module, "BULK_PAGE_RECORDS", 300)
    with connector(slow) as conn:
        conn.reader.count("SELECT COUNT() FROM Opportunity")
        slow.reset_counters()
        pages = conn.reader.bulk_pages("Opportunity", "SELECT Id FROM Opportunity")
        assert len(next(pages)) == 300
        pages.close()
        assert not lookahead_threads()
        time.sleep(0.3)
    assert slow.counters["salesforce.bulk2_query_results"] <= 2


# -- one renewal for both threads ----------------------------------------------------------------------


def test_threads_that_see_the_same_expired_session_renew_it_once(small: Sandbox) -> None:
    with connector(small) as conn:
        conn.reader.count("SELECT COUNT() FROM Opportunity")
        logins = small.counters["salesforce.soap_login"]
        emulation(small).expire_sessions()
        start = threading.Barrier(4)
        answers: list[int] = []
        errors: list[BaseException] = []

        def count() -> None:
            start.wait()
            try:
                answers.append(Reader(conn.client, PAGE).count("SELECT COUNT() FROM Opportunity"))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=count) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        assert len(answers) == 4 and len(set(answers)) == 1
        assert conn.client.renewals == 1
    assert small.counters["salesforce.soap_login"] == logins + 1


def test_a_session_expired_while_a_page_is_in_flight_is_renewed_once(slow: Sandbox) -> None:
    with connector(slow, page_size=PAGE, partner={"mode": "opportunity_partner"}) as conn:
        batches = conn.pull(None)
        seen = [next(batches), next(batches)]  # partners and deletions; page 1 (page 2 now in flight)
        emulation(slow).expire_sessions()
        seen += list(batches)
        assert conn.client.renewals == 1
    assert list(opportunities(seen)) and sorted(opportunities(seen)) == sorted(sandbox_ids(slow))
    assert slow.counters["salesforce.soap_login"] == 2
