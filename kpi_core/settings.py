"""kpi_core's own settings (the ``kpi:`` section of the app's YAML): periods, segments, scoring, targets.

Self-contained on purpose: the application composes this model into its config file and nothing here
knows about the rest of the app.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from kpi_core.periods import parse_period
from kpi_core.schema import Segment
from kpi_core.tier_settings import TierSettings

DEFAULT_CHANNEL_SEGMENTS: dict[Segment, list[str]] = {
    Segment.PAID: ["PAID_SEARCH", "PAID_SOCIAL", "Advertisement", "Purchased List"],
    Segment.OWNED: ["EMAIL_MARKETING", "DIRECT_TRAFFIC", "Web", "Email"],
    Segment.EARNED: [
        "ORGANIC_SEARCH",
        "SOCIAL_MEDIA",
        "REFERRALS",
        "Partner Referral",
        "Word of mouth",
        "Public Relations",
    ],
    Segment.UNCLASSIFIED: ["OFFLINE", "OTHER_CAMPAIGNS"],
}
"""kpis.md's default table, HubSpot hs_analytics_source and Salesforce LeadSource values together."""

_TARGET_GROUP = re.compile(r"partners|direct|overall|partner:.+")
WEIGHT_TOLERANCE = 1e-9


def check_time_zone(value: str) -> str:
    """An IANA time zone name (the one rule for every ``timezone`` setting)."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r} (expected an IANA name such as Europe/Berlin)"
        ) from None
    return value


def check_currency_code(value: str) -> str:
    """A three-letter ISO 4217 code, upper-cased (the one rule for every currency setting)."""
    code = value.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise ValueError(f"expected a three-letter ISO 4217 code such as USD, not {value!r}")
    return code


TimeZoneName = Annotated[str, AfterValidator(check_time_zone)]
CurrencyCode = Annotated[str, AfterValidator(check_currency_code)]


def channel_key(raw: str | None) -> str:
    """How a raw channel value is matched: case-insensitive, surrounding blanks ignored."""
    return (raw or "").strip().casefold()


class ScoreWeights(BaseModel):
    """Weights of the quality score's components; each >= 0, summing to 1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    won_revenue: float = Field(default=0.5, ge=0, allow_inf_nan=False)
    deal_count: float = Field(default=0.3, ge=0, allow_inf_nan=False)
    win_rate_smoothed: float = Field(default=0.2, ge=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _sum_to_one(self) -> ScoreWeights:
        total = self.won_revenue + self.deal_count + self.win_rate_smoothed
        if not math.isclose(total, 1.0, rel_tol=0.0, abs_tol=WEIGHT_TOLERANCE):
            raise ValueError(f"the weights must sum to 1, they sum to {total!r}")
        return self


class Target(BaseModel):
    """An open-pipeline target for one group and period (``coverage`` = open_amount / target)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    group: str = Field(description='"partners", "direct", "overall" or "partner:<partner id>".')
    period: str = Field(description="A period name of kpi.periods.")
    open_amount: Annotated[Decimal, Field(gt=0, allow_inf_nan=False)] = Field(
        description="In the reporting currency."
    )

    @field_validator("group")
    @classmethod
    def _known_group(cls, value: str) -> str:
        if not _TARGET_GROUP.fullmatch(value):
            raise ValueError(
                f'group must be "partners", "direct", "overall" or "partner:<id>", not {value!r}'
            )
        return value

    @field_validator("period")
    @classmethod
    def _known_period(cls, value: str) -> str:
        parse_period(value)
        return value


Comparison = Literal["prior", "last_year"]
"""What every period is compared with (kpis.md, "Same period last year")."""


Attribution = Literal["sourced", "influenced"]
"""Which deals count as a partner's (kpis.md, "Sourced and influenced")."""


def _default_attribution() -> list[Attribution]:
    return ["sourced"]


def _default_comparisons() -> list[Comparison]:
    return ["prior"]


def _default_periods() -> list[str]:
    return ["last_90_days", "quarter_to_date", "last_365_days"]


def _default_segments() -> dict[Segment, list[str]]:
    return {segment: list(values) for segment, values in DEFAULT_CHANNEL_SEGMENTS.items()}


class KpiSettings(BaseModel):
    """How the KPIs are computed: currency, time zone, fiscal year, periods, segments and scoring."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reporting_currency: CurrencyCode = Field(
        default="USD", description="ISO 4217 code every amount is converted to."
    )
    timezone: TimeZoneName = Field(default="UTC", description="IANA time zone in which days are counted.")
    fiscal_year_start_month: int = Field(default=1, ge=1, le=12)
    periods: list[str] = Field(default_factory=_default_periods, min_length=1)
    channel_segments: dict[Segment, list[str]] = Field(
        default_factory=_default_segments,
        description="Segment -> raw channel values (matched case-insensitively); anything else is unclassified.",
    )
    weights: ScoreWeights = Field(default_factory=ScoreWeights)
    smoothing_k: float = Field(default=5.0, ge=0, allow_inf_nan=False)
    min_closed: int = Field(default=3, ge=0)
    targets: list[Target] = Field(default_factory=list)
    compare_to: list[Comparison] = Field(
        default_factory=_default_comparisons,
        min_length=1,
        description="prior (the period just before), last_year (the same window a year earlier), or both.",
    )
    attribution: list[Attribution] = Field(
        default_factory=_default_attribution,
        min_length=1,
        description=(
            "sourced (the deals a partner brought: every figure), or [sourced, influenced] (also the "
            "money and count figures over the deals a partner took part in, in any role)."
        ),
    )
    tiers: TierSettings | None = Field(
        default=None, description="Partner tiers with hysteresis (kpis.md, Partner tiers); off by default."
    )

    @field_validator("periods")
    @classmethod
    def _valid_periods(cls, value: list[str]) -> list[str]:
        seen: set[str] = set()
        for i, name in enumerate(value):
            try:
                parse_period(name)
            except ValueError as exc:
                raise ValueError(f"periods[{i}]: {exc}") from None
            if name in seen:
                raise ValueError(f"periods[{i}]: {name!r} is listed twice")
            seen.add(name)
        return value

    @field_validator("compare_to", "attribution")
    @classmethod
    def _each_once(cls, value: list[str], info: ValidationInfo) -> list[str]:
        for i, name in enumerate(value):
            if name in value[:i]:
                raise ValueError(f"{info.field_name}[{i}]: {name!r} is listed twice")
        return value

    @field_validator("attribution")
    @classmethod
    def _sourced_always(cls, value: list[Attribution]) -> list[Attribution]:
        if "sourced" not in value:
            raise ValueError(
                "attribution: sourced figures are always computed; list sourced (and influenced)"
            )
        return value

    @property
    def influenced(self) -> bool:
        """Whether the influenced figures are computed too."""
        return "influenced" in self.attribution

    @property
    def last_year(self) -> bool:
        """Whether every period is also compared with the same window a year earlier."""
        return "last_year" in self.compare_to

    @field_validator("channel_segments")
    @classmethod
    def _each_value_once(cls, value: dict[Segment, list[str]]) -> dict[Segment, list[str]]:
        owner: dict[str, Segment] = {}
        for segment, raws in value.items():
            for raw in raws:
                key = channel_key(raw)
                if not key:
                    raise ValueError(f"{segment.value}: an empty channel value is always unclassified")
                if key in owner and owner[key] is not segment:
                    raise ValueError(
                        f"channel {raw!r} is mapped to both {owner[key].value} and {segment.value}"
                    )
                owner[key] = segment
        return value

    @model_validator(mode="after")
    def _targets_match_periods(self) -> KpiSettings:
        seen: set[tuple[str, str]] = set()
        for i, target in enumerate(self.targets):
            if target.period not in self.periods:
                raise ValueError(
                    f"targets[{i}].period: {target.period!r} is not one of periods ({', '.join(self.periods)})"
                )
            if (target.group, target.period) in seen:
                raise ValueError(f"targets[{i}]: a second target for {target.group} / {target.period}")
            seen.add((target.group, target.period))
        return self

    def segment_table(self) -> dict[str, Segment]:
        """Matching key of each mapped raw channel -> its segment (see ``channel_key``)."""
        return {channel_key(raw): segment for segment, raws in self.channel_segments.items() for raw in raws}

    def target_for(self, group: str, period: str) -> Decimal | None:
        for target in self.targets:
            if target.group == group and target.period == period:
                return target.open_amount
        return None
