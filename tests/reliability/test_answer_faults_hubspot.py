"""Broken answers from HubSpot, one kind of answer at a time, on a first and on an incremental sync.

Every answer the HubSpot connector reads is checked before it is believed. The sandbox replaces one
endpoint's answers with a structurally wrong 200 (``{}``, or a realistic wrong shape: results without ids,
a search without its total, a stage without metadata...), an HTML page, JSON cut short, or a body cut off
or reset half way. A wrong answer stops the sync with exit 3 and a message naming the call; nothing of it
is stored, so the watermark stays where it was; the next clean run ends with the CRM values of a run that
met no fault. A body cut off or reset once is retried like a 5xx: the sync completes with those values.

The incremental sync runs after a clean first sync and a change in the portal: deals won (more than one
search page of them) and one deal archived (so the run lists the archived deals too).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tenacity

import connectors.retry
from partnerkpi.config import AppConfig
from partnerkpi.pipeline import ExitCode
from partnerkpi.sandbox.app import build_sandbox
from partnerkpi.sandbox.core import Request, Response, Sandbox
from partnerkpi.state import StateStore
from tests.reliability.harness import (
    connector_name,
    crm_values,
    prepared,
    run_cli,
    sync,
    without_timestamps,
)

CRM = "hubspot"
SEED = 11
PARTNERS = 6
OPPORTUNITIES = 250
WON = 12
"""Deals won between the first and the incremental sync: three search pages of SEARCH_PAGE."""
SEARCH_PAGE = 5
OVERRIDES = {CRM: {"search_page_size": SEARCH_PAGE, "properties_per_request": 6}}
"""Small search pages (three of changes), and the deal properties past the first six read by batch."""

LIST = "GET /crm/v3/objects/deals"
SEARCH = "POST /crm/v3/objects/deals/search"
DEALS_READ = "POST /crm/v3/objects/deals/batch/read"
COMPANIES_READ = "POST /crm/v3/objects/companies/batch/read"
ASSOCIATIONS = "POST /crm/v4/associations/deals/companies/batch/read"
LABELS = "GET /crm/v4/associations/deals/companies/labels"
PIPELINES = "GET /crm/v3/pipelines/deals"

Values = dict[str, dict[str, Any]]
OPEN_STAGES = ("appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "contractsent")
"""The open stages of the portal's default pipeline (whose won stage is ``closedwon``)."""

NO_IDS_PAGE = {"results": [{"properties": {"dealname": "x", "hs_lastmodifieddate": "2026-10-01T00:00:00Z"}}]}
SHAPES: dict[str, dict[str, Any]] = {
    "list_results_without_ids": NO_IDS_PAGE,
    "search_results_without_ids": {**NO_IDS_PAGE, "total": 1},
    "search_without_total": {"results": []},
    "search_total_as_text": {"results": [], "total": "12"},
    "associations_without_from": {
        "status": "COMPLETE",
        "results": [{"to": [{"toObjectId": 1, "associationTypes": []}]}],
    },
    "labels_without_type_ids": {"results": [{"label": "Partner"}]},
    "stage_with_empty_metadata": {
        "results": [{"id": "default", "stages": [{"id": "closedwon", "label": "Closed Won", "metadata": {}}]}]
    },
    "batch_results_without_ids": {"status": "COMPLETE", "results": [{"properties": {"name": "Partner"}}]},
}


def wrong(body: dict[str, Any] | None = None, after: int = 0) -> dict[str, Any]:
    """A structurally wrong 200 (``{}`` by default) on every call past the first ``after``."""
    return {"kind": "json", "body": body or {}, "after": after}


def transport(after: int = 0) -> tuple[dict[str, Any], ...]:
    """An HTML page, JSON cut short, a body cut off for good, a connection reset for good."""
    return tuple({"kind": k, "after": after} for k in ("html", "malformed", "truncated", "reset"))


@dataclass(frozen=True)
class Case:
    """One kind of answer, broken in each of ``faults`` in turn (one sync each), then one clean sync."""

    name: str
    endpoint: str
    """The sandbox's counter key, without ``hubspot.``."""
    call: str
    """The call every stop message must name."""
    faults: tuple[dict[str, Any], ...]


def shapes(name: str, endpoint: str, call: str, shape: str, after: int = 0) -> Case:
    """``{}`` and one realistic wrong shape for one kind of answer."""
    return Case(name, endpoint, call, (wrong(after=after), wrong(SHAPES[shape], after)))


FIRST = [
    shapes("pipelines", "pipelines.list", PIPELINES, "stage_with_empty_metadata"),
    shapes("association_labels", "associations.labels", LABELS, "labels_without_type_ids"),
    shapes("list_first_page", "deals.list", LIST, "list_results_without_ids"),
    Case(
        "list_later_page", "deals.list", LIST, (wrong(after=1), wrong(SHAPES["list_results_without_ids"], 2))
    ),
    Case("list_transport", "deals.list", LIST, transport()),
    shapes("count", "deals.search", SEARCH, "search_without_total"),  # a first sync searches only to count
    shapes("deal_batch_read", "deals.batch_read", DEALS_READ, "batch_results_without_ids"),
    shapes("association_batch_read", "associations.batch_read", ASSOCIATIONS, "associations_without_from"),
    shapes("company_batch_read", "companies.batch_read", COMPANIES_READ, "batch_results_without_ids"),
]
# An incremental sync searches: the count first (call 1), then the pages of changes (calls 2, 3, 4).
INCREMENTAL = [
    Case("pipelines", "pipelines.list", PIPELINES, (wrong(),)),
    Case("association_labels", "associations.labels", LABELS, (wrong(),)),
    Case(
        "count",
        "deals.search",
        SEARCH,
        (wrong(), wrong(SHAPES["search_without_total"]), wrong(SHAPES["search_total_as_text"])),
    ),
    shapes("search_first_page", "deals.search", SEARCH, "search_results_without_ids", after=1),
    Case("search_later_page", "deals.search", SEARCH, (wrong(after=2), wrong(after=3))),
    Case("search_transport", "deals.search", SEARCH, transport(after=1)),
    shapes("archived_list", "deals.list", LIST, "list_results_without_ids"),
    shapes("association_batch_read", "associations.batch_read", ASSOCIATIONS, "associations_without_from"),
    shapes("company_batch_read", "companies.batch_read", COMPANIES_READ, "batch_results_without_ids"),
]
ONCE = {"times": 1}
RETRIED = [
    ("first", Case("list_truncated_once", "deals.list", LIST, ({"kind": "truncated", **ONCE},))),
    ("first", Case("list_reset_once", "deals.list", LIST, ({"kind": "reset", "after": 1, **ONCE},))),
    (
        "incremental",
        Case("search_truncated_once", "deals.search", SEARCH, ({"kind": "truncated", "after": 1, **ONCE},)),
    ),
    (
        "incremental",
        Case("search_reset_once", "deals.search", SEARCH, ({"kind": "reset", "after": 2, **ONCE},)),
    ),
]


# -- the portal, its change, and the undisturbed runs ------------------------------------------------------
def new_sandbox() -> Sandbox:
    return build_sandbox(seed=SEED, partners=PARTNERS, opportunities=OPPORTUNITIES).start()


def change_the_portal(sandbox: Sandbox) -> None:
    """What happens in the portal between the two syncs: WON open deals are won, one deal is archived."""
    emulation: Any = sandbox.emulation(CRM)
    portal = emulation.portal
    open_deals = []
    for key in portal.deal_keys():
        props = portal.deal(key).props
        if portal.is_archived(key) or props.get("pipeline") != "default":
            continue
        if props.get("dealstage") in OPEN_STAGES:
            open_deals.append(portal.deal_id(key))
    assert len(open_deals) > WON
    for deal_id in open_deals[:WON]:
        emulation.admin("update_deal", {"id": deal_id, "dealstage": "closedwon", "closedate": "2026-10-20"})
    emulation.admin("archive_deal", {"id": open_deals[WON]})


@dataclass
class Portal:
    sandbox: Sandbox
    cfg: AppConfig
    store: StateStore

    def watermark(self) -> str | None:
        return self.store.get_watermark(connector_name(CRM))

    def values(self) -> Values:
        return without_timestamps(crm_values(self.sandbox, self.cfg, CRM))

    def break_answers(self, endpoint: str, spec: dict[str, Any]) -> None:
        emulation = self.sandbox.emulation(CRM)
        emulation.faults.answer_faults = {f"hubspot.{endpoint}": spec}
        emulation.answer_fault_calls.clear()

    def mend(self) -> None:
        self.sandbox.emulation(CRM).faults.answer_faults = {}


def set_up(workdir: Path, incremental: bool) -> Portal:
    """A fresh portal with its KPI fields; for an incremental case, after a clean first sync and the
    change."""
    sandbox = new_sandbox()
    cfg = prepared(workdir, sandbox, CRM, connector_overrides=OVERRIDES)
    portal = Portal(sandbox, cfg, StateStore.open(cfg.state.url))
    if incremental:
        first = sync(cfg, portal.store, CRM)
        assert (first.status, first.exit_code) == ("ok", ExitCode.OK), first.message
        change_the_portal(sandbox)
    sandbox.reset_counters()
    return portal


def search_limits(sandbox: Sandbox) -> list[int]:
    """The ``limit`` of each deal search the sandbox answers from now on, in order."""
    limits: list[int] = []
    inner = sandbox.dispatch

    def watch(request: Request) -> Response:
        if request.path.rstrip("/").endswith("/objects/deals/search"):
            limits.append(int(request.json()["limit"]))
        return inner(request)

    sandbox.dispatch = watch  # type: ignore[method-assign]
    return limits


@dataclass
class Reference:
    values: Values
    calls: dict[str, int]
    """Calls per endpoint (without ``hubspot.``) of the undisturbed sync that the fault goes into."""


@pytest.fixture(scope="module")
def undisturbed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Reference]:
    """Per sync ("first", "incremental"): the CRM values an undisturbed run ends with, and its calls."""
    out = {}
    for which in ("first", "incremental"):
        portal = set_up(tmp_path_factory.mktemp(f"undisturbed-{which}"), which == "incremental")
        limits = search_limits(portal.sandbox)
        try:
            run = sync(portal.cfg, portal.store, CRM)
            assert (run.status, run.exit_code) == ("ok", ExitCode.OK), run.message
            calls = {k.removeprefix("hubspot."): n for k, n in portal.sandbox.counters.items() if n}
            out[which] = Reference(portal.values(), calls)
            assert len(out[which].values) == PARTNERS
            pages = -(-WON // SEARCH_PAGE) if which == "incremental" else 0
            assert limits == [1] + [SEARCH_PAGE] * pages  # the count first, then the pages of changes
        finally:
            portal.store.close()
            portal.sandbox.stop()
    assert out["incremental"].values != out["first"].values  # the change shows in the KPIs
    assert out["incremental"].calls.get("deals.list", 0) >= 1  # the archived deals are listed
    return out


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries without their waits: the policy (which faults are retried, how often) is unchanged."""
    monkeypatch.setattr(connectors.retry, "wait_random_exponential", lambda **_: tenacity.wait_none())


# -- the cases -----------------------------------------------------------------------------------------------
def stops_and_converges(portal: Portal, case: Case, reference: Reference) -> None:
    """Each fault in turn: exit 3 naming the call, the watermark as it was; then a clean sync ends with
    the undisturbed run's values."""
    assert reference.calls.get(case.endpoint, 0) > max(f.get("after", 0) for f in case.faults)
    before = portal.watermark()
    for fault in case.faults:
        portal.break_answers(case.endpoint, fault)
        served = portal.sandbox.counters["hubspot.fault.answer"]

        run = sync(portal.cfg, portal.store, CRM)

        assert portal.sandbox.counters["hubspot.fault.answer"] > served, f"{fault}: nothing broken served"
        assert (run.status, run.exit_code) == ("failed", ExitCode.AUTH), (fault, run.exit_code, run.message)
        assert case.call in run.message, (fault, run.message)
        assert "internal error" not in run.message and "Settings" not in run.message
        assert "\n" not in run.message
        assert portal.watermark() == before, fault
    portal.mend()
    clean = sync(portal.cfg, portal.store, CRM)
    assert (clean.status, clean.exit_code) == ("ok", ExitCode.OK), clean.message
    assert portal.values() == reference.values


@pytest.mark.parametrize("case", FIRST, ids=lambda c: c.name)
def test_a_wrong_answer_on_a_first_sync_stops_it_with_exit_3_and_nothing_of_it_is_believed(
    case: Case, tmp_path: Path, undisturbed: dict[str, Reference]
) -> None:
    portal = set_up(tmp_path, incremental=False)
    try:
        stops_and_converges(portal, case, undisturbed["first"])
    finally:
        portal.store.close()
        portal.sandbox.stop()


@pytest.mark.parametrize("case", INCREMENTAL, ids=lambda c: c.name)
def test_a_wrong_answer_on_an_incremental_sync_leaves_the_watermark_and_the_next_run_catches_up(
    case: Case, tmp_path: Path, undisturbed: dict[str, Reference]
) -> None:
    portal = set_up(tmp_path, incremental=True)
    try:
        stops_and_converges(portal, case, undisturbed["incremental"])
    finally:
        portal.store.close()
        portal.sandbox.stop()


@pytest.mark.parametrize(("which", "case"), RETRIED, ids=lambda v: v.name if isinstance(v, Case) else str(v))
def test_a_body_cut_off_or_reset_once_is_retried_and_the_sync_completes(
    which: str, case: Case, tmp_path: Path, undisturbed: dict[str, Reference]
) -> None:
    portal = set_up(tmp_path, incremental=which == "incremental")
    try:
        (fault,) = case.faults
        portal.break_answers(case.endpoint, fault)
        run = sync(portal.cfg, portal.store, CRM)
        assert portal.sandbox.counters["hubspot.fault.answer"] == 1
        assert (run.status, run.exit_code) == ("ok", ExitCode.OK), run.message
        assert portal.values() == undisturbed[which].values
    finally:
        portal.store.close()
        portal.sandbox.stop()


def test_persistent_5xx_on_a_data_call_is_connection_class_exit_3_naming_the_call(
    tmp_path: Path, undisturbed: dict[str, Reference]
) -> None:
    """HubSpot failing on the search (after the first calls of the run went through) is the same class
    of fault as failing at the first call: exit 3, not a partial run."""
    portal = set_up(tmp_path, incremental=True)
    try:
        before = portal.watermark()
        inner = portal.sandbox.dispatch

        def failing_search(request: Request) -> Response:
            if request.path.rstrip("/").endswith("/objects/deals/search"):
                return Response.json({"status": "error", "message": "internal", "category": "INTERNAL"}, 503)
            return inner(request)

        portal.sandbox.dispatch = failing_search  # type: ignore[method-assign]
        run = sync(portal.cfg, portal.store, CRM)
        assert (run.status, run.exit_code) == ("failed", ExitCode.AUTH), run.message
        assert "503" in run.message and SEARCH in run.message, run.message
        assert portal.watermark() == before
        portal.sandbox.dispatch = inner  # type: ignore[method-assign]
        clean = sync(portal.cfg, portal.store, CRM)
        assert (clean.status, clean.exit_code) == ("ok", ExitCode.OK), clean.message
        assert portal.values() == undisturbed["incremental"].values
    finally:
        portal.store.close()
        portal.sandbox.stop()


def test_the_cli_exits_3_on_an_html_answer_naming_the_call_never_as_config_advice(tmp_path: Path) -> None:
    portal = set_up(tmp_path, incremental=False)
    try:
        portal.break_answers("associations.labels", {"kind": "html"})
        done = run_cli(tmp_path / "partnerkpi.yaml", "--quiet", "sync", "--as-of", "2026-10-31")
        assert done.returncode == 3, done.stderr
        said = done.stdout + done.stderr
        assert LABELS in said and "HTML page" in said, said
        assert "create it in Settings" not in said and "internal error" not in said
        assert "Traceback" not in said
    finally:
        portal.store.close()
        portal.sandbox.stop()
