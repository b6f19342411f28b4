"""Only the project's own fields are written, and a write is confirmed only by an answer that fits
(issue 14). The connector checks every target at write time against the fields it found on the CRM, even
when config validation was bypassed; a write answer that is not what the API documents is
UnexpectedAnswer (exit 3), and the ledger does not record those writes, so the next run writes them again."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.errors import ProvisionError, UnexpectedAnswer
from connectors.fields import FieldKind, FieldSpec, FieldUpdate
from partnerkpi.config import AppConfig, load_config
from partnerkpi.demo import demo_config, sandbox_connectors
from partnerkpi.exit_codes import exit_code_of
from partnerkpi.pipeline import ConnectorRun, provision_connector, sync_connector
from partnerkpi.progress import ProgressReporter
from partnerkpi.sandbox.core import Sandbox
from partnerkpi.sandbox.testing import SandboxFactory
from partnerkpi.state import StateStore
from tests.connectors.test_hubspot_sandbox import SPECS as HS_SPECS
from tests.connectors.test_hubspot_sandbox import Portal, _updates, portal
from tests.connectors.test_salesforce_fixtures import SPEC_MAP, SPECS, connector, emulation
from tests.connectors.test_salesforce_write import partner_ids, update

AS_OF = date(2026, 10, 31)
SF_WRITES = ("composite_update", "bulk2_ingest_create", "sobject_update")


def sf_writes(sandbox: Sandbox) -> int:
    return sum(sandbox.counters[f"salesforce.{w}"] for w in SF_WRITES)


def accounts(sandbox: Sandbox, ids: list[str], fields: str) -> dict[str, dict[str, Any]]:
    rows = emulation(sandbox).state(
        "Account", soql=f"SELECT Id, {fields} FROM Account WHERE IsPartner = true"
    )
    return {str(r["Id"]): r for r in rows if str(r["Id"]) in ids}


# -- Salesforce: refused at write time -------------------------------------------------------------------


def test_salesforce_refuses_a_target_that_was_never_provisioned(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(partners=5, opportunities=50, hubspot=False)
    ids = partner_ids(sandbox)
    with connector(sandbox) as conn:
        conn.provision_fields([s for s in SPECS if s.name != "KPI_Score_Breakdown__c"])
        sandbox.reset_counters()
        with pytest.raises(ProvisionError) as raised:
            conn.write_fields([update(i) for i in ids], SPEC_MAP)
    message = str(raised.value)
    assert "Account.KPI_Score_Breakdown__c does not exist" in message
    assert "run `partnerkpi provision`" in message and "nothing was written" in message
    assert sf_writes(sandbox) == 0
    held = accounts(sandbox, ids, "KPI_Quality_Score__c")
    assert all(r["KPI_Quality_Score__c"] is None for r in held.values())  # nothing of the batch


@pytest.mark.parametrize(
    ("field", "kind"), [("Name", FieldKind.TEXT), ("OwnerId", FieldKind.TEXT), ("Phone", FieldKind.TEXT)]
)
def test_salesforce_refuses_a_standard_field_even_when_config_validation_is_bypassed(
    sandbox_factory: SandboxFactory, field: str, kind: FieldKind
) -> None:
    sandbox = sandbox_factory(partners=5, opportunities=50, hubspot=False)
    ids = partner_ids(sandbox)
    specs = {**SPEC_MAP, field: FieldSpec(field, "A score", kind)}
    with connector(sandbox) as conn:
        conn.provision_fields(SPECS)
        before = accounts(sandbox, ids, "Name, KPI_Quality_Score__c")
        sandbox.reset_counters()
        with pytest.raises(ProvisionError, match=rf"Account\.{field} is a standard field"):
            conn.write_fields(
                [FieldUpdate(i, {"KPI_Quality_Score__c": Decimal("62"), field: "62"}) for i in ids], specs
            )
    assert sf_writes(sandbox) == 0
    assert accounts(sandbox, ids, "Name, KPI_Quality_Score__c") == before


def test_salesforce_refuses_a_custom_field_of_another_type(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(partners=5, opportunities=50, hubspot=False)
    ids = partner_ids(sandbox)
    as_text = FieldSpec("KPI_Won_Revenue__c", "Won revenue (old)", FieldKind.TEXT, length=80)
    with connector(sandbox) as conn:
        conn.provision_fields([as_text, *SPECS[1:]])
        sandbox.reset_counters()
        with pytest.raises(ProvisionError, match=r"Account\.KPI_Won_Revenue__c exists as a string field"):
            conn.write_fields([update(i) for i in ids], SPEC_MAP)
    assert sf_writes(sandbox) == 0


def test_salesforce_describes_the_account_once_per_run_for_its_writes(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(partners=5, opportunities=50, hubspot=False)
    ids = partner_ids(sandbox)
    with connector(sandbox) as conn:
        conn.provision_fields(SPECS)
        sandbox.reset_counters()
        for _ in range(3):
            assert all(r.ok for r in conn.write_fields([update(i) for i in ids], SPEC_MAP))
    assert sandbox.counters["salesforce.describe"] <= 1


# -- HubSpot: refused at write time ----------------------------------------------------------------------


@pytest.fixture
def hub() -> Any:
    with portal(300) as p:
        yield p


@pytest.mark.parametrize("prop", ["name", "domain", "hubspot_owner_id"])
def test_hubspot_refuses_a_default_property_even_when_config_validation_is_bypassed(
    hub: Portal, prop: str
) -> None:
    conn = hub.connector()
    conn.provision_fields(HS_SPECS)
    ids = sorted(hub.emulation.portal.companies, key=int)[:5]
    before = {i: dict(hub.emulation.portal.companies[i].props) for i in ids}
    specs = {**{s.name: s for s in HS_SPECS}, prop: FieldSpec(prop, "A score", FieldKind.TEXT)}
    updates = [FieldUpdate(u.partner_id, {**u.values, prop: "62"}) for u in _updates(ids)]
    hub.sandbox.reset_counters()
    with pytest.raises(ProvisionError, match=f"company property {prop} is a HubSpot default property"):
        conn.write_fields(updates, specs)
    assert hub.count("companies.batch_update") == 0
    assert {i: dict(hub.emulation.portal.companies[i].props) for i in ids} == before


def test_hubspot_refuses_a_property_that_was_never_provisioned(hub: Portal) -> None:
    conn = hub.connector()
    conn.provision_fields(HS_SPECS[1:])
    ids = sorted(hub.emulation.portal.companies, key=int)[:5]
    hub.sandbox.reset_counters()
    with pytest.raises(
        ProvisionError, match="partner_won_revenue does not exist: run `partnerkpi provision`"
    ):
        conn.write_fields(_updates(ids), {s.name: s for s in HS_SPECS})
    assert hub.count("companies.batch_update") == 0
    assert all("partner_win_rate" not in hub.emulation.portal.companies[i].props for i in ids)


def test_a_malformed_hubspot_batch_answer_is_unexpected_answer_naming_the_call(hub: Portal) -> None:
    conn = hub.connector()
    conn.provision_fields(HS_SPECS)
    ids = sorted(hub.emulation.portal.companies, key=int)[:5]
    for kind in ("json", "html", "malformed"):
        hub.emulation.faults.answer_faults = {"hubspot.companies.batch_update": {"kind": kind}}
        hub.emulation.answer_fault_calls.clear()
        with pytest.raises(UnexpectedAnswer, match=r"POST /crm/v3/objects/companies/batch/update") as raised:
            conn.write_fields(_updates(ids), {s.name: s for s in HS_SPECS})
        assert exit_code_of(raised.value) == 3


# -- a broken write answer through the sync: exit 3, nothing recorded, the next run writes again --------


def sync_config(tmp_path: Path, sandbox: Sandbox, crm: str) -> tuple[AppConfig, str]:
    connectors = [c for c in sandbox_connectors(sandbox) if c["type"] == crm]
    path = tmp_path / "partnerkpi.yaml"
    path.write_text(yaml.safe_dump(demo_config(tmp_path, connectors), sort_keys=False))
    return load_config(path), str(connectors[0]["name"])


def sync(cfg: AppConfig, store: StateStore, name: str) -> ConnectorRun:
    return sync_connector(cfg, store, name, ProgressReporter.silent(), as_of=AS_OF)


@pytest.mark.parametrize(
    ("crm", "endpoint", "call", "fault"),
    [
        ("salesforce", "salesforce.composite_update", "PATCH /services/data/v59.0/composite/sobjects", {"kind": "json", "body": {}}),
        ("salesforce", "salesforce.composite_update", "PATCH /services/data/v59.0/composite/sobjects", {"kind": "json", "body": [{"success": True}]}),
        ("salesforce", "salesforce.composite_update", "PATCH /services/data/v59.0/composite/sobjects", {"kind": "html"}),
        ("hubspot", "hubspot.companies.batch_update", "POST /crm/v3/objects/companies/batch/update", {"kind": "json", "body": {"status": "COMPLETE"}}),
    ],
)  # fmt: skip
def test_a_malformed_write_answer_fails_with_exit_3_and_the_ledger_does_not_record_it(
    tmp_path: Path, sandbox_factory: SandboxFactory, crm: str, endpoint: str, call: str, fault: dict[str, Any]
) -> None:
    sandbox = sandbox_factory(seed=7, partners=20, opportunities=1_500, hubspot=crm == "hubspot")
    cfg, name = sync_config(tmp_path, sandbox, crm)
    assert provision_connector(cfg, name)
    store = StateStore.open(cfg.state.url)
    target = sandbox.emulation(crm)
    target.faults.answer_faults = {endpoint: fault}
    target.answer_fault_calls.clear()

    broken = sync(cfg, store, name)
    assert (broken.status, broken.exit_code) == ("failed", 3), broken.message
    assert f"unexpected answer to {call}" in broken.message
    assert dict(store.ledger(name)) == {}  # applied by the CRM maybe, but never confirmed

    target.faults.answer_faults = {}
    clean = sync(cfg, store, name)
    assert clean.status == "ok", clean.message
    assert clean.counts["planned_fields"] == broken.counts["planned_fields"] > 0  # everything again
    assert clean.counts["written_records"] == 20
    assert len(store.ledger(name)) == clean.counts["planned_fields"]


@pytest.mark.parametrize(
    ("endpoint", "call"),
    [
        ("salesforce.bulk2_ingest_results", "GET /jobs/ingest/"),  # failed results that name no record
        ("salesforce.bulk2_job_get", "Bulk API 2.0 ingest (update)"),  # a job status without its counts
    ],
)
def test_a_bulk_write_answer_that_does_not_fit_confirms_nothing(
    sandbox_factory: SandboxFactory, endpoint: str, call: str
) -> None:
    sandbox = sandbox_factory(partners=150, opportunities=50, hubspot=False)
    ids = partner_ids(sandbox)
    org = emulation(sandbox)
    with connector(sandbox, bulk_write_threshold=100, bulk_poll_seconds=0.01) as conn:
        conn.provision_fields(SPECS)
        org.faults.update(
            {"record_failure_ids": [ids[5]], "record_failure_code": "FIELD_CUSTOM_VALIDATION_EXCEPTION"}
        )
        org.faults.answer_faults = {endpoint: {"kind": "json", "body": {}}}
        org.answer_fault_calls.clear()
        with pytest.raises(UnexpectedAnswer, match=re.escape(f"unexpected answer to {call}")):
            conn.write_fields([update(i) for i in ids], SPEC_MAP)
