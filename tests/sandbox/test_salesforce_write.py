"""Writes, custom fields, limits and faults of the Salesforce emulation, through simple-salesforce."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from simple_salesforce.exceptions import (
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from partnerkpi.sandbox.core import Sandbox
from partnerkpi.sandbox.salesforce import SalesforceCredentials, SalesforceEmulation
from partnerkpi.sandbox.testing import salesforce_client, salesforce_session

CREDS = SalesforceCredentials()


def _content(error: Any) -> Any:
    """The parsed error body simple-salesforce keeps on its exception."""
    return error.content


SCORE = {
    "label": "Partner Score",
    "type": "Percent",
    "precision": 5,
    "scale": 2,
    "description": "KPI quality score",
}


@pytest.fixture
def org(sandbox_factory: Callable[..., Sandbox]) -> Iterator[tuple[Sandbox, SalesforceEmulation, Any]]:
    sandbox = sandbox_factory(partners=250, opportunities=300, hubspot=False)
    emulation = sandbox.emulation("salesforce")
    assert isinstance(emulation, SalesforceEmulation)
    session = salesforce_session(sandbox)
    sf = salesforce_client(sandbox, session)
    yield sandbox, emulation, sf
    session.close()


def _partner_ids(sf: Any, n: int) -> list[str]:
    records = sf.query_all(f"SELECT Id FROM Account WHERE IsPartner = true ORDER BY Name LIMIT {n}")[
        "records"
    ]
    return [r["Id"] for r in records]


def _create_visible_field(sf: Any, name: str, metadata: dict[str, Any]) -> None:
    created = sf.toolingexecute(
        "sobjects/CustomField", method="POST", data={"FullName": f"Account.{name}", "Metadata": metadata}
    )
    assert created["success"] is True and created["id"].startswith("00N")
    permission_set = sf.PermissionSet.create({"Name": "PartnerKPI_Writer", "Label": "PartnerKPI Writer"})
    sf.FieldPermissions.create(
        {
            "ParentId": permission_set["id"],
            "SobjectType": "Account",
            "Field": f"Account.{name}",
            "PermissionsRead": True,
            "PermissionsEdit": True,
        }
    )
    user = sf.query(f"SELECT Id FROM User WHERE Username = '{CREDS.username}'")["records"][0]["Id"]
    sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetId": permission_set["id"]})


def test_describe_lists_standard_fields(org: tuple[Sandbox, SalesforceEmulation, Any]) -> None:
    _, _, sf = org
    describe = sf.Account.describe()
    fields = {f["name"]: f for f in describe["fields"]}
    assert {"Id", "Name", "IsPartner", "CurrencyIsoCode", "SystemModstamp"} <= set(fields)
    assert fields["Name"]["updateable"] is True and fields["Id"]["updateable"] is False
    assert describe["keyPrefix"] == "001"
    assert fields["Partner_Tier__c"]["custom"] is True  # a custom field the org already had
    opportunity = {f["name"]: f for f in sf.Opportunity.describe()["fields"]}
    assert opportunity["Amount"]["type"] == "currency"
    assert opportunity["PartnerAccountId"]["relationshipName"] == "PartnerAccount"
    with pytest.raises(SalesforceResourceNotFound):
        sf.restful("sobjects/NoSuchThing/describe")


def test_composite_update_of_200_accounts_with_one_failure(
    org: tuple[Sandbox, SalesforceEmulation, Any],
) -> None:
    sandbox, emulation, sf = org
    ids = _partner_ids(sf, 200)
    emulation.faults.record_failure_ids = [ids[17]]
    emulation.faults.record_failure_code = "UNABLE_TO_LOCK_ROW"
    sandbox.reset_counters()
    body = {
        "allOrNone": False,
        "records": [{"attributes": {"type": "Account"}, "id": i, "Industry": "Technology"} for i in ids],
    }
    results = sf.restful("composite/sobjects", method="PATCH", json=body)
    assert sandbox.counters["salesforce.composite_update"] == 1
    assert len(results) == 200
    failed = [r for r in results if not r["success"]]
    assert failed == [
        {
            "id": ids[17],
            "success": False,
            "errors": [
                {
                    "statusCode": "UNABLE_TO_LOCK_ROW",
                    "message": f"unable to obtain exclusive access to this record or 1 records: {ids[17]}",
                    "fields": [],
                }
            ],
        }
    ]
    assert all(
        r == {"id": i, "success": True, "errors": []}
        for r, i in zip(results, ids, strict=False)
        if i != ids[17]
    )
    states = {s["Id"]: s["Industry"] for s in emulation.state("Account", ids)}
    assert states[ids[17]] is None and states[ids[0]] == "Technology"


def test_composite_all_or_none_rolls_back(org: tuple[Sandbox, SalesforceEmulation, Any]) -> None:
    _, emulation, sf = org
    ids = _partner_ids(sf, 3)
    emulation.faults.record_failure_ids = [ids[1]]
    emulation.faults.record_failure_code = "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    body = {
        "allOrNone": True,
        "records": [{"attributes": {"type": "Account"}, "id": i, "Industry": "Retail"} for i in ids],
    }
    results = sf.restful("composite/sobjects", method="PATCH", json=body)
    assert [r["success"] for r in results] == [False, False, False]
    assert results[1]["errors"][0]["statusCode"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert all(s["Industry"] is None for s in emulation.state("Account", ids))
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.restful(
            "composite/sobjects",
            method="PATCH",
            json={"records": [{"attributes": {"type": "Account"}, "id": ids[0]}] * 201},
        )
    assert _content(raised.value)[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_failure_times_then_success(org: tuple[Sandbox, SalesforceEmulation, Any]) -> None:
    _, emulation, sf = org
    target = _partner_ids(sf, 1)[0]
    emulation.faults.record_failure_ids = [target]
    emulation.faults.record_failure_times = 2
    body = {"records": [{"attributes": {"type": "Account"}, "id": target, "Industry": "Energy"}]}
    outcomes = [sf.restful("composite/sobjects", method="PATCH", json=body)[0]["success"] for _ in range(3)]
    assert outcomes == [False, False, True]


def test_record_failure_rate(org: tuple[Sandbox, SalesforceEmulation, Any]) -> None:
    _, emulation, sf = org
    ids = _partner_ids(sf, 200)
    emulation.faults.record_failure_rate = 1.0
    body = {"records": [{"attributes": {"type": "Account"}, "id": i, "Industry": "Energy"} for i in ids]}
    assert not any(r["success"] for r in sf.restful("composite/sobjects", method="PATCH", json=body))
    emulation.faults.record_failure_rate = 0.0
    assert all(r["success"] for r in sf.restful("composite/sobjects", method="PATCH", json=body))


def test_single_record_crud(org: tuple[Sandbox, SalesforceEmulation, Any]) -> None:
    _, _, sf = org
    created = sf.Account.create({"Name": "Fresh Partner", "IsPartner": True, "CurrencyIsoCode": "EUR"})
    assert created["success"] is True and created["id"].startswith("001")
    assert sf.Account.update(created["id"], {"Name": "Renamed Partner"}) == 204
    assert sf.Account.get(created["id"])["Name"] == "Renamed Partner"
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.Account.update(created["id"], {"SystemModstamp": "2020-01-01T00:00:00Z"})
    assert _content(raised.value)[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.Account.update(created["id"], {"CurrencyIsoCode": "JPY"})
    assert _content(raised.value)[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.Account.create({"IsPartner": True})
    assert _content(raised.value)[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert sf.Account.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound) as gone:
        sf.Account.get(created["id"])
    assert _content(gone.value)[0]["errorCode"] == "ENTITY_IS_DELETED"


def test_custom_field_is_created_granted_and_written(
    org: tuple[Sandbox, SalesforceEmulation, Any],
) -> None:
    _, emulation, sf = org
    ids = _partner_ids(sf, 2)
    created = sf.toolingexecute(
        "sobjects/CustomField", method="POST", data={"FullName": "Account.KPI_Score__c", "Metadata": SCORE}
    )
    assert created["success"] is True
    # Invisible until field-level security grants it, as in a real org.
    assert "KPI_Score__c" not in {f["name"] for f in sf.Account.describe()["fields"]}
    hidden = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={"records": [{"attributes": {"type": "Account"}, "id": ids[0], "KPI_Score__c": 1}]},
    )
    assert hidden[0]["errors"][0]["statusCode"] == "INVALID_FIELD"
    permission_set = sf.PermissionSet.create({"Name": "PartnerKPI_Writer", "Label": "PartnerKPI Writer"})
    sf.FieldPermissions.create(
        {
            "ParentId": permission_set["id"],
            "SobjectType": "Account",
            "Field": "Account.KPI_Score__c",
            "PermissionsRead": True,
            "PermissionsEdit": True,
        }
    )
    user = sf.query(f"SELECT Id FROM User WHERE Username = '{CREDS.username}'")["records"][0]["Id"]
    sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetId": permission_set["id"]})
    field = {f["name"]: f for f in sf.Account.describe()["fields"]}["KPI_Score__c"]
    assert (field["type"], field["precision"], field["scale"], field["custom"]) == ("percent", 5, 2, True)
    body = {
        "records": [
            {"attributes": {"type": "Account"}, "id": ids[0], "KPI_Score__c": 63.156},
            {"attributes": {"type": "Account"}, "id": ids[1], "KPI_Score__c": 1000},
        ]
    }
    results = sf.restful("composite/sobjects", method="PATCH", json=body)
    assert results[0]["success"] is True
    assert results[1]["errors"][0]["statusCode"] == "NUMBER_OUTSIDE_VALID_RANGE"
    stored = sf.query(f"SELECT KPI_Score__c FROM Account WHERE Id = '{ids[0]}'")["records"][0]["KPI_Score__c"]
    assert stored == 63.16  # rounded to the field's scale
    found = sf.query("SELECT Id, Name FROM PermissionSet WHERE Name = 'PartnerKPI_Writer'")["records"]
    assert [p["Id"] for p in found] == [permission_set["id"]]
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.PermissionSet.create({"Name": "PartnerKPI_Writer", "Label": "Again"})
    assert _content(raised.value)[0]["errorCode"] == "DUPLICATE_DEVELOPER_NAME"
    assert emulation.state("Account", [ids[0]])[0]["KPI_Score__c"] == "63.16"


def test_field_permissions_need_the_field_first(org: tuple[Sandbox, SalesforceEmulation, Any]) -> None:
    _, _, sf = org
    permission_set = sf.PermissionSet.create({"Name": "Early_Grant", "Label": "Early grant"})
    grant = {
        "ParentId": permission_set["id"],
        "SobjectType": "Account",
        "Field": "Account.Not_Yet__c",
        "PermissionsRead": True,
        "PermissionsEdit": True,
    }
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.FieldPermissions.create(grant)
    assert _content(raised.value)[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    sf.toolingexecute(
        "sobjects/CustomField",
        method="POST",
        data={
            "FullName": "Account.Not_Yet__c",
            "Metadata": {"label": "Now", "type": "Number", "precision": 4, "scale": 0},
        },
    )
    assert sf.FieldPermissions.create(grant)["success"] is True
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.FieldPermissions.create(grant)
    assert _content(raised.value)[0]["errorCode"] == "DUPLICATE_VALUE"


def test_text_field_length_and_duplicates(org: tuple[Sandbox, SalesforceEmulation, Any]) -> None:
    _, _, sf = org
    _create_visible_field(sf, "KPI_Note__c", {"label": "KPI Note", "type": "Text", "length": 10})
    target = _partner_ids(sf, 1)[0]
    long_note = {
        "records": [{"attributes": {"type": "Account"}, "id": target, "KPI_Note__c": "far too long for ten"}]
    }
    error = sf.restful("composite/sobjects", method="PATCH", json=long_note)[0]["errors"][0]
    assert error["statusCode"] == "STRING_TOO_LONG" and error["fields"] == ["KPI_Note__c"]
    with pytest.raises(SalesforceMalformedRequest) as duplicate:
        sf.toolingexecute(
            "sobjects/CustomField",
            method="POST",
            data={"FullName": "Account.KPI_Note__c", "Metadata": {"label": "x", "type": "Text", "length": 5}},
        )
    assert _content(duplicate.value)[0]["errorCode"] == "DUPLICATE_DEVELOPER_NAME"
    listed = sf.toolingexecute(
        "query/?q=SELECT+Id,+DeveloperName,+TableEnumOrId+FROM+CustomField+WHERE+TableEnumOrId+=+'Account'"
    )
    assert [r["DeveloperName"] for r in listed["records"]] == ["Partner_Tier", "KPI_Note"]
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.restful(
            "composite/sobjects",
            method="PATCH",
            json={"records": [{"attributes": {"type": "Account"}, "id": target, "IsPartner": "maybe"}]},
        )
    assert _content(raised.value)[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_limits_header_and_daily_limit(org: tuple[Sandbox, SalesforceEmulation, Any]) -> None:
    _, emulation, sf = org
    limits = sf.limits()
    assert limits["DailyApiRequests"]["Max"] == 100_000
    used = limits["DailyApiRequests"]["Max"] - limits["DailyApiRequests"]["Remaining"]
    sf.query("SELECT Id FROM Account LIMIT 1")
    assert sf.api_usage["api-usage"].used == used + 1
    assert sf.api_usage["api-usage"].total == 100_000
    emulation.faults.daily_limit = used + 1  # the query above used the last call
    with pytest.raises(SalesforceRefusedRequest) as raised:
        sf.query("SELECT Id FROM Account LIMIT 1")
    assert raised.value.status == 403
    assert _content(raised.value) == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]


def test_rate_limit_answers_request_limit_exceeded(org: tuple[Sandbox, SalesforceEmulation, Any]) -> None:
    _, emulation, sf = org
    clock = [1000.0]
    emulation.monotonic = lambda: clock[0]
    emulation.faults.rate_limit_per_second = 2
    sf.query("SELECT Id FROM Account LIMIT 1")
    sf.query("SELECT Id FROM Account LIMIT 1")
    with pytest.raises(SalesforceRefusedRequest) as raised:
        sf.query("SELECT Id FROM Account LIMIT 1")  # the third call within the same second
    assert raised.value.status == 403
    assert _content(raised.value) == [
        {"message": "ConcurrentPerOrgLongTxn Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    clock[0] += 1.0
    assert sf.query("SELECT Id FROM Account LIMIT 1")["totalSize"] == 1  # a new second, a new allowance


def test_server_errors_and_dropped_connections(org: tuple[Sandbox, SalesforceEmulation, Any]) -> None:
    sandbox, emulation, sf = org
    emulation.faults.error_rate = 1.0
    with pytest.raises(SalesforceGeneralError) as raised:
        sf.query("SELECT Id FROM Account LIMIT 1")
    assert raised.value.status == 500
    assert _content(raised.value)[0]["errorCode"] == "UNKNOWN_EXCEPTION"
    emulation.faults.error_rate = 0.0
    emulation.faults.drop_rate = 1.0
    with pytest.raises(requests.exceptions.ConnectionError):
        sf.query("SELECT Id FROM Account LIMIT 1")
    assert sandbox.counters["salesforce.fault.dropped"] >= 1
    emulation.faults.drop_rate = 0.0
    assert sf.query("SELECT Id FROM Account LIMIT 1")["totalSize"] == 1


def test_admin_api_changes_records_as_a_user(org: tuple[Sandbox, SalesforceEmulation, Any]) -> None:
    sandbox, _emulation, sf = org
    admin = salesforce_session(sandbox)
    opp = sf.query("SELECT Id, SystemModstamp FROM Opportunity WHERE IsDeleted = false LIMIT 1")["records"][0]
    moved = admin.post(
        f"{sandbox.url}/__admin__/salesforce/update_opportunity",
        json={"id": opp["Id"], "fields": {"StageName": "Closed Lost", "Amount": 10}},
    ).json()
    assert moved["StageName"] == "Closed Lost" and moved["Amount"] == "10.00" and moved["Probability"] == "0"
    after = sf.Opportunity.get(opp["Id"])
    assert after["SystemModstamp"] > opp["SystemModstamp"]
    admin.post(f"{sandbox.url}/__admin__/salesforce/delete_opportunity", json={"id": opp["Id"]})
    assert sf.query(f"SELECT Id FROM Opportunity WHERE Id = '{opp['Id']}'")["totalSize"] == 0
    assert (
        sf.query(f"SELECT Id FROM Opportunity WHERE Id = '{opp['Id']}'", include_deleted=True)["totalSize"]
        == 1
    )
    created = admin.post(
        f"{sandbox.url}/__admin__/salesforce/create_opportunity",
        json={
            "fields": {
                "Name": "Walk-in deal",
                "Amount": 500,
                "StageName": "Qualification",
                "CloseDate": "2026-12-01",
            }
        },
    ).json()
    assert sf.Opportunity.get(created["Id"])["Name"] == "Walk-in deal"
    account = _partner_ids(sf, 1)[0]
    edited = admin.post(
        f"{sandbox.url}/__admin__/salesforce/update_account",
        json={"id": account, "fields": {"Name": "Edited"}},
    )
    assert edited.json()["Name"] == "Edited"
    state = admin.post(
        f"{sandbox.url}/__admin__/salesforce/state", json={"object": "Account", "ids": [account]}
    ).json()
    assert state[0]["Name"] == "Edited"
    assert admin.post(f"{sandbox.url}/__admin__/salesforce/nope", json={}).status_code == 404


def test_bulk2_ingest_update(org: tuple[Sandbox, SalesforceEmulation, Any]) -> None:
    _, emulation, sf = org
    ids = _partner_ids(sf, 5)
    emulation.faults.record_failure_ids = [ids[2]]
    results = sf.bulk2.Account.update(records=[{"Id": i, "Industry": "Media"} for i in ids], wait=0)
    assert results[0]["numberRecordsProcessed"] == 5
    assert results[0]["numberRecordsFailed"] == 1
    failed = list(csv.DictReader(io.StringIO(sf.bulk2.Account.get_failed_records(results[0]["job_id"]))))
    assert [f["sf__Id"] for f in failed] == [ids[2]]
    assert failed[0]["sf__Error"].startswith("UNABLE_TO_LOCK_ROW:")
    done = list(csv.DictReader(io.StringIO(sf.bulk2.Account.get_successful_records(results[0]["job_id"]))))
    assert sorted(d["sf__Id"] for d in done) == sorted(set(ids) - {ids[2]})
    assert {s["Id"]: s["Industry"] for s in emulation.state("Account", ids)}[ids[0]] == "Media"


def test_composite_create_answers_per_record(org: tuple[Sandbox, SalesforceEmulation, Any]) -> None:
    _, emulation, sf = org
    body = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Account"}, "Name": "Reseller One", "IsPartner": True},
            {"attributes": {"type": "Account"}, "IsPartner": True},
        ],
    }
    results = sf.restful("composite/sobjects", method="POST", json=body)
    assert results[0]["success"] is True and results[0]["id"].startswith("001")
    assert results[1] == {
        "success": False,
        "errors": [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [Name]",
                "fields": ["Name"],
            }
        ],
    }
    assert emulation.state("Account", [results[0]["id"]])[0]["Name"] == "Reseller One"


def test_datetime_and_currency_custom_fields(org: tuple[Sandbox, SalesforceEmulation, Any]) -> None:
    _, _, sf = org
    _create_visible_field(sf, "KPI_Updated_At__c", {"label": "KPIs updated at", "type": "DateTime"})
    sf.toolingexecute(
        "sobjects/CustomField",
        method="POST",
        data={
            "FullName": "Account.KPI_Revenue__c",
            "Metadata": {"label": "Won revenue", "type": "Currency", "precision": 18, "scale": 2},
        },
    )
    target = _partner_ids(sf, 1)[0]
    sf.Account.update(target, {"KPI_Updated_At__c": "2026-11-01T10:30:00.000Z"})
    row = sf.Account.get(target)
    assert row["KPI_Updated_At__c"] == "2026-11-01T10:30:00.000+0000"
    assert "KPI_Revenue__c" not in row  # created, but not granted to anyone yet
