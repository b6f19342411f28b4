"""Writeback of influenced figures (docs/kpis.md, "Sourced and influenced"): ``attribution: influenced``
maps a money or count figure over the deals the partner took part in; needs kpi.attribution influenced."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from kpi_core.result import Figure
from tests.partnerkpi.test_config_mapping import CONNECTORS, FIRST_WRITEBACK_LINE, load, problems
from tests.writeback.test_writeback import partner_group, result
from writeback import ConnectorWriteback, FieldMapping, desired_values

WB = ConnectorWriteback(
    fields=[
        FieldMapping(field="Won__c", kpi="won_revenue", period="last_90_days"),
        FieldMapping(field="Infl_Won__c", kpi="won_revenue", period="last_90_days", attribution="influenced"),
        FieldMapping(
            field="Infl_Deals_Chg__c", kpi="deal_count", period="last_90_days", attribution="influenced",
            value="change",
        ),
    ]
)  # fmt: skip


def test_an_influenced_mapping_writes_the_groups_influenced_figure_and_a_sourced_one_the_sourced() -> None:
    group = partner_group("p1", 71.26, "1000", 0.5)
    assert group.period.name == "last_90_days"
    influenced = {
        "won_revenue": Figure(Decimal("1500.004"), Decimal(900), Decimal("600.004"), 0.6667),
        "deal_count": Figure(5, 3, 2, 0.6667),
    }
    desired = desired_values(result(dataclasses.replace(group, influenced=influenced)), WB, ["p1"])
    assert desired["p1"] == {
        "Won__c": Decimal("1000.00"),
        "Infl_Won__c": Decimal("1500.00"),
        "Infl_Deals_Chg__c": 2,
    }


def test_an_influenced_mapping_is_empty_when_the_result_has_no_influenced_figures() -> None:
    desired = desired_values(result(partner_group("p1", 71.26, "1000", 0.5)), WB, ["p1"])
    assert desired["p1"]["Infl_Won__c"] is None


def test_only_money_and_count_figures_have_an_influenced_version() -> None:
    with pytest.raises(ValidationError, match="attribution: win_rate has no influenced version"):
        FieldMapping(field="W__c", kpi="win_rate", period="last_90_days", attribution="influenced")
    with pytest.raises(ValidationError, match="has no influenced version"):
        FieldMapping(
            field="W__c", kpi="channels.paid.won_revenue", period="last_90_days", attribution="influenced"
        )


def test_an_influenced_fields_label_and_description_say_so() -> None:
    spec = WB.fields[1].spec()
    assert spec.label == "Partner influenced won revenue (last 90 days)"
    assert "over the deals the partner took part in" in spec.description


def test_an_influenced_mapping_needs_kpi_attribution_influenced(tmp_path: Path) -> None:
    mapping = """
        sf:
          fields:
            - {field: PK_Won_Revenue__c, kpi: won_revenue, period: quarter_to_date}
            - {field: PK_Infl_Revenue__c, kpi: won_revenue, period: quarter_to_date, attribution: influenced}
        """
    assert problems(tmp_path, mapping) == [
        "writeback.sf.fields[1].attribution: attribution influenced needs kpi.attribution to include "
        f"influenced: the field would always be empty (partnerkpi.yaml:{FIRST_WRITEBACK_LINE + 3})"
    ]
    head = CONNECTORS.replace(
        "previous_quarter]\n", "previous_quarter]\n  attribution: [sourced, influenced]\n"
    )
    sf = load(tmp_path, mapping, head).writeback.for_connector("sf")
    assert sf is not None and sf.fields[1].attribution == "influenced"
