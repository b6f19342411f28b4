"""Bad input, fuzzed: values that could change a SOQL query, and CRM records with wrong types, nulls, huge
strings, unknown stages, bad amounts, malformed dates, unknown currencies and duplicate ids."""

from __future__ import annotations

import csv
import json
import math
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.salesforce import normalize, soql
from connectors.salesforce.normalize import OpportunityShape, StageMeta
from kpi_core.money import RateTable
from kpi_core.schema import Opportunity, Status
from partnerkpi.config import load_config
from partnerkpi.pipeline import sync_connector
from partnerkpi.sandbox.salesforce.soql import BoolOp, Comparison, parse
from partnerkpi.state import StateStore
from tests.reliability.harness import quiet

values = st.text(max_size=60) | st.sampled_from(
    ["'", "\\", "\\'", "' OR Name != '", "x' OR IsPartner = false OR Name = 'y", "\n", "%_"]
)


# -- SOQL ----------------------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(value=values)
def test_a_quoted_value_is_one_literal_whatever_it_holds(value: str) -> None:
    query = soql.select(
        ["Id"], "Account", where=[soql.condition("Name", "=", value), soql.condition("IsPartner", "=", True)]
    )
    where = parse(query).where
    assert isinstance(where, BoolOp) and where.op.lower() == "and" and len(where.items) == 2
    first, second = where.items
    assert isinstance(first, Comparison) and first.field.dotted == "Name" and first.op == "="
    assert not isinstance(first.value, tuple) and first.value.kind == "string" and first.value.value == value
    assert isinstance(second, Comparison) and second.field.dotted == "IsPartner"


@settings(max_examples=150, deadline=None)
@given(items=st.lists(values, min_size=1, max_size=6))
def test_an_in_list_of_quoted_values_keeps_its_length(items: list[str]) -> None:
    where = parse(soql.select(["Id"], "Opportunity", where=[soql.is_in("Id", items)])).where
    assert isinstance(where, Comparison) and where.op.upper() == "IN"
    assert isinstance(where.value, tuple) and [v.value for v in where.value] == items


@settings(max_examples=150, deadline=None)
@given(name=st.text(max_size=30))
def test_a_name_that_is_not_an_api_name_is_refused(name: str) -> None:
    try:
        checked = soql.name(name)
    except soql.SoqlError:
        return
    assert checked == name and all(part.replace("_", "").isalnum() for part in name.split("."))


def test_a_hostile_partner_name_finds_nothing_against_the_sandbox(sandbox: Any) -> None:
    emulation = sandbox.emulation("salesforce")
    every = emulation.admin("state", {"object": "Account", "soql": "SELECT Id FROM Account"})
    assert every
    hostile = "x' OR Name != 'x"
    query = soql.select(["Id"], "Account", where=[soql.condition("Name", "=", hostile)])
    assert emulation.admin("state", {"object": "Account", "soql": query}) == []
    unescaped = f"SELECT Id FROM Account WHERE Name = '{hostile}'"
    assert len(emulation.admin("state", {"object": "Account", "soql": unescaped})) == len(every)


# -- Salesforce records --------------------------------------------------------------------------------
junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.integers(min_value=1, max_value=20).map(lambda n: "9x-" * 500 * n),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from(
        ["-100", "1e9999", "NaN", "Infinity", "12,5", "2026-02-30", "2026-13-01T00:00:00Z", "XXX"]
    ),
)
STAGES = {"Closed Won": StageMeta(True, True, 1.0), "Prospecting": StageMeta(False, False, 0.1)}
RATES = RateTable("USD", static={"USD": Decimal(1), "EUR": Decimal("0.9")})
SHAPE = OpportunityShape("PartnerAccountId", "LeadSource", True, "UTC", "USD")
FIELDS = ["StageName", "Amount", "CloseDate", "CreatedDate", "Probability", "SystemModstamp",
          "PartnerAccountId", "LeadSource", "CurrencyIsoCode"]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    record=st.fixed_dictionaries({"Id": st.text(min_size=1, max_size=18)}, optional={f: junk for f in FIELDS})
)
def test_a_salesforce_record_with_junk_normalizes_to_well_typed_values(record: dict[str, Any]) -> None:
    now = datetime(2026, 10, 31, tzinfo=timezone.utc)
    opp = normalize.Normalizer(
        shape=SHAPE, stages=STAGES, rates=RATES, today=date(2026, 10, 31), fallback_modified=now
    ).opportunity(record)
    assert isinstance(opp, Opportunity) and opp.id == record["Id"]
    for amount in (opp.amount, opp.amount_original):
        assert amount is None or (isinstance(amount, Decimal) and amount.is_finite())
    stage = record.get("StageName")
    if not isinstance(stage, str) or stage.strip() not in STAGES:
        assert opp.status is None  # an unknown stage is not guessed
    if opp.amount is not None:
        assert opp.currency in ("USD", "EUR")  # an unknown currency is never converted
    for day in (opp.created_on, opp.closed_on, opp.expected_close_on):
        assert day is None or type(day) is date
    assert opp.modified_at.tzinfo is not None
    assert opp.probability is None or (math.isfinite(opp.probability) and 0 <= opp.probability <= 1)


# -- the whole run, through the file connector -------------------------------------------------------------
KNOWN = {"Won": "won", "Lost": "lost", "Open": "open"}
rows = st.lists(
    st.fixed_dictionaries(
        {
            "opportunity_id": st.sampled_from(["", "o1", "o2", "o3", "o4"]) | st.text(min_size=1, max_size=8),
            "partner_id": st.sampled_from(["p1", "p2", ""]) | st.integers(1, 3).map(lambda n: "P" * 4000 * n),
            "stage": st.sampled_from([*KNOWN, "Teleported", "", "won "]),
            "amount": st.sampled_from(
                ["100", "2500.50", "-40", "abc", "", "1e9999", "NaN", "99999999999999999999"]
            ),
            "currency": st.sampled_from(["USD", "EUR", "XXX", "", "usd", "💶"]),
            "created_at": st.sampled_from(["2026-09-01", "2026-02-30", "yesterday", "", "2026-10-01"]),
            "close_date": st.sampled_from(["2026-10-15", "31.10.2026", "", "2026-10-32"]),
        }
    ),
    min_size=1,
    max_size=25,
)
CONFIG = {
    "version": 1,
    "kpi": {"reporting_currency": "USD", "timezone": "UTC", "periods": ["last_90_days"]},
    "connectors": [
        {
            "name": "export",
            "type": "file",
            "path": "opps.csv",
            "columns": {
                "id": "opportunity_id",
                "partner": "partner_id",
                "stage": "stage",
                "amount": "amount",
                "currency": "currency",
                "created": "created_at",
                "closed": "close_date",
            },
            "stages": KNOWN,
            "rates": {"EUR": 0.92},
            "output_path": "out.csv",
        }
    ],
    "writeback": {
        "export": {
            "fields": [
                {"field": "score", "kpi": "quality_score", "period": "last_90_days"},
                {"field": "revenue", "kpi": "won_revenue", "period": "last_90_days"},
                {"field": "win_rate", "kpi": "win_rate", "period": "last_90_days"},
                {"field": "deals", "kpi": "deal_count", "period": "last_90_days"},
            ]
        }
    },
}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=rows)
def test_a_bad_export_is_counted_and_the_run_goes_on_writing_nothing_invalid(
    tmp_path_factory: Any, records: list[dict[str, str]]
) -> None:
    work: Path = tmp_path_factory.mktemp("export")
    with (work / "opps.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    (work / "partnerkpi.yaml").write_text(
        yaml.safe_dump({**CONFIG, "state": {"url": f"sqlite:///{work / 'state.sqlite'}"}})
    )
    cfg = load_config(work / "partnerkpi.yaml")
    store = StateStore.open(cfg.state.url)
    run = sync_connector(cfg, store, "export", quiet(), as_of=date(2026, 10, 31))
    assert (run.status, run.exit_code) == ("ok", 0), run.message

    last = {r["opportunity_id"].strip(): r for r in records if r["opportunity_id"].strip()}
    assert run.counts["source_skipped_rows"] == sum(1 for r in records if not r["opportunity_id"].strip())
    assert run.counts["source_duplicate_ids"] == sum(1 for r in records if r["opportunity_id"].strip()) - len(
        last
    )
    unknown = sum(1 for r in last.values() if r["stage"].strip() not in KNOWN)
    assert run.data_quality["unknown_stage"] == unknown
    stored = {o.id: o for o in store.iter_opportunities("export")}
    assert set(stored) == set(last)
    for opp in stored.values():
        assert opp.status in (Status.WON, Status.LOST, Status.OPEN, None)
        assert opp.amount is None or opp.amount.is_finite()

    for (partner, field), raw in store.ledger("export").items():
        value = json.loads(raw) if isinstance(raw, str) else raw
        if value is None:
            continue
        number = Decimal(str(value))
        assert number.is_finite(), (partner, field, value)
        if field == "score":
            assert 0 <= number <= 100
        if field == "win_rate":
            assert 0 <= number <= 100  # percent points
        if field in ("revenue", "deals"):
            assert number >= 0
    store.close()
