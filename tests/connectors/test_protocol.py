"""The connector protocol (connectors/base.py, docs/connectors.md "The protocol"), one test per rule, run
for every case of tests/connectors/protocol.py that has the capability the rule tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import get_args

import pytest

from connectors import registry
from connectors.base import CheckResult, CheckStatus, PullBatch, writes_fields
from connectors.errors import ProvisionError
from connectors.fields import FieldUpdate, ProvisionAction
from kpi_core import clock
from kpi_core.schema import Partner
from partnerkpi.sandbox.testing import SandboxFactory
from tests.connectors.protocol import (
    CHANGED_AMOUNT,
    Case,
    Env,
    Live,
    as_held,
    final_watermark,
    opportunities,
    partner_ids,
    rule,
    sample_values,
)
from writeback import canonical
from writeback.values import canonical_live

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def env(tmp_path: Path, sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch) -> Env:
    return Env(tmp_path, sandbox_factory, monkeypatch)


@pytest.fixture
def live(case: Case, env: Env) -> Iterator[Live]:
    with case.open(env) as running:
        yield running


def writes(case: Case) -> bool:
    return case.writes


# -- the class -------------------------------------------------------------------------------------------
@rule()
def test_type_name_is_the_config_models_type_literal(case: Case, env: Env) -> None:
    cls = case.connector_class(env)
    assert get_args(cls.config_model.model_fields["type"].annotation) == (cls.type_name,)
    assert cls.full_refresh is case.full_refresh  # the case declares what the class says


@rule()
def test_a_connector_writes_fields_exactly_when_it_is_a_field_writer(case: Case, env: Env) -> None:
    assert writes_fields(case.connector_class(env)) is case.writes  # the case declares what the class is


@rule(lambda case: case.builtin)
def test_registry_resolves_a_builtin_type_to_its_class(case: Case, env: Env) -> None:
    cls = case.connector_class(env)
    assert registry.get(cls.type_name) is cls


@rule()
def test_with_gives_the_connector_itself_and_close_twice_does_not_raise(case: Case, live: Live) -> None:
    with live.connector as entered:
        assert entered is live.connector
    live.connector.close()


# -- check -----------------------------------------------------------------------------------------------
@rule()
def test_check_on_a_healthy_crm_fails_nothing_and_writes_nothing(case: Case, live: Live) -> None:
    if case.writes:
        live.connector.provision_fields(case.specs)  # then the mapped fields are healthy too
    before = live.snapshot()
    for specs in dict.fromkeys(((), case.specs)):  # with no specs, then with the mapped ones
        results = live.connector.check(specs)
        assert results and all(isinstance(r, CheckResult) for r in results)
        assert [r for r in results if r.status is CheckStatus.FAIL] == []
    assert live.snapshot() == before


# -- pull ------------------------------------------------------------------------------------------------
@rule()
def test_pull_yields_normalized_batches(case: Case, live: Live) -> None:
    batches = list(live.connector.pull(None))
    assert batches and all(isinstance(b, PullBatch) for b in batches)
    opps = [o for b in batches for o in b.opportunities]
    assert opps
    for o in opps:
        assert isinstance(o.id, str) and o.id
        assert o.modified_at.tzinfo is not None and o.modified_at.utcoffset() == timedelta(0), o
        assert o.amount is None or isinstance(o.amount, Decimal), o
    partners = [p for b in batches for p in b.partners]
    assert partners and all(isinstance(p, Partner) and isinstance(p.id, str) for p in partners)
    if case.full_refresh:
        assert batches[-1].watermark is not None


@rule(lambda case: not case.full_refresh)
def test_a_pull_from_the_final_watermark_yields_a_change_made_since(case: Case, live: Live) -> None:
    with clock.frozen(T0):
        first = list(live.connector.pull(None))
    mark = final_watermark(first)
    assert mark is not None, "an incremental pull hands over a watermark"
    with clock.frozen(T0 + timedelta(hours=1)):
        changed = live.change()
    with clock.frozen(T0 + timedelta(hours=2)):
        second = opportunities(live.connector.pull(mark))
    assert changed in second, "the watermark passed a change it had not handed over"
    assert second[changed].amount == CHANGED_AMOUNT


@rule(lambda case: case.full_refresh)
def test_a_full_refresh_pull_yields_the_whole_data_set_again(case: Case, live: Live) -> None:
    first = list(live.connector.pull(None))
    changed = live.change()
    second = list(live.connector.pull(final_watermark(first)))
    assert set(opportunities(second)) == set(opportunities(first))
    assert partner_ids(second) == partner_ids(first)
    assert opportunities(second)[changed].amount == CHANGED_AMOUNT


@rule(lambda case: case.api)
def test_api_calls_are_counted(case: Case, live: Live) -> None:
    list(live.connector.pull(None))
    assert live.calls_seen is not None
    assert live.connector.stats.api_calls == live.calls_seen() > 0


# -- fields ----------------------------------------------------------------------------------------------
@rule(writes)
def test_provisioning_twice_changes_nothing_the_second_time(case: Case, live: Live) -> None:
    first = live.connector.provision_fields(case.specs)
    assert [r.field for r in first] == [s.name for s in case.specs]
    assert all(r.action is not ProvisionAction.REFUSED for r in first), first
    provisioned = live.snapshot()
    second = live.connector.provision_fields(case.specs)
    assert [(r.field, r.action) for r in second] == [(s.name, ProvisionAction.UNCHANGED) for s in case.specs]
    assert live.snapshot() == provisioned


@rule(writes)
def test_write_fields_answers_each_update_and_reads_back_the_values(case: Case, live: Live) -> None:
    connector = live.connector
    list(connector.pull(None))  # as a sync does: stored_values may reuse what the pull read
    connector.provision_fields(case.specs)
    exact = [FieldUpdate(p, sample_values(case.specs, n)) for n, p in enumerate(live.partner_ids)]
    held = as_held(connector, exact, case.spec_map)
    results = connector.write_fields(held, case.spec_map)
    assert sorted(r.partner_id for r in results) == sorted(live.partner_ids)
    assert all(r.ok for r in results), results
    read = connector.read_fields(live.partner_ids, [s.name for s in case.specs])
    kinds = {s.name: s.kind for s in case.specs}  # compared the way the plan compares live values
    got = {(p, f): canonical_live(v, kinds[f]) for p, values in read.items() for f, v in values.items()}
    assert got == {(u.partner_id, f): canonical(v) for u in held for f, v in u.values.items()}


@rule(writes)
def test_write_fields_refuses_a_field_it_does_not_own(case: Case, live: Live) -> None:
    connector = live.connector
    connector.provision_fields(case.specs)
    before = live.snapshot()
    updates = [
        FieldUpdate(p, {**sample_values(case.specs, n), case.foreign_field: Decimal(1)})
        for n, p in enumerate(live.partner_ids)
    ]
    with pytest.raises(ProvisionError) as refused:
        connector.write_fields(updates, case.spec_map)
    assert case.foreign_field in str(refused.value)
    assert live.snapshot() == before
