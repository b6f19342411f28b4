"""The HTML scorecard in headless Chromium, with no network: the DOM holds the leaderboards and the
charts, and the page renders to a PNG (docs/img/scorecard.png is made the same way:
``python -m tests.reports.make_screenshot``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from partnerkpi.reports.html import render_html
from tests.reports import chromium
from tests.reports.dom import summarize

pytestmark = pytest.mark.slow

PARTNERS = 40


@pytest.fixture()
def page(html_file: Path, sample_document: dict[str, Any], sample_history: Any) -> Path:
    html_file.write_text(render_html(sample_document, sample_history), encoding="utf-8")
    return html_file


def test_the_browser_dom_has_the_leaderboards_and_the_charts(page: Path) -> None:
    summary = summarize(chromium.dump_dom(page))
    assert len(summary.boards) == 3
    for board in summary.boards:
        partners = [r for r in board.rows if r.css != "agg"]
        aggregates = [r for r in board.rows if r.css == "agg"]
        assert len(partners) == PARTNERS
        assert [r.header for r in aggregates] == ["All partners", "Direct", "Overall"]
        assert all(r.svgs == 3 and r.cells == 14 for r in partners)
        assert all(r.cells == 14 for r in aggregates)
    assert len(summary.chart_titles) == 6
    assert "Data quality" in summary.headings
    assert summary.external == [] and summary.scripts == 0


def test_the_page_renders_to_a_png(page: Path, tmp_path: Path) -> None:
    png = chromium.screenshot(page, tmp_path / "scorecard.png")
    assert chromium.png_size(png) == (1280, 2000)
    assert png.stat().st_size > 50_000  # a blank or unstyled page compresses far smaller
