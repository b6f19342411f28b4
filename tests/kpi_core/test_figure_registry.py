"""The KPI figure registry is the one list of figures: compute() returns exactly its figures, and the
writeback, the report's formatting, the JSON schema doc and the config's JSON Schema know every one of
them. Adding a figure is one registry entry plus its formula; these tests say what else is missing."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from connectors.fields import FieldKind
from kpi_core import SEGMENT_FIGURES, SEGMENTS, FigureScope, KpiFigure, Status, Unit
from kpi_core.registry import figure_names, segment_kpis
from kpi_core.result import GroupKind, KpiResult, Number
from partnerkpi.config import config_json_schema
from partnerkpi.reports import fmt
from tests.kpi_core.builders import opp, run
from writeback.mapping import FieldMapping, default_kind, default_scale, kpi_problem

SCHEMA_DOC = Path(__file__).resolve().parents[2] / "docs" / "output-schema.md"
SAMPLE: dict[Unit, Number] = {
    Unit.MONEY: Decimal("1234.5"),
    Unit.RATE: 0.25,
    Unit.COUNT: 1234,
    Unit.DAYS: 12.25,
    Unit.SCORE: 87.5,
}
"""A value of each unit, as compute() types it."""


@pytest.fixture(scope="module")
def result() -> KpiResult:
    """Two partners with won, lost, open and channel-tagged deals: every figure is defined somewhere."""
    opps = [
        opp(Status.WON, partner="p1", amount=300, created=date(2024, 3, 1), channel="PAID_SEARCH"),
        opp(Status.LOST, partner="p1", amount=100, created=date(2024, 3, 2)),
        opp(Status.OPEN, partner="p2", amount=500, created=date(2024, 3, 3), probability=0.5),
        opp(Status.WON, partner=None, amount=200, created=date(2024, 3, 4)),
    ]
    return run(opps, periods=["last_30_days"], partners=["p1", "p2"])


def test_every_figure_compute_returns_is_in_the_registry_and_every_registry_figure_is_returned(
    result: KpiResult,
) -> None:
    every = {f.value for f in KpiFigure if f.scope is FigureScope.EVERY_GROUP}
    partner_only = {f.value for f in KpiFigure if f.scope is FigureScope.PARTNER_GROUPS}
    for group in result.groups:
        expected = every | partner_only if group.group.kind is GroupKind.PARTNER else every
        assert set(group.figures) == expected, group.group
        assert list(group.channels) == list(SEGMENTS)
        for segment, figures in group.channels.items():
            assert set(figures) == {f.value for f in SEGMENT_FIGURES}, (group.group, segment)


def test_a_figure_whose_description_says_partners_only_or_per_segment_only_has_that_scope() -> None:
    for f in KpiFigure:
        assert f.description.startswith("partners only:") == (f.scope is FigureScope.PARTNER_GROUPS), f
        assert f.description.startswith("per segment only:") == (f.scope is FigureScope.SEGMENTS_ONLY), f
        if f.scope is FigureScope.SEGMENTS_ONLY:
            assert f.per_segment, f
        assert "\n" not in f.description and f.description == f.description.strip(), f


@pytest.mark.parametrize("figure", list(KpiFigure), ids=str)
def test_every_figure_is_mappable_in_writeback_with_its_units_kind_and_scale(figure: KpiFigure) -> None:
    kinds = {
        Unit.MONEY: FieldKind.CURRENCY,
        Unit.RATE: FieldKind.PERCENT,
        Unit.COUNT: FieldKind.NUMBER,
        Unit.DAYS: FieldKind.NUMBER,
        Unit.SCORE: FieldKind.NUMBER,
    }
    kpis = [figure.value] + (
        [f"channels.{s.value}.{figure.value}" for s in SEGMENTS] if figure.per_segment else []
    )
    for kpi in kpis:
        assert kpi_problem(kpi) is None
        mapping = FieldMapping(field="PK_X__c", kpi=kpi, period="last_30_days")
        assert mapping.field_kind is kinds[figure.unit] == default_kind(kpi, "value")
        assert mapping.field_scale == figure.scale == default_scale(kpi, mapping.field_kind)
        change_pct = FieldMapping(field="PK_X__c", kpi=kpi, period="last_30_days", value="change_pct")
        assert change_pct.field_kind is FieldKind.PERCENT and change_pct.field_scale == 2
    if not figure.per_segment:
        assert kpi_problem(f"channels.paid.{figure.value}") is not None


def test_the_default_scales_are_the_ones_writeback_always_used() -> None:
    """Money and rates keep cents and hundredths of a percentage point, counts are whole, days and the
    score keep one decimal: the values already written into CRM fields stay comparable."""
    by_unit = {Unit.MONEY: 2, Unit.RATE: 2, Unit.COUNT: 0, Unit.DAYS: 1, Unit.SCORE: 1}
    assert {f.value: f.scale for f in KpiFigure} == {f.value: by_unit[f.unit] for f in KpiFigure}


def test_a_field_of_another_kind_than_its_figure_takes_that_kinds_scale() -> None:
    as_number = FieldMapping(field="PK_X__c", kpi="win_rate", period="last_30_days", kind=FieldKind.NUMBER)
    assert as_number.field_scale == 1
    count_as_currency = FieldMapping(
        field="PK_X__c", kpi="deal_count", period="last_30_days", kind=FieldKind.CURRENCY
    )
    assert count_as_currency.field_scale == 2


@pytest.mark.parametrize("figure", list(KpiFigure), ids=str)
def test_every_figure_has_a_formatter_for_its_unit(figure: KpiFigure) -> None:
    assert set(fmt.UNIT_FORMAT) == set(Unit)
    text = fmt.figure(figure, SAMPLE[figure.unit])
    assert text != fmt.DASH and any(ch.isdigit() for ch in text)
    assert fmt.figure(figure, None) == fmt.DASH


def test_the_formatters_read_each_unit_as_the_report_always_did() -> None:
    shown = {unit: fmt.figure(next(f for f in KpiFigure if f.unit is unit), SAMPLE[unit]) for unit in Unit}
    assert shown == {
        Unit.MONEY: "1,235",
        Unit.RATE: "25.0%",
        Unit.COUNT: "1,234",
        Unit.DAYS: "12.2",
        Unit.SCORE: "87.5",
    }
    assert fmt.figure(KpiFigure.DEAL_COUNT, 1234, count_separators=False) == "1234"


def _doc_table() -> list[tuple[str, str, str, str]]:
    text = SCHEMA_DOC.read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)` \| (\w+) \| (yes|no) \| (.+) \|$", text, re.M)
    return [(name, unit, segment, meaning) for name, unit, segment, meaning in rows]


def test_the_json_schema_doc_lists_every_figure_with_its_unit_and_description_in_registry_order() -> None:
    expected = [(f.value, f.unit.value, "yes" if f.per_segment else "no", f.description) for f in KpiFigure]
    assert _doc_table() == expected, "docs/output-schema.md's figure table:\n" + "\n".join(
        f"| `{n}` | {u} | {s} | {d} |" for n, u, s, d in expected
    )


def test_the_json_schema_doc_names_the_segments_and_the_per_segment_figures() -> None:
    text = SCHEMA_DOC.read_text(encoding="utf-8")
    paragraph = text[text.index("`channels` holds") :].split("\n\n", 1)[0]
    named = re.findall(r"`(\w+)`", paragraph)
    assert [n for n in named if n in {s.value for s in SEGMENTS}] == [s.value for s in SEGMENTS]
    assert {n for n in named if n in figure_names()} == {f.value for f in SEGMENT_FIGURES}


def _kpi_enum() -> list[str]:
    kpi = config_json_schema()["$defs"]["FieldMapping"]["properties"]["kpi"]
    assert kpi["type"] == "string"
    return list(kpi["enum"])


def test_the_config_json_schema_offers_every_figure_and_per_segment_figure_as_a_kpi() -> None:
    offered = _kpi_enum()
    assert len(offered) == len(set(offered))
    assert set(figure_names()) <= set(offered)
    assert set(segment_kpis()) <= set(offered)
    assert {f"channels.{s.value}.{f.value}" for s in SEGMENTS for f in SEGMENT_FIGURES} <= set(offered)


def test_the_config_json_schema_offers_exactly_what_the_config_accepts() -> None:
    offered = _kpi_enum()
    for kpi in offered:
        FieldMapping(field="PK_X__c", kpi=kpi, period=None if kpi == "updated_at" else "last_30_days")
    near_misses = [
        *(f"{k}s" for k in offered),
        *(f"channels.{s.value}.avg_deal_size" for s in SEGMENTS),
        "channels.paid",
        "channels.direct.win_rate",
        "WIN_RATE",
    ]
    for kpi in near_misses:
        assert kpi not in offered
        with pytest.raises(ValidationError):
            FieldMapping(field="PK_X__c", kpi=kpi, period="last_30_days")
