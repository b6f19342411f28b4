"""Field mappings: which KPI of which period lands in which CRM field on the partner record, and how."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

from connectors.fields import FieldKind, FieldSpec
from kpi_core.registry import INFLUENCED_FIGURES, SEGMENT_FIGURES, KpiFigure, Unit, figure_names, segment_kpis
from kpi_core.result import LAST_YEAR_PARTS as FIGURE_LAST_YEAR_PARTS
from kpi_core.schema import SEGMENTS as SEGMENT_MEMBERS

SPECIAL_KPIS = ("updated_at", "period_label", "score_breakdown", "tier", "tier_reached_on")
"""Not figures: when the partner's values last changed, the period's label, a readable score breakdown,
the partner's tier and the day it was reached (with kpi.tiers)."""
TIER_KPIS = frozenset({"tier", "tier_reached_on"})
"""The same in every period: a mapping of them needs no period, and holds their value only."""
TIER_KINDS = {"tier": (FieldKind.TEXT,), "tier_reached_on": (FieldKind.DATETIME, FieldKind.TEXT)}
"""A tier is its name; its date a date-time at midnight UTC, or the ISO date as text."""

UNIT_KIND: dict[Unit, FieldKind] = {
    Unit.MONEY: FieldKind.CURRENCY,
    Unit.RATE: FieldKind.PERCENT,
    Unit.COUNT: FieldKind.NUMBER,
    Unit.DAYS: FieldKind.NUMBER,
    Unit.SCORE: FieldKind.NUMBER,
}
"""The kind of CRM field a figure of each unit lands in unless its mapping says otherwise."""

KIND_SCALE: dict[FieldKind, int] = {
    FieldKind.CURRENCY: 2,
    FieldKind.PERCENT: 2,
    FieldKind.NUMBER: 1,
    FieldKind.TEXT: 0,
    FieldKind.DATETIME: 0,
}
"""The scale of a field whose kind is not its figure's own (a change_pct, a kind the mapping chose)."""

ALL_FIGURES = frozenset(figure_names())
CHANNEL_FIGURES = frozenset(f.value for f in SEGMENT_FIGURES)
SEGMENTS = tuple(segment.value for segment in SEGMENT_MEMBERS)
KNOWN_KPIS: tuple[str, ...] = (*figure_names(), *segment_kpis(), *SPECIAL_KPIS)
"""Every value a mapping's ``kpi`` accepts (the config's JSON Schema lists them)."""

ValuePart = Literal[
    "value",
    "prior",
    "change",
    "change_pct",
    "last_year",
    "change_vs_last_year",
    "change_pct_vs_last_year",
]
"""Which part of a figure a field holds (kpi_core.Figure's attributes; the last-year ones need
``kpi.compare_to: last_year``)."""
LAST_YEAR_PARTS = frozenset(FIGURE_LAST_YEAR_PARTS)
INFLUENCED_KPIS = frozenset(f.value for f in INFLUENCED_FIGURES)
"""The figures a mapping may take with ``attribution: influenced``."""


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` when one of ``choices`` is close to ``word``, else ``""``."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def figure_name(kpi: str) -> str:
    """``channels.paid.won_revenue`` -> ``won_revenue``; a plain figure name is itself."""
    return kpi.rsplit(".", 1)[-1]


def default_kind(kpi: str, part: ValuePart) -> FieldKind:
    if kpi == "updated_at":
        return FieldKind.DATETIME
    if kpi in ("period_label", "score_breakdown", "tier"):
        return FieldKind.TEXT
    if kpi == "tier_reached_on":
        return FieldKind.DATETIME
    if part in ("change_pct", "change_pct_vs_last_year"):
        return FieldKind.PERCENT
    figure = KpiFigure.lookup(figure_name(kpi))
    return UNIT_KIND[figure.unit] if figure is not None else FieldKind.NUMBER


def default_scale(kpi: str, kind: FieldKind) -> int:
    """The figure's own scale in a field of its own kind, else the kind's."""
    figure = KpiFigure.lookup(figure_name(kpi))
    if figure is not None and kind is UNIT_KIND[figure.unit]:
        return figure.scale
    return KIND_SCALE[kind]


def kpi_problem(kpi: str) -> str | None:
    """What is wrong with a mapping's ``kpi`` (an unknown figure, segment or channel figure), or None."""
    if kpi.startswith("channels."):
        parts = kpi.split(".")
        shape = f"expected channels.<{'|'.join(SEGMENTS)}>.<{'|'.join(sorted(CHANNEL_FIGURES))}>"
        if len(parts) != 3:
            return f"{kpi!r}: {shape}"
        if parts[1] not in SEGMENTS:
            return f"unknown segment {parts[1]!r} in {kpi!r}{did_you_mean(parts[1], SEGMENTS)}; {shape}"
        if parts[2] not in CHANNEL_FIGURES:
            hint = did_you_mean(parts[2], sorted(CHANNEL_FIGURES))
            return f"unknown channel figure {parts[2]!r} in {kpi!r}{hint}; {shape}"
        return None
    if kpi in ALL_FIGURES or kpi in SPECIAL_KPIS:
        return None
    known = sorted(ALL_FIGURES | set(SPECIAL_KPIS))
    hint = did_you_mean(kpi, known)
    listed = "" if hint else f" (known: {', '.join(known)}, channels.<segment>.<figure>)"
    return f"unknown kpi {kpi!r}{hint}{listed}"


class FieldMapping(BaseModel):
    """One CRM field: ``kpi`` (a figure of kpis.md, ``channels.<segment>.<figure>``, or one of
    updated_at / period_label / score_breakdown) of ``period``, its ``value`` part, into ``field``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(
        min_length=1,
        description=(
            "The CRM field's API name, e.g. PK_Quality_Score__c: a custom field of the project's own "
            "(Salesforce: ends in __c; HubSpot: not a default company property nor an hs_ name)."
        ),
    )
    kpi: str = Field(
        description=(
            "A figure, channels.<segment>.<figure>, updated_at, period_label, score_breakdown, tier or "
            "tier_reached_on."
        ),
        json_schema_extra={"enum": list(KNOWN_KPIS)},
    )
    period: str | None = Field(
        default=None, description="A period of kpi.periods; not for updated_at, optional for the tier."
    )
    value: ValuePart = "value"
    attribution: Literal["sourced", "influenced"] = Field(
        default="sourced",
        description=(
            "sourced: the deals the partner brought; influenced: the deals it took part in, in any role "
            "(a money or count figure; needs kpi.attribution to include influenced)."
        ),
    )
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
        problem = kpi_problem(self.kpi)
        if problem is not None:
            raise ValueError(f"kpi: {problem}")
        if self.kpi != "updated_at" and self.kpi not in TIER_KPIS and self.period is None:
            raise ValueError(f"kpi {self.kpi!r} needs a period (one of kpi.periods)")
        if self.attribution == "influenced" and self.kpi not in INFLUENCED_KPIS:
            raise ValueError(
                f"attribution: {self.kpi} has no influenced version (those with one: "
                f"{', '.join(sorted(INFLUENCED_KPIS))})"
            )
        if self.kpi in TIER_KPIS:
            if self.value != "value":
                raise ValueError(f"value: {self.kpi} has no {self.value} (map tier's value only)")
            kinds = TIER_KINDS[self.kpi]
            if self.field_kind not in kinds:
                allowed = " or ".join(k.value for k in kinds)
                raise ValueError(f"kind: {self.kpi} goes into a {allowed} field, not {self.field_kind.value}")
        return self

    @property
    def field_kind(self) -> FieldKind:
        return self.kind or default_kind(self.kpi, self.value)

    @property
    def field_scale(self) -> int:
        return self.scale if self.scale is not None else default_scale(self.kpi, self.field_kind)

    def spec(self) -> FieldSpec:
        period = f" ({self.period.replace('_', ' ')})" if self.period else ""
        kpi = self.kpi.replace("_", " ").replace(".", " ")
        if self.attribution == "influenced":
            kpi = f"influenced {kpi}"
        return FieldSpec(
            name=self.field,
            label=self.label or f"Partner {kpi}{period}",
            kind=self.field_kind,
            description=self.description or _describe(self),
            precision=self.precision,
            scale=self.field_scale,
            length=self.length,
        )


def _describe(m: FieldMapping) -> str:
    if m.kpi == "updated_at":
        return "When partnerkpi last changed this partner's KPI values. Set by partnerkpi; do not edit."
    if m.kpi == "tier":
        return "The partner's tier (kpi.tiers). Computed by partnerkpi from opportunities; do not edit."
    if m.kpi == "tier_reached_on":
        return "The day the partner reached its tier. Computed by partnerkpi from opportunities; do not edit."
    period = (m.period or "").replace("_", " ")
    part = {
        "value": "",
        "prior": " in the prior period",
        "change": ", change against the prior period",
        "change_pct": ", relative change against the prior period",
        "last_year": " in the same period last year",
        "change_vs_last_year": ", change against the same period last year",
        "change_pct_vs_last_year": ", relative change against the same period last year",
    }[m.value]
    over = ", over the deals the partner took part in" if m.attribution == "influenced" else ""
    return (
        f"{m.kpi.replace('_', ' ')} ({period}){part}{over}. Computed by partnerkpi from opportunities; "
        "do not edit."
    )


class MassChangeGuard(BaseModel):
    """``mass_change:`` of a connector's writeback: how much of what the CRM already holds one sync may
    clear or move by a large factor before it stops and writes nothing (writeback.guard). A config
    mistake (a wrong period, figure or unit) looks like that; a normal run moves a few values a little.
    A run that is meant to do it is confirmed with ``sync --allow-mass-change``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_cleared_share: float = Field(
        default=0.10,
        ge=0,
        le=1,
        description=(
            "Stop when the plan would clear more than this share of the mapped values that hold one "
            "(0.10: more than 1 in 10). Normal runs clear few: a partner whose period has no deals."
        ),
    )
    max_changed_share: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description=(
            "Stop when the plan would move more than this share of the numbers that hold one by more "
            "than change_factor (0.5: half of them tenfold at once is a unit or currency mistake)."
        ),
    )
    change_factor: Decimal = Field(
        default=Decimal(10),
        gt=1,
        description="A number changes 'by more than the factor' when it grows above or falls below it.",
    )
    min_filled: int = Field(
        default=10,
        ge=0,
        description="Never stop when fewer values than this are filled (a tiny portal is not blocked by 1 of 3).",
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
    mass_change: MassChangeGuard = Field(default_factory=MassChangeGuard)

    @model_validator(mode="after")
    def _unique(self) -> ConnectorWriteback:
        for first, second in duplicate_fields(self.fields):
            raise ValueError(
                f"fields[{second}].field: {self.fields[second].field!r} is mapped twice "
                f"(also at fields[{first}].field)"
            )
        return self

    def specs(self) -> dict[str, FieldSpec]:
        return {m.field: m.spec() for m in self.fields}


def duplicate_fields(
    fields: Sequence[FieldMapping], key: Callable[[str], str] = str
) -> Iterator[tuple[int, int]]:
    """``(first, later)`` indices of mappings onto one field, compared by ``key`` (a CRM whose names are
    case-insensitive passes ``str.casefold``): one target per field."""
    first_at: dict[str, int] = {}
    for i, m in enumerate(fields):
        k = key(m.field)
        if k in first_at:
            yield first_at[k], i
        else:
            first_at[k] = i


class WritebackConfig(RootModel[dict[str, ConnectorWriteback]]):
    """``writeback:`` in the YAML: connector name -> its mappings."""

    root: dict[str, ConnectorWriteback] = Field(default_factory=dict)

    def for_connector(self, name: str) -> ConnectorWriteback | None:
        return self.root.get(name)
