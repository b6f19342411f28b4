"""docs/kpis.md is the reader's page: it names the eight KPIs, and the worked examples it gives are what
kpi_core computes (so the page cannot drift from the code)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

from kpi_core import Status
from tests.kpi_core.builders import opp, run, value

DOC = Path(__file__).resolve().parents[2] / "docs" / "kpis.md"
WON, LOST, OPEN = Status.WON, Status.LOST, Status.OPEN


def reader_part() -> str:
    text = DOC.read_text(encoding="utf-8")
    return text[: text.index("## Part 2")]


def test_the_reader_part_has_each_of_the_eight_kpis_with_what_it_is_and_what_moves_it() -> None:
    part = reader_part()
    headings = re.findall(r"^### (\d)\. (.+)$", part, re.M)
    assert [title for _, title in headings] == [
        "Average deal size",
        "Deal count",
        "Opportunity pipeline",
        "Marketing-channel mix",
        "Close rate",
        "Deal velocity",
        "Quality score",
        "Deal success",
    ]
    sections = re.split(r"^### \d\. .+$", part, flags=re.M)[1:]
    for (_, title), section in zip(headings, sections, strict=True):
        assert "**What it is:**" in section, title
        assert "**What moves it:**" in section, title
    assert "### The trend of every figure" in part


def test_the_articles_example_on_the_page_200_and_400_give_300() -> None:
    assert "(200 + 400) / 2 = **300**" in reader_part()
    result = run(
        [opp(WON, amount=200, closed=date(2024, 3, 20)), opp(WON, amount=400, closed=date(2024, 3, 30))],
        periods=["last_15_days"],
    )
    assert value(result, "avg_deal_size") == Decimal(300)


def test_the_velocity_example_on_the_page_is_what_kpi_core_computes() -> None:
    assert "10 x 0.5 x 3,000 / 30 = **500 per day**" in reader_part()
    won = [opp(WON, amount=3000, created=date(2024, 2, 20), closed=date(2024, 3, 21)) for _ in range(2)]
    lost = [opp(LOST, amount=1000, created=date(2024, 2, 20), closed=date(2024, 3, 21)) for _ in range(2)]
    open_deals = [opp(OPEN, amount=500, created=date(2024, 3, 1)) for _ in range(10)]
    result = run([*won, *lost, *open_deals], periods=["last_30_days"])
    assert value(result, "open_count") == 10
    assert value(result, "win_rate") == 0.5
    assert value(result, "avg_deal_size") == Decimal(3000)
    assert value(result, "avg_cycle_days") == 30
    assert value(result, "deal_velocity") == Decimal(500)


def test_the_close_rate_and_deal_success_examples_are_what_kpi_core_computes() -> None:
    part = reader_part()
    assert "Of 20 deals a partner registered this quarter, 5 won: a close rate of 25%" in part
    assert "8 won and 2 lost: a deal success of 80%" in part
    created = [opp(WON, created=date(2024, 3, 2), closed=date(2024, 3, 20)) for _ in range(5)]
    created += [opp(OPEN, created=date(2024, 3, 2)) for _ in range(15)]
    assert value(run(created, periods=["last_30_days"]), "close_rate") == 0.25
    closed = [opp(WON) for _ in range(8)] + [opp(LOST) for _ in range(2)]
    assert value(run(closed), "win_rate") == 0.8
