"""SOQL over REST and Bulk API 2.0, driven by simple-salesforce against the sandbox."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from partnerkpi.sandbox.app import build_sandbox
from partnerkpi.sandbox.core import Sandbox
from partnerkpi.sandbox.salesforce import SalesforceEmulation
from partnerkpi.sandbox.testing import salesforce_client


def _content(error: Any) -> Any:
    """The parsed error body simple-salesforce keeps on its exception."""
    return error.content


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    sandbox = build_sandbox(seed=3, partners=20, opportunities=10_000, hubspot=False)
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="module")
def sf(sandbox: Sandbox) -> Any:
    return salesforce_client(sandbox)


@pytest.fixture
def emulation(sandbox: Sandbox) -> SalesforceEmulation:
    emulation = sandbox.emulation("salesforce")
    assert isinstance(emulation, SalesforceEmulation)
    sandbox.reset_counters()
    return emulation


def _errors(sf: Any, soql: str) -> Any:
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.query(soql)
    return _content(raised.value)


def test_query_all_iter_pages_10000_in_pages_of_2000(
    sandbox: Sandbox, sf: Any, emulation: SalesforceEmulation
) -> None:
    records = list(sf.query_all_iter("SELECT Id, Amount, StageName FROM Opportunity", include_deleted=True))
    assert len(records) == 10_000
    assert len({r["Id"] for r in records}) == 10_000
    assert sandbox.counters["salesforce.query"] == 5
    assert records[0]["attributes"]["type"] == "Opportunity"
    assert len(records[0]["Id"]) == 18


def test_batch_size_header_sets_the_page(sandbox: Sandbox, sf: Any, emulation: SalesforceEmulation) -> None:
    first = sf.query("SELECT Id FROM Account", headers={"Sforce-Query-Options": "batchSize=200"})
    assert first["done"] is True and first["totalSize"] == 25
    page = sf.query("SELECT Id FROM Opportunity", headers={"Sforce-Query-Options": "batchSize=500"})
    assert len(page["records"]) == 500
    assert page["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    more = sf.query_more(
        page["nextRecordsUrl"], identifier_is_url=True, headers={"Sforce-Query-Options": "batchSize=500"}
    )
    assert len(more["records"]) == 500
    assert {r["Id"] for r in more["records"]}.isdisjoint(r["Id"] for r in page["records"])
    tiny = sf.query("SELECT Id FROM Opportunity", headers={"Sforce-Query-Options": "batchSize=10"})
    assert len(tiny["records"]) == 200  # Salesforce's minimum batch


def test_query_hides_deleted_rows_and_query_all_shows_them(sf: Any, emulation: SalesforceEmulation) -> None:
    live = sf.query("SELECT COUNT() FROM Opportunity")["totalSize"]
    everything = sf.query("SELECT COUNT() FROM Opportunity", include_deleted=True)["totalSize"]
    deleted = sf.query_all(
        "SELECT Id, IsDeleted FROM Opportunity WHERE IsDeleted = true", include_deleted=True
    )
    assert everything == 10_000
    assert live == everything - deleted["totalSize"] > 0
    assert deleted["totalSize"] > 0 and all(r["IsDeleted"] for r in deleted["records"])
    assert sf.query("SELECT Id FROM Opportunity WHERE IsDeleted = true")["totalSize"] == 0


def test_fields_parent_relationships_and_formats(sf: Any, emulation: SalesforceEmulation) -> None:
    soql = (
        "SELECT Id, Name, Amount, CurrencyIsoCode, StageName, CloseDate, CreatedDate, Probability, LeadSource, "
        "SystemModstamp, IsDeleted, PartnerAccountId, PartnerAccount.Name, PartnerAccount.IsPartner "
        "FROM Opportunity WHERE PartnerAccountId != null LIMIT 5"
    )
    records = sf.query(soql)["records"]
    assert len(records) == 5
    record = records[0]
    assert record["PartnerAccount"]["Name"].startswith("Partner ")
    assert record["PartnerAccount"]["IsPartner"] is True
    assert record["PartnerAccount"]["attributes"]["type"] == "Account"
    assert datetime.strptime(record["CreatedDate"], "%Y-%m-%dT%H:%M:%S.%f%z").tzinfo is not None
    assert record["CreatedDate"].endswith("+0000")
    assert len(record["CloseDate"]) == 10
    assert record["CurrencyIsoCode"] in ("USD", "EUR", "GBP")
    lookup = sf.query(
        "SELECT Partner__c, Partner__r.Name, Partner__r.Partner_Tier__c FROM Opportunity WHERE Partner__c != null LIMIT 1"
    )
    assert lookup["records"][0]["Partner__r"]["Partner_Tier__c"] in (
        "Platinum",
        "Gold",
        "Silver",
        "Registered",
    )
    direct = sf.query(
        "SELECT Id, PartnerAccount.Name FROM Opportunity WHERE PartnerAccountId = null LIMIT 1"
    )["records"][0]
    assert direct["PartnerAccount"] is None
    sources = {r["LeadSource"] for r in sf.query_all("SELECT LeadSource FROM Opportunity")["records"]}
    assert sources == {
        "Advertisement", "Purchased List", "Email", "Web", "Word of mouth", "Public Relations", "Partner Referral", "Other", None,
    }  # fmt: skip


def test_where_operators(sf: Any, emulation: SalesforceEmulation) -> None:
    def count(where: str) -> int:
        return int(sf.query(f"SELECT COUNT() FROM Opportunity WHERE {where}")["totalSize"])

    total = count("Name != null")
    won = count("StageName = 'Closed Won'")
    lost = count("StageName = 'closed lost'")  # text comparisons ignore case
    assert count("StageName IN ('Closed Won', 'Closed Lost')") == won + lost
    assert count("StageName NOT IN ('Closed Won', 'Closed Lost')") == total - won - lost
    assert count("(StageName = 'Closed Won' OR StageName = 'Closed Lost') AND Amount > 0") <= won + lost
    assert count("NOT StageName = 'Closed Won'") == total - won
    big = count("Amount >= 50000")
    assert 0 < big < total
    assert count("Amount < 50000") + big + count("Amount = null") == total
    assert count("CloseDate >= 2026-01-01 AND CloseDate <= 2026-03-31") > 0
    assert count("CreatedDate > 2026-06-01T00:00:00Z") < total
    assert count("Name LIKE 'Opportunity 99%'") == 111  # 99, 990-999, 9900-9999
    assert count("IsWon = true") == won
    assert count("StageName = 'Legacy - Pending Review'") > 0  # dirty records with a retired stage


def test_order_by_nulls_and_limit(sf: Any, emulation: SalesforceEmulation) -> None:
    first = sf.query("SELECT Id, Amount FROM Opportunity ORDER BY Amount ASC NULLS FIRST LIMIT 3")["records"]
    assert first[0]["Amount"] is None
    last = sf.query("SELECT Id, Amount FROM Opportunity ORDER BY Amount DESC NULLS LAST LIMIT 3")["records"]
    amounts = [r["Amount"] for r in last]
    assert None not in amounts and amounts == sorted(amounts, reverse=True)
    names = [r["Name"] for r in sf.query("SELECT Name FROM Account ORDER BY Name DESC LIMIT 4")["records"]]
    assert names == sorted(names, reverse=True) and len(names) == 4


def test_incremental_read_by_system_modstamp(sf: Any, emulation: SalesforceEmulation) -> None:
    soql = "SELECT Id, SystemModstamp FROM Opportunity WHERE SystemModstamp >= {} ORDER BY SystemModstamp, Id"
    everything = sf.query_all(soql.format("2000-01-01T00:00:00Z"))["records"]
    stamps = [(r["SystemModstamp"], r["Id"]) for r in everything]
    assert stamps == sorted(stamps)
    watermark = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    target = everything[0]["Id"]
    emulation.update_opportunity(target, StageName="Closed Won", Amount="1234.50")
    changed = sf.query_all(soql.format(watermark))["records"]
    assert [r["Id"] for r in changed] == [target]
    row = sf.Opportunity.get(target)
    assert (row["StageName"], row["Amount"], row["Probability"]) == ("Closed Won", 1234.5, 100.0)


def test_soql_errors_shaped_like_salesforce(sf: Any, emulation: SalesforceEmulation) -> None:
    malformed = _errors(sf, "SELECT Id FORM Opportunity")
    assert malformed[0]["errorCode"] == "MALFORMED_QUERY"
    assert "ERROR at Row:1:Column:11" in malformed[0]["message"]
    assert "unexpected token: FORM" in malformed[0]["message"]
    mixed = _errors(sf, "SELECT Id FROM Opportunity WHERE Amount > 1 AND Amount < 5 OR Amount = 3")
    assert mixed[0]["errorCode"] == "MALFORMED_QUERY"
    invalid_field = _errors(sf, "SELECT Id, Bogus__c FROM Opportunity")
    assert invalid_field[0]["errorCode"] == "INVALID_FIELD"
    assert "No such column 'Bogus__c' on entity 'Opportunity'" in invalid_field[0]["message"]
    relation = _errors(sf, "SELECT Nobody.Name FROM Opportunity")
    assert relation[0]["errorCode"] == "INVALID_FIELD"
    invalid_type = _errors(sf, "SELECT Id FROM Lead__x")
    assert invalid_type[0]["errorCode"] == "INVALID_TYPE"
    assert "sObject type 'Lead__x' is not supported" in invalid_type[0]["message"]
    quoted_date = _errors(sf, "SELECT Id FROM Opportunity WHERE CreatedDate > 2026-01-01")
    assert quoted_date[0]["errorCode"] == "INVALID_FIELD"
    assert "must be of type dateTime" in quoted_date[0]["message"]


def test_stage_and_currency_metadata(sf: Any, emulation: SalesforceEmulation) -> None:
    stages = sf.query(
        "SELECT ApiName, MasterLabel, IsClosed, IsWon, DefaultProbability, IsActive FROM OpportunityStage"
    )["records"]
    by_name = {s["ApiName"]: s for s in stages}
    assert by_name["Closed Won"]["IsWon"] is True and by_name["Closed Won"]["IsClosed"] is True
    assert by_name["Closed Lost"]["IsWon"] is False and by_name["Closed Lost"]["IsClosed"] is True
    assert by_name["Negotiation/Review"]["DefaultProbability"] == 80.0
    assert "Legacy - Pending Review" not in by_name
    currencies = sf.query("SELECT IsoCode, ConversionRate, IsCorporate FROM CurrencyType")["records"]
    assert {c["IsoCode"]: c["IsCorporate"] for c in currencies} == {"USD": True, "EUR": False, "GBP": False}
    rates = sf.query_all(
        "SELECT IsoCode, ConversionRate, StartDate, NextStartDate FROM DatedConversionRate WHERE IsoCode = 'EUR' ORDER BY StartDate"
    )["records"]
    assert rates[0]["StartDate"] == "0001-01-01" and rates[-1]["NextStartDate"] == "9999-12-31"
    assert all(a["NextStartDate"] == b["StartDate"] for a, b in itertools.pairwise(rates))
    partners = sf.query_all(
        "SELECT OpportunityId, AccountToId, IsPrimary, Role, AccountTo.Name FROM OpportunityPartner"
    )
    assert partners["totalSize"] > 0 and all(p["IsPrimary"] for p in partners["records"])


def test_bulk2_query(sandbox: Sandbox, sf: Any, emulation: SalesforceEmulation) -> None:
    pages = list(
        sf.bulk2.Opportunity.query(
            "SELECT Id, Amount, PartnerAccount.Name FROM Opportunity", max_records=4000, wait=0
        )
    )
    assert len(pages) == 3
    rows = [row for page in pages for row in csv.DictReader(io.StringIO(page))]
    live = sf.query("SELECT COUNT() FROM Opportunity")["totalSize"]
    assert len(rows) == live
    assert set(rows[0]) == {"Id", "Amount", "PartnerAccount.Name"}
    assert pages[0].startswith('"Id","Amount","PartnerAccount.Name"\n')
    assert sandbox.counters["salesforce.bulk2_query_create"] == 1
    assert sandbox.counters["salesforce.bulk2_query_results"] == 3
    limits = sf.limits()
    assert limits["DailyBulkV2QueryJobs"]["Remaining"] < limits["DailyBulkV2QueryJobs"]["Max"]
