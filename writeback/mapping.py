"""Field mappings: which KPI of which period lands in which CRM field on the partner record, and how."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

from connectors.base import FieldKind, FieldSpec

SPECIAL_KPIS = ("updated_at", "period_label", "score_breakdown")
"""Not figures: when the partner's values last changed, the period's label, a readable score breakdown."""

CURRENCY_FIGURES = frozenset(
    {"won_revenue", "avg_deal_size", "open_amount", "weighted_amount", "pipeline_change", "deal_velocity"}
)
COUNT_FIGURES = frozenset({"deal_count", "open_count", "closed_count", "cohort_open", "created_count"})
RATE_FIGURES = frozenset(
    {
        "close_rate",
        "win_rate",
        "win_rate_smoothed",
        "pipeline_change_pct",
        "coverage",
        "revenue_share",
        "pct_won_revenue",
        "pct_deal_count",
        "pct_win_rate_smoothed",
    }
)
SCORE_FIGURES = frozenset({"quality_score", "avg_cycle_days"})
ALL_FIGURES = CURRENCY_FIGURES | COUNT_FIGURES | RATE_FIGURES | SCORE_FIGURES
CHANNEL_FIGURES = frozenset({"deal_count", "won_revenue", "revenue_share", "close_rate", "win_rate"})
SEGMENTS = ("paid", "earned", "owned", "unclassified")

ValuePart = Literal["value", "prior", "change", "change_pct"]


def figure_name(kpi: str) -> str:
    """``channels.paid.won_revenue`` -> ``won_revenue``; a plain figure name is itself."""
    return kpi.rsplit(".", 1)[-1]


def default_kind(kpi: str, part: ValuePart) -> FieldKind:
    if kpi == "updated_at":
        return FieldKind.DATETIME
    if kpi in ("period_label", "score_breakdown"):
        return FieldKind.TEXT
    if part == "change_pct":
        return FieldKind.PERCENT
    name = figure_name(kpi)
    if name in CURRENCY_FIGURES:
        return FieldKind.CURRENCY
    if name in RATE_FIGURES:
        return FieldKind.PERCENT
    return FieldKind.NUMBER


def default_scale(kpi: str, kind: FieldKind) -> int:
    name = figure_name(kpi)
    if kind is FieldKind.NUMBER:
        return 0 if name in COUNT_FIGURES else 1
    if kind in (FieldKind.CURRENCY, FieldKind.PERCENT):
        return 2
    return 0


class FieldMapping(BaseModel):
    """One CRM field: ``kpi`` (a figure of kpis.md, ``channels.<segment>.<figure>``, or one of
    updated_at / period_label / score_breakdown) of ``period``, its ``value`` part, into ``field``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(min_length=1, description="The CRM field's API name, e.g. PK_Quality_Score__c.")
    kpi: str
    period: str | None = Field(default=None, description="A period of kpi.periods; not for updated_at.")
    value: ValuePart = "value"
    kind: FieldKind | None = None
    label: str | None = None
    description: str | None = None
    precision: int = Field(default=18, ge=1, le=18)
    scale: int | None = Field(default=None, ge=0, le=8)
    length: int = Field(default=255, ge=1, le=32768)
    on_null: Literal["clear", "keep"] = "clear"
    min_change: Decimal | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _check(self) -> FieldMapping:
        if self.kpi.startswith("channels."):
            parts = self.kpi.split(".")
            if len(parts) != 3 or parts[1] not in SEGMENTS or parts[2] not in CHANNEL_FIGURES:
                raise ValueError(
                    f"kpi {self.kpi!r}: expected channels.<{'|'.join(SEGMENTS)}>.<{'|'.join(sorted(CHANNEL_FIGURES))}>"
                )
        elif self.kpi not in ALL_FIGURES and self.kpi not in SPECIAL_KPIS:
            known = ", ".join(sorted(ALL_FIGURES | set(SPECIAL_KPIS)))
            raise ValueError(f"unknown kpi {self.kpi!r} (known: {known}, channels.<segment>.<figure>)")
        if self.kpi != "updated_at" and self.period is None:
            raise ValueError(f"kpi {self.kpi!r} needs a period")
        return self

    @property
    def field_kind(self) -> FieldKind:
        return self.kind or default_kind(self.kpi, self.value)

    @property
    def field_scale(self) -> int:
        return self.scale if self.scale is not None else default_scale(self.kpi, self.field_kind)

    def spec(self) -> FieldSpec:
        period = f" ({self.period.replace('_', ' ')})" if self.period else ""
        return FieldSpec(
            name=self.field,
            label=self.label or f"Partner {self.kpi.replace('_', ' ').replace('.', ' ')}{period}",
            kind=self.field_kind,
            description=self.description or _describe(self),
            precision=self.precision,
            scale=self.field_scale,
            length=self.length,
        )


def _describe(m: FieldMapping) -> str:
    if m.kpi == "updated_at":
        return "When partnerkpi last changed this partner's KPI values. Set by partnerkpi; do not edit."
    period = (m.period or "").replace("_", " ")
    part = {
        "value": "",
        "prior": " in the prior period",
        "change": ", change against the prior period",
        "change_pct": ", relative change against the prior period",
    }[m.value]
    return (
        f"{m.kpi.replace('_', ' ')} ({period}){part}. Computed by partnerkpi from opportunities; do not edit."
    )


class ConnectorWriteback(BaseModel):
    """The writeback of one connector."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: list[FieldMapping] = Field(default_factory=list)
    verify_live: bool = Field(
        default=False,
        description="Compare against the CRM's live values too, to rewrite fields people edited.",
    )
    enabled: bool = True

    @model_validator(mode="after")
    def _unique(self) -> ConnectorWriteback:
        seen: set[str] = set()
        for m in self.fields:
            if m.field in seen:
                raise ValueError(f"field {m.field!r} is mapped twice")
            seen.add(m.field)
        return self

    def specs(self) -> dict[str, FieldSpec]:
        return {m.field: m.spec() for m in self.fields}


class WritebackConfig(RootModel[dict[str, ConnectorWriteback]]):
    """``writeback:`` in the YAML: connector name -> its mappings."""

    root: dict[str, ConnectorWriteback] = Field(default_factory=dict)

    def for_connector(self, name: str) -> ConnectorWriteback | None:
        return self.root.get(name)
