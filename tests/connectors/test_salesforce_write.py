"""Writing KPI values and provisioning fields through the Salesforce connector against the sandbox; at the
end, the write module's pure parts (JSON values, exact currency conversion, save results, Bulk rows)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

import pytest

from connectors.errors import ProvisionError
from connectors.fields import FieldKind, FieldSpec, FieldUpdate, ProvisionAction
from connectors.salesforce.write import (
    SaveResult,
    _bulk_error,
    _csv_row,
    _result,
    json_value,
    to_account_currency,
)
from partnerkpi.sandbox.core import Sandbox
from tests.connectors.salesforce_samples import rates
from tests.connectors.test_salesforce_fixtures import SPEC_MAP, SPECS, connector, emulation

SandboxFactory = Callable[..., Sandbox]
UPDATED = datetime(2026, 11, 22, 21, 0, tzinfo=timezone.utc)


def update(partner_id: str, revenue: str = "1000.00", score: str = "81.5") -> FieldUpdate:
    return FieldUpdate(
        partner_id,
        {
            "KPI_Won_Revenue__c": Decimal(revenue),
            "KPI_Win_Rate__c": Decimal("63.15"),
            "KPI_Quality_Score__c": Decimal(score),
            "KPI_Updated_At__c": UPDATED,
            "KPI_Score_Breakdown__c": "revenue p80, deals p70, win rate p60",
        },
    )


def partner_ids(sandbox: Sandbox) -> list[str]:
    rows = emulation(sandbox).state("Account", soql="SELECT Id FROM Account WHERE IsPartner = true")
    return sorted(str(r["Id"]) for r in rows)


def test_provisioning_creates_the_fields_and_the_second_run_changes_nothing(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(partners=5, opportunities=50, hubspot=False)
    with connector(sandbox) as conn:
        first = conn.provision_fields(SPECS)
        assert [r.action for r in first] == [ProvisionAction.CREATED] * len(SPECS)
        assert "read access granted via permission set PartnerKPI_Read" in first[0].message
        assert sandbox.counters["salesforce.tooling_create"] == len(SPECS)
        described = {f["name"]: f for f in conn.provisioner.existing_fields().values()}
        assert described["KPI_Won_Revenue__c"]["type"] == "currency"
        assert described["KPI_Win_Rate__c"]["type"] == "percent"
        assert (described["KPI_Quality_Score__c"]["type"], described["KPI_Quality_Score__c"]["scale"]) == (
            "double",
            1,
        )
        assert described["KPI_Updated_At__c"]["type"] == "datetime"
        assert described["KPI_Score_Breakdown__c"]["type"] == "string"
        assert described["KPI_Won_Revenue__c"]["inlineHelpText"].startswith("Revenue of the deals")

        org = emulation(sandbox)
        readers = org.state(
            "PermissionSet", soql="SELECT Id FROM PermissionSet WHERE Name = 'PartnerKPI_Read'"
        )
        grants = org.state(
            "FieldPermissions",
            soql=f"SELECT Field, PermissionsRead, PermissionsEdit FROM FieldPermissions WHERE ParentId = '{readers[0]['Id']}'",
        )
        assert {g["Field"] for g in grants} == {f"Account.{s.name}" for s in SPECS}
        assert all(g["PermissionsRead"] is True and g["PermissionsEdit"] is False for g in grants)

        sandbox.reset_counters()
        second = conn.provision_fields(SPECS)
    assert [r.action for r in second] == [ProvisionAction.UNCHANGED] * len(SPECS)
    writes = ("tooling_create", "sobject_create", "sobject_update", "composite_create", "composite_update")
    assert all(sandbox.counters[f"salesforce.{w}"] == 0 for w in writes)


def test_an_incompatible_existing_field_is_refused_and_left_alone(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(partners=5, opportunities=50, hubspot=False)
    as_text = FieldSpec(
        "KPI_Won_Revenue__c", "Won revenue (old)", FieldKind.TEXT, "an older field", length=80
    )
    with connector(sandbox) as conn:
        assert conn.provision_fields([as_text])[0].action is ProvisionAction.CREATED
        sandbox.reset_counters()
        result = conn.provision_fields([SPEC_MAP["KPI_Won_Revenue__c"]])[0]
        assert result.action is ProvisionAction.REFUSED
        assert "Account.KPI_Won_Revenue__c exists as a string field" in result.message
        assert "Currency" in result.message and "left unchanged" in result.message
        assert sandbox.counters["salesforce.tooling_create"] == 0
        assert conn.provisioner.existing_fields()["KPI_Won_Revenue__c"]["type"] == "string"


def test_a_field_hidden_by_field_security_is_judged_from_the_tooling_api(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(partners=5, opportunities=50, hubspot=False)
    with connector(sandbox, writer_permission_set=None, permission_set="Someone_Else") as other:
        other.provision_fields([SPEC_MAP["KPI_Quality_Score__c"]])  # created, but not visible to our user
    with connector(sandbox) as conn:
        assert "KPI_Quality_Score__c" not in conn.provisioner.existing_fields()
        result = conn.provision_fields([SPEC_MAP["KPI_Quality_Score__c"]])[0]
        assert result.action is ProvisionAction.UNCHANGED
        assert "KPI_Quality_Score__c" in conn.provisioner.existing_fields()  # granted: now visible


def test_writing_1000_partner_accounts_takes_5_composite_calls(sandbox_factory: SandboxFactory) -> None:
    """Currency values go the writeback's way: converted exactly by stored_values, rounded once, and
    then written as they are (write_fields converts nothing a second time)."""
    sandbox = sandbox_factory(partners=1000, opportunities=50, hubspot=False)
    ids = partner_ids(sandbox)
    assert len(ids) == 1000
    with connector(sandbox) as conn:
        conn.provision_fields(SPECS)
        held = conn.stored_values([update(i, revenue="1000.005") for i in ids], SPEC_MAP)
        cent = Decimal("0.01")
        rounded = {p: {**v, "KPI_Won_Revenue__c": v["KPI_Won_Revenue__c"].quantize(cent, ROUND_HALF_UP)}  # type: ignore[union-attr]
                   for p, v in held.items()}  # fmt: skip
        sandbox.reset_counters()
        results = conn.write_fields([FieldUpdate(p, v) for p, v in rounded.items()], SPEC_MAP)
    assert [r.partner_id for r in results] == ids
    assert all(r.ok for r in results), [r for r in results if not r.ok][:3]
    assert sandbox.counters["salesforce.composite_update"] == 5

    org = emulation(sandbox)
    stored = {str(r["Id"]): r for r in org.state("Account", ids=ids)}
    currency_of = {p.key: p.currency for p in org.data.partners}
    for i in ids[:50]:
        row = stored[i]
        assert Decimal(str(row["KPI_Win_Rate__c"])) == Decimal("63.15")
        assert Decimal(str(row["KPI_Quality_Score__c"])) == Decimal("81.5")
        assert row["KPI_Score_Breakdown__c"] == "revenue p80, deals p70, win rate p60"
        rate = org.data.static_rates[row["CurrencyIsoCode"]]
        assert Decimal(str(row["KPI_Won_Revenue__c"])) == (Decimal("1000.005") * rate).quantize(
            cent, ROUND_HALF_UP
        )
    assert {row["CurrencyIsoCode"] for row in stored.values()} == set(currency_of.values())
    eur = next(r for r in stored.values() if r["CurrencyIsoCode"] == "EUR")
    assert Decimal(str(eur["KPI_Won_Revenue__c"])) == Decimal("920.00")  # 920.0046, rounded once
    usd = next(r for r in stored.values() if r["CurrencyIsoCode"] == "USD")
    assert Decimal(str(usd["KPI_Won_Revenue__c"])) == Decimal("1000.01")


def test_a_row_lock_is_retried_and_succeeds(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(partners=30, opportunities=50, hubspot=False)
    ids = partner_ids(sandbox)
    org = emulation(sandbox)
    with connector(sandbox) as conn:
        conn.provision_fields(SPECS)
        org.faults.update(
            {
                "record_failure_ids": [ids[3]],
                "record_failure_code": "UNABLE_TO_LOCK_ROW",
                "record_failure_times": 1,
            }
        )
        sandbox.reset_counters()
        results = conn.write_fields([update(i) for i in ids], SPEC_MAP)
    assert all(r.ok for r in results)
    assert sandbox.counters["salesforce.composite_update"] == 2  # the batch, then only the locked record
    assert Decimal(str(org.state("Account", ids=[ids[3]])[0]["KPI_Quality_Score__c"])) == Decimal("81.5")


def test_a_lock_that_never_clears_is_reported_after_bounded_retries(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(partners=10, opportunities=50, hubspot=False)
    ids = partner_ids(sandbox)
    org = emulation(sandbox)
    with connector(sandbox, write_retry_attempts=2) as conn:
        conn.provision_fields(SPECS)
        org.faults.update({"record_failure_ids": [ids[0]], "record_failure_code": "UNABLE_TO_LOCK_ROW"})
        sandbox.reset_counters()
        results = conn.write_fields([update(i) for i in ids], SPEC_MAP)
    assert sandbox.counters["salesforce.composite_update"] == 3
    assert (
        not results[0].ok
        and results[0].errors[0].code == "UNABLE_TO_LOCK_ROW"
        and results[0].errors[0].retryable
    )
    assert all(r.ok for r in results[1:])


def test_a_validation_failure_is_reported_while_the_other_199_are_written(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(partners=200, opportunities=50, hubspot=False)
    ids = partner_ids(sandbox)
    org = emulation(sandbox)
    with connector(sandbox) as conn:
        conn.provision_fields(SPECS)
        org.faults.update(
            {"record_failure_ids": [ids[42]], "record_failure_code": "FIELD_CUSTOM_VALIDATION_EXCEPTION"}
        )
        sandbox.reset_counters()
        results = conn.write_fields([update(i, score="55.5") for i in ids], SPEC_MAP)
    assert sandbox.counters["salesforce.composite_update"] == 1  # not retried
    failed = [r for r in results if not r.ok]
    assert [r.partner_id for r in failed] == [ids[42]]
    error = failed[0].errors[0]
    assert error.code == "FIELD_CUSTOM_VALIDATION_EXCEPTION" and not error.retryable
    assert "quarterly partner review" in error.message
    stored = {str(r["Id"]): r for r in org.state("Account", ids=ids)}
    written = [i for i in ids if stored[i]["KPI_Quality_Score__c"] is not None]
    assert len(written) == 199 and ids[42] not in written


def test_a_field_outside_the_specs_is_refused_before_anything_is_written(
    sandbox_factory: SandboxFactory,
) -> None:
    """Changed with issue 14: a target the writeback did not map is no longer sent for Salesforce to
    refuse (INVALID_FIELD); the connector refuses the whole batch, naming the field."""
    sandbox = sandbox_factory(partners=3, opportunities=20, hubspot=False)
    ids = partner_ids(sandbox)
    with connector(sandbox) as conn:
        conn.provision_fields(SPECS)
        sandbox.reset_counters()
        with pytest.raises(
            ProvisionError, match=r"Account\.No_Such_Field__c is not a field of the writeback"
        ):
            conn.write_fields(
                [update(ids[0]), FieldUpdate(ids[1], {"No_Such_Field__c": Decimal(1)})], SPEC_MAP
            )
    assert sandbox.counters["salesforce.composite_update"] == 0


def test_read_fields_answers_what_was_written(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(partners=3, opportunities=20, hubspot=False)
    ids = partner_ids(sandbox)
    with connector(sandbox) as conn:
        conn.provision_fields(SPECS)
        conn.write_fields([update(i) for i in ids], SPEC_MAP)
        values = conn.read_fields(ids, ["KPI_Win_Rate__c", "KPI_Score_Breakdown__c"])
    assert set(values) == set(ids)
    assert all(Decimal(str(v["KPI_Win_Rate__c"])) == Decimal("63.15") for v in values.values())


def test_writes_above_the_bulk_threshold_go_through_one_bulk_job(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(partners=150, opportunities=50, hubspot=False)
    ids = partner_ids(sandbox)
    org = emulation(sandbox)
    with connector(sandbox, bulk_write_threshold=100) as conn:
        conn.provision_fields(SPECS)
        org.faults.update(
            {
                "record_failure_ids": [ids[5], ids[9]],
                "record_failure_code": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            }
        )
        sandbox.reset_counters()
        results = conn.write_fields([update(i, score="42.5") for i in ids], SPEC_MAP)
    assert sandbox.counters["salesforce.bulk2_ingest_create"] == 1
    assert sandbox.counters["salesforce.composite_update"] == 0
    assert [r.partner_id for r in results] == ids
    failed = {r.partner_id: r for r in results if not r.ok}
    assert set(failed) == {ids[5], ids[9]}
    assert failed[ids[5]].errors[0].code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert "quarterly partner review" in failed[ids[5]].errors[0].message
    stored = {str(r["Id"]): r for r in org.state("Account", ids=ids)}
    assert all(
        Decimal(str(stored[i]["KPI_Quality_Score__c"])) == Decimal("42.5") for i in ids if i not in failed
    )
    assert stored[ids[5]]["KPI_Quality_Score__c"] is None


def test_row_locks_in_a_bulk_job_are_resent_through_collections(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(partners=120, opportunities=50, hubspot=False)
    ids = partner_ids(sandbox)
    org = emulation(sandbox)
    with connector(sandbox, bulk_write_threshold=100) as conn:
        conn.provision_fields(SPECS)
        org.faults.update(
            {
                "record_failure_ids": [ids[7]],
                "record_failure_code": "UNABLE_TO_LOCK_ROW",
                "record_failure_times": 1,
            }
        )
        sandbox.reset_counters()
        results = conn.write_fields([update(i) for i in ids], SPEC_MAP)
    assert all(r.ok for r in results)
    assert sandbox.counters["salesforce.bulk2_ingest_create"] == 1
    assert sandbox.counters["salesforce.composite_update"] == 1


def test_json_values() -> None:
    assert json_value(Decimal("63.15")) == 63.15
    assert json_value(Decimal("1000.00")) == 1000
    assert json_value(datetime(2026, 11, 22, 21, 0, tzinfo=timezone.utc)) == "2026-11-22T21:00:00.000Z"
    assert json_value(None) is None and json_value("A 81 (won 50%)") == "A 81 (won 50%)"


def test_currency_values_are_converted_into_the_accounts_currency_exactly() -> None:
    table = rates()
    assert to_account_currency(Decimal("100.00"), "EUR", table) == (Decimal("90.00"), None)
    assert to_account_currency(Decimal("100.00"), "USD", table) == (Decimal("100.00"), None)
    assert to_account_currency(Decimal("1.005"), "EUR", table) == (Decimal("0.9045"), None)  # not rounded
    value, problem = to_account_currency(Decimal(1), "JPY", table)
    assert value is None and problem is not None and "JPY" in problem.message


def test_record_answers() -> None:
    assert _result("001", SaveResult.model_validate({"id": "001", "success": True, "errors": []})).ok
    locked = _result(
        "001",
        SaveResult.model_validate(
            {
                "success": False,
                "errors": [{"statusCode": "UNABLE_TO_LOCK_ROW", "message": "lock", "fields": []}],
            }
        ),
    )
    assert not locked.ok and locked.errors[0].retryable
    invalid = _result(
        "002",
        SaveResult.model_validate(
            {
                "success": False,
                "errors": [
                    {
                        "statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                        "message": "no",
                        "fields": ["Score__c"],
                    }
                ],
            }
        ),
    )
    assert invalid.errors[0].field == "Score__c" and not invalid.errors[0].retryable


def test_bulk_rows_and_errors() -> None:
    row = _csv_row({"attributes": {"type": "Account"}, "id": "001A", "Score__c": 81.5, "Note__c": None})
    assert row == {"Id": "001A", "Score__c": "81.5", "Note__c": "#N/A"}
    error = _bulk_error("FIELD_CUSTOM_VALIDATION_EXCEPTION:Scores are locked: ask ops:Score__c,Note__c")
    assert (error.code, error.message, error.field) == (
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "Scores are locked: ask ops",
        "Score__c",
    )
    locked = _bulk_error("UNABLE_TO_LOCK_ROW:unable to obtain exclusive access:--")
    assert locked.retryable and locked.field is None
