"""The terminal scorecard: partners ranked by quality score, with arrows for change. Fits 100 columns."""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Console
from rich.table import Table
from rich.text import Text

from kpi_core.registry import KpiFigure
from kpi_core.result import Figure, GroupKind, GroupKpis, KpiResult
from partnerkpi.reports import fmt

_AGGREGATE_LABELS = {
    GroupKind.PARTNERS: "all partners",
    GroupKind.DIRECT: "direct",
    GroupKind.OVERALL: "overall",
}


def _arrow(fig: Figure | None, higher_is_better: bool = True, last_year: bool = False) -> Text:
    """▲▼= against the prior period (``last_year``: against the same window a year earlier)."""
    delta = None if fig is None else fig.change_vs_last_year if last_year else fig.change
    if delta is None:
        return Text("")
    change = float(delta)
    if change == 0:
        return Text("=", style="dim")
    good = (change > 0) == higher_is_better
    return Text("▲" if change > 0 else "▼", style="green" if good else "red")


def _cell(g: GroupKpis, kpi: KpiFigure, influenced: bool = False) -> Text:
    """The figure as fmt writes its unit (counts without separators: the columns are narrow), its
    arrow against the prior period and, with last_year configured, a second one against last year.
    ``influenced``: the figure over the group's influenced deals."""
    fig = (g.influenced if influenced else g.figures).get(kpi.value)
    text = fmt.figure(kpi, fig.value if fig else None, count_separators=False)
    arrow = _arrow(fig)
    out = Text(text + " " if arrow.plain else text + "  ")
    out.append_text(arrow)
    if g.period.last_year_first is not None:
        versus = _arrow(fig, last_year=True)
        out.append_text(versus if versus.plain else Text(" "))
    return out


def _tier_cell(g: GroupKpis) -> Text:
    """The partner's tier; a dot when it differs from the tier one evaluation earlier."""
    if g.tier is None:
        return Text("")
    out = Text(g.tier.tier or "-", style="bold" if g.tier.tier else "dim")
    if g.tier.previous != g.tier.tier:
        out.append(" •", style="yellow")
    return out


def scorecard_table(
    result: KpiResult,
    period: str,
    title: str,
    partner_names: Mapping[str, str | None] | None = None,
    limit: int = 25,
) -> Table:
    names = partner_names or {}
    rows = [g for g in result.groups if g.period.name == period and g.group.kind is GroupKind.PARTNER]
    score = KpiFigure.QUALITY_SCORE.value
    rows.sort(key=lambda g: -(float(g.figures[score].value or 0) if score in g.figures else 0))
    tiered = any(g.tier is not None for g in rows)
    attributed = any(g.influenced for g in result.groups if g.period.name == period)
    table = Table(title=title, title_justify="left", expand=False, pad_edge=False)
    table.add_column("#", justify="right", width=3)
    name_width = 24 - (10 if tiered else 0) - (8 if attributed else 0)
    table.add_column("Partner", overflow="ellipsis", max_width=name_width, no_wrap=True)
    if tiered:  # kpi.tiers configured: the column fits the 100 by taking from the partner's name
        table.add_column("Tier", overflow="ellipsis", max_width=10, no_wrap=True)
    table.add_column("Score", justify="right", no_wrap=True)
    table.add_column("Won", justify="right", no_wrap=True)
    table.add_column("Revenue", justify="right", no_wrap=True)
    if attributed:  # kpi.attribution influenced: the revenue of the deals the partner took part in
        table.add_column("Influenced", justify="right", no_wrap=True)
    table.add_column("Avg deal", justify="right", no_wrap=True)
    table.add_column("Win rate", justify="right", no_wrap=True)
    table.add_column("Pipeline", justify="right", no_wrap=True)
    for i, g in enumerate(rows[:limit], 1):
        pid = g.group.partner_id or ""
        label = names.get(pid) or pid
        if g.low_sample:
            label += " *"
        table.add_row(
            str(i),
            label,
            *([_tier_cell(g)] if tiered else []),
            _cell(g, KpiFigure.QUALITY_SCORE),
            _cell(g, KpiFigure.DEAL_COUNT),
            _cell(g, KpiFigure.WON_REVENUE),
            *([_cell(g, KpiFigure.WON_REVENUE, influenced=True)] if attributed else []),
            _cell(g, KpiFigure.AVG_DEAL_SIZE),
            _cell(g, KpiFigure.WIN_RATE),
            _cell(g, KpiFigure.OPEN_AMOUNT),
        )
    for kind in (GroupKind.PARTNERS, GroupKind.DIRECT, GroupKind.OVERALL):
        for g in result.groups:
            if g.period.name == period and g.group.kind is kind:
                table.add_row(
                    "",
                    Text(_AGGREGATE_LABELS[kind], style="bold"),
                    *([""] if tiered else []),
                    "",
                    _cell(g, KpiFigure.DEAL_COUNT),
                    _cell(g, KpiFigure.WON_REVENUE),
                    *([_cell(g, KpiFigure.WON_REVENUE, influenced=True)] if attributed else []),
                    _cell(g, KpiFigure.AVG_DEAL_SIZE),
                    _cell(g, KpiFigure.WIN_RATE),
                    _cell(g, KpiFigure.OPEN_AMOUNT),
                )
    against = "▲▼ against the prior period"
    window = next((p for p in result.periods if p.name == period), None)
    if window is not None and window.last_year_last is not None:
        against = f"▲▼ against the prior period, then last year ({window.last_year_first} to {window.last_year_last})"
    if len(rows) > limit:
        table.caption = f"top {limit} of {len(rows)} partners · * fewer closed deals than min_closed"
    else:
        table.caption = f"* fewer closed deals than min_closed · {against}"
    if tiered:
        table.caption += " · • new tier"
    if attributed:
        table.caption += (
            " · Influenced: revenue of the deals the partner took part in (each deal once per total)"
        )
    return table


def print_scorecard(
    console: Console,
    result: KpiResult,
    connector: str,
    partner_names: Mapping[str, str | None] | None = None,
    periods: list[str] | None = None,
    limit: int = 25,
) -> None:
    for p in result.periods:
        if periods and p.name not in periods:
            continue
        title = f"{connector} · {p.name.replace('_', ' ')} ({p.first} to {p.last}) · {result.currency} · as of {p.as_of}"
        console.print(scorecard_table(result, p.name, title, partner_names, limit))
    dq = {k: v for k, v in result.data_quality.as_dict().items() if v}
    if dq:
        console.print("data quality: " + ", ".join(f"{k} {v}" for k, v in dq.items()), style="yellow")
