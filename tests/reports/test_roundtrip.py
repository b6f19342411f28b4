"""The JSON and CSV exports round-trip: every figure read back equals the computed one, money exactly."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from kpi_core import KpiSettings, compute
from kpi_core.result import Figure, GroupKey, GroupKind, KpiResult, Number
from kpi_core.schema import Opportunity, Segment, Status
from partnerkpi.reports.csv_export import COLUMNS, write_csv
from partnerkpi.reports.serialize import SCHEMA_VERSION, connector_report, json_default, report_document

AS_OF = date(2024, 3, 31)
MODIFIED = datetime(2024, 1, 1, tzinfo=timezone.utc)


def opp(
    n: int,
    status: Status | None,
    partner: str | None,
    amount: str | None,
    created: date,
    closed: date | None = None,
    channel: str | None = None,
    probability: float | None = None,
) -> Opportunity:
    value = None if amount is None else Decimal(amount)
    return Opportunity(
        id=f"o{n}",
        partner_id=partner,
        amount=value,
        amount_original=value,
        currency="USD",
        status=status,
        created_on=created,
        closed_on=closed,
        expected_close_on=None,
        probability=probability,
        channel=channel,
        modified_at=MODIFIED,
    )


def hand_built() -> list[Opportunity]:
    """Wins, losses and open deals with cents, thirds and missing amounts, over every channel segment."""
    return [
        opp(1, Status.WON, "p1", "1000.10", date(2024, 1, 5), date(2024, 2, 1), "Advertisement"),
        opp(2, Status.WON, "p1", "333.33", date(2023, 11, 20), date(2024, 3, 2), "Web"),
        opp(3, Status.LOST, "p1", "50", date(2024, 1, 10), date(2024, 3, 20), "Partner Referral"),
        opp(4, Status.OPEN, "p1", "2500.55", date(2024, 2, 14), probability=0.3, channel="Email"),
        opp(5, Status.WON, "p2", "0.01", date(2023, 12, 1), date(2024, 1, 15), "Word of mouth"),
        opp(6, Status.WON, "p2", None, date(2024, 1, 2), date(2024, 2, 20)),
        opp(7, Status.LOST, "p2", "10", date(2023, 10, 1), date(2023, 12, 15), "Purchased List"),
        opp(8, Status.WON, "p2", "777.77", date(2023, 9, 1), date(2023, 12, 20), "OFFLINE"),
        opp(9, Status.OPEN, "p3", "123456.78", date(2023, 8, 1), probability=0.9),
        opp(10, Status.WON, None, "4200", date(2024, 1, 1), date(2024, 3, 30), "PAID_SEARCH"),
        opp(11, None, "p1", "99", date(2024, 1, 1)),
        opp(12, Status.WON, "p3", "1", date(2024, 3, 1), date(2024, 3, 31), "Public Relations"),
    ]


def hand_result() -> KpiResult:
    settings = KpiSettings(periods=["last_90_days", "year_to_date"])
    return compute(iter(hand_built()), settings=settings, as_of=AS_OF, partners=["p1", "p2", "p3", "p4"])


NAMES: dict[str, str | None] = {"p1": "Acme Resellers", "p2": 'Beta, "Quoted" & Co', "p3": None, "p4": "Idle"}


def document(result: KpiResult) -> dict[str, Any]:
    report = connector_report("crm", result, NAMES)
    return report_document([report], datetime(2024, 3, 31, 12, tzinfo=timezone.utc))


def read_back(text: str, computed: Number | None) -> Number | None:
    """A figure's text read as the computed value's type (Decimal for money, float for rates)."""
    if text == "":
        return None
    if isinstance(computed, Decimal):
        return Decimal(text)
    if isinstance(computed, int):
        return int(text)
    return float(text)


def expected_figures(result: KpiResult) -> dict[tuple[str, str | None, str, str, str], Figure]:
    """(period, partner id, group kind, segment, figure) -> the computed Figure."""
    out: dict[tuple[str, str | None, str, str, str], Figure] = {}
    for g in result.groups:
        for name, fig in g.figures.items():
            out[(g.period.name, g.group.partner_id, g.group.kind.value, "", name)] = fig
        for segment, figs in g.channels.items():
            for name, fig in figs.items():
                out[(g.period.name, g.group.partner_id, g.group.kind.value, segment.value, name)] = fig
    return out


def assert_same(read: Number | None, computed: Number | None, where: str) -> None:
    assert read == computed, where
    assert type(read) is type(computed) or computed is None, where


@pytest.fixture(params=["hand_built", "sandbox"])
def result(request: pytest.FixtureRequest) -> KpiResult:
    if request.param == "hand_built":
        return hand_result()
    sample_result: KpiResult = request.getfixturevalue("sample_result")
    return sample_result


def test_the_hand_built_result_holds_money_with_cents_and_undefined_figures() -> None:
    result = hand_result()
    p1 = result.for_group(GroupKey(GroupKind.PARTNER, "p1"), "last_90_days")
    assert p1 is not None
    assert p1.figures["won_revenue"].value == Decimal("1333.43")
    p4 = result.for_group(GroupKey(GroupKind.PARTNER, "p4"), "last_90_days")
    assert p4 is not None and p4.figures["win_rate"].value is None


def test_json_round_trips_every_figure(result: KpiResult) -> None:
    text = json.dumps(document(result), default=json_default)
    back = json.loads(text)
    assert back["schema"] == SCHEMA_VERSION
    conn = back["connectors"][0]
    assert conn["as_of"] == result.as_of.isoformat() and conn["currency"] == result.currency
    assert conn["data_quality"] == result.data_quality.as_dict()
    expected = expected_figures(result)
    seen = 0
    for g in conn["groups"]:
        group = g["group"]
        assert group["name"] == (NAMES.get(group["partner_id"]) if group["partner_id"] else None)
        sections = [("", g["figures"]), *list(g["channels"].items())]
        for segment, figures in sections:
            for name, fig in figures.items():
                computed = expected[(g["period"], group["partner_id"], group["kind"], segment, name)]
                where = f"{g['period']} {group['kind']} {group['partner_id']} {segment} {name}"
                for part in ("value", "prior", "change"):
                    raw = fig[part]
                    read = Decimal(raw) if isinstance(raw, str) else raw
                    assert_same(read, getattr(computed, part), f"{where} {part}")
                assert fig["change_pct"] == computed.change_pct, where
                seen += 1
    assert seen == len(expected)


def test_json_money_is_a_decimal_string() -> None:
    back = json.loads(json.dumps(document(hand_result()), default=json_default))
    p1 = next(g for g in back["connectors"][0]["groups"] if g["group"]["partner_id"] == "p1")
    assert p1["figures"]["won_revenue"]["value"] == "1333.43"
    assert isinstance(p1["figures"]["deal_count"]["value"], int)
    assert isinstance(p1["figures"]["win_rate"]["value"], float)


def test_csv_round_trips_every_figure(result: KpiResult) -> None:
    buffer = io.StringIO()
    written = write_csv(document(result), buffer)
    rows = list(csv.DictReader(io.StringIO(buffer.getvalue())))
    assert rows and tuple(rows[0]) == COLUMNS
    expected = expected_figures(result)
    assert written == len(rows) == len(expected)
    windows = {p.name: p for p in result.periods}
    keys = set()
    for row in rows:
        key = (row["period"], row["partner_id"] or None, row["group_kind"], row["segment"], row["figure"])
        keys.add(key)
        computed = expected[key]
        assert row["connector"] == "crm" and row["currency"] == result.currency
        assert row["period_first"] == windows[row["period"]].first.isoformat()
        assert row["period_last"] == windows[row["period"]].last.isoformat()
        assert row["partner_name"] == (NAMES.get(row["partner_id"]) or "")
        for part in ("value", "prior", "change"):
            assert_same(
                read_back(row[part], getattr(computed, part)), getattr(computed, part), f"{key} {part}"
            )
        pct = None if row["change_pct"] == "" else float(row["change_pct"])
        assert pct == computed.change_pct, key
    assert keys == set(expected)


def test_csv_keeps_every_segment_of_every_group() -> None:
    buffer = io.StringIO()
    write_csv(document(hand_result()), buffer)
    rows = list(csv.DictReader(io.StringIO(buffer.getvalue())))
    segments = {r["segment"] for r in rows if r["group_kind"] == "overall"}
    assert segments == {"", *(s.value for s in Segment)}
