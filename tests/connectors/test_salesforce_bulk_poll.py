"""Waiting for a Bulk API 2.0 query job (connectors/salesforce/reader.py: Reader._wait_for_job) through
simple-salesforce over HTTPS against the sandbox: the first poll comes soon, the waits double up to
bulk_poll_seconds, and a job that fails fails with simple-salesforce's message."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import SimpleNamespace

import pytest

from connectors.errors import ConnectorError
from connectors.salesforce import reader as reader_module
from partnerkpi.sandbox.core import Sandbox
from partnerkpi.sandbox.salesforce import bulk as sandbox_bulk
from tests.connectors.test_salesforce_fixtures import connector

SandboxFactory = Callable[..., Sandbox]
QUERY = "SELECT Id FROM Opportunity"


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The reader's sleeps, recorded instead of slept (the sandbox's own clock is left alone)."""
    slept: list[float] = []
    shim = SimpleNamespace(sleep=slept.append, monotonic=time.monotonic)
    monkeypatch.setattr(reader_module, "time", shim)
    return slept


def slow_job(monkeypatch: pytest.MonkeyPatch, polls: int) -> None:
    """Query jobs complete on their ``polls``-th status read (the sandbox's own: on the second)."""

    def poll(job: sandbox_bulk.Job) -> None:
        job.polls += 1
        job.state = "JobComplete" if job.polls >= polls else "InProgress"

    monkeypatch.setattr(sandbox_bulk.Job, "poll", poll)


def test_a_job_done_soon_is_read_without_sleeping_the_whole_interval(
    sandbox_factory: SandboxFactory, sleeps: list[float]
) -> None:
    sandbox = sandbox_factory(opportunities=300, hubspot=False)
    with connector(sandbox, bulk_poll_seconds=1.0) as conn:
        sandbox.reset_counters()
        rows = [r for page in conn.reader.bulk_pages("Opportunity", QUERY) for r in page]
    assert len(rows) == 300
    assert sleeps == [0.1, 0.2]  # simple-salesforce's wait_for_job: 1.0 s, then 1.001 s
    assert sandbox.counters["salesforce.bulk2_job_get"] == 2


def test_waits_double_up_to_bulk_poll_seconds(
    sandbox_factory: SandboxFactory, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = sandbox_factory(opportunities=50, hubspot=False)
    slow_job(monkeypatch, polls=7)
    with connector(sandbox, bulk_poll_seconds=0.5) as conn:
        sandbox.reset_counters()
        rows = [r for page in conn.reader.bulk_pages("Opportunity", QUERY) for r in page]
    assert len(rows) == 50
    assert sleeps == [0.1, 0.2, 0.4, 0.5, 0.5, 0.5, 0.5]
    assert sandbox.counters["salesforce.bulk2_job_get"] == 7


def test_an_aborted_job_fails_with_simple_salesforces_message(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = sandbox_factory(opportunities=50, hubspot=False)

    def aborted(job: sandbox_bulk.Job) -> None:  # an admin aborted it in Setup while it ran
        job.state = "Aborted"

    monkeypatch.setattr(sandbox_bulk.Job, "poll", aborted)
    with connector(sandbox) as conn, pytest.raises(ConnectorError) as caught:
        list(conn.reader.bulk_pages("Opportunity", QUERY, what="bulk-reading"))
    message = str(caught.value)
    assert message.startswith(
        "Salesforce Bulk API job failed (bulk-reading): Job failure. Response content: "
    )
    assert "('state', 'Aborted')" in message  # the job's answer, as simple-salesforce prints it
    assert sandbox.counters["salesforce.bulk2_query_results"] == 0
