"""kpi_core: the common schema and the eight partner KPIs of docs/kpis.md. Pure computation."""

from kpi_core.comparison import PipelineSnapshot
from kpi_core.compute import compute
from kpi_core.money import Money, RateTable, to_money
from kpi_core.periods import PeriodKind, PeriodSpec, parse_period, resolve_period
from kpi_core.registry import SEGMENT_FIGURES, FigureScope, KpiFigure, Unit
from kpi_core.result import (
    DataQuality,
    Figure,
    GroupKey,
    GroupKind,
    GroupKpis,
    KpiResult,
    PeriodWindow,
    PipelineSource,
    TierStanding,
)
from kpi_core.schema import SEGMENTS, Opportunity, Partner, Segment, Status
from kpi_core.settings import KpiSettings, ScoreWeights, Target
from kpi_core.tier_settings import TierLevel, TierSettings

__all__ = [
    "SEGMENTS",
    "SEGMENT_FIGURES",
    "DataQuality",
    "Figure",
    "FigureScope",
    "GroupKey",
    "GroupKind",
    "GroupKpis",
    "KpiFigure",
    "KpiResult",
    "KpiSettings",
    "Money",
    "Opportunity",
    "Partner",
    "PeriodKind",
    "PeriodSpec",
    "PeriodWindow",
    "PipelineSnapshot",
    "PipelineSource",
    "RateTable",
    "ScoreWeights",
    "Segment",
    "Status",
    "Target",
    "TierLevel",
    "TierSettings",
    "TierStanding",
    "Unit",
    "compute",
    "parse_period",
    "resolve_period",
    "to_money",
]
