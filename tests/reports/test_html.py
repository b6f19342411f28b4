"""The HTML scorecard as text: complete, self-contained, escaped, ranked, and small."""

from __future__ import annotations

import copy
import json
import re
from decimal import Decimal
from typing import Any

from partnerkpi.reports import fmt, svg
from partnerkpi.reports.html import render_html
from partnerkpi.reports.serialize import json_default
from partnerkpi.reports.view import document_view
from tests.reports import synthetic
from tests.reports.dom import summarize

PERIODS = 3
PARTNERS = 40


def partner_rows(html: str) -> list[list[Any]]:
    return [[r for r in board.rows if r.css != "agg"] for board in summarize(html).boards]


def test_every_period_has_a_leaderboard_of_every_partner_ranked_by_score(
    sample_document: dict[str, Any], sample_history: Any
) -> None:
    html = render_html(sample_document, sample_history)
    view = document_view(sample_document).connectors[0]
    boards = partner_rows(html)
    assert len(boards) == PERIODS
    for period, rows in zip(view.periods, boards, strict=True):
        assert len(rows) == PARTNERS
        names = [g.label for g in period.partners]
        assert [r.header for r in rows] == names
        scores = [g.rate("quality_score").value or 0.0 for g in period.partners]
        assert scores == sorted(scores, reverse=True)


def test_each_partner_row_has_its_mix_and_two_trend_charts(
    sample_document: dict[str, Any], sample_history: Any
) -> None:
    rows = partner_rows(render_html(sample_document, sample_history))[0]
    for row in rows:
        assert row.svgs == 3
        mix, score, revenue = row.svg_titles
        assert mix == "No won revenue" or re.fullmatch(r"(\w+ \d+%)(, \w+ \d+%)*", mix)
        assert score.startswith("Score ") and " → " in score
        assert revenue.startswith("Revenue ")


def test_a_row_shows_the_partners_figures(sample_document: dict[str, Any], sample_history: Any) -> None:
    html = render_html(sample_document, sample_history)
    top = document_view(sample_document).connectors[0].periods[0].partners[0]
    row = partner_rows(html)[0][0]
    text = "".join(row.text)
    assert fmt.score(top.rate("quality_score").value) in text
    assert fmt.money(top.money("won_revenue").value) in text
    assert fmt.rate(top.rate("win_rate").value) in text
    assert fmt.percentile(top.rate("pct_won_revenue").value) in text
    assert fmt.signed_score(top.rate("quality_score").change) in text


def test_the_page_has_the_charts_and_the_panels(sample_document: dict[str, Any], sample_history: Any) -> None:
    html = render_html(sample_document, sample_history)
    summary = summarize(html)
    assert len(summary.chart_titles) == 2 * PERIODS
    assert sum(t.startswith("Channel mix of won revenue") for t in summary.chart_titles) == PERIODS
    assert sum(t.startswith("Open pipeline now") for t in summary.chart_titles) == PERIODS
    assert "Data quality" in summary.headings
    conn = sample_document["connectors"][0]
    assert f">{conn['data_quality']['unknown_stage']:,}<" in html
    assert "Currency" in html and ">USD<" in html
    assert "31 Oct 2026" in html  # the as-of day
    assert "Data pulled" in html and "(run 12, ok)" in html


def test_the_page_needs_no_network(sample_document: dict[str, Any], sample_history: Any) -> None:
    html = render_html(sample_document, sample_history)
    summary = summarize(html)
    assert summary.external == []
    assert summary.scripts == 0
    assert not re.search(r"url\((?!#)|@import|<link|https?://", html)


def test_without_history_there_are_no_trend_columns(sample_document: dict[str, Any]) -> None:
    html = render_html(sample_document, None)
    board = summarize(html).boards[0]
    assert all(row.svgs == 1 for row in board.rows if row.css != "agg")
    assert "Trend" not in "".join(board.head_text) and "Percentile" in "".join(board.head_text)


def test_a_partner_without_snapshots_shows_dashes(
    sample_document: dict[str, Any], sample_history: Any
) -> None:
    history = {
        name: {pid: pts for pid, pts in by.items() if pid != "P-0008"} for name, by in sample_history.items()
    }
    rows = partner_rows(render_html(sample_document, history))[0]
    row = next(r for r in rows if "P-0008" in r.text)
    assert row.svgs == 1 and row.text[-2:] == [fmt.DASH, fmt.DASH]


def test_names_and_ids_are_escaped(sample_document: dict[str, Any]) -> None:
    doc = copy.deepcopy(sample_document)
    for g in doc["connectors"][0]["groups"]:
        if g["group"]["partner_id"] == "P-0008":
            g["group"]["name"] = '<script>alert("x")</script> & Sons'
    html = render_html(doc, None)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Sons" in html


def test_a_thousand_partners_with_three_periods_and_twelve_snapshots_stay_under_2_mb() -> None:
    document = synthetic.document(1000)
    history = synthetic.history(1000, 12)
    html = render_html(document, history)
    size = len(html.encode("utf-8"))
    assert size < 2_000_000, f"{size:,} bytes"
    rows = partner_rows(html)
    assert [len(r) for r in rows] == [1000] * 3
    assert all(row.svgs == 3 for board in rows for row in board)


def test_money_is_shown_rounded_to_whole_units() -> None:
    assert fmt.money(Decimal("1234567.5")) == "1,234,568"
    assert fmt.money_compact(Decimal("1234567")) == "1.23M"
    assert fmt.money_compact(Decimal("45600")) == "45.6K"
    assert fmt.money_compact(Decimal("-980")) == "-980"
    assert fmt.signed_rate(-0.044) == "−4%" and fmt.signed_rate(0.12) == "+12%"
    assert fmt.rate(None) == fmt.DASH


def test_a_sparkline_puts_higher_values_higher_and_skips_undefined_ones() -> None:
    points = svg.spark_points([1.0, None, 3.0, 2.0], floor=None, min_span=0.0)
    assert [x for x, _ in points] == sorted(x for x, _ in points) and len(points) == 3
    ys = [y for _, y in points]
    assert ys[1] < ys[2] < ys[0]  # 3 above 2 above 1 (SVG y grows downwards)
    assert svg.sparkline([None, None], "nothing") == ""
    assert svg.relative_path([(2, 9), (8, 3), (14, 12)]) == "M2 9l6-6 6 9"


def test_a_share_bar_spans_exactly_the_shares() -> None:
    bar = svg.share_bar({"paid": 0.25, "owned": 0.5, "earned": 0.25}, "mix")
    assert re.findall(r"<line (?:x1=(\d+) )?x2=(\d+) />", bar) == [
        ("", "22"),
        ("22", "45"),
        ("45", "90"),
        ("90", "90"),
    ]
    assert 'class="none"' in svg.share_bar({}, "empty")


def test_a_document_read_back_from_json_renders_the_same(sample_document: dict[str, Any]) -> None:
    from_json = json.loads(json.dumps(sample_document, default=json_default))
    assert render_html(from_json, None) == render_html(sample_document, None)


def test_a_connector_without_partners_and_an_empty_document_still_render() -> None:
    doc = synthetic.document(0)
    html = render_html(doc, {})
    summary = summarize(html)
    assert len(summary.boards) == 3 and all(len(b.rows) == 3 for b in summary.boards)  # the totals only
    assert len(summary.chart_titles) == 6
    empty = render_html(
        {"schema": "partnerkpi.report/v1", "generated_at": "2026-11-22T00:00:00+00:00", "connectors": []}
    )
    assert "Partner scorecard" in empty and summarize(empty).boards == []
