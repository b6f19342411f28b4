"""A partner's KPIs across the stored KPI snapshots (one per sync run), for trend charts and for
``partnerkpi report --history PARTNER``.

Reads the ``kpi_snapshots`` table directly: each row's payload is the group's JSON-ready form
(reports.serialize.group_dict), so the history reads exactly what each run computed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import Select, select

from partnerkpi.reports import fmt
from partnerkpi.reports.view import GroupView
from partnerkpi.state import StateStore
from partnerkpi.state.tables import kpi_snapshots

DEFAULT_POINTS = 12
"""How many snapshots a trend chart shows (the latest ones)."""


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    """One partner's figures for one period as one run computed them."""

    run_id: int
    as_of: date
    period: str
    computed_at: datetime
    quality_score: float | None
    won_revenue: Decimal | None
    deal_count: int | None
    win_rate: float | None
    closed_count: int | None
    open_amount: Decimal | None
    low_sample: bool | None


ReportHistory = Mapping[str, Mapping[str, Sequence[HistoryPoint]]]
"""connector name -> partner id -> points, oldest first (what render_html draws trends from)."""


def point(run_id: int, as_of: date, computed_at: datetime, payload: Mapping[str, Any]) -> HistoryPoint:
    group = GroupView.parse(payload)
    return HistoryPoint(
        run_id=run_id,
        as_of=as_of,
        period=payload["period"],
        computed_at=computed_at,
        quality_score=group.rate("quality_score").value,
        won_revenue=group.money("won_revenue").value,
        deal_count=group.count("deal_count").value,
        win_rate=group.rate("win_rate").value,
        closed_count=group.count("closed_count").value,
        open_amount=group.money("open_amount").value,
        low_sample=group.low_sample,
    )


def _partner_rows(connector: str) -> Select[Any]:
    t = kpi_snapshots.c
    return (
        select(t.run_id, t.as_of, t.created_at, t.partner_id, t.payload)
        .where(t.connector == connector, t.group_kind == "partner")
        .order_by(t.as_of, t.run_id, t.id)
    )


def partner_history(
    store: StateStore, connector: str, partner_id: str, period: str | None = None
) -> list[HistoryPoint]:
    """Every stored snapshot of one partner, oldest first (by as_of, then run); one period or all."""
    query = _partner_rows(connector).where(kpi_snapshots.c.partner_id == partner_id)
    if period is not None:
        query = query.where(kpi_snapshots.c.period == period)
    with store.engine.connect() as conn:
        return [point(r.run_id, r.as_of, r.created_at, r.payload) for r in conn.execute(query)]


def latest_runs(store: StateStore, connector: str, points: int = DEFAULT_POINTS) -> list[int]:
    """The run of each of the latest ``points`` snapshot days (the last run of a day wins), oldest first."""
    t = kpi_snapshots.c
    query = select(t.as_of, t.run_id).where(t.connector == connector).group_by(t.as_of, t.run_id)
    with store.engine.connect() as conn:
        last_of_day: dict[date, int] = {}
        for as_of, run_id in conn.execute(query):
            last_of_day[as_of] = max(run_id, last_of_day.get(as_of, run_id))
    return [last_of_day[d] for d in sorted(last_of_day)[-points:]]


def report_history(
    store: StateStore,
    connectors: Iterable[str],
    partner_ids: Iterable[str] | None = None,
    points: int = DEFAULT_POINTS,
) -> dict[str, dict[str, list[HistoryPoint]]]:
    """The trends of the HTML report: per connector and partner, the latest ``points`` snapshot days."""
    wanted = None if partner_ids is None else set(partner_ids)
    history: dict[str, dict[str, list[HistoryPoint]]] = {}
    for connector in connectors:
        runs = latest_runs(store, connector, points)
        query = _partner_rows(connector).where(kpi_snapshots.c.run_id.in_(runs))
        by_partner: dict[str, list[HistoryPoint]] = {}
        with store.engine.connect() as conn:
            for r in conn.execute(query):
                if wanted is None or r.partner_id in wanted:
                    by_partner.setdefault(r.partner_id, []).append(
                        point(r.run_id, r.as_of, r.created_at, r.payload)
                    )
        history[connector] = by_partner
    return history


def series(points: Sequence[HistoryPoint], period: str) -> list[HistoryPoint]:
    """One period's points, oldest first, the last run of each day only (a chart's x axis is days)."""
    by_day: dict[date, HistoryPoint] = {}
    for p in points:
        if p.period == period and (p.as_of not in by_day or p.run_id >= by_day[p.as_of].run_id):
            by_day[p.as_of] = p
    return [by_day[d] for d in sorted(by_day)]


# -- the terminal view ------------------------------------------------------------------------------
def _change(now: float | Decimal | None, before: float | Decimal | None) -> Text:
    """An arrow against the snapshot before; ``=`` unchanged, ``·`` nothing to compare (same width, so
    the numbers line up)."""
    if now is None or before is None:
        return Text(" ·", style="dim")
    if now == before:
        return Text(" =", style="dim")
    return Text(" ▲", style="green") if now > before else Text(" ▼", style="red")


def history_table(points: Sequence[HistoryPoint], title: str) -> Table:
    """One row per snapshot: score, won revenue, deals, win rate, pipeline; arrows against the row above."""
    table = Table(title=title, title_justify="left")
    table.add_column("As of")
    table.add_column("Run", justify="right")
    table.add_column("Score", justify="right")
    table.add_column("Won revenue", justify="right")
    table.add_column("Deals", justify="right")
    table.add_column("Win rate", justify="right")
    table.add_column("Closed", justify="right")
    table.add_column("Pipeline", justify="right")
    previous: HistoryPoint | None = None
    for p in points:
        before = previous if previous is not None and previous.period == p.period else None
        table.add_row(
            p.as_of.isoformat(),
            str(p.run_id),
            Text(fmt.score(p.quality_score) + (" *" if p.low_sample else "  ")).append_text(
                _change(p.quality_score, before.quality_score if before else None)
            ),
            Text(fmt.money(p.won_revenue)).append_text(
                _change(p.won_revenue, before.won_revenue if before else None)
            ),
            Text(fmt.count(p.deal_count)).append_text(
                _change(p.deal_count, before.deal_count if before else None)
            ),
            Text(fmt.rate(p.win_rate)).append_text(_change(p.win_rate, before.win_rate if before else None)),
            fmt.count(p.closed_count),
            Text(fmt.money(p.open_amount)).append_text(
                _change(p.open_amount, before.open_amount if before else None)
            ),
        )
        previous = p
    table.caption = "* fewer closed deals than min_closed · ▲▼= against the snapshot above"
    return table


def print_history(
    console: Console,
    store: StateStore,
    connector: str,
    partner_id: str,
    periods: Sequence[str] = (),
    partner_name: str | None = None,
    currency: str | None = None,
) -> int:
    """``partnerkpi report --history PARTNER``: one table per period (``periods``, else every stored
    one), oldest snapshot first; the number of snapshots shown. The partner's name comes from the
    mirror unless given."""
    points = partner_history(store, connector, partner_id)
    if partner_name is None:
        partner_name = next((p.name for p in store.partners(connector) if p.id == partner_id), None)
    label = f"{partner_name} ({partner_id})" if partner_name else partner_id
    if not points:
        console.print(f"{connector}: no stored snapshots of partner {label} (the sync job stores them)")
        return 0
    stored = sorted({p.period for p in points})
    shown = 0
    for period in periods or stored:
        rows = [p for p in points if p.period == period]
        if rows:
            money = f" · {currency}" if currency else ""
            title = f"{connector} · {label} · {period.replace('_', ' ')}{money}"
            console.print(history_table(rows, title))
            shown += len(rows)
    if not shown:
        console.print(
            f"{connector}: no stored snapshots of partner {label} for {', '.join(periods)} "
            f"(stored: {', '.join(stored)})"
        )
    return shown
