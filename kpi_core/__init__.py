"""kpi_core: the common schema and the eight partner KPIs of docs/kpis.md. Pure computation."""

from kpi_core.compute import PipelineSnapshot, compute
from kpi_core.money import Money, RateTable, to_money
from kpi_core.periods import PeriodKind, PeriodSpec, parse_period, resolve_period
from kpi_core.result import (
    DataQuality,
    Figure,
    GroupKey,
    GroupKind,
    GroupKpis,
    KpiResult,
    PeriodWindow,
    PipelineSource,
)
from kpi_core.schema import Opportunity, Partner, Segment, Status
from kpi_core.settings import KpiSettings, ScoreWeights, Target

__all__ = [
    "DataQuality",
    "Figure",
    "GroupKey",
    "GroupKind",
    "GroupKpis",
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
    "compute",
    "parse_period",
    "resolve_period",
    "to_money",
]
