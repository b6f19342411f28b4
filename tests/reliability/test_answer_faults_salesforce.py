"""Every answer the Salesforce connector reads is checked before it is believed (issue 14).

The sandbox breaks one kind of answer at a time (``faults.answer_faults``): a 200 that is valid JSON but not
the call's shape (``{}`` and a realistic wrong one), an HTML page, JSON cut short, a body cut off or reset
half way; on a first sync and on an incremental one (deals changed in the CRM between the runs). Each
broken run stops with exit 3 and a message naming the call, writes nothing, stores nothing of the broken
answer (the watermark has not moved, or only to the checkpoint of a page stored before it), and the next
clean run ends with exactly the CRM values of a run that was never disturbed. A body cut off or reset once
is retried, and the run completes.

Which call of an endpoint is broken (the OpportunityStage query, not the first query of the run) is found
from the calls an undisturbed run of the same kind makes, in order. One sandbox per kind of answer: its
breaks run one after the other (each must leave nothing behind, so the next starts from the same state),
then one clean run; the deals are changed; the same again on the incremental sync.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.retry import RetryPolicy
from connectors.salesforce.connector import SalesforceConnector
from connectors.salesforce.watermark import SalesforceWatermark
from kpi_core.schema import Opportunity
from partnerkpi.config import AppConfig
from partnerkpi.pipeline import ExitCode
from partnerkpi.sandbox.app import build_sandbox
from partnerkpi.sandbox.core import Request, Response, Sandbox
from partnerkpi.state import StateStore
from tests.reliability.harness import (
    AS_OF,
    OPPORTUNITIES,
    PARTNERS,
    SEED,
    connector_name,
    crm_values,
    prepared,
    run_cli,
    sync,
    without_timestamps,
)

CRM = "salesforce"
NAME = connector_name(CRM)
Values = dict[str, dict[str, Any]]
FAST = RetryPolicy(attempts=3, initial_wait=0.01, max_wait=0.02)
VARIANTS: dict[str, dict[str, Any]] = {
    "rest": {"page_size": 200},  # 300 opportunities: two REST pages on a first sync
    "bulk": {
        "page_size": 200,
        "bulk_threshold": 1,
        "bulk_poll_seconds": 0.05,
    },  # every changed opportunity through Bulk API 2.0
}
CHANGED = 210
"""Deals changed between the syncs of an incremental run: more than a REST page (200), so it has two."""
WON = 4
"""Of those, open deals moved to Closed Won (the issue's case: "deals won stays 2 where the CRM has 4")."""
_QUERY_PATH = re.compile(r"/services/data/v[\d.]+/(query|queryAll)(/[\w-]+)?/?$")
_DESCRIBE_PATH = re.compile(r"/services/data/v[\d.]+/sobjects/(\w+)/describe/?$")
_FROM = re.compile(r"\bFROM (\w+)")


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The connector's retry policy with millisecond waits (in this process; the CLI keeps its own)."""
    defaults = dict(SalesforceConnector.__init__.__kwdefaults__ or {})
    defaults["retry_policy"] = FAST
    monkeypatch.setattr(SalesforceConnector.__init__, "__kwdefaults__", defaults)


# -- the sandbox, its changes, and which call is which ----------------------------------------------------
def new_sandbox() -> Sandbox:
    return build_sandbox(seed=SEED, partners=PARTNERS, opportunities=OPPORTUNITIES, hubspot=False).start()


def change_deals(sandbox: Sandbox) -> None:
    """What sales reps do between two syncs: new amounts on CHANGED deals, WON of the open ones won."""
    emulation = sandbox.emulation(CRM)
    rows = emulation.admin(
        "state", {"soql": "SELECT Id, IsClosed FROM Opportunity WHERE IsDeleted = false ORDER BY Id"}
    )
    won = 0
    for i, row in enumerate(rows[:CHANGED]):
        fields: dict[str, Any] = {"Amount": str(1_000 + 37 * i)}
        if not row["IsClosed"] and won < WON:
            fields.update({"StageName": "Closed Won", "CloseDate": "2026-10-20"})
            won += 1
        emulation.admin("update_opportunity", {"id": row["Id"], "fields": fields})
    assert won == WON


def label(request: Request) -> tuple[str, str] | None:
    """(answer_faults endpoint, which call) of a request the faults below break."""
    query = _QUERY_PATH.search(request.path)
    if query is not None:
        if query.group(2):
            return "query", "next page"
        soql = request.param("q") or ""
        found = _FROM.search(soql)
        kind = "count" if "COUNT()" in soql else query.group(1)
        return "query", f"{kind} {found.group(1) if found else '?'}"
    describe = _DESCRIBE_PATH.search(request.path)
    if describe is not None:
        return "describe", describe.group(1)
    return None


class CallLog:
    """The calls of each endpoint, in order, as the sandbox answers them."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.calls: dict[str, list[str]] = {}
        inner = sandbox.dispatch

        def dispatch(request: Request) -> Response:
            found = label(request)
            if found is not None:
                self.calls.setdefault(found[0], []).append(found[1])
            return inner(request)

        sandbox.dispatch = dispatch  # type: ignore[method-assign]


@dataclass
class Reference:
    values: Values
    """The CRM's KPI values after the undisturbed run."""
    calls: dict[str, list[str]]
    """The calls of the undisturbed run's last sync (the one the faults break), per endpoint."""


def configured(tmp: Path, sandbox: Sandbox, variant: str) -> tuple[AppConfig, StateStore]:
    cfg = prepared(tmp, sandbox, CRM, connector_overrides={CRM: VARIANTS[variant]})
    return cfg, StateStore.open(cfg.state.url)


KINDS = ("first", "incremental")


@pytest.fixture(scope="module")
def references(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Reference]:
    """Per variant and kind of sync: the undisturbed run (a first sync; the deals changed; a second)."""
    out: dict[tuple[str, str], Reference] = {}
    for variant in VARIANTS:
        sandbox = new_sandbox()
        try:
            cfg, store = configured(tmp_path_factory.mktemp(f"ref-{variant}"), sandbox, variant)
            for kind in KINDS:
                if kind == "incremental":
                    change_deals(sandbox)
                log = CallLog(sandbox)
                done = sync(cfg, store, CRM)
                assert (done.status, done.exit_code) == ("ok", ExitCode.OK), done.message
                out[variant, kind] = Reference(without_timestamps(crm_values(sandbox, cfg, CRM)), log.calls)
            store.close()
        finally:
            sandbox.stop()
    first, changed = out["rest", "first"].values, out["rest", "incremental"].values
    assert len(first) == PARTNERS and changed != first  # the changes show in the figures
    assert out["bulk", "incremental"].calls["query"].count("query Opportunity") == 0  # read by Bulk
    assert out["rest", "incremental"].calls["query"].count("next page") == 1  # two REST pages
    return out


# -- the faults --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Break:
    spec: dict[str, Any]
    """The answer_faults entry (kind, body, times)."""
    says: tuple[str, ...] = ()
    """What the message must say besides the call: what was wrong."""
    kinds: tuple[str, ...] = KINDS


@dataclass(frozen=True)
class Target:
    """One kind of answer the connector reads, and the ways it is broken."""

    name: str
    endpoint: str
    """The answer_faults key (without ``salesforce.``)."""
    call: str | None
    """Which call of the endpoint (a CallLog label); None: its first."""
    names: tuple[str, ...]
    """How the message must name the call."""
    breaks: tuple[Break, ...]
    variant: str = "rest"
    completes: bool = False
    """A break that is retried: the run completes (its one break is the kind's clean run)."""
    moves_to_stored_page: bool = False
    """A page before the broken one was stored, with its checkpoint: the watermark may move up to it (and a
    run after it starts from there: one break per kind, then the clean run)."""


def wrong(body: Any, *says: str, kinds: tuple[str, ...] = KINDS) -> Break:
    return Break({"kind": "json", "body": body}, says, kinds)


MAIN = ("/query on Opportunity (reading changed Opportunities)",)
TARGETS = [
    Target(
        "count",
        "query",
        "count Opportunity",
        ("/query on Opportunity (counting changed Opportunities)",),
        (
            wrong({}, "totalSize: field required"),
            wrong({"done": True, "records": []}, "totalSize: field required"),  # "nothing changed", exit 0
        ),
    ),
    Target(
        "first_page",
        "query",
        "query Opportunity",
        MAIN,
        (
            wrong({}, "records: field required"),
            wrong(  # read as the last page: the rest would be lost and the watermark jump past it
                {"totalSize": 300, "done": False, "records": []},
                "done is false but there is no nextRecordsUrl",
            ),
        ),
    ),
    Target(
        "later_page",
        "query",
        "next page",
        ("/query/", "on Opportunity (reading changed Opportunities)"),
        (
            wrong({}, "done: field required"),
            wrong(
                {
                    "totalSize": 300,
                    "done": True,
                    "records": [{"attributes": {"type": "Opportunity"}, "Id": "006Kj0000000001IAA"}],
                },
                "records.0: no Amount, CloseDate",
                kinds=("incremental",),
            ),
        ),
        moves_to_stored_page=True,
    ),
    Target(
        "stages",
        "query",
        "query OpportunityStage",
        ("/query on OpportunityStage (reading OpportunityStage)",),
        (
            wrong({}, "records: field required"),
            wrong(  # every deal would be of an unknown stage
                {
                    "totalSize": 1,
                    "done": True,
                    "records": [{"ApiName": "Closed Won", "DefaultProbability": 100}],
                },
                "records.0: no IsClosed, IsWon",
            ),
        ),
    ),
    Target(
        "currency",
        "query",
        "query CurrencyType",
        ("/query on CurrencyType (reading CurrencyType)",),
        (
            wrong({}, "records: field required"),
            wrong(
                {
                    "totalSize": 1,
                    "done": True,
                    "records": [{"IsoCode": "USD", "ConversionRate": None, "IsCorporate": True}],
                },
                "records.0: ConversionRate: decimal input should be",
            ),
        ),
    ),
    Target(
        "describe",
        "describe",
        "Opportunity",
        ("GET /services/data/v", "/sobjects/Opportunity/describe (describing Opportunity)"),
        (
            wrong({}, "fields: field required"),
            wrong(  # describeGlobal's answer
                {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": [{"name": "Opportunity"}]},
                "fields: field required",
            ),
        ),
    ),
    Target(
        "bulk_status",
        "bulk2_job_get",
        None,
        ("/jobs/query/", "on Opportunity (bulk-reading changed Opportunities)"),
        (
            wrong({}, "state: field required"),
            wrong(
                {"id": "750Kj0000000001IAA", "operation": "query", "state": "Completed"}, "state is none of"
            ),
        ),
        variant="bulk",
    ),
    Target(
        "bulk_results",
        "bulk2_query_results",
        None,
        ("/results on Opportunity (bulk-reading changed Opportunities)",),
        (
            wrong({}, "Sforce-NumberOfRecords: field required"),
            wrong(
                [{"Id": "006Kj0000000001IAA", "StageName": "Closed Won"}], "Sforce-Locator: field required"
            ),
        ),
        variant="bulk",
    ),
    Target(
        "main_query_not_json",
        "query",
        "query Opportunity",
        MAIN,
        (
            Break({"kind": "html"}, ("not JSON (an HTML page)",)),
            Break({"kind": "malformed"}, ("not JSON (JSON cut short",)),
            Break({"kind": "truncated"}, ("was cut off half way",)),  # every attempt
            Break({"kind": "reset"}, ("was cut off half way",), kinds=("incremental",)),
        ),
    ),
    Target(
        "main_query_truncated_once",
        "query",
        "query Opportunity",
        (),
        (Break({"kind": "truncated", "times": 1}),),
        completes=True,
    ),
    Target(
        "main_query_reset_once",
        "query",
        "query Opportunity",
        (),
        (Break({"kind": "reset", "times": 1}),),
        completes=True,
    ),
    Target(
        "bulk_results_truncated_once",
        "bulk2_query_results",
        None,
        (),
        (Break({"kind": "truncated", "times": 1}),),
        variant="bulk",
        completes=True,
    ),
]


def switch_on(sandbox: Sandbox, target: Target, spec: dict[str, Any], ref: Reference) -> None:
    after = ref.calls[target.endpoint].index(target.call) if target.call is not None else 0
    emulation = sandbox.emulation(CRM)
    emulation.faults.answer_faults = {f"salesforce.{target.endpoint}": {**spec, "after": after}}
    emulation.answer_fault_calls.clear()


def switch_off(sandbox: Sandbox) -> None:
    sandbox.emulation(CRM).faults.answer_faults = {}


# -- what a broken run must leave behind ---------------------------------------------------------------------
def parse_moment(value: Any) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def watermark_moment(text: str) -> datetime:
    """The time a stored watermark says, read as the next pull reads it."""
    mark = SalesforceWatermark.load(text)
    assert mark is not None
    return mark.modified


def assert_no_change_lost(sandbox: Sandbox, store: StateStore) -> None:
    """Every change the watermark has passed is in the mirror, as the CRM holds it now: an opportunity
    modified before the watermark is stored with that very SystemModstamp."""
    mark = store.get_watermark(NAME)
    if mark is None:
        return
    moment = watermark_moment(mark)
    stored: dict[str, Opportunity] = {o.id: o for o in store.iter_opportunities(NAME, include_deleted=True)}
    rows = sandbox.emulation(CRM).admin(
        "state", {"soql": "SELECT Id, IsDeleted, SystemModstamp FROM Opportunity"}
    )
    passed = [r for r in rows if parse_moment(r["SystemModstamp"]) < moment]
    assert passed, "the watermark passed no change at all: the check would be empty"
    for row in passed:
        found = stored.get(row["Id"])
        if row["IsDeleted"]:  # deleted before the first pull: never stored, or stored as deleted
            assert found is None or found.deleted, row["Id"]
        else:
            assert found is not None and found.modified_at == parse_moment(row["SystemModstamp"]), row["Id"]


def says(message: str, target: Target, broken: Break) -> None:
    flat = " ".join(message.split())
    assert "internal error" not in flat and "Traceback" not in flat, message
    for words in (*target.names, *broken.says):
        assert words in flat, (words, message)
    if broken.spec["kind"] in ("json", "html", "malformed"):
        assert "unexpected answer to GET /services/data/v" in flat, message


Runner = Callable[[AppConfig], tuple[int, str]]
"""Runs one sync of the config: its exit code and message (in process, or the real CLI)."""


def in_process(cfg: AppConfig) -> tuple[int, str]:
    store = StateStore.open(cfg.state.url)
    try:
        run = sync(cfg, store, CRM)
    finally:
        store.close()
    return run.exit_code, run.message


def by_cli(config: Path) -> Runner:
    def run(cfg: AppConfig) -> tuple[int, str]:
        done = run_cli(config, "sync", "--as-of", AS_OF.isoformat())
        return done.returncode, done.stdout + done.stderr

    return run


def watermark_and_values(sandbox: Sandbox, cfg: AppConfig) -> tuple[str | None, Values]:
    store = StateStore.open(cfg.state.url)
    try:
        return store.get_watermark(NAME), without_timestamps(crm_values(sandbox, cfg, CRM))
    finally:
        store.close()


def broken_run(
    sandbox: Sandbox, cfg: AppConfig, target: Target, broken: Break, ref: Reference, run: Runner
) -> None:
    """One sync under ``broken``: exit 3 naming the call, nothing written, nothing of the answer stored."""
    mark, before = watermark_and_values(sandbox, cfg)
    switch_on(sandbox, target, broken.spec, ref)
    injected = sandbox.counters["salesforce.fault.answer"]
    try:
        code, message = run(cfg)
    finally:
        switch_off(sandbox)
    assert sandbox.counters["salesforce.fault.answer"] > injected, "the fault was never injected"
    assert code == ExitCode.AUTH, (code, message)
    says(message, target, broken)
    after, values = watermark_and_values(sandbox, cfg)
    if target.moves_to_stored_page and after != mark:  # to a stored page's checkpoint, never back
        assert after is not None and (mark is None or watermark_moment(after) > watermark_moment(mark))
    else:
        assert after == mark, "the watermark moved past an answer that was not believed"
    assert values == before, "a broken run wrote to the CRM"
    store = StateStore.open(cfg.state.url)
    try:
        assert_no_change_lost(sandbox, store)
    finally:
        store.close()


def clean_run(sandbox: Sandbox, cfg: AppConfig, ref: Reference) -> None:
    code, message = in_process(cfg)
    assert code == ExitCode.OK, message
    assert without_timestamps(crm_values(sandbox, cfg, CRM)) == ref.values


# -- the tests -----------------------------------------------------------------------------------------------
@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    started = new_sandbox()
    yield started
    started.stop()


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_a_broken_answer_stops_the_run_with_exit_3_naming_the_call_and_nothing_of_it_is_kept(
    target: Target, sandbox: Sandbox, tmp_path: Path, references: dict[tuple[str, str], Reference]
) -> None:
    cfg, store = configured(tmp_path, sandbox, target.variant)
    store.close()
    for kind in KINDS:  # a first sync; then, the deals changed, an incremental one
        if kind == "incremental":
            change_deals(sandbox)
        ref = references[target.variant, kind]
        breaks = [b for b in target.breaks if kind in b.kinds]
        if target.completes:  # cut off once: retried, the run completes with the undisturbed values
            switch_on(sandbox, target, breaks[0].spec, ref)
            injected = sandbox.counters["salesforce.fault.answer"]
            try:
                clean_run(sandbox, cfg, ref)
            finally:
                switch_off(sandbox)
            assert sandbox.counters["salesforce.fault.answer"] == injected + 1
            continue
        for broken in breaks:
            broken_run(sandbox, cfg, target, broken, ref, in_process)
            if target.moves_to_stored_page:
                clean_run(sandbox, cfg, ref)
        if not target.moves_to_stored_page:
            clean_run(sandbox, cfg, ref)


def test_the_cli_exits_3_on_a_broken_answer_and_says_which_call(
    sandbox: Sandbox, tmp_path: Path, references: dict[tuple[str, str], Reference]
) -> None:
    """Through the real CLI: an HTML page for the changed opportunities on the first sync; on the
    incremental one, ``{}`` for the COUNT() of the changed ones (the issue's case: exit 0 and "nothing
    changed", the watermark past the 4 deals won)."""
    cfg, store = configured(tmp_path, sandbox, "rest")
    store.close()
    cli = by_cli(tmp_path / "partnerkpi.yaml")
    main, count = (next(t for t in TARGETS if t.name == name) for name in ("main_query_not_json", "count"))
    broken_run(sandbox, cfg, main, main.breaks[0], references["rest", "first"], cli)
    clean_run(sandbox, cfg, references["rest", "first"])
    change_deals(sandbox)
    broken_run(sandbox, cfg, count, count.breaks[0], references["rest", "incremental"], cli)
    clean_run(sandbox, cfg, references["rest", "incremental"])
