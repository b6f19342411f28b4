"""The progress bar shows the total where it is known, and log lines print above the bar, never inside
it; off a terminal each stage is one line naming its count (and the total when it differs)."""

from __future__ import annotations

import contextlib
import io
import logging
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from connectors.base import PullBatch
from partnerkpi.logs import setup_logging
from partnerkpi.pipeline import pull_into_store
from partnerkpi.progress import ProgressReporter
from partnerkpi.sandbox.core import Sandbox
from partnerkpi.state import StateStore
from tests.connectors.test_hubspot_sandbox import portal
from tests.connectors.test_salesforce_fixtures import connector
from tests.partnerkpi.test_state_store import opp

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SandboxFactory = Callable[..., Sandbox]


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[io.StringIO, ProgressReporter]]:
    """A terminal on stderr, as a person running the CLI has: rich's console and the log share it."""
    screen = io.StringIO()
    monkeypatch.setattr(sys, "stderr", screen)
    setup_logging("info", "text")
    yield screen, ProgressReporter(Console(file=screen, force_terminal=True, width=100), "bar")
    logging.getLogger().handlers.clear()


def screen_lines(raw: str) -> list[str]:
    """What the screen shows line by line: each line as its last redraw left it (after its last CR)."""
    return [ANSI.sub("", line.rsplit("\r", 1)[-1]) for line in raw.split("\n")]


def test_log_lines_print_above_the_bar_never_inside_it(
    terminal: tuple[io.StringIO, ProgressReporter],
) -> None:
    screen, reporter = terminal
    with reporter.stage("crm: pull", total=10) as stage:
        stage.advance(3)
        time.sleep(0.25)  # the bar has been drawn
        logging.getLogger("connectors.test").warning("page 2 retried")
        time.sleep(0.25)
        stage.advance(7)
    (line,) = [line for line in screen_lines(screen.getvalue()) if "page 2 retried" in line]
    assert re.fullmatch(r"\d\d:\d\d:\d\d WARNING connectors.test: page 2 retried", line), line
    assert "━" not in line and "crm: pull" not in line


def test_the_bar_shows_the_total_once_the_pull_knows_it(
    terminal: tuple[io.StringIO, ProgressReporter],
) -> None:
    screen, reporter = terminal
    with reporter.stage("crm: pull") as stage:
        stage.advance(2)
        time.sleep(0.25)
        stage.expect(40)
        stage.advance(3)
        time.sleep(0.25)
    shown = ANSI.sub("", screen.getvalue())
    assert "2/?" in shown and "5/40" in shown


def test_off_a_terminal_a_stage_line_names_the_total_when_it_differs_from_the_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    reporter = ProgressReporter(Console(file=io.StringIO()), "lines")
    with caplog.at_level(logging.INFO, "partnerkpi"):
        with reporter.stage("crm: write", total=10) as stage:
            stage.advance(7)
        with reporter.stage("crm: pull") as stage:
            stage.expect(4)
            stage.advance(4)
    assert re.search(r"crm: write: 7 of 10 in \d", caplog.text)
    assert re.search(r"crm: pull: 4 in \d", caplog.text)


class _Recorder:
    def __init__(self) -> None:
        self.totals: list[int] = []
        self.done = 0

    def advance(self, n: int = 1) -> None:
        self.done += n

    def expect(self, total: int) -> None:
        self.totals.append(total)


class _RecordingReporter(ProgressReporter):
    def __init__(self) -> None:
        super().__init__(Console(quiet=True), "none")
        self.stages: dict[str, _Recorder] = {}

    def stage(self, name: str, total: int | None = None) -> Any:
        recorder = self.stages.setdefault(name, _Recorder())
        return contextlib.nullcontext(recorder)


def test_the_pull_hands_the_sources_count_to_the_progress_stage(tmp_path: Path) -> None:
    class Counted:
        name, type_name, full_refresh = "crm", "fake", False
        stats = type("S", (), {"extra": {}})()

        def instance_id(self) -> str | None:
            return None

        def pull(self, watermark: str | None) -> Iterator[PullBatch]:
            yield PullBatch(opportunities=[opp("a")], expected=3)
            yield PullBatch(opportunities=[opp("b"), opp("c")], watermark="w1")

    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    run_id = store.start_run("crm", "pull")
    reporter = _RecordingReporter()
    counts = pull_into_store(store, Counted(), run_id, reporter)  # type: ignore[arg-type]
    assert reporter.stages["crm: pull"].totals == [3]
    assert reporter.stages["crm: pull"].done == 3 and counts["pulled"] == 3


def test_salesforce_tells_its_count_on_the_first_page_of_opportunities(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(partners=5, opportunities=300, hubspot=False)
    with connector(sandbox) as conn:
        batches = list(conn.pull(None))
        rerun = list(conn.pull(batches[-1].watermark))
    with_pages = [b for b in batches if b.opportunities]
    assert with_pages[0].expected == sum(len(b.opportunities) for b in batches) > 0
    assert all(b.expected is None for b in batches if b is not with_pages[0])
    assert all(b.expected is None for b in rerun)  # nothing changed: no page, no count to show


def test_hubspot_tells_its_live_deal_count_on_the_first_pulls_first_batch() -> None:
    with portal(600, partners=5) as hubspot, hubspot.connector() as conn:
        batches = list(conn.pull(None))
        rerun = list(conn.pull(batches[-1].watermark))
    with_deals = [b for b in batches if b.opportunities]
    assert with_deals[0].expected == sum(len(b.opportunities) for b in batches) > 0
    assert all(b.expected is None for b in batches if b is not with_deals[0])
    assert all(b.expected is None for b in rerun)  # a search's total is not a promise of what comes
