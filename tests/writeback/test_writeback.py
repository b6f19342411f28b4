"""Writeback: values in the field's unit, the plan against the ledger and live values, apply + ledger."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError

from connectors.base import CheckResult, Connector, ConnectorConfig, FieldWriter, PullBatch
from connectors.fields import (
    FieldKind,
    FieldSpec,
    FieldUpdate,
    FieldValue,
    ProvisionResult,
    RecordError,
    WriteResult,
)
from kpi_core.result import DataQuality, Figure, GroupKey, GroupKind, GroupKpis, KpiResult, PeriodWindow
from writeback import (
    ConnectorWriteback,
    FieldMapping,
    Reason,
    apply_plan,
    canonical,
    desired_values,
    make_plan,
)
from writeback.values import canonical_live, score_breakdown, to_field_value

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
PERIOD = PeriodWindow(
    "last_90_days",
    date(2026, 11, 22),
    date(2026, 8, 25),
    date(2026, 11, 22),
    date(2026, 5, 27),
    date(2026, 8, 24),
)


def fig(value: object, prior: object = None) -> Figure:
    return Figure(value, prior, None, None)  # type: ignore[arg-type]


def partner_group(pid: str, score: float, revenue: str, win_rate: float | None) -> GroupKpis:
    return GroupKpis(
        group=GroupKey(GroupKind.PARTNER, pid),
        period=PERIOD,
        figures={
            "quality_score": fig(score),
            "won_revenue": fig(Decimal(revenue)),
            "win_rate": fig(win_rate),
            "pct_won_revenue": fig(0.82),
            "pct_deal_count": fig(0.64),
            "pct_win_rate_smoothed": fig(0.705),
        },
        low_sample=False,
    )


def result(*groups: GroupKpis) -> KpiResult:
    return KpiResult(date(2026, 11, 22), "USD", [PERIOD], list(groups), DataQuality())


WB = ConnectorWriteback(
    fields=[
        FieldMapping(field="Score__c", kpi="quality_score", period="last_90_days"),
        FieldMapping(field="Revenue__c", kpi="won_revenue", period="last_90_days", min_change=Decimal("100")),
        FieldMapping(field="WinRate__c", kpi="win_rate", period="last_90_days", on_null="keep"),
        FieldMapping(field="Updated__c", kpi="updated_at"),
    ]
)


def test_rates_become_percentage_points_rounded_to_scale() -> None:
    m = FieldMapping(field="W", kpi="win_rate", period="last_90_days")
    assert m.field_kind is FieldKind.PERCENT
    assert to_field_value(0.63154, m) == Decimal("63.15")


def test_money_is_rounded_half_up_to_the_field_scale() -> None:
    m = FieldMapping(field="R", kpi="won_revenue", period="last_90_days")
    assert to_field_value(Decimal("2360.905"), m) == Decimal("2360.91")


def test_score_has_one_decimal_and_counts_none() -> None:
    assert to_field_value(71.26, FieldMapping(field="S", kpi="quality_score", period="p")) == Decimal("71.3")
    assert to_field_value(12, FieldMapping(field="N", kpi="deal_count", period="p")) == Decimal("12")


def test_canonical_forms_compare_equal_across_types() -> None:
    assert canonical(Decimal("63.150")) == canonical(63.15) == "63.15"
    assert canonical(Decimal("0.00")) == "0"
    assert canonical(NOW) == "2026-11-22T12:00:00+00:00"
    assert canonical(None) is None


def test_a_live_datetime_answered_as_text_compares_as_the_instant_it_names() -> None:
    assert canonical_live("2026-11-22T12:00:00.000+0000", FieldKind.DATETIME) == canonical(NOW)
    assert canonical_live("2026-11-22T13:00:00+01:00", FieldKind.DATETIME) == canonical(NOW)
    assert canonical_live("not a time", FieldKind.DATETIME) == "not a time"
    assert canonical_live("2026-11-22T12:00:00.000+0000", FieldKind.TEXT) == "2026-11-22T12:00:00.000+0000"


def test_a_live_edit_of_a_datetime_field_is_seen_and_an_equal_one_is_not() -> None:
    wb = ConnectorWriteback(
        fields=[
            FieldMapping(field="Seen__c", kpi="updated_at"),
            FieldMapping(field="Won__c", kpi="won_revenue", period="last_90_days"),
        ]
    )
    later = datetime(2026, 11, 23, tzinfo=timezone.utc)
    same = make_plan(
        "c", {"P1": {"Seen__c": NOW}}, wb, {}, NOW, live={"P1": {"Seen__c": "2026-11-22T12:00:00.000+0000"}}
    )
    edited = make_plan(
        "c", {"P1": {"Seen__c": NOW}}, wb, {}, NOW, live={"P1": {"Seen__c": later.isoformat()}}
    )
    assert (same.unchanged, len(same.changes)) == (1, 0)
    assert "new" in [c.reason.value for c in edited.changes]


def test_unknown_kpi_and_missing_period_are_config_errors() -> None:
    with pytest.raises(ValidationError, match="unknown kpi 'velocity'"):
        FieldMapping(field="X", kpi="velocity", period="last_90_days")
    with pytest.raises(ValidationError, match="needs a period"):
        FieldMapping(field="X", kpi="deal_count")
    with pytest.raises(ValidationError, match="mapped twice"):
        ConnectorWriteback(
            fields=[FieldMapping(field="X", kpi="updated_at"), FieldMapping(field="X", kpi="updated_at")]
        )


def test_score_breakdown_reads_like_a_sentence() -> None:
    assert (
        score_breakdown(partner_group("p1", 70, "1", 0.5))
        == "Revenue p82 · Deals p64 · Win rate p70 (90 days)"
    )


def test_desired_values_keep_on_null_leaves_the_field_out() -> None:
    desired = desired_values(result(partner_group("p1", 71.26, "1000", None)), WB, ["p1"])
    assert desired["p1"] == {"Score__c": Decimal("71.3"), "Revenue__c": Decimal("1000.00")}


def test_partner_without_a_group_gets_nulls_cleared() -> None:
    desired = desired_values(result(), WB, ["p9"])
    assert desired["p9"] == {"Score__c": None, "Revenue__c": None}


def test_first_plan_writes_every_field_and_the_timestamp() -> None:
    desired = desired_values(result(partner_group("p1", 71.26, "1000", 0.5)), WB, ["p1"])
    plan = make_plan("crm", desired, WB, {}, NOW)
    assert {(c.field, c.reason) for c in plan.changes} == {
        ("Score__c", Reason.NEW),
        ("Revenue__c", Reason.NEW),
        ("WinRate__c", Reason.NEW),
        ("Updated__c", Reason.TIMESTAMP),
    }


def ledger_of(desired: Mapping[str, Mapping[str, FieldValue]]) -> dict[tuple[str, str], str | None]:
    return {(p, f): canonical(v) for p, vals in desired.items() for f, v in vals.items()}


def test_plan_against_a_matching_ledger_is_empty_no_timestamp_churn() -> None:
    desired = desired_values(result(partner_group("p1", 71.26, "1000", 0.5)), WB, ["p1"])
    plan = make_plan("crm", desired, WB, ledger_of(desired), NOW)
    assert plan.is_empty
    assert plan.unchanged == 3


def test_only_changed_fields_are_planned_with_before_and_after() -> None:
    before = desired_values(result(partner_group("p1", 71.26, "1000", 0.5)), WB, ["p1"])
    after = desired_values(result(partner_group("p1", 75.0, "1000", 0.5)), WB, ["p1"])
    plan = make_plan("crm", after, WB, ledger_of(before), NOW)
    assert [(c.field, c.before, c.after) for c in plan.changes] == [
        ("Score__c", "71.3", Decimal("75.0")),
        ("Updated__c", None, NOW),
    ]


def test_min_change_suppresses_small_moves() -> None:
    before = desired_values(result(partner_group("p1", 70, "1000", 0.5)), WB, ["p1"])
    after = desired_values(result(partner_group("p1", 70, "1050", 0.5)), WB, ["p1"])
    plan = make_plan("crm", after, WB, ledger_of(before), NOW)
    assert plan.is_empty and plan.below_min_change == 1


def test_a_field_edited_in_the_crm_is_rewritten_only_with_live_values() -> None:
    desired = desired_values(result(partner_group("p1", 70, "1000", 0.5)), WB, ["p1"])
    ledger = ledger_of(desired)
    assert make_plan("crm", desired, WB, ledger, NOW).is_empty
    live = {"p1": {"Score__c": Decimal("99"), "Revenue__c": Decimal("1000"), "WinRate__c": Decimal("50")}}
    plan = make_plan("crm", desired, WB, ledger, NOW, live)
    assert [(c.field, c.before, c.reason) for c in plan.changes] == [
        ("Score__c", "99", Reason.EDITED_IN_CRM),
        ("Updated__c", None, Reason.TIMESTAMP),
    ]


def test_unmapped_fields_are_never_planned() -> None:
    plan = make_plan("crm", {"p1": {"Secret__c": Decimal(1)}}, WB, {}, NOW)
    assert plan.is_empty


class FakeCrm(Connector[ConnectorConfig], FieldWriter):
    """A test double of the protocol (writeback logic only; real connectors are tested on the sandbox)."""

    type_name = "fake"
    config_model = ConnectorConfig

    def __init__(self, reject: dict[str, str] | None = None) -> None:
        super().__init__(ConnectorConfig(name="crm", type="fake"))
        self.reject = reject or {}
        self.calls: list[Sequence[FieldUpdate]] = []

    def check(self, specs: Sequence[FieldSpec] = ()) -> list[CheckResult]:
        return []

    def pull(self, watermark: str | None) -> Iterator[PullBatch]:
        return iter(())

    def read_fields(
        self, partner_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, FieldValue]]:
        return {}

    def write_fields(
        self, updates: Sequence[FieldUpdate], specs: Mapping[str, FieldSpec]
    ) -> list[WriteResult]:
        self.calls.append(updates)
        return [
            WriteResult(
                u.partner_id,
                False,
                (RecordError(self.reject[u.partner_id], "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Score__c"),),
            )
            if u.partner_id in self.reject
            else WriteResult(u.partner_id, True)
            for u in updates
        ]

    def provision_fields(self, specs: Sequence[FieldSpec]) -> list[ProvisionResult]:
        return []


def test_apply_records_only_confirmed_writes_and_lists_failures() -> None:
    groups = [partner_group(f"p{i}", 50 + i, "1000", 0.5) for i in range(5)]
    desired = desired_values(result(*groups), WB, [f"p{i}" for i in range(5)])
    plan = make_plan("crm", desired, WB, {}, NOW)
    crm = FakeCrm(reject={"p3": "Score must be below 60"})
    ledger: list[tuple[str, str, FieldValue]] = []
    outcome = apply_plan(plan, crm, WB.specs(), record=ledger.extend, chunk_size=2)
    assert len(crm.calls) == 3  # 5 partners in chunks of 2
    assert outcome.records_written == 4
    assert {p for p, _, _ in ledger} == {"p0", "p1", "p2", "p4"}
    assert [(f.partner_id, f.field, f.code) for f in outcome.failures] == [
        ("p3", "Score__c", "FIELD_CUSTOM_VALIDATION_EXCEPTION")
    ]
    # The failed partner stays out of the ledger, so the next plan retries it (and only it).
    next_plan = make_plan("crm", desired, WB, {(p, f): canonical(v) for p, f, v in ledger}, NOW)
    assert {c.partner_id for c in next_plan.changes} == {"p3"}


def test_a_value_that_does_not_fit_the_field_is_never_written_as_garbage() -> None:
    m = FieldMapping(field="R", kpi="won_revenue", period="last_90_days", precision=10)
    assert to_field_value(Decimal("12345678.99"), m) == Decimal("12345678.99")
    assert to_field_value(Decimal("123456789.00"), m) is None  # 9 integer digits > 10 - 2
    assert to_field_value(Decimal("1E+9999"), FieldMapping(field="R", kpi="won_revenue", period="p")) is None


def test_a_mapping_can_write_the_change_against_last_year() -> None:
    won = Figure(Decimal(1200), Decimal(1000), Decimal(200), 0.2, Decimal(800), Decimal(400), 0.5)
    group = GroupKpis(group=GroupKey(GroupKind.PARTNER, "p1"), period=PERIOD, figures={"won_revenue": won})
    wb = ConnectorWriteback(
        fields=[
            FieldMapping(field="RevLY__c", kpi="won_revenue", period="last_90_days", value="last_year"),
            FieldMapping(
                field="RevVsLY__c", kpi="won_revenue", period="last_90_days", value="change_vs_last_year"
            ),
            FieldMapping(
                field="RevVsLYPct__c",
                kpi="won_revenue",
                period="last_90_days",
                value="change_pct_vs_last_year",
            ),
        ]
    )
    desired = desired_values(result(group), wb, ["p1"])
    assert desired["p1"] == {
        "RevLY__c": Decimal("800.00"),
        "RevVsLY__c": Decimal("400.00"),
        "RevVsLYPct__c": Decimal("50.00"),
    }
    assert wb.fields[2].field_kind.value == "percent"
