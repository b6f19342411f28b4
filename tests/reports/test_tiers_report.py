"""The JSON output and the reports carry the tier only with kpi.tiers (docs/output-schema.md, "Partner
tiers"); without it the document is byte for byte what it was."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, timezone
from typing import Any

from rich.console import Console

from kpi_core import KpiResult
from partnerkpi.reports.html import render_html
from partnerkpi.reports.serialize import connector_report, json_default, report_document
from partnerkpi.reports.table import print_scorecard
from tests.kpi_core.builders import opp, run
from tests.kpi_core.test_tiers import REVENUE_TIERS

AS_OF = date(2025, 1, 15)
AS_OF_MOMENT = datetime(2025, 1, 15, 8, 0, tzinfo=timezone.utc)
TIER_KEYS = {"tier", "tier_reached_on", "tier_previous"}


def result(**settings: object) -> KpiResult:
    # p1: Gold in Q1 2024, two quarters at 100: Silver from 2024-10-01 (as tests/kpi_core/test_tiers.py).
    opps = [
        opp(amount=1200, created=date(2024, 1, 5), closed=date(2024, 2, 10)),
        opp(amount=100, created=date(2024, 4, 5), closed=date(2024, 5, 10)),
        opp(amount=100, created=date(2024, 7, 5), closed=date(2024, 8, 10)),
        opp(partner="p2", amount=600, created=date(2024, 10, 5), closed=date(2024, 12, 31)),
    ]
    return run(opps, as_of=AS_OF, periods=["last_365_days"], partners=["p1", "p2"], **settings)


def document(res: KpiResult) -> str:
    return json.dumps(connector_report("c", res), default=json_default, sort_keys=False)


def test_without_tiers_the_output_has_no_tier_key() -> None:
    plain = json.loads(document(result()))
    assert all(not TIER_KEYS & set(g) for g in plain["groups"])


def test_with_tiers_partner_groups_gain_the_tier_and_the_rest_is_byte_for_byte_the_same() -> None:
    plain, tiered = json.loads(document(result())), json.loads(document(result(tiers=REVENUE_TIERS)))
    p1, p2 = tiered["groups"][0], tiered["groups"][1]
    assert {k: p1[k] for k in TIER_KEYS} == {
        "tier": "Silver",
        "tier_reached_on": "2024-10-01",
        "tier_previous": "Silver",
    }
    assert {k: p2[k] for k in TIER_KEYS} == {
        "tier": "Silver",
        "tier_reached_on": "2025-01-01",
        "tier_previous": None,
    }
    assert all(not TIER_KEYS & set(g) for g in tiered["groups"][2:])
    stripped: dict[str, Any] = {
        **tiered,
        "groups": [{k: v for k, v in g.items() if k not in TIER_KEYS} for g in tiered["groups"]],
    }
    assert json.dumps(stripped) == json.dumps(plain)


def test_the_terminal_table_has_a_tier_column_only_with_tiers() -> None:
    def table(res: KpiResult) -> str:
        out = io.StringIO()
        print_scorecard(Console(file=out, width=100, color_system=None), res, "c")
        return out.getvalue()

    plain, tiered = table(result()), table(result(tiers=REVENUE_TIERS))
    assert "Tier" not in plain and "new tier" not in plain
    assert "Tier" in tiered and "Silver •" in tiered and "• new tier" in tiered
    assert max(len(line) for line in tiered.splitlines()) <= 100


def test_the_html_report_shows_the_tier_beside_the_partner() -> None:
    def html(res: KpiResult) -> str:
        doc = report_document([connector_report("c", res)], generated_at=AS_OF_MOMENT)
        return render_html(json.loads(json.dumps(doc, default=json_default)))

    assert "class=tier" not in html(result())
    page = html(result(tiers=REVENUE_TIERS))
    assert '<span class=tier title="since 2024-10-01">Silver</span>' in page
    assert '<span class=tier title="since 2025-01-01, was no tier">Silver</span>' in page
