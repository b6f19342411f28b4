"""The HTML scorecard (``partnerkpi report --format html``): one self-contained page for sales leaders.

Everything is inline (styles, SVG charts; no script, no font, no network), so the file can be mailed,
archived and opened offline. It renders the versioned JSON document (docs/output-schema.md), the
same data the JSON and CSV exports carry, plus the partners' trends from the stored KPI snapshots.
The markup is compact (optional closing tags left out) so that a thousand partners stay well under
2 MB. Here: the page, each connector's and period's sections (tiles, charts, data quality); the
leaderboard, one row a partner, is html_board."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from html import escape
from typing import Any

from partnerkpi.reports import fmt, svg
from partnerkpi.reports.history import ReportHistory
from partnerkpi.reports.html_board import PartnerHistory, leaderboard
from partnerkpi.reports.html_style import stylesheet
from partnerkpi.reports.view import (
    ConnectorView,
    DocumentView,
    Fig,
    GroupView,
    PeriodView,
    document_view,
)

DATA_QUALITY_RULES: tuple[tuple[str, str, str], ...] = (
    (
        "missing_amount",
        "Missing amount",
        "Counted as a deal and in the rates; left out of every sum of money.",
    ),
    ("negative_amount", "Negative amount", "Treated as a missing amount."),
    ("unknown_currency", "Unknown currency", "Not convertible: treated as a missing amount."),
    ("unknown_stage", "Unknown stage", "Left out entirely (the stage is not in the CRM's stage metadata)."),
    ("closed_without_close_date", "Closed without a close date", "Left out entirely."),
    ("missing_created", "No creation date", "Left out of the cohort, the open pipeline and the cycle time."),
    (
        "unknown_partner",
        "Unknown partner",
        "Partner id with no partner record: counted in all partners, not ranked.",
    ),
)


def moment(value: object) -> str:
    """A stored timestamp (datetime or ISO text) as ``2026-10-31 18:05 UTC``."""
    if value is None:
        return fmt.DASH
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    zone = when.tzname() or ""
    return f"{when:%Y-%m-%d %H:%M} {'UTC' if zone in ('UTC', 'UTC+00:00') else zone}".rstrip()


def change_span(text: str, change: float | Decimal | None, extra: str = "") -> str:
    """A change with its direction as a class (colour and arrow come from the stylesheet)."""
    return f'<span class="{fmt.trend(change)}">{escape(text)}</span>{extra}'


# -- the page ---------------------------------------------------------------------------------------
def render_html(document: Mapping[str, Any], history: ReportHistory | None = None) -> str:
    """The whole report as one HTML page; ``history`` (reports.history.report_history) adds trends."""
    view = document_view(document)
    periods = max((len(c.periods) for c in view.connectors), default=1)
    body = "".join(
        connector_section(c, i, None if history is None else history.get(c.name, {}))
        for i, c in enumerate(view.connectors)
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(page_title(view))}</title><style>{stylesheet(periods)}</style></head><body>"
        f"{svg.spark_markers()}{page_header(view)}<main>{body}</main>{page_footer()}</body></html>\n"
    )


def page_title(view: DocumentView) -> str:
    names = ", ".join(c.name for c in view.connectors) or "no connector"
    as_of = max((c.as_of for c in view.connectors), default=view.generated_at.date())
    return f"Partner scorecard · {names} · as of {fmt.day(as_of)}"


def page_header(view: DocumentView) -> str:
    return (
        '<header class="top"><h1>Partner scorecard</h1>'
        f"<p>Generated {escape(moment(view.generated_at))} · {escape(view.schema)}</p></header>"
    )


def page_footer() -> str:
    return (
        "<footer><h2>How to read this report</h2>"
        "<p><b>Score</b> (0–100) ranks the partners of one period against each other: a weighted sum of "
        "each component’s percentile among all partners — won revenue, deals won and the smoothed win "
        "rate (default weights 50%, 30%, 20%). A percentile of 80 means the partner does better than 80% "
        "of partners on that component.</p>"
        "<p><b>Change</b> compares the period with the period before it (▲ higher, ▼ lower). "
        '<span class="ls">*</span> marks a partner with fewer closed deals than the configured minimum: '
        "its score rests on little data.</p>"
        "<p><b>Channel mix</b> is each marketing channel’s share of won revenue. Trends show the score and "
        "won revenue of the period as computed by each stored sync run, oldest to newest.</p></footer>"
    )


# -- one connector ----------------------------------------------------------------------------------
def connector_section(c: ConnectorView, index: int, history: PartnerHistory | None) -> str:
    tabs = "".join(
        f'<input type="radio" name="c{index}" id="c{index}p{j}"{" checked" if j == 0 else ""}>'
        f'<label for="c{index}p{j}">{escape(p.title)}</label>'
        for j, p in enumerate(c.periods)
    )
    panels = "".join(period_section(c, p, history) for p in c.periods)
    return (
        f'<section class="conn" aria-labelledby="c{index}h"><h2 id="c{index}h">{escape(c.name)}</h2>'
        f'{meta(c)}<div class="tabs">{tabs}{panels}</div>{data_quality_panel(c)}</section>'
    )


def meta(c: ConnectorView) -> str:
    run = c.last_run or {}
    pulled = moment(run.get("ended_at") or run.get("started_at"))
    if run.get("status"):
        pulled += f" (run {run.get('id')}, {run['status']})"
    partners = max((len(p.partners) for p in c.periods), default=0)
    items = (
        ("Periods", ", ".join(p.title for p in c.periods) or fmt.DASH),
        ("As of", fmt.day(c.as_of)),
        ("Currency", c.currency),
        ("Data pulled", pulled),
        ("Opportunities read", fmt.count(c.opportunities_seen)),
        ("Partners ranked", fmt.count(partners)),
    )
    cells = "".join(f"<div><dt>{escape(k)}</dt><dd>{escape(v)}</dd></div>" for k, v in items)
    return f'<dl class="meta">{cells}</dl>'


# -- one period -------------------------------------------------------------------------------------
def period_section(c: ConnectorView, p: PeriodView, history: PartnerHistory | None) -> str:
    heading = (
        f'<h3>{escape(p.title)}<span class="range">{fmt.span(p.first, p.last)} · '
        f"against {fmt.span(p.prior_first, p.prior_last)}{_last_year_range(p)}</span></h3>"
    )
    return (
        f'<section class="period" aria-label="{escape(p.title)}">{heading}{tiles(c, p)}'
        f'<div class="charts">{mix_figure(p)}{pipeline_figure(c, p)}</div>'
        f"{leaderboard(c, p, history)}</section>"
    )


def tile(label: str, value: str, detail: str) -> str:
    return f'<div class="tile"><div class="k">{escape(label)}</div><div class="v">{escape(value)}</div><div class="d">{detail}</div></div>'


def _last_year_range(p: PeriodView) -> str:
    """`` and last year's …`` when the period is compared with last year too; else nothing."""
    if p.last_year_first is None or p.last_year_last is None:
        return ""
    return f" and {fmt.span(p.last_year_first, p.last_year_last)}"


def _vs_prior(fig: Fig[Decimal] | Fig[int], render: Callable[[Any], str], last_year: bool = False) -> str:
    change = change_span(fmt.signed_rate(fig.change_pct), fig.change) if fig.change_pct is not None else ""
    text = f"{change} prior {escape(render(fig.prior))}".strip()
    if last_year:
        pct = fig.change_pct_vs_last_year
        versus = change_span(fmt.signed_rate(pct), fig.change_vs_last_year) if pct is not None else ""
        text += f" · {versus} last year {escape(render(fig.last_year))}".replace("  ", " ")
    return text


def tiles(c: ConnectorView, p: PeriodView) -> str:
    partners = p.aggregates.get("partners")
    overall = p.aggregates.get("overall")
    if partners is None:
        return ""
    revenue, deals = partners.money("won_revenue"), partners.count("deal_count")
    win, pipeline = partners.rate("win_rate"), partners.money("open_amount")
    total = overall.money("won_revenue").value if overall else None
    share = float(revenue.value / total) if revenue.value is not None and total else None
    low = sum(1 for g in p.partners if g.low_sample)
    ly = p.last_year_first is not None
    win_change = (
        None
        if win.change is None
        else change_span(f"{fmt.sign(win.change)}{abs(win.change) * 100:.1f} pts", win.change)
    )
    return (
        '<div class="tiles">'
        + tile(
            f"Partner won revenue ({c.currency})",
            fmt.money_compact(revenue.value),
            _vs_prior(revenue, fmt.money_compact, ly),
        )
        + influenced_tile(c, partners, ly)
        + tile("Partner deals won", fmt.count(deals.value), _vs_prior(deals, fmt.count, ly))
        + tile(
            "Partner win rate", fmt.rate(win.value), f"{win_change or ''} prior {fmt.rate(win.prior)}".strip()
        )
        + tile(
            f"Partner open pipeline ({c.currency})",
            fmt.money_compact(pipeline.value),
            _vs_prior(pipeline, fmt.money_compact, ly),
        )
        + tile(
            "Partner share of revenue",
            fmt.rate(share),
            f"{len(p.partners):,} partners · {low:,} with few closed deals",
        )
        + "</div>"
    )


def influenced_tile(c: ConnectorView, partners: GroupView, last_year: bool) -> str:
    """With influenced attribution: the revenue of the deals some partner took part in, each deal once
    (docs/kpis.md, "Sourced and influenced"); nothing without."""
    if not partners.influenced:
        return ""
    influenced = partners.influenced_money("won_revenue")
    return tile(
        f"Partner-influenced revenue ({c.currency})",
        fmt.money_compact(influenced.value),
        _vs_prior(influenced, fmt.money_compact, last_year) + " · sourced or influenced, each deal once",
    )


TOP_IN_CHARTS = 3


def chart_groups(p: PeriodView) -> tuple[list[GroupView], svg.Divider]:
    """The groups the charts compare: all partners, direct, overall, then the top-ranked partners."""
    aggregates = [p.aggregates[k] for k in ("partners", "direct", "overall") if k in p.aggregates]
    top = list(p.partners[:TOP_IN_CHARTS])
    return aggregates + top, svg.Divider(len(aggregates), f"Top {len(top)} partners by score")


def mix_figure(p: PeriodView) -> str:
    groups, divider = chart_groups(p)
    rows = [
        svg.MixRow(g.label, g.revenue_shares(), fmt.money_compact(g.money("won_revenue").value))
        for g in groups
    ]
    desc = "; ".join(
        f"{r.label}: " + (", ".join(f"{s} {v * 100:.0f}%" for s, v in r.shares) or "no won revenue")
        for r in rows
    )
    chart = svg.mix_chart(rows, f"Channel mix of won revenue, {p.title.lower()}", desc, divider)
    return (
        "<figure><figcaption>Channel mix of won revenue"
        "<small>Share of won revenue by marketing channel; all partners, direct, overall and the top 3 partners</small>"
        f"</figcaption>{chart}</figure>"
    )


def pipeline_figure(c: ConnectorView, p: PeriodView) -> str:
    rows = []
    groups, divider = chart_groups(p)
    for g in groups:
        fig = g.money("open_amount")
        rows.append(
            svg.PairRow(
                g.label,
                None if fig.value is None else float(fig.value),
                None if fig.prior is None else float(fig.prior),
                f"{fmt.money_compact(fig.value)} ({fmt.signed_rate(fig.change_pct)})"
                if fig.change_pct is not None
                else fmt.money_compact(fig.value),
                fmt.money_compact(fig.prior),
            )
        )
    legend = (f"Open on {fmt.day(p.last)}", f"Open on {fmt.day(p.prior_last)}")
    desc = "; ".join(f"{r.label}: {r.now_text} now, {r.before_text} before" for r in rows)
    chart = svg.pair_chart(
        rows, legend, f"Open pipeline now and at the end of the prior period ({c.currency})", desc, divider
    )
    source = p.aggregates.get("partners")
    note = (
        "taken from a stored snapshot"
        if source and source.pipeline_prior_source == "snapshot"
        else "rebuilt from today’s records"
    )
    return (
        f"<figure><figcaption>Open pipeline now against the prior period ({escape(c.currency)})"
        f"<small>Open amount at the end of each period; the prior is {note}</small>"
        f"</figcaption>{chart}</figure>"
    )


# -- data quality -----------------------------------------------------------------------------------
def data_quality_panel(c: ConnectorView) -> str:
    rows = []
    for key, label, effect in DATA_QUALITY_RULES:
        n = int(c.data_quality.get(key, 0))
        rows.append(
            f'<tr{" class=zero" if n == 0 else ""}><td>{label}<td class="n">{n:,}<td>{escape(effect)}'
        )
    left_out = sum(int(v) for v in c.data_quality.values())
    summary = (
        '<p class="ok">No record broke a data-quality rule.</p>'
        if left_out == 0
        else f"<p>{left_out:,} rule breaks among {c.opportunities_seen:,} opportunities read. "
        "A record that breaks a rule is left out of the figures it would falsify and counted here; "
        "fix it in the CRM and the next sync picks it up.</p>"
    )
    low = "".join(
        f"<li>{escape(p.title)}: {sum(1 for g in p.partners if g.low_sample):,} of {len(p.partners):,} partners</li>"
        for p in c.periods
    )
    return (
        f'<section class="dq" aria-label="Data quality, {escape(c.name)}"><h3>Data quality</h3>{summary}'
        '<table><thead><tr><th scope="col">Rule<th scope="col">Records<th scope="col">What the report does</thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
        f"<p>Partners with few closed deals (score shown, resting on little data):</p><ul>{low}</ul></section>"
    )
