"""``kpi.tiers``: ordered partner tiers with hysteresis (kpis.md, "Partner tiers").

Checked here so that a tier name is always usable as a CRM picklist value and the replay always has a
well-ordered ladder to climb."""

from __future__ import annotations

import unicodedata
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kpi_core.periods import PeriodKind, PeriodSpec, parse_period
from kpi_core.registry import KpiFigure

TIER_MEASURES = (KpiFigure.QUALITY_SCORE, KpiFigure.WON_REVENUE, KpiFigure.DEAL_COUNT)
"""The figures a tier can be earned on: each is known for every completed period from its tally alone."""
TIER_PERIODS = (PeriodKind.PREVIOUS_MONTH, PeriodKind.PREVIOUS_QUARTER, PeriodKind.PREVIOUS_YEAR)
"""Evaluation periods are whole completed units, one value each."""
MAX_NAME = 255
"""A Salesforce picklist value's (and a HubSpot option's) longest label."""


class TierLevel(BaseModel):
    """One tier: its name (the picklist value) and the measure's minimum to reach it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    min: Annotated[Decimal, Field(allow_inf_nan=False)]

    @field_validator("name")
    @classmethod
    def _usable_as_picklist_value(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a tier name cannot be empty")
        if value != value.strip():
            raise ValueError(f"{value!r} has blanks around it (a picklist value is matched as it is)")
        if len(value) > MAX_NAME:
            raise ValueError(f"a tier name has at most {MAX_NAME} characters, this one {len(value)}")
        if ";" in value or any(unicodedata.category(c).startswith("C") for c in value):
            raise ValueError(f"{value!r}: a tier name cannot hold ';' or a control character")
        return value


class TierSettings(BaseModel):
    """The measure, the evaluation period, the ladder and how long a demotion waits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    measure: str = Field(description="quality_score, won_revenue or deal_count.")
    period: str = Field(description="previous_month, previous_quarter or previous_year.")
    demote_after: int = Field(default=2, ge=1, description="Consecutive periods below before a demotion.")
    history: int = Field(default=8, ge=1, le=120, description="Evaluation periods replayed, oldest first.")
    levels: list[TierLevel] = Field(min_length=1, description="Highest first, each min below the last.")

    @field_validator("measure")
    @classmethod
    def _known_measure(cls, value: str) -> str:
        supported = ", ".join(f.value for f in TIER_MEASURES)
        figure = KpiFigure.lookup(value)
        if figure is None:
            raise ValueError(f"unknown figure {value!r} (a tier is earned on one of: {supported})")
        if figure not in TIER_MEASURES:
            raise ValueError(f"{value!r} cannot be a tier measure yet (one of: {supported})")
        return value

    @field_validator("period")
    @classmethod
    def _completed_period(cls, value: str) -> str:
        spec = parse_period(value)
        if spec.kind not in TIER_PERIODS:
            allowed = ", ".join(k.value for k in TIER_PERIODS)
            raise ValueError(f"{value!r} is not a completed period: tiers are evaluated per {allowed}")
        return value

    @model_validator(mode="after")
    def _a_ladder(self) -> TierSettings:
        if self.demote_after > self.history:
            raise ValueError(
                f"demote_after: {self.demote_after} is more than history ({self.history}): "
                "a demotion could never happen"
            )
        seen: dict[str, int] = {}
        for i, level in enumerate(self.levels):
            key = level.name.casefold()
            if key in seen:
                raise ValueError(
                    f"levels[{i}].name: {level.name!r} is the name of levels[{seen[key]}] (ignoring case)"
                )
            seen[key] = i
            if i and level.min >= self.levels[i - 1].min:
                raise ValueError(
                    f"levels[{i}].min: {level.min} is not below levels[{i - 1}].min "
                    f"({self.levels[i - 1].min}): list the levels highest first"
                )
        return self

    @property
    def spec(self) -> PeriodSpec:
        return parse_period(self.period)

    @property
    def figure(self) -> KpiFigure:
        figure = KpiFigure.lookup(self.measure)
        assert figure is not None  # checked by _known_measure
        return figure

    @property
    def names(self) -> list[str]:
        """The tier names, highest first (the picklist's values)."""
        return [level.name for level in self.levels]
