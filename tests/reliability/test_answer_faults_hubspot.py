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

from collections.abc import Callable
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class Case:
    name: str
    endpoint: str
    """The sandbox's counter key, without ``hubspot.``."""
    call: str
    """The call the stop message must name."""
    kind: str = "json"
    body: dict[str, Any] = field(default_factory=dict)
    after: int | Callable[[dict[str, int]], int] = 0
    """Calls let through first: a number, or worked out from the undisturbed run's call counts."""
    times: int = 0

    def spec(self, calls: dict[str, int]) -> dict[str, Any]:
        after = self.after(calls) if callable(self.after) else self.after
        return {"kind": self.kind, "body": self.body, "after": after, "times": self.times}


def last_search(calls: dict[str, int]) -> int:
    """Let every search before the run's last one through: the last one is the live-deal count."""
    return calls["deals.search"] - 1


def json_cases(endpoint: str, call: str, shape: str, **extra: Any) -> list[Case]:
    """``{}`` and one realistic wrong shape for one kind of answer."""
    short = endpoint.replace(".", "_")
    return [
        Case(f"{short}_empty", endpoint, call, **extra),
        Case(f"{short}_{shape}", endpoint, call, body=SHAPES[shape], **extra),
    ]


def transport_cases(endpoint: str, call: str) -> list[Case]:
    """The main deal read answered with an HTML page, JSON cut short, or a body cut off or reset for good."""
    short = endpoint.replace(".", "_")
    return [
        Case(f"{short}_{kind}", endpoint, call, kind=kind)
        for kind in ("html", "malformed", "truncated", "reset")
    ]


FIRST = [
    *json_cases("pipelines.list", PIPELINES, "stage_with_empty_metadata"),
    *json_cases("associations.labels", LABELS, "labels_without_type_ids"),
    *json_cases("deals.list", LIST, "list_results_without_ids"),
    Case("deals_list_later_page_empty", "deals.list", LIST, after=1),
    *transport_cases("deals.list", LIST),
    *json_cases("deals.search", SEARCH, "search_without_total"),  # a first sync searches only to count
    *json_cases("associations.batch_read", ASSOCIATIONS, "associations_without_from"),
    *json_cases("companies.batch_read", COMPANIES_READ, "batch_results_without_ids"),
    *json_cases("deals.batch_read", DEALS_READ, "batch_results_without_ids"),
]
INCREMENTAL = [
    Case("pipelines_list_empty", "pipelines.list", PIPELINES),
    Case("associations_labels_empty", "associations.labels", LABELS),
    *json_cases("deals.search", SEARCH, "search_results_without_ids"),
    Case("deals_search_later_page_empty", "deals.search", SEARCH, after=1),
    Case("deals_search_count_empty", "deals.search", SEARCH, after=last_search),
    Case(
        "deals_search_count_without_total",
        "deals.search",
        SEARCH,
        body=SHAPES["search_without_total"],
        after=last_search,
    ),
    Case(
        "deals_search_count_total_as_text",
        "deals.search",
        SEARCH,
        body=SHAPES["search_total_as_text"],
        after=last_search,
    ),
    *transport_cases("deals.search", SEARCH),
    Case("deals_list_archived_empty", "deals.list", LIST),
    Case("deals_list_archived_without_ids", "deals.list", LIST, body=SHAPES["list_results_without_ids"]),
    *json_cases("associations.batch_read", ASSOCIATIONS, "associations_without_from"),
    *json_cases("companies.batch_read", COMPANIES_READ, "batch_results_without_ids"),
]
RETRIED = [
    ("first", Case("deals_list_truncated_once", "deals.list", LIST, kind="truncated", times=1)),
    ("first", Case("deals_list_reset_once", "deals.list", LIST, kind="reset", times=1)),
    ("incremental", Case("deals_search_truncated_once", "deals.search", SEARCH, kind="truncated", times=1)),
    ("incremental", Case("deals_search_reset_once", "deals.search", SEARCH, kind="reset", times=1)),
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
        self.break_answers("none", {})
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
        try:
            run = sync(portal.cfg, portal.store, CRM)
            assert (run.status, run.exit_code) == ("ok", ExitCode.OK), run.message
            calls = {k.removeprefix("hubspot."): n for k, n in portal.sandbox.counters.items() if n}
            out[which] = Reference(portal.values(), calls)
            assert len(out[which].values) == PARTNERS
        finally:
            portal.store.close()
            portal.sandbox.stop()
    assert out["incremental"].values != out["first"].values  # the change shows in the KPIs
    assert out["incremental"].calls["deals.search"] >= 1 + -(-WON // SEARCH_PAGE)  # pages + the count
    assert out["incremental"].calls.get("deals.list", 0) >= 1  # the archived deals are listed
    return out


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries without their waits: the policy (which faults are retried, how often) is unchanged."""
    monkeypatch.setattr(connectors.retry, "wait_random_exponential", lambda **_: tenacity.wait_none())


# -- the cases -----------------------------------------------------------------------------------------------
def stops_and_converges(portal: Portal, case: Case, reference: Reference) -> None:
    assert case.endpoint in reference.calls, f"the undisturbed sync never calls {case.endpoint}"
    before = portal.watermark()
    portal.break_answers(case.endpoint, case.spec(reference.calls))

    run = sync(portal.cfg, portal.store, CRM)

    assert portal.sandbox.counters["hubspot.fault.answer"] >= 1, "no broken answer was served"
    assert (run.status, run.exit_code) == ("failed", ExitCode.AUTH), (run.exit_code, run.message)
    assert case.call in run.message, run.message
    assert "internal error" not in run.message and "Settings" not in run.message
    assert "\n" not in run.message
    assert portal.watermark() == before
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


@pytest.mark.parametrize(("which", "case"), RETRIED, ids=lambda v: v.name if isinstance(v, Case) else v)
def test_a_body_cut_off_or_reset_once_is_retried_and_the_sync_completes(
    which: str, case: Case, tmp_path: Path, undisturbed: dict[str, Reference]
) -> None:
    portal = set_up(tmp_path, incremental=which == "incremental")
    try:
        portal.break_answers(case.endpoint, case.spec(undisturbed[which].calls))
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
