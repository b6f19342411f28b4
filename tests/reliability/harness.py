"""What the reliability tests share: a sandbox-backed config for one CRM, the CRM's field values as the
sandbox holds them (the ground truth, read past the API), a tally of the faults the sandbox injected,
the real CLI in a subprocess (or in this process); a webhook receiver for the alerts it sends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import yaml

from partnerkpi.config import AppConfig, load_config
from partnerkpi.demo import demo_config, sandbox_connector_name, sandbox_connectors
from partnerkpi.pipeline import (
    ConnectorRun,
    provision_connector,
    sync_connector,
)
from partnerkpi.progress import ProgressReporter
from partnerkpi.sandbox.core import DropConnection, Request, Response, Sandbox
from partnerkpi.state import StateStore
from tests.cli_in_process import run_partnerkpi

REPO = Path(__file__).resolve().parents[2]
AS_OF = date(2026, 10, 31)
SEED = 7
PARTNERS = 8
OPPORTUNITIES = 300
UPDATED_AT = ("PK_Kpis_Updated_At__c", "pk_kpis_updated_at")
"""The "KPIs updated at" fields: when values last changed, which differs between two runs by design."""

CRMS = ("salesforce", "hubspot")


connector_name = sandbox_connector_name


def quiet() -> ProgressReporter:
    return ProgressReporter.silent()


def connector_doc(sandbox: Sandbox, crm: str, *, hubspot_oauth: bool = False) -> dict[str, Any]:
    """The connector entry for ``crm`` pointed at the sandbox (its CA trusted, verification on)."""
    found = [c for c in sandbox_connectors(sandbox) if c["type"] == crm]
    if not found:
        raise LookupError(f"the sandbox serves no {crm} emulation the registry can drive")
    doc = dict(found[0])
    if crm == "hubspot" and hubspot_oauth:
        auth = sandbox.emulation("hubspot").auth  # type: ignore[attr-defined]
        doc["auth"] = {
            "flow": "oauth",
            "client_id": auth.client_id,
            "client_secret": auth.client_secret,
            "refresh_token": auth.refresh_tokens[0],
        }
    return doc


def write_config(
    workdir: Path,
    sandbox: Sandbox,
    crms: tuple[str, ...] = ("salesforce",),
    *,
    hubspot_oauth: bool = False,
    extra: Mapping[str, Any] | None = None,
    connector_overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Path:
    """A config file in ``workdir`` reading ``crms`` from the sandbox, with the demo's KPI fields."""
    workdir.mkdir(parents=True, exist_ok=True)
    connectors = []
    for crm in crms:
        doc = connector_doc(sandbox, crm, hubspot_oauth=hubspot_oauth)
        doc.update((connector_overrides or {}).get(crm, {}))
        connectors.append(doc)
    document = demo_config(workdir, connectors)
    document.update(extra or {})
    path = workdir / "partnerkpi.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def provision(cfg: AppConfig, name: str) -> None:
    if not provision_connector(cfg, name):
        raise ValueError(f"{name} maps no KPI fields")


def prepared(workdir: Path, sandbox: Sandbox, crm: str, **kwargs: Any) -> AppConfig:
    """A loaded config for ``crm`` with its KPI fields provisioned (before any fault is switched on)."""
    cfg = load_config(write_config(workdir, sandbox, (crm,), **kwargs))
    provision(cfg, connector_name(crm))
    return cfg


def sync(cfg: AppConfig, store: StateStore, crm: str) -> ConnectorRun:
    return sync_connector(cfg, store, connector_name(crm), quiet(), as_of=AS_OF)


def kpi_fields(cfg: AppConfig, crm: str) -> list[str]:
    writeback = cfg.writeback.for_connector(connector_name(crm))
    assert writeback is not None
    return [m.field for m in writeback.fields]


def crm_values(sandbox: Sandbox, cfg: AppConfig, crm: str) -> dict[str, dict[str, Any]]:
    """Partner record id -> KPI field -> value, as the emulated CRM stores it (not through its API)."""
    names = kpi_fields(cfg, crm)
    if crm == "salesforce":
        rows = sandbox.emulation("salesforce").admin(
            "state", {"object": "Account", "soql": "SELECT Id FROM Account WHERE IsPartner = true"}
        )
        return {r["Id"]: {f: r.get(f) for f in names} for r in rows}
    portal = sandbox.emulation("hubspot").portal  # type: ignore[attr-defined]
    partner_ids = set(portal.companies) - set(portal.customer_ids)
    return {cid: {f: portal.companies[cid].props.get(f) for f in names} for cid in sorted(partner_ids)}


def without_timestamps(values: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    return {k: {f: v for f, v in row.items() if f not in UPDATED_AT} for k, row in values.items()}


def ledger_without_timestamps(store: StateStore, crm: str) -> dict[tuple[str, str], Any]:
    return {k: v for k, v in store.ledger(connector_name(crm)).items() if k[1] not in UPDATED_AT}


def mirror(store: StateStore, crm: str) -> list[tuple[Any, ...]]:
    """The mirror's content, without the bookkeeping columns (which run saw a row, when it changed)."""
    name = connector_name(crm)
    rows = []
    for o in store.iter_opportunities(name, include_deleted=True):
        rows.append(
            (
                o.id,
                o.partner_id,
                o.amount,
                o.currency,
                o.status,
                o.stage,
                o.created_on,
                o.closed_on,
                o.deleted,
            )
        )
    partners = [(p.id, p.name, p.deleted) for p in store.partners(name, include_deleted=True)]
    return [*rows, *partners]


# -- faults --------------------------------------------------------------------------------------------
@dataclass
class FaultTally:
    """Counts every fault the sandbox answered with, by kind, by watching its dispatch: dropped
    connections, 5xx, 429 and Salesforce's 403 throttling, 401 on expired sessions, per-record write
    failures inside a 200/207, and the daily limit."""

    counts: Counter[str]

    @classmethod
    def attach(cls, sandbox: Sandbox) -> FaultTally:
        tally = cls(Counter())
        inner = sandbox.dispatch

        def dispatch(request: Request) -> Response:
            try:
                response = inner(request)
            except DropConnection:
                tally.counts["dropped_connection"] += 1
                raise
            tally.observe(request, response)
            return response

        sandbox.dispatch = dispatch  # type: ignore[method-assign]
        return tally

    def observe(self, request: Request, response: Response) -> None:
        status = response.status
        body = response.body[:4000].decode("utf-8", "replace")
        if status >= 500:
            self.counts["server_error_5xx"] += 1
        elif status == 429:
            self.counts["daily_limit" if "DAILY" in body else "rate_limited_429"] += 1
        elif status == 403 and "REQUEST_LIMIT_EXCEEDED" in body:
            self.counts["daily_limit" if "TotalRequests" in body else "rate_limited_403"] += 1
        elif status == 401:
            self.counts["session_expired_401"] += 1
        elif status in (200, 207) and request.method in ("PATCH", "POST") and self._is_write(request):
            self.counts["record_write_failure"] += self._record_failures(response.body)

    @staticmethod
    def _is_write(request: Request) -> bool:
        return request.path.rstrip("/").endswith(("composite/sobjects", "batch/update"))

    @staticmethod
    def _record_failures(body: bytes) -> int:
        try:
            data = json.loads(body or b"null")
        except ValueError:
            return 0
        if isinstance(data, list):  # Salesforce sObject Collections
            return sum(1 for item in data if isinstance(item, dict) and not item.get("success", True))
        if isinstance(data, dict):  # HubSpot batch update (207)
            return sum(len((e.get("context") or {}).get("ids") or [None]) for e in data.get("errors") or [])
        return 0

    def total(self) -> int:
        return sum(self.counts.values())


# -- the real CLI ----------------------------------------------------------------------------------------
def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARTNERKPI_")}
    env.update({"PYTHONPATH": str(REPO), "COLUMNS": "200", **extra})
    return env


def cli_command(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "partnerkpi", "--config", str(config), *args]


def run_cli(config: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The real ``partnerkpi`` with ``args``; ``env`` adds environment variables."""
    return subprocess.run(
        cli_command(config, *args),
        env=cli_env(**env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def run_cli_in_process(config: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``run_cli`` in this process, for a test about what the command does, not about the process."""
    return run_partnerkpi(["--config", str(config), *args], env=env)


# -- alerts --------------------------------------------------------------------------------------------
class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.received.append(self.path.encode() + b" " + self.rfile.read(length))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def webhook_receiver(path: str = "/hooks/partnerkpi") -> Iterator[tuple[str, list[bytes]]]:
    """A local webhook endpoint (plain HTTP on 127.0.0.1) that keeps what it was sent: each request's
    path, a space, and its body."""
    _Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{path}", _Hook.received
    finally:
        server.shutdown()
        server.server_close()
