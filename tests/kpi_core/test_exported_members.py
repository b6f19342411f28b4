"""kpi_core's public surface is its ``__all__`` (as httpx's tests/test_exported_members.py guards
httpx's): every public name the package holds is exported, and nothing leaves or joins it unnoticed."""

from __future__ import annotations

import types

import kpi_core

EXPORTED = [
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


def test_kpi_core_exports_exactly_its_public_names() -> None:
    assert kpi_core.__all__ == EXPORTED


def test_every_public_name_of_kpi_core_is_in_all_and_every_name_in_all_exists() -> None:
    public = {
        name
        for name, member in vars(kpi_core).items()
        if not name.startswith("_") and not isinstance(member, types.ModuleType)
    }
    assert public == set(kpi_core.__all__)
    assert all(hasattr(kpi_core, name) for name in kpi_core.__all__)
