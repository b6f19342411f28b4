"""Several connectors in one sync (issue 14): one connector's failure never stops another (every
connector runs, each failure is alerted, an unexpected error included), and the exit code is the worst
by the one documented precedence, 2 > 3 > 1 > 4 > 0, in which any error outranks "locked"."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import yaml
from rich.console import Console

from connectors.errors import (
    AuthError,
    BudgetExhausted,
    ConnectionFailed,
    ConnectorError,
    ProvisionError,
    UnexpectedAnswer,
)
from connectors.fields import RecordError, WriteResult
from connectors.file.connector import FileConnector
from partnerkpi.commands.sync import run_sync
from partnerkpi.config import AppConfig, ConfigError, load_config
from partnerkpi.config.errors import Problem
from partnerkpi.exit_codes import PRECEDENCE, ExitCode, exit_code_of, help_text, worst
from partnerkpi.progress import ProgressReporter
from partnerkpi.sandbox.core import Sandbox
from partnerkpi.sandbox.testing import SandboxFactory
from partnerkpi.state import LockHeld, StateError, StateStore, StateUnreachable
from tests.reliability.harness import (
    CRMS,
    OPPORTUNITIES,
    PARTNERS,
    SEED,
    connector_name,
    crm_values,
    provision,
    run_cli,
    webhook_receiver,
    write_config,
)

REPO = Path(__file__).resolve().parents[2]
AS_OF = date(2026, 10, 31)
HOOK_TOKEN = "multi-connector-hook-secret-4d5e"
HOOK = f"https://hooks.example.test/T000/B000/{HOOK_TOKEN}"
NAMES = ("alpha", "beta", "gamma")

DEALS = """id,partner,amount,stage,created,closed
{p}-1,{p}-north,1000,Won,2026-03-01,2026-04-01
{p}-2,{p}-north,2500,Won,2026-05-01,2026-06-15
{p}-3,{p}-south,400,Lost,2026-02-01,2026-03-10
{p}-4,{p}-south,900,Won,2026-07-01,2026-08-01
{p}-5,{p}-south,300,Open,2026-09-01,
"""


# -- a config of file connectors ---------------------------------------------------------------------
def file_config(tmp_path: Path, names: tuple[str, ...] = NAMES[:2]) -> AppConfig:
    connectors, writeback = [], {}
    for name in names:
        (tmp_path / f"{name}.csv").write_text(DEALS.format(p=name), encoding="utf-8")
        connectors.append(
            {
                "name": name,
                "type": "file",
                "path": str(tmp_path / f"{name}.csv"),
                "columns": {
                    "id": "id",
                    "partner": "partner",
                    "amount": "amount",
                    "stage": "stage",
                    "created": "created",
                    "closed": "closed",
                },
                "stages": {"Won": "won", "Lost": "lost", "Open": "open"},
                "output_path": str(tmp_path / f"{name}-out.csv"),
            }
        )
        writeback[name] = {
            "fields": [{"field": "won_revenue", "kpi": "won_revenue", "period": "last_365_days"}]
        }
    document = {
        "version": 1,
        "state": {"url": f"sqlite:///{tmp_path / 'state.sqlite'}"},
        "kpi": {"reporting_currency": "USD", "periods": ["last_365_days"]},
        "connectors": connectors,
        "writeback": writeback,
        "alerts": {"webhooks": [{"url": HOOK, "format": "json", "events": ["failed", "partial"]}]},
    }
    path = tmp_path / "partnerkpi.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return load_config(path)


def sync_all(cfg: AppConfig) -> tuple[int, str]:
    """``partnerkpi sync`` in-process over every connector: its exit code and what it printed."""
    buffer = io.StringIO()
    out = Console(file=buffer, width=300, color_system=None)
    code = run_sync(cfg, [c.name for c in cfg.connectors], ProgressReporter.silent(), out, False, AS_OF)
    return code, buffer.getvalue()


def fail_on(monkeypatch: pytest.MonkeyPatch, faults: dict[str, BaseException]) -> None:
    """Make the pull of the connectors named in ``faults`` raise their exception; the others pull."""
    original = FileConnector.pull

    def pull(self: FileConnector, watermark: str | None) -> Any:
        if self.name in faults:
            raise faults[self.name]
        return original(self, watermark)

    monkeypatch.setattr(FileConnector, "pull", pull)


def partial_on(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Make every record write of connector ``name`` fail (a partial run)."""
    original = FileConnector.write_fields

    def write_fields(self: FileConnector, updates: Any, specs: Any) -> list[WriteResult]:
        if self.name != name:
            return original(self, updates, specs)
        refused = (RecordError("the record is locked for editing", "UNABLE_TO_LOCK_ROW"),)
        return [WriteResult(u.partner_id, ok=False, errors=refused) for u in updates]

    monkeypatch.setattr(FileConnector, "write_fields", write_fields)


@contextmanager
def locked(cfg: AppConfig, name: str) -> Iterator[None]:
    """Another run (this test) holds connector ``name``'s lock for the block."""
    other = StateStore.open(cfg.state.url)
    try:
        with other.lock(name):
            yield
    finally:
        other.close()


def written(tmp_path: Path, name: str) -> dict[str, str]:
    """Partner id -> won_revenue as the file connector's writeback holds it."""
    path = tmp_path / f"{name}-out.csv"
    if not path.exists():
        return {}
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]
    key = header[0]
    return {row[key]: row["won_revenue"] for row in rows}


def won(name: str) -> dict[str, str]:
    """What the file writeback holds for connector ``name`` after a sync of ``DEALS``."""
    return {f"{name}-north": "3500.00", f"{name}-south": "900.00"}


def runs_of(cfg: AppConfig) -> dict[str, tuple[str, str]]:
    store = StateStore.open(cfg.state.url)
    try:
        return {r.connector: (r.status, r.message) for r in reversed(store.runs(limit=20))}
    finally:
        store.close()


def alerts_sent(route: respx.Route) -> list[dict[str, Any]]:
    return [json.loads(call.request.content) for call in route.calls]


# -- every connector runs ------------------------------------------------------------------------------
def test_an_unexpected_error_in_the_first_connector_leaves_the_second_synced_and_the_first_alerted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = file_config(tmp_path)
    fail_on(monkeypatch, {"alpha": RuntimeError(f"socket closed while posting to {HOOK}")})
    with respx.mock:
        route = respx.post(HOOK).mock(return_value=httpx.Response(200))
        code, printed = sync_all(cfg)
    assert code == ExitCode.FAILED
    assert written(tmp_path, "alpha") == {}
    assert written(tmp_path, "beta") == won("beta")
    runs = runs_of(cfg)
    assert runs["beta"][0] == "ok"
    status, message = runs["alpha"]
    assert status == "failed"
    assert "alpha" in message and "RuntimeError" in message and "socket closed" in message
    (alert,) = alerts_sent(route)
    assert alert["event"] == "failed" and alert["connector"] == "alpha"
    assert "RuntimeError" in alert["details"]["message"] and alert["details"]["exit_code"] == 1
    for text in (message, printed, json.dumps(alert)):
        assert HOOK_TOKEN not in text  # the error's text carried a secret of the config: redacted
    assert "Traceback" not in printed
    assert re.search(r"failed \(exit 1\) run \d+ · alpha: unexpected error RuntimeError", printed)
    assert re.search(r"ok run \d+ · beta: pulled 5", printed)
    assert printed.rstrip().splitlines()[-1].startswith("sync: alpha failed (exit 1), beta ok · exit 1")


def test_an_unexpected_error_in_the_last_connector_does_not_undo_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = file_config(tmp_path)
    fail_on(monkeypatch, {"beta": KeyError("Id")})
    with respx.mock:
        route = respx.post(HOOK).mock(return_value=httpx.Response(200))
        code, printed = sync_all(cfg)
    assert code == ExitCode.FAILED  # a KeyError inside a run is a bug, not a config error
    assert "beta failed (exit 1)" in printed
    assert written(tmp_path, "alpha") == won("alpha")
    assert [a["connector"] for a in alerts_sent(route)] == ["beta"]
    assert "unexpected error KeyError: 'Id'" in runs_of(cfg)["beta"][1]


def test_an_alert_that_cannot_be_built_never_stops_the_next_connector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = file_config(tmp_path)
    fail_on(monkeypatch, {"alpha": RuntimeError("boom")})

    def broken(*args: object, **kwargs: object) -> int:
        raise ValueError("the alert could not be built")

    monkeypatch.setattr("partnerkpi.commands.sync.send_alerts", broken)
    code, _ = sync_all(cfg)
    assert code == ExitCode.FAILED
    assert written(tmp_path, "beta") == won("beta")


def test_ctrl_c_in_one_connector_stops_the_sync_and_leaves_its_run_marked_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = file_config(tmp_path)
    fail_on(monkeypatch, {"alpha": KeyboardInterrupt()})
    with pytest.raises(KeyboardInterrupt):
        sync_all(cfg)
    runs = runs_of(cfg)
    assert runs["alpha"][0] == "interrupted"  # never left "running"
    assert "beta" not in runs  # Ctrl-C stops the process: the next connector does not start
    assert written(tmp_path, "beta") == {}


def test_system_exit_in_one_connector_is_not_swallowed_and_leaves_its_run_marked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = file_config(tmp_path)
    fail_on(monkeypatch, {"alpha": SystemExit(143)})
    with pytest.raises(SystemExit):
        sync_all(cfg)
    assert runs_of(cfg)["alpha"][0] == "interrupted"


# -- the exit code by the precedence ---------------------------------------------------------------------
def test_a_lock_held_on_one_connector_while_another_is_refused_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = file_config(tmp_path)
    fail_on(monkeypatch, {"beta": AuthError("beta: credentials refused (HTTP 401 INVALID_SESSION_ID)")})
    with respx.mock:
        route = respx.post(HOOK).mock(return_value=httpx.Response(200))
        with locked(cfg, "alpha"):
            code, printed = sync_all(cfg)
    assert code == ExitCode.CONNECTION  # not 4: the lock must not hide the 401
    assert "skipped (locked) alpha: connector 'alpha' is locked by" in printed
    assert "failed (exit 3)" in printed and "HTTP 401" in printed
    assert [a["connector"] for a in alerts_sent(route)] == ["beta"]  # a skipped run is not alerted
    assert printed.rstrip().splitlines()[-1].startswith("sync: alpha skipped (locked), beta failed (exit 3)")


def test_a_lock_held_with_nothing_else_wrong_exits_4_and_the_other_connector_syncs(tmp_path: Path) -> None:
    cfg = file_config(tmp_path)
    with locked(cfg, "alpha"):
        code, printed = sync_all(cfg)
    assert code == ExitCode.LOCKED
    assert written(tmp_path, "beta") == won("beta")
    assert "alpha" not in runs_of(cfg)  # a skipped run leaves no history row
    assert (
        printed.rstrip().splitlines()[-1]
        == f"sync: alpha skipped (locked), beta ok · exit 4: {ExitCode.LOCKED.description} ({ExitCode.LOCKED.action})"
    )


def test_a_partial_run_and_a_lock_exit_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = file_config(tmp_path)
    partial_on(monkeypatch, "beta")
    with respx.mock:
        route = respx.post(HOOK).mock(return_value=httpx.Response(200))
        with locked(cfg, "alpha"):
            code, printed = sync_all(cfg)
    assert code == ExitCode.PARTIAL
    assert runs_of(cfg)["beta"][0] == "partial"
    assert [(a["event"], a["connector"]) for a in alerts_sent(route)] == [("partial", "beta")]
    assert "partial (exit 1)" in printed and "the next run retries them" in printed


def test_a_config_error_outranks_every_other_outcome(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = file_config(tmp_path, NAMES)
    fail_on(
        monkeypatch,
        {
            "alpha": AuthError("alpha: credentials refused (HTTP 401)"),
            "beta": StateError("connector 'beta' belongs to another source; reset its state to re-use it"),
        },
    )
    with respx.mock:
        respx.post(HOOK).mock(return_value=httpx.Response(200))
        with locked(cfg, "gamma"):
            code, printed = sync_all(cfg)
    assert code == ExitCode.CONFIG
    assert runs_of(cfg)["beta"] == (
        "failed",
        "connector 'beta' belongs to another source; reset its state to re-use it",
    )
    assert (
        printed.rstrip()
        .splitlines()[-1]
        .startswith("sync: alpha failed (exit 3), beta failed (exit 2), gamma skipped (locked) · exit 2")
    )


# -- the table -------------------------------------------------------------------------------------------------
def test_the_precedence_is_config_then_connection_then_failed_then_locked_then_ok() -> None:
    assert [int(c) for c in PRECEDENCE if c is not ExitCode.INTERRUPTED] == [2, 3, 1, 4, 0]
    assert sorted(PRECEDENCE) == sorted(ExitCode)  # every code of the table has its place, once


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        ([], 0),
        ([0, 0], 0),
        ([4, 0], 4),
        ([4, 4], 4),
        ([4, 1], 1),
        ([1, 4], 1),
        ([4, 3], 3),
        ([3, 4], 3),
        ([1, 3], 3),
        ([3, 2], 2),
        ([4, 3, 1, 2, 0], 2),
        ([0, 130, 2], 130),
        ([0, 9], 1),  # a number outside the table counts as a failure, never as "ok"
    ],
)
def test_worst_is_the_first_code_by_the_precedence(codes: list[int], expected: int) -> None:
    assert worst(codes) == expected
    assert isinstance(worst(codes), ExitCode)


def test_the_connectors_errors_get_their_codes_from_the_one_table() -> None:
    assert exit_code_of(ConnectorError("x")) is ExitCode.FAILED
    assert exit_code_of(AuthError("x")) is ExitCode.CONNECTION
    assert exit_code_of(ConnectionFailed("x")) is ExitCode.CONNECTION
    assert exit_code_of(UnexpectedAnswer("GET /x", "y")) is ExitCode.CONNECTION
    assert exit_code_of(BudgetExhausted("x")) is ExitCode.FAILED
    assert exit_code_of(ProvisionError("x")) is ExitCode.FAILED


def test_every_error_maps_to_its_code_through_the_one_table() -> None:
    assert exit_code_of(LockHeld("crm", None)) is ExitCode.LOCKED  # a StateError, but locked
    assert exit_code_of(StateError("read-only state file")) is ExitCode.CONFIG
    assert exit_code_of(StateUnreachable("PostgreSQL down")) is ExitCode.CONNECTION  # a StateError, retryable
    assert exit_code_of(ConfigError("partnerkpi.yaml", [Problem("x", "bad", 1)])) is ExitCode.CONFIG
    assert exit_code_of(AuthError("refused")) is ExitCode.CONNECTION
    assert exit_code_of(UnexpectedAnswer("GET /query", "no totalSize")) is ExitCode.CONNECTION
    assert exit_code_of(BudgetExhausted("80%")) is ExitCode.FAILED
    assert exit_code_of(KeyboardInterrupt()) is ExitCode.INTERRUPTED
    assert exit_code_of(RuntimeError("boom")) is ExitCode.FAILED


def test_the_help_lists_every_code_with_its_meaning_and_the_precedence() -> None:
    text = help_text()
    for code in ExitCode:
        assert f"{code.value}: {code.description}" in text
    assert "2 > 3 > 1 > 4 > 0" in text


@pytest.mark.parametrize("doc", ["README.md", "docs/scheduling.md"])
def test_the_docs_table_every_exit_code_and_state_the_precedence(doc: str) -> None:
    text = (REPO / doc).read_text(encoding="utf-8")
    section = text[text.index("xit code") :]
    rows = {int(m.group(1)) for m in re.finditer(r"^\| (\d+) \|", section, re.MULTILINE)}
    assert rows >= {int(c) for c in ExitCode}
    assert "2 > 3 > 1 > 4 > 0" in section


# -- through the real CLI, the faults from the sandbox --------------------------------------------------------
def sandbox_pair(
    tmp_path: Path, sandbox_factory: SandboxFactory, webhook: str
) -> tuple[Sandbox, Path, AppConfig]:
    """The sandbox serving Salesforce and HubSpot, and a config syncing both (Salesforce first) with their
    KPI fields provisioned and alerts going to ``webhook``."""
    sandbox = sandbox_factory(seed=SEED, partners=PARTNERS, opportunities=OPPORTUNITIES)
    extra = {"alerts": {"webhooks": [{"url": webhook, "events": ["failed", "partial"]}]}}
    path = write_config(tmp_path, sandbox, CRMS, extra=extra)
    cfg = load_config(path)
    for crm in CRMS:
        provision(cfg, connector_name(crm))
    return sandbox, path, cfg


def connector_line(stdout: str, name: str) -> str:
    (line,) = [line for line in stdout.splitlines() if f" {name}: " in line and not line.startswith("sync:")]
    return line


@pytest.mark.slow
def test_cli_a_broken_answer_from_one_crm_leaves_the_other_synced_and_alerts(
    tmp_path: Path, sandbox_factory: SandboxFactory
) -> None:
    salesforce, hubspot = (connector_name(crm) for crm in CRMS)
    with webhook_receiver() as (url, received):
        sandbox, path, cfg = sandbox_pair(tmp_path, sandbox_factory, url)
        emulation = sandbox.emulation("salesforce")
        emulation.faults.answer_faults = {"salesforce.query": {"kind": "html"}}  # a maintenance page, 200
        emulation.answer_fault_calls.clear()
        done = run_cli(path, "sync", "--as-of", AS_OF.isoformat())
    text = done.stdout + done.stderr
    assert "Traceback" not in text
    failed = connector_line(done.stdout, salesforce)
    # The first connector failed (the code its error class gives: 1 while the answer is an unexpected
    # error, 3 once it is read as an UnexpectedAnswer) and the sync's code is that one, by the precedence.
    code = re.search(r"^failed \(exit (\d)\) run \d+ · ", failed)
    assert code is not None, done.stdout
    assert int(code.group(1)) in (ExitCode.FAILED, ExitCode.CONNECTION)
    assert done.returncode == int(code.group(1)), text
    assert connector_line(done.stdout, hubspot).startswith("ok run ")
    values = crm_values(sandbox, cfg, "hubspot")
    assert values and all(row["pk_quality_score"] is not None for row in values.values())  # written
    assert all(v is None for row in crm_values(sandbox, cfg, "salesforce").values() for v in row.values())
    alerts = [json.loads(r.split(b" ", 1)[1]) for r in received]
    assert [(a["event"], a["connector"]) for a in alerts] == [("failed", salesforce)]
    assert (
        done.stdout.rstrip()
        .splitlines()[-1]
        .startswith(f"sync: {salesforce} failed (exit {code.group(1)}), {hubspot} ok · exit {code.group(1)}")
    )


@pytest.mark.slow
def test_cli_a_lock_on_one_crm_while_the_other_refuses_the_credentials_exits_3(
    tmp_path: Path, sandbox_factory: SandboxFactory
) -> None:
    salesforce, hubspot = (connector_name(crm) for crm in CRMS)
    with webhook_receiver() as (url, received):
        sandbox, path, cfg = sandbox_pair(tmp_path, sandbox_factory, url)
        sandbox.emulation("salesforce").credentials.password = "changed"  # type: ignore[attr-defined]
        sandbox.emulation("salesforce").admin("expire_sessions", {})
        sandbox.reset_counters()
        with locked(cfg, hubspot):
            done = run_cli(path, "sync", "--as-of", AS_OF.isoformat())
    assert done.returncode == ExitCode.CONNECTION, done.stdout + done.stderr  # 4 would hide the 401
    assert connector_line(done.stdout, salesforce).startswith("failed (exit 3) run ")
    assert connector_line(done.stdout, hubspot).startswith(f"skipped (locked) {hubspot}: ")
    alerts = [json.loads(r.split(b" ", 1)[1]) for r in received]
    assert [(a["event"], a["connector"]) for a in alerts] == [("failed", salesforce)]
    assert sandbox.calls("hubspot.") == 0  # the locked one did nothing
