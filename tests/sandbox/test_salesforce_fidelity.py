"""The Salesforce emulation answers as the real API does where real clients (tap-salesforce, Airbyte, dlt)
found it did not: dateTime literals with any fraction, describe keys, never-reused Bulk 2.0 job ids."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from partnerkpi.sandbox.core import Sandbox
from partnerkpi.sandbox.salesforce import SalesforceEmulation
from partnerkpi.sandbox.salesforce.describe import FIELD_RESULT, FULL_SOBJECT_RESULT, SOBJECT_RESULT
from partnerkpi.sandbox.salesforce.ids import normalize
from partnerkpi.sandbox.salesforce.soql import SoqlError, parse
from partnerkpi.sandbox.testing import salesforce_client, salesforce_session

JOBS = "jobs/query"


@pytest.fixture
def org(sandbox_factory: Callable[..., Sandbox]) -> Iterator[tuple[SalesforceEmulation, Any]]:
    sandbox = sandbox_factory(partners=30, opportunities=400, hubspot=False)
    emulation = sandbox.emulation("salesforce")
    assert isinstance(emulation, SalesforceEmulation)
    session = salesforce_session(sandbox)
    sf = salesforce_client(sandbox, session)
    yield emulation, sf
    session.close()


# -- SOQL dateTime literals -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("2023-10-01T00:00:00Z", datetime(2023, 10, 1, tzinfo=timezone.utc)),
        ("2023-10-01T00:00:00.000Z", datetime(2023, 10, 1, tzinfo=timezone.utc)),
        ("2023-10-01T00:00:00.000000Z", datetime(2023, 10, 1, tzinfo=timezone.utc)),
        ("2023-10-01T00:00:00.5Z", datetime(2023, 10, 1, 0, 0, 0, 500_000, tzinfo=timezone.utc)),
        ("2023-10-01T01:00:00+01:00", datetime(2023, 10, 1, tzinfo=timezone.utc)),
        ("2023-09-30T16:00:00.123456-08:00", datetime(2023, 10, 1, 0, 0, 0, 123_456, tzinfo=timezone.utc)),
    ],
)
def test_datetime_literals_take_any_fraction_and_an_offset(literal: str, expected: datetime) -> None:
    parsed = parse(f"SELECT Id FROM Opportunity WHERE SystemModstamp >= {literal}")
    assert parsed.where is not None
    assert parsed.where.value.value == expected  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "literal",
    [
        "2023-10-01T00:00:00",  # no zone
        "2023-10-01T00:00:00.Z",  # a dot without digits
        "2023-10-01T00:00:00+0100",  # offset without the colon
        "2023-10-01 00:00:00Z",  # a space for the T
        "2023-10-01T24:61:00Z",  # no such time
    ],
)
def test_malformed_datetime_literals_stay_malformed_query(literal: str) -> None:
    with pytest.raises(SoqlError) as raised:
        parse(f"SELECT Id FROM Opportunity WHERE SystemModstamp >= {literal}")
    assert raised.value.code == "MALFORMED_QUERY"


def test_six_digit_fraction_filters_over_rest_as_tap_salesforce_sends_it(
    org: tuple[SalesforceEmulation, Any],
) -> None:
    emulation, sf = org
    stamps = sorted(
        r["SystemModstamp"] for r in emulation.state("Opportunity", soql="SELECT Id FROM Opportunity")
    )
    middle = datetime.fromisoformat(stamps[len(stamps) // 2].replace("+0000", "+00:00"))
    literal = middle.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert len(literal.split(".")[1]) == 7  # six digits and the Z
    live_after = [s for s in stamps if datetime.fromisoformat(s.replace("+0000", "+00:00")) >= middle]
    got = sf.query_all(f"SELECT Id FROM Opportunity WHERE SystemModstamp >= {literal}", include_deleted=True)
    assert got["totalSize"] == len(live_after)
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.query("SELECT Id FROM Opportunity WHERE SystemModstamp >= 2023-10-01T00:00:00.Z")
    assert raised.value.content[0]["errorCode"] == "MALFORMED_QUERY"


# -- describe -----------------------------------------------------------------------------------------------
def test_every_describe_field_result_carries_every_key_of_the_real_one(
    org: tuple[SalesforceEmulation, Any],
) -> None:
    _, sf = org
    for name in ("Account", "Opportunity", "OpportunityPartner"):
        describe = getattr(sf, name).describe()
        assert set(SOBJECT_RESULT) | set(FULL_SOBJECT_RESULT) <= set(describe), name
        for field in describe["fields"]:
            assert set(field) == set(FIELD_RESULT), (name, field["name"])
            assert field["compoundFieldName"] is None
    fields = {f["name"]: f for f in sf.Opportunity.describe()["fields"]}
    assert fields["Name"]["nameField"] is True and fields["Amount"]["nameField"] is False
    assert fields["PartnerAccountId"]["referenceTo"] == ["Account"]
    assert fields["SystemModstamp"]["soapType"] == "xsd:dateTime"


def test_labels_are_the_real_plurals_in_describe_and_describe_global(
    org: tuple[SalesforceEmulation, Any],
) -> None:
    _, sf = org
    assert sf.Opportunity.describe()["labelPlural"] == "Opportunities"
    listed = {o["name"]: o for o in sf.describe()["sobjects"]}
    assert listed["Opportunity"]["labelPlural"] == "Opportunities"
    assert listed["OpportunityPartner"]["label"] == "Opportunity Partner"
    assert listed["CurrencyType"]["labelPlural"] == "Currencies"
    assert all(set(SOBJECT_RESULT) <= set(o) for o in listed.values())


# -- ids ------------------------------------------------------------------------------------------------------
def _create_job(sf: Any, soql: str = "SELECT Id FROM Account") -> str:
    job = sf.restful(JOBS, method="POST", json={"operation": "query", "query": soql})
    return str(job["id"])


def _status(sf: Any, job_id: str) -> int:
    return int(sf.session.get(f"{sf.base_url}{JOBS}/{job_id}", headers=sf.headers).status_code)


def _delete(sf: Any, job_id: str) -> int:
    """Poll the job to JobComplete (the emulation advances a state per poll), then DELETE it."""
    while sf.restful(f"{JOBS}/{job_id}")["state"] != "JobComplete":
        pass
    return int(sf.session.delete(f"{sf.base_url}{JOBS}/{job_id}", headers=sf.headers).status_code)


def test_only_a_finished_job_can_be_deleted(org: tuple[SalesforceEmulation, Any]) -> None:
    _, sf = org
    job_id = _create_job(sf)
    answer = sf.session.delete(f"{sf.base_url}{JOBS}/{job_id}", headers=sf.headers)
    assert answer.status_code == 400
    assert answer.json()[0]["errorCode"] == "API_ERROR"
    assert "not terminated" in answer.json()[0]["message"]
    assert _status(sf, job_id) == 200
    assert _delete(sf, job_id) == 204
    assert _status(sf, job_id) == 404


def test_bulk_job_ids_are_never_reused_after_deletes_in_any_order(
    org: tuple[SalesforceEmulation, Any],
) -> None:
    _, sf = org
    rng = random.Random(16)
    seen: list[str] = []
    live: list[str] = []
    for _ in range(40):
        if live and rng.random() < 0.45:
            victim = live.pop(rng.randrange(len(live)))
            assert _delete(sf, victim) == 204
            assert _status(sf, victim) == 404  # a deleted job is gone, as the real API answers
        else:
            job_id = _create_job(sf)
            assert job_id not in seen
            seen.append(job_id)
            live.append(job_id)
    assert len(set(seen)) == len(seen)
    for job_id in seen:
        assert job_id.startswith("750") and len(job_id) == 18 and normalize(job_id) == job_id
    for job_id in live:
        assert _status(sf, job_id) == 200


def test_bulk_job_ids_stay_unique_when_created_from_threads(org: tuple[SalesforceEmulation, Any]) -> None:
    _, sf = org

    def create_and_maybe_delete(i: int) -> str:
        job_id = _create_job(sf, "SELECT Id FROM Opportunity")
        if i % 2:
            assert _delete(sf, job_id) == 204
        return job_id

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(create_and_maybe_delete, range(48)))
    assert len(set(ids)) == 48
    for i, job_id in enumerate(ids):
        assert _status(sf, job_id) == (404 if i % 2 else 200)


def test_a_new_job_never_answers_with_a_deleted_jobs_results(org: tuple[SalesforceEmulation, Any]) -> None:
    """What Airbyte hit: an Account job got OpportunityPartner's CSV under a recycled id."""
    _, sf = org
    partners = _create_job(sf, "SELECT Id FROM OpportunityPartner")
    accounts = _create_job(sf, "SELECT Id, Name FROM Account")
    assert _delete(sf, partners) == 204
    again = _create_job(sf, "SELECT Id FROM Opportunity")
    assert again not in (partners, accounts)
    info = sf.restful(f"{JOBS}/{accounts}")
    assert info["object"] == "Account"


def test_records_created_after_deletes_get_fresh_ids(org: tuple[SalesforceEmulation, Any]) -> None:
    emulation, sf = org
    first = sf.PermissionSet.create({"Name": "A_Set", "Label": "A"})["id"]
    sf.PermissionSet.delete(first)
    second = sf.PermissionSet.create({"Name": "B_Set", "Label": "B"})["id"]
    assert second != first
    created = emulation.create_opportunity(
        Name="fresh", CloseDate=(datetime.now().date() + timedelta(days=3))
    )
    emulation.delete_opportunity(created["Id"])
    assert emulation.create_opportunity(Name="fresh again")["Id"] != created["Id"]


# -- OpportunityPartner is a record of its own -------------------------------------------------------------
def test_partner_link_modstamp_moves_only_when_the_partner_changes(
    org: tuple[SalesforceEmulation, Any],
) -> None:
    emulation, sf = org
    soql = "SELECT Id, OpportunityId, AccountToId, SystemModstamp FROM OpportunityPartner"
    links = {r["OpportunityId"]: r for r in sf.query_all(soql)["records"]}
    opportunity, link = next(iter(links.items()))
    emulation.update_opportunity(opportunity, Amount=4321)
    after_edit = sf.query(f"{soql} WHERE OpportunityId = '{opportunity}'")["records"][0]
    assert after_edit["SystemModstamp"] == link["SystemModstamp"]
    other = next(r["AccountToId"] for r in links.values() if r["AccountToId"] != link["AccountToId"])
    emulation.update_opportunity(opportunity, PartnerAccountId=other)
    after_move = sf.query(f"{soql} WHERE OpportunityId = '{opportunity}'")["records"][0]
    assert after_move["AccountToId"] == other
    assert after_move["SystemModstamp"] > link["SystemModstamp"]
    opportunity_now = sf.Opportunity.get(opportunity)
    assert after_move["SystemModstamp"] == opportunity_now["SystemModstamp"]
