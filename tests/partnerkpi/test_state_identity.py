"""One state per source (issue 14): the state records which CRM instance each connector name's mirror came
from at its first pull (Salesforce org id, HubSpot portal id, the file's path, with the CRM type), and a
later run of the name against another instance stops before pulling: exit 2, both instances named, and
how to reset."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from connectors.errors import UnexpectedAnswer
from connectors.salesforce.config import SalesforceConfig
from connectors.salesforce.connector import SalesforceConnector
from partnerkpi.config import load_config
from partnerkpi.sandbox.core import Sandbox
from partnerkpi.sandbox.testing import SandboxFactory
from partnerkpi.state import StateStore
from partnerkpi.state.engine import open_engines
from partnerkpi.state.identity import Instance
from partnerkpi.state.migrations import MIGRATIONS, migrate
from partnerkpi.state.tables import SCHEMA_VERSION, runs, watermarks
from tests.reliability.harness import connector_doc, prepared, run_cli_in_process, write_config

SF = "salesforce-sandbox"
HS = "hubspot-sandbox"


@pytest.fixture
def sandbox(sandbox_factory: SandboxFactory) -> Sandbox:
    return sandbox_factory(seed=3, partners=5, opportunities=120)


def org_id(sandbox: Sandbox) -> str:
    return str(sandbox.emulation("salesforce").org.org_id)[:15]  # type: ignore[attr-defined]


def move_to_another_org(sandbox: Sandbox, new_id: str) -> None:
    """The same sandbox answering as another org: a new org id, and new sessions carrying it."""
    emulation: Any = sandbox.emulation("salesforce")
    emulation.org.org_id = new_id
    emulation.sessions.org_id = new_id
    emulation.sessions.expire_all()


def store_of(config: Path) -> StateStore:
    return StateStore.open(load_config(config).state.url)


def test_the_first_pull_records_each_connectors_crm_instance(tmp_path: Path, sandbox: Sandbox) -> None:
    config = write_config(tmp_path, sandbox, ("salesforce", "hubspot"))
    proc = run_cli_in_process(config, "pull")
    assert proc.returncode == 0, proc.stderr
    store = store_of(config)
    assert store.instance(SF) == Instance("salesforce", org_id(sandbox))
    assert org_id(sandbox).startswith("00D") and len(org_id(sandbox)) == 15
    from partnerkpi.sandbox.hubspot.portal import PORTAL_ID

    assert store.instance(HS) == Instance("hubspot", str(PORTAL_ID))
    assert sandbox.calls("hubspot.account.details") == 1  # one call per run for the portal id


def test_a_salesforce_org_id_costs_no_call_when_the_token_carries_it(sandbox: Sandbox) -> None:
    config = SalesforceConfig.model_validate(connector_doc(sandbox, "salesforce"))
    with SalesforceConnector(config) as connector:
        connector.client.sf  # log in  # noqa: B018
        before = connector.stats.api_calls
        assert connector.instance_id() == org_id(sandbox)
        assert connector.stats.api_calls == before


def test_a_salesforce_org_id_is_queried_from_organization_when_the_token_is_not_opaque(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A JWT-based access token does not begin with the org id: one documented query reads it."""
    config = SalesforceConfig.model_validate(connector_doc(sandbox, "salesforce"))
    connector = SalesforceConnector(config)
    connector.client._sf = SimpleNamespace(session_id="eyJhbGciOiJSUzI1NiJ9.e30.sig")  # type: ignore[assignment]
    asked: list[str] = []

    def records(soql: str, **_: Any) -> list[dict[str, Any]]:
        asked.append(soql)
        return [{"Id": "00D5e000000AbCdEAF"}]

    monkeypatch.setattr(connector.reader, "records", records)
    assert connector.instance_id() == "00D5e000000AbCd"
    assert asked == ["SELECT Id FROM Organization LIMIT 1"]
    monkeypatch.setattr(connector.reader, "records", lambda soql, **_: [{}])
    with pytest.raises(UnexpectedAnswer, match="Organization"):
        connector.instance_id()


def test_a_pull_from_another_salesforce_org_under_the_same_name_stops_before_pulling_with_exit_2(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    prepared(tmp_path, sandbox, "salesforce")  # config written, KPI fields provisioned
    config = tmp_path / "partnerkpi.yaml"
    first_sync = run_cli_in_process(config, "sync")
    assert first_sync.returncode == 0, first_sync.stdout + first_sync.stderr
    first = org_id(sandbox)
    store = store_of(config)
    with store.engine.connect() as conn:
        marks_before = conn.execute(select(watermarks)).all()
    move_to_another_org(sandbox, "00D000000000099AAA")
    sandbox.reset_counters()

    proc = run_cli_in_process(config, "sync")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    text = " ".join((proc.stdout + proc.stderr).split())
    assert f"Salesforce org {first}" in text and "Salesforce org 00D000000000099" in text
    assert f"partnerkpi state reset --connector {SF}" in text
    assert "internal error" not in text
    assert sandbox.calls("salesforce.query") == 0  # nothing pulled
    with store.engine.connect() as conn:
        assert conn.execute(select(watermarks)).all() == marks_before
        last = conn.execute(select(runs.c.status, runs.c.message).order_by(runs.c.id.desc())).first()
    assert last is not None and last.status == "failed" and "00D000000000099" in last.message
    assert store.instance(SF) == Instance("salesforce", first)


def test_a_hubspot_connector_under_a_salesforce_connectors_name_is_refused(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    config = write_config(tmp_path, sandbox)
    assert run_cli_in_process(config, "pull").returncode == 0
    doc = yaml.safe_load(config.read_text())
    hubspot = {**connector_doc(sandbox, "hubspot"), "name": SF}
    doc["connectors"] = [hubspot]
    doc["writeback"] = {}
    config.write_text(yaml.safe_dump(doc, sort_keys=False))

    proc = run_cli_in_process(config, "pull")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    text = " ".join(proc.stderr.split())
    assert f"Salesforce org {org_id(sandbox)}" in text and "HubSpot portal" in text
    assert "state reset --connector" in text and "own state file (state.url)" in text


FILE_CONFIG = """
version: 1
state: {{url: "{url}"}}
kpi: {{reporting_currency: USD, periods: [last_365_days]}}
connectors:
  - name: export
    type: file
    path: {path}
    columns: {{id: id, partner: partner, amount: amount, stage: stage, created: created, closed: closed}}
    stages: {{Won: won, Lost: lost, Open: open}}
"""
ROWS = (
    "id,partner,amount,stage,created,closed\n1,P1,100,Won,2026-01-05,2026-02-01\n2,P2,50,Open,2026-03-01,\n"
)


def file_config(tmp_path: Path, export: Path, url: str) -> Path:
    export.write_text(ROWS)
    config = tmp_path / "partnerkpi.yaml"
    config.write_text(FILE_CONFIG.format(path=export, url=url))
    return config


def test_a_file_connector_pointed_at_another_file_is_refused(tmp_path: Path, state_url: str) -> None:
    config = file_config(tmp_path, tmp_path / "a.csv", state_url)
    assert run_cli_in_process(config, "pull").returncode == 0
    assert store_of(config).instance("export") == Instance("file", str((tmp_path / "a.csv").resolve()))
    config = file_config(tmp_path, tmp_path / "b.csv", state_url)
    proc = run_cli_in_process(config, "sync")
    assert proc.returncode == 2
    text = " ".join(proc.stdout.split() + proc.stderr.split())
    assert f"the file {tmp_path / 'a.csv'}" in text and f"the file {tmp_path / 'b.csv'}" in text
    assert store_of(config).instance("export") == Instance("file", str((tmp_path / "a.csv").resolve()))


def test_a_state_from_before_upgrades_in_place_and_records_the_instance_at_its_next_pull(
    tmp_path: Path, state_url: str
) -> None:
    config = file_config(tmp_path, tmp_path / "a.csv", state_url)
    url = load_config(config).state.url
    _, write = open_engines(url)
    assert migrate(write, MIGRATIONS[:2]) == 2  # a state written before the instances table existed
    write.dispose()
    proc = run_cli_in_process(config, "sync")
    assert proc.returncode == 0, proc.stderr
    store = StateStore.open(url)
    assert store.schema_version == len(MIGRATIONS) == SCHEMA_VERSION
    assert store.instance("export") == Instance("file", str((tmp_path / "a.csv").resolve()))


def test_an_account_details_answer_without_a_portal_id_is_an_unexpected_answer_before_pulling(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    config = write_config(tmp_path, sandbox, ("hubspot",))
    emulation: Any = sandbox.emulation("hubspot")
    emulation.faults.answer_faults = {"hubspot.account.details": {"kind": "json", "body": {}}}
    emulation.answer_fault_calls.clear()
    sandbox.reset_counters()
    proc = run_cli_in_process(config, "pull")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "unexpected answer to GET /account-info/v3/details: portalId" in " ".join(proc.stderr.split())
    answered = {k for k, n in sandbox.counters.items() if n and k.startswith("hubspot.")}
    assert answered == {"hubspot.account.details", "hubspot.fault.answer"}  # nothing pulled
    assert store_of(config).instance(HS) is None
