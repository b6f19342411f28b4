"""The HTML report's leaderboard: one row a partner (rank, score and its change, percentiles, figures,
channel mix, and with stored snapshots the score and revenue trends), then the aggregate rows. It is the
part that grows with the data, so its markup is the compact one (optional closing tags and attribute
quotes left out) that keeps a thousand partners well under 2 MB."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from html import escape

from partnerkpi.reports import fmt, svg
from partnerkpi.reports.history import HistoryPoint, series
from partnerkpi.reports.view import SEGMENTS, ConnectorView, Fig, GroupView, PeriodView

PartnerHistory = Mapping[str, Sequence[HistoryPoint]]
"""A connector's stored snapshots by partner id (reports.history.report_history)."""


def leaderboard(c: ConnectorView, p: PeriodView, history: PartnerHistory | None) -> str:
    trends = history is not None
    attributed = any(g.influenced for g in (*p.partners, *p.aggregates.values()))
    keys = "".join(f"<span>{svg.swatch(s)}{svg.SEGMENT_LABELS[s]}</span>" for s in SEGMENTS)
    rows = "".join(partner_row(i, g, p, history, attributed) for i, g in enumerate(p.partners, 1))
    aggregates = "".join(
        aggregate_row(p.aggregates[k], trends, attributed)
        for k in ("partners", "direct", "overall")
        if k in p.aggregates
    )
    caption = f"Partners ranked by quality score, {p.title.lower()}, {c.currency}"
    return (
        f"<h4>Leaderboard · {len(p.partners):,} partners by score</h4>"
        f'<div class="legend"><span>Channel mix of won revenue:</span>{keys}'
        '<span><span class="ls">*</span> few closed deals</span></div>'
        f'<div class="wrap"><table class="board{" trends" if trends else ""}"><caption class="sr">{escape(caption)}</caption>'
        f"{board_head(trends, snapshot_span(history, p.name))}<tbody>{rows}{aggregates}</tbody></table></div>"
    )


def snapshot_span(history: PartnerHistory | None, period: str) -> str:
    """The trend columns' reach, for their heading: how many snapshot days, from when to when."""
    days = sorted(
        {point.as_of for points in (history or {}).values() for point in points if point.period == period}
    )
    if not days:
        return " · no stored snapshots"
    return f" · {len(days)} snapshots, {fmt.span(days[0], days[-1])}"


def board_head(trends: bool, snapshots: str) -> str:
    trend_top = f'<th colspan="2" scope="colgroup" class="c">Trend{snapshots}</th>' if trends else ""
    trend_sub = (
        '<th scope="col" class="c">Score</th><th scope="col" class="c">Won revenue</th>' if trends else ""
    )
    return (
        '<thead><tr><th rowspan="2" scope="col">#</th><th rowspan="2" scope="col" class="l">Partner</th>'
        '<th rowspan="2" scope="col">Score</th><th rowspan="2" scope="col">Change</th>'
        '<th colspan="3" scope="colgroup">Percentile</th>'
        '<th rowspan="2" scope="col">Won revenue</th><th rowspan="2" scope="col">Deals</th>'
        '<th rowspan="2" scope="col">Win rate</th><th rowspan="2" scope="col">Open pipeline</th>'
        f'<th rowspan="2" scope="col" class="c">Channel mix</th>{trend_top}</tr>'
        f'<tr><th scope="col">Revenue</th><th scope="col">Deals</th><th scope="col">Win rate</th>{trend_sub}</tr></thead>'
    )


def change_class(change: float | Decimal | None) -> str:
    """An unquoted class attribute for a change's direction (compact: repeated on every row)."""
    return f" class={fmt.trend(change)}"


def money_cell(fig: Fig[Decimal]) -> str:
    if fig.change_pct is None:
        return f"<td>{fmt.money(fig.value)}"
    return f"<td>{fmt.money(fig.value)}<i{change_class(fig.change)}>{fmt.signed_rate(fig.change_pct)}</i>"


def figures_cells(g: GroupView, attributed: bool = False) -> str:
    """Won revenue (with influenced attribution, the influenced revenue beneath), deals, win rate, open
    pipeline (each with its change) and the channel mix."""
    return (
        money_cell(g.money("won_revenue"))
        + (influenced_line(g) if attributed else "")
        + f"<td>{fmt.count(g.count('deal_count').value)}"
        + f"<td>{fmt.rate(g.rate('win_rate').value)}"
        + money_cell(g.money("open_amount"))
        + f"<td>{svg.share_bar(dict(g.revenue_shares()), mix_title(g))}"
    )


def influenced_line(g: GroupView) -> str:
    """Under the (sourced) won revenue: the revenue of the deals the partner took part in, in any role
    (a line of the same cell: the columns' styles count on their positions)."""
    value = g.influenced_money("won_revenue").value
    return (
        f'<i class=na title="Sourced or influenced: the deals it took part in">infl. {fmt.money(value)}</i>'
    )


def mix_title(g: GroupView) -> str:
    shares = g.revenue_shares()
    if not shares:
        return "No won revenue"
    return ", ".join(f"{segment} {share * 100:.0f}%" for segment, share in shares)


def partner_cell(g: GroupView) -> str:
    star = "<sup class=ls>*</sup>" if g.low_sample else ""  # the legend above the table explains it
    pid = g.partner_id or ""
    tier = tier_badge(g)
    return f"<th>{escape(g.label)}{star}{tier}" + (f"<small>{escape(pid)}</small>" if g.name and pid else "")


def tier_badge(g: GroupView) -> str:
    """With kpi.tiers: the partner's tier and since when (kpis.md, "Partner tiers"); nothing without."""
    if g.tier is None or not g.tier["tier"]:
        return ""
    since = f"since {g.tier['reached_on']}" if g.tier["reached_on"] else ""
    was = f", was {g.tier['previous'] or 'no tier'}" if g.tier["previous"] != g.tier["tier"] else ""
    return f' <span class=tier title="{escape(since + was)}">{escape(g.tier["tier"])}</span>'


def partner_row(
    rank: int, g: GroupView, p: PeriodView, history: PartnerHistory | None, attributed: bool = False
) -> str:
    score = g.rate("quality_score")
    bar = f"{(score.value or 0) / 100:.2f}".lstrip("0")
    percentiles = "".join(
        f"<td>{fmt.percentile(g.rate(k).value)}"
        for k in ("pct_won_revenue", "pct_deal_count", "pct_win_rate_smoothed")
    )
    trend_cells = (
        "" if history is None else trend_cell_pair(series(history.get(g.partner_id or "", ()), p.name))
    )
    return (
        f"<tr><td>{rank}{partner_cell(g)}<td style=--s:{bar}>{fmt.score(score.value)}"
        f"<td{change_class(score.change)}>{fmt.signed_score(score.change)}{percentiles}"
        f"{figures_cells(g, attributed)}{trend_cells}"
    )


def aggregate_row(g: GroupView, trends: bool, attributed: bool = False) -> str:
    blanks = "<td>" * (2 if trends else 0)
    return (
        f"<tr class=agg><td><th>{escape(g.label)}<td><td><td><td><td>{figures_cells(g, attributed)}{blanks}"
    )


def trend_cell_pair(points: Sequence[HistoryPoint]) -> str:
    """Sparklines of the score and of won revenue across the stored snapshots of the period."""
    if not points:
        return f"<td>{fmt.DASH}<td>{fmt.DASH}"
    scores = [p.quality_score for p in points]
    revenue = [None if p.won_revenue is None else float(p.won_revenue) for p in points]
    first, last = points[0], points[-1]
    score_title = f"Score {fmt.score(first.quality_score)} → {fmt.score(last.quality_score)}"
    revenue_title = f"Revenue {fmt.money_compact(first.won_revenue)} → {fmt.money_compact(last.won_revenue)}"
    return (
        f"<td>{svg.sparkline(scores, score_title, floor=None, min_span=10.0) or fmt.DASH}"
        f"<td>{svg.sparkline(revenue, revenue_title, floor=0.0) or fmt.DASH}"
    )
