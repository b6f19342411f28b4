"""Writeback of the tier (docs/kpis.md, "Partner tiers"): ``kpi: tier`` into a text field,
``kpi: tier_reached_on`` into a date-time (midnight UTC) or text (ISO date) field; no period needed."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timezone

import pytest
from pydantic import ValidationError

from connectors.fields import FieldKind
from kpi_core.result import GroupKpis, TierStanding
from tests.writeback.test_writeback import partner_group, result
from writeback import ConnectorWriteback, FieldMapping, desired_values

GOLD = TierStanding("Gold", date(2026, 10, 1), "Silver")


def tiered(pid: str, standing: TierStanding | None) -> GroupKpis:
    return dataclasses.replace(partner_group(pid, 71.26, "1000", 0.5), tier=standing)


WB = ConnectorWriteback(
    fields=[
        FieldMapping(field="Tier__c", kpi="tier"),
        FieldMapping(field="Tier_Since__c", kpi="tier_reached_on"),
        FieldMapping(field="Tier_Since_Text__c", kpi="tier_reached_on", kind=FieldKind.TEXT),
    ]
)


def test_the_tier_is_text_and_its_day_a_datetime_at_midnight_utc_or_iso_text() -> None:
    assert [m.field_kind for m in WB.fields] == [FieldKind.TEXT, FieldKind.DATETIME, FieldKind.TEXT]
    desired = desired_values(result(tiered("p1", GOLD)), WB, ["p1"])
    assert desired["p1"] == {
        "Tier__c": "Gold",
        "Tier_Since__c": datetime(2026, 10, 1, tzinfo=timezone.utc),
        "Tier_Since_Text__c": "2026-10-01",
    }


def test_no_tier_clears_the_fields() -> None:
    desired = desired_values(result(tiered("p1", TierStanding(None, None, "Silver"))), WB, ["p1"])
    assert desired["p1"] == {"Tier__c": None, "Tier_Since__c": None, "Tier_Since_Text__c": None}


def test_a_tier_mapping_holds_the_value_in_a_field_of_its_kind() -> None:
    with pytest.raises(ValidationError, match="tier has no change"):
        FieldMapping(field="T__c", kpi="tier", value="change")
    with pytest.raises(ValidationError, match="tier goes into a text field, not number"):
        FieldMapping(field="T__c", kpi="tier", kind=FieldKind.NUMBER)
    with pytest.raises(ValidationError, match="tier_reached_on goes into a datetime or text field"):
        FieldMapping(field="T__c", kpi="tier_reached_on", kind=FieldKind.NUMBER)
