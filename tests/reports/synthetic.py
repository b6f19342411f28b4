"""A large synthetic KPI result (any number of partners and periods) and its snapshot history, built
directly from kpi_core's result dataclasses: for the HTML report's size limit, without computing."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from kpi_core.result import (
    DataQuality,
    Figure,
    GroupKey,
    GroupKind,
    GroupKpis,
    KpiResult,
    Number,
    PeriodWindow,
    PipelineSource,
)
from kpi_core.schema import Segment
from partnerkpi.reports.history import HistoryPoint
from partnerkpi.reports.serialize import connector_report, report_document

AS_OF = date(2026, 11, 22)
PERIODS = ("last_90_days", "quarter_to_date", "last_365_days")
MONEY_FIGURES = (
    "won_revenue",
    "avg_deal_size",
    "open_amount",
    "weighted_amount",
    "pipeline_change",
    "deal_velocity",
)
COUNT_FIGURES = ("deal_count", "open_count", "created_count", "cohort_open", "closed_count")
RATE_FIGURES = (
    "close_rate",
    "win_rate",
    "coverage",
    "pipeline_change_pct",
    "win_rate_smoothed",
    "pct_won_revenue",
    "pct_deal_count",
    "pct_win_rate_smoothed",
)


def fig(value: Number, prior: Number) -> Figure:
    change = value - prior  # type: ignore[operator]
    pct = None if not prior else float(change) / abs(float(prior))
    return Figure(value, prior, change, pct)


def _money(rng: random.Random) -> Decimal:
    return Decimal(int(rng.lognormvariate(12, 1.2))) + Decimal(rng.randrange(100)) / 100


def figures(rng: random.Random, partner: bool) -> dict[str, Figure]:
    out = {name: fig(_money(rng), _money(rng)) for name in MONEY_FIGURES}
    out.update({name: fig(rng.randrange(200), rng.randrange(200)) for name in COUNT_FIGURES})
    out.update({name: fig(rng.random(), rng.random()) for name in RATE_FIGURES})
    out["avg_cycle_days"] = fig(rng.uniform(5, 200), rng.uniform(5, 200))
    if partner:
        out["quality_score"] = fig(rng.uniform(0, 100), rng.uniform(0, 100))
    return out


def channels(rng: random.Random) -> dict[Segment, dict[str, Figure]]:
    weights = [rng.random() for _ in Segment]
    total = sum(weights)
    return {
        segment: {
            "deal_count": fig(rng.randrange(50), rng.randrange(50)),
            "won_revenue": fig(_money(rng), _money(rng)),
            "revenue_share": fig(w / total, rng.random()),
            "close_rate": fig(rng.random(), rng.random()),
            "win_rate": fig(rng.random(), rng.random()),
        }
        for segment, w in zip(Segment, weights, strict=True)
    }


def window(name: str, back: int) -> PeriodWindow:
    first = AS_OF - timedelta(days=89 + back)
    return PeriodWindow(name, AS_OF, first, AS_OF, first - timedelta(days=90), first - timedelta(days=1))


def partner_id(i: int) -> str:
    return f"0015g00000P{i:06d}AAV"


def result(partners: int, seed: int = 1) -> KpiResult:
    rng = random.Random(seed)
    periods = [window(name, 30 * i) for i, name in enumerate(PERIODS)]
    keys = [GroupKey(GroupKind.PARTNER, partner_id(i)) for i in range(partners)]
    keys += [GroupKey(GroupKind.PARTNERS), GroupKey(GroupKind.DIRECT), GroupKey(GroupKind.OVERALL)]
    groups = [
        GroupKpis(
            group=key,
            period=period,
            figures=figures(rng, key.kind is GroupKind.PARTNER),
            channels=channels(rng),
            low_sample=rng.random() < 0.2 if key.kind is GroupKind.PARTNER else None,
            pipeline_prior_source=PipelineSource.SNAPSHOT,
        )
        for period in periods
        for key in keys
    ]
    return KpiResult(AS_OF, "USD", periods, groups, DataQuality(missing_amount=12, unknown_stage=3), 250_000)


def names(partners: int) -> dict[str, str | None]:
    return {partner_id(i): f"Partner {i:04d} Solutions Ltd" for i in range(partners)}


def document(partners: int) -> dict[str, Any]:
    run = {
        "id": 40,
        "started_at": "2026-11-22T05:00:00+00:00",
        "ended_at": "2026-11-22T05:03:12+00:00",
        "status": "ok",
    }
    report = connector_report("salesforce-prod", result(partners), names(partners), {"last_run": run})
    return report_document([report], datetime(2026, 11, 22, 9, 30, tzinfo=timezone.utc))


def history(partners: int, snapshots: int, seed: int = 2) -> dict[str, dict[str, list[HistoryPoint]]]:
    rng = random.Random(seed)
    by_partner: dict[str, list[HistoryPoint]] = {}
    for i in range(partners):
        points = []
        for s in range(snapshots):
            as_of = AS_OF - timedelta(days=30 * (snapshots - 1 - s))
            at = datetime.combine(as_of, datetime.min.time(), timezone.utc)
            for period in PERIODS:
                points.append(
                    HistoryPoint(
                        run_id=s + 1,
                        as_of=as_of,
                        period=period,
                        computed_at=at,
                        quality_score=rng.uniform(0, 100),
                        won_revenue=_money(rng),
                        deal_count=rng.randrange(100),
                        win_rate=rng.random(),
                        closed_count=rng.randrange(150),
                        open_amount=_money(rng),
                        low_sample=False,
                    )
                )
        by_partner[partner_id(i)] = points
    return {"salesforce-prod": by_partner}
