"""The KPI figure registry: every figure compute() returns, once, with what the rest of partnerkpi needs
to know about it.

Each member of :class:`KpiFigure` is a figure's name (a ``str``, so ``figures[KpiFigure.WIN_RATE]``
works) carrying its unit, its default scale, which groups and segments carry it and a one-line
description, as httpx's ``codes`` members carry their phrase. The writeback's field kinds and scales
(writeback.mapping), the report's formatting (partnerkpi.reports.fmt), the config's JSON Schema and the
figure table of docs/output-schema.md derive from it, and tests/kpi_core/test_figure_registry.py checks
that they agree. Adding a figure is one member here plus its formula (kpi_core.figures or compute);
docs/kpis.md, "How to add a KPI figure", says the rest.
"""

from __future__ import annotations

import enum

from kpi_core.schema import SEGMENTS


class Unit(str, enum.Enum):
    """What a figure's number measures: how it is formatted, and which kind of CRM field holds it."""

    MONEY = "money"
    """A Decimal in the reporting currency."""
    RATE = "rate"
    """A float ratio, 0.25 = 25%."""
    COUNT = "count"
    """An int."""
    DAYS = "days"
    """A float number of days."""
    SCORE = "score"
    """A float on a 0..100 scale."""


class FigureScope(str, enum.Enum):
    """Which groups carry the figure as a whole-group figure (``GroupKpis.figures``)."""

    EVERY_GROUP = "every_group"
    PARTNER_GROUPS = "partner_groups"
    """Partner groups only (the quality score and its parts)."""
    SEGMENTS_ONLY = "segments_only"
    """No group: a per-segment figure only (``GroupKpis.channels``)."""


class KpiFigure(str, enum.Enum):
    """Every KPI figure: ``(name, unit, default scale, per segment, description[, scope])``.

    The default scale is the number of decimals a CRM field of the figure's own kind keeps (a rate is
    written in percentage points: 0.6315 -> 63.15). "Per segment": the figure also exists under
    ``channels.<segment>``."""

    unit: Unit
    scale: int
    per_segment: bool
    description: str
    scope: FigureScope

    def __new__(
        cls,
        name: str,
        unit: Unit,
        scale: int,
        per_segment: bool,
        description: str,
        scope: FigureScope = FigureScope.EVERY_GROUP,
    ) -> KpiFigure:
        member = str.__new__(cls, name)
        member._value_ = name
        member.unit = unit
        member.scale = scale
        member.per_segment = per_segment
        member.description = description
        member.scope = scope
        return member

    def __str__(self) -> str:
        return str.__str__(self)

    DEAL_COUNT = "deal_count", Unit.COUNT, 0, True, "deals won in the period"
    WON_REVENUE = "won_revenue", Unit.MONEY, 2, True, "sum of won amounts"
    AVG_DEAL_SIZE = "avg_deal_size", Unit.MONEY, 2, False, "won_revenue / won deals with an amount"
    OPEN_COUNT = "open_count", Unit.COUNT, 0, False, "deals open on the period's last day"
    OPEN_AMOUNT = "open_amount", Unit.MONEY, 2, False, "sum of the amounts open on the period's last day"
    WEIGHTED_AMOUNT = (
        "weighted_amount",
        Unit.MONEY,
        2,
        False,
        "sum of amount x probability open on the period's last day",
    )
    PIPELINE_CHANGE = (
        "pipeline_change",
        Unit.MONEY,
        2,
        False,
        "open_amount now minus open_amount on the prior period's last day",
    )
    PIPELINE_CHANGE_PCT = (
        "pipeline_change_pct",
        Unit.RATE,
        2,
        False,
        "pipeline_change / open_amount on the prior period's last day",
    )
    COVERAGE = "coverage", Unit.RATE, 2, False, "open_amount / target (where a target is configured)"
    CREATED_COUNT = "created_count", Unit.COUNT, 0, False, "deals created in the period (the cohort)"
    CLOSE_RATE = "close_rate", Unit.RATE, 2, True, "the share of the cohort won"
    COHORT_OPEN = "cohort_open", Unit.COUNT, 0, False, "deals of the cohort still open"
    CLOSED_COUNT = "closed_count", Unit.COUNT, 0, False, "won + lost in the period"
    WIN_RATE = "win_rate", Unit.RATE, 2, True, "won / closed"
    AVG_CYCLE_DAYS = "avg_cycle_days", Unit.DAYS, 1, False, "mean days from creation to win (at least 1)"
    DEAL_VELOCITY = (
        "deal_velocity",
        Unit.MONEY,
        2,
        False,
        "money per day: open_count x win_rate x avg_deal_size / avg_cycle_days",
    )
    QUALITY_SCORE = (
        "quality_score",
        Unit.SCORE,
        1,
        False,
        "partners only: the weighted percentile score, 0..100",
        FigureScope.PARTNER_GROUPS,
    )
    WIN_RATE_SMOOTHED = (
        "win_rate_smoothed",
        Unit.RATE,
        2,
        False,
        "partners only: (won + k p0) / (closed + k)",
        FigureScope.PARTNER_GROUPS,
    )
    PCT_WON_REVENUE = (
        "pct_won_revenue",
        Unit.RATE,
        2,
        False,
        "partners only: won_revenue's percentile among the partners in scope",
        FigureScope.PARTNER_GROUPS,
    )
    PCT_DEAL_COUNT = (
        "pct_deal_count",
        Unit.RATE,
        2,
        False,
        "partners only: deal_count's percentile among the partners in scope",
        FigureScope.PARTNER_GROUPS,
    )
    PCT_WIN_RATE_SMOOTHED = (
        "pct_win_rate_smoothed",
        Unit.RATE,
        2,
        False,
        "partners only: win_rate_smoothed's percentile among the partners in scope",
        FigureScope.PARTNER_GROUPS,
    )
    REVENUE_SHARE = (
        "revenue_share",
        Unit.RATE,
        2,
        True,
        "per segment only: the segment's won_revenue / the group's won_revenue",
        FigureScope.SEGMENTS_ONLY,
    )

    @classmethod
    def lookup(cls, name: str) -> KpiFigure | None:
        """The figure called ``name``, or None for a name that is not a figure."""
        return _BY_NAME.get(name)


_BY_NAME: dict[str, KpiFigure] = {f.value: f for f in KpiFigure}

SEGMENT_FIGURES: tuple[KpiFigure, ...] = tuple(f for f in KpiFigure if f.per_segment)
"""The figures of ``channels.<segment>``, in registry order."""


INFLUENCED_FIGURES: tuple[KpiFigure, ...] = (
    KpiFigure.DEAL_COUNT,
    KpiFigure.WON_REVENUE,
    KpiFigure.AVG_DEAL_SIZE,
    KpiFigure.OPEN_COUNT,
    KpiFigure.OPEN_AMOUNT,
    KpiFigure.WEIGHTED_AMOUNT,
    KpiFigure.CREATED_COUNT,
    KpiFigure.CLOSED_COUNT,
)
"""The money and count figures that also exist over a partner's influenced deals (``GroupKpis.influenced``,
``attribution: influenced`` in a mapping): the same formulas over the deals the partner took part in."""


def figure_names() -> list[str]:
    """Every figure name, in registry order."""
    return [f.value for f in KpiFigure]


def segment_kpis() -> list[str]:
    """``channels.<segment>.<figure>`` for every segment and per-segment figure."""
    return [f"channels.{s.value}.{f.value}" for s in SEGMENTS for f in SEGMENT_FIGURES]
