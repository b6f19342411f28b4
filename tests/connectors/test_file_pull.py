"""The file connector's pull: normalization of each column, stages, dates, bad values and rows,
duplicates, batching, whole-file errors, currency conversion, JSONL, and the partner registry."""

from __future__ import annotations

import csv
import json
import math
import os
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connectors.base import PullBatch
from connectors.errors import ConnectorError
from connectors.file import FileConnector, FileConnectorConfig
from kpi_core.schema import Opportunity, Status

HEADER = ["Id", "Partner", "PartnerName", "Amount", "Cur", "Stage", "Created", "Closed", "Expected",
          "Prob", "Source", "Modified", "Deleted"]  # fmt: skip
COLUMNS = {
    "id": "Id",
    "partner": "Partner",
    "partner_name": "PartnerName",
    "amount": "Amount",
    "currency": "Cur",
    "stage": "Stage",
    "created": "Created",
    "closed": "Closed",
    "expected_close": "Expected",
    "probability": "Prob",
    "channel": "Source",
    "modified": "Modified",
    "deleted": "Deleted",
}
STAGES: dict[str, Any] = {
    "Won": "won",
    "Lost": "lost",
    "Talking": {"status": "open", "probability": 0.25},
}


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    return path


def row(**values: str) -> dict[str, str]:
    base = {
        "Id": "O1",
        "Partner": "P1",
        "Amount": "100",
        "Stage": "Won",
        "Created": "2026-01-05",
        "Closed": "2026-02-10",
    }
    return {**base, **values}


def connector(path: Path, **overrides: Any) -> FileConnector:
    data: dict[str, Any] = {
        "name": "t",
        "type": "file",
        "path": str(path),
        "columns": COLUMNS,
        "stages": STAGES,
    }
    data.update(overrides)
    return FileConnector(FileConnectorConfig.model_validate(data))


def pull_all(conn: FileConnector) -> tuple[list[PullBatch], list[Opportunity]]:
    batches = list(conn.pull(None))
    return batches, [o for b in batches for o in b.opportunities]


def one(tmp_path: Path, rows: list[dict[str, str]], **overrides: Any) -> Opportunity:
    _, opps = pull_all(connector(write_csv(tmp_path / "o.csv", rows), **overrides))
    assert len(opps) == 1
    return opps[0]


def test_every_mapped_column_is_normalized(tmp_path: Path) -> None:
    modified = "2026-03-01T12:30:00Z"
    opp = one(
        tmp_path,
        [
            row(
                Id=" O-17 ", Partner="ACME", PartnerName="Acme Ltd", Amount="1234.50", Cur="usd",
                Stage="Won", Created="2026-01-05", Closed="2026-02-10", Expected="2026-02-01",
                Prob="0.9", Source=" Web ", Modified=modified, Deleted="",
            )
        ],
    )  # fmt: skip
    assert opp == Opportunity(
        id="O-17",
        partner_id="ACME",
        amount=Decimal("1234.50"),
        amount_original=Decimal("1234.50"),
        currency="USD",
        status=Status.WON,
        created_on=date(2026, 1, 5),
        closed_on=date(2026, 2, 10),
        expected_close_on=None,
        probability=0.9,
        channel="Web",
        modified_at=datetime(2026, 3, 1, 12, 30, tzinfo=timezone.utc),
        deleted=False,
        stage="Won",
    )


def test_open_deal_has_expected_close_and_no_close_day(tmp_path: Path) -> None:
    opp = one(tmp_path, [row(Stage="Talking", Closed="2026-02-10", Expected="2026-04-30")])
    assert opp.status is Status.OPEN
    assert opp.closed_on is None
    assert opp.expected_close_on == date(2026, 4, 30)
    assert opp.probability == 0.25  # the stage's, as the file's column is empty


def test_stage_map_gives_status_and_unknown_stage_gives_none(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "o.csv",
        [row(Id="a", Stage="Won"), row(Id="b", Stage="Lost"), row(Id="c", Stage="Talking"),
         row(Id="d", Stage="Retired"), row(Id="e", Stage="")],
    )  # fmt: skip
    _, opps = pull_all(connector(path))
    by_id = {o.id: o for o in opps}
    assert by_id["a"].status is Status.WON
    assert by_id["b"].status is Status.LOST
    assert by_id["c"].status is Status.OPEN
    assert by_id["d"].status is None
    assert by_id["d"].stage == "Retired"  # kept as the file has it, for the unknown_stage count
    assert by_id["e"].status is None and by_id["e"].stage is None


def test_date_formats_are_tried_in_order(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "o.csv",
        [row(Id="a", Created="05/01/2026", Closed="2026-02-10"), row(Id="b", Created="2026-01-07")],
    )
    _, opps = pull_all(connector(path, date_formats=["%d/%m/%Y", "iso"]))
    assert [o.created_on for o in opps] == [date(2026, 1, 5), date(2026, 1, 7)]


def test_datetimes_become_days_in_the_configured_zone(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "o.csv",
        [
            row(Id="aware", Created="2026-01-05T23:30:00Z"),  # 2026-01-06 in Berlin
            row(Id="naive", Created="2026-01-05T23:30:00"),  # already Berlin time
            row(Id="mod", Modified="2026-01-05T10:00:00"),  # naive modified: Berlin -> 09:00 UTC
        ],
    )
    _, opps = pull_all(connector(path, timezone="Europe/Berlin"))
    by_id = {o.id: o for o in opps}
    assert by_id["aware"].created_on == date(2026, 1, 6)
    assert by_id["naive"].created_on == date(2026, 1, 5)
    assert by_id["mod"].modified_at == datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def test_malformed_values_become_none_and_are_counted(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "o.csv",
        [row(Amount="12,x", Created="yesterday", Closed="2026-13-45", Prob="1.7", Modified="soon",
             Deleted="maybe")],
    )  # fmt: skip
    conn = connector(path)
    _, opps = pull_all(conn)
    opp = opps[0]
    assert (opp.amount, opp.amount_original, opp.created_on, opp.closed_on) == (None, None, None, None)
    assert opp.probability is None  # 1.7 is no share, and the stage Won has no probability
    assert opp.status is Status.WON and opp.deleted is False
    assert opp.modified_at == datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
    assert conn.stats.extra["malformed_values"] == {
        "amount": 1, "closed": 1, "created": 1, "deleted": 1, "modified": 1, "probability": 1,
    }  # fmt: skip
    assert conn.stats.extra["skipped_rows"] == 0


def test_modified_falls_back_to_the_file_mtime(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "o.csv", [row()])
    os.utime(path, (1_700_000_000, 1_700_000_000))
    opp = one(tmp_path, [row()], columns={k: v for k, v in COLUMNS.items() if k != "modified"})
    assert opp.modified_at == datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
    assert opp.modified_at.tzinfo is timezone.utc


def test_deleted_flag(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "o.csv", [row(Id="a", Deleted="TRUE"), row(Id="b", Deleted="0")])
    _, opps = pull_all(connector(path))
    assert [(o.id, o.deleted) for o in opps] == [("a", True), ("b", False)]


def test_rows_without_an_id_are_skipped_and_counted_with_their_row(tmp_path: Path) -> None:
    rows = [row(Id=f"o{i}") for i in range(20)]
    rows[3]["Id"] = ""  # row 5 (the header is row 1)
    rows[15]["Id"] = "   "  # row 17
    conn = connector(write_csv(tmp_path / "o.csv", rows))
    _, opps = pull_all(conn)
    assert len(opps) == 18
    assert conn.stats.extra["skipped_rows"] == 2
    assert conn.stats.extra["skipped_examples"] == [
        {"row": 5, "reason": "id is empty"},
        {"row": 17, "reason": "id is empty"},
    ]
    assert conn.stats.extra["rows_read"] == 20


def test_skipped_examples_are_bounded(tmp_path: Path) -> None:
    rows = [row(Id="") for _ in range(50)]
    conn = connector(write_csv(tmp_path / "o.csv", rows))
    pull_all(conn)
    assert conn.stats.extra["skipped_rows"] == 50
    assert len(conn.stats.extra["skipped_examples"]) == 20


def test_duplicate_ids_the_later_row_wins_and_is_counted(tmp_path: Path) -> None:
    rows = [
        row(Id="a", Amount="1"),
        row(Id="b"),
        row(Id="a", Amount="2"),
        row(Id="c"),
        row(Id="c", Amount="3"),
    ]
    conn = connector(write_csv(tmp_path / "o.csv", rows), batch_size=2)
    batches, opps = pull_all(conn)
    # Within a batch the later row replaces the earlier; across batches the later batch is stored later.
    last = {}
    for o in opps:
        last[o.id] = o.amount
    assert last == {"a": Decimal(2), "b": Decimal(100), "c": Decimal(3)}
    assert all(len({o.id for o in b.opportunities}) == len(b.opportunities) for b in batches)
    assert conn.stats.extra["duplicate_ids"] == 2
    assert [e["row"] for e in conn.stats.extra["duplicate_examples"]] == [4, 6]


def test_a_large_file_streams_in_batches(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["Id", "Amount", "Stage", "Created", "Closed"])
        for i in range(20_000):
            out.writerow([f"o{i}", i, "Won" if i % 2 else "Lost", "2026-01-01", "2026-02-01"])
    columns = {"id": "Id", "amount": "Amount", "stage": "Stage", "created": "Created", "closed": "Closed"}
    conn = connector(path, columns=columns, batch_size=3_000)
    batches = []
    for batch in conn.pull(None):
        assert len(batch.opportunities) <= 3_000
        batches.append(batch)
    assert len(batches) == math.ceil(20_000 / 3_000)
    assert sum(len(b.opportunities) for b in batches) == 20_000
    assert [b.watermark is not None for b in batches] == [False] * (len(batches) - 1) + [True]
    assert all(b.partners == [] for b in batches)  # no partner column: every deal is direct


def test_the_watermark_fingerprints_the_file(tmp_path: Path) -> None:
    import hashlib

    path = write_csv(tmp_path / "o.csv", [row(Id="a"), row(Id="b")])
    batches, _ = pull_all(connector(path))
    mark = json.loads(batches[-1].watermark or "")
    assert mark["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert mark["size"] == path.stat().st_size
    assert mark["rows"] == 2


def test_an_empty_file_yields_one_empty_batch(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "o.csv", [])
    batches, opps = pull_all(connector(path))
    assert len(batches) == 1 and opps == [] and batches[0].watermark is not None


def test_a_mapped_column_missing_from_the_header_is_named(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "sales.csv", [row()])
    conn = connector(path, name="maven", columns={**COLUMNS, "amount": "close_value"})
    with pytest.raises(ConnectorError) as err:
        list(conn.pull(None))
    assert (
        str(err.value)
        == "file connector 'maven': column 'close_value' (columns.amount) not in sales.csv header"
    )


def test_a_missing_file_is_a_connector_error(tmp_path: Path) -> None:
    conn = connector(tmp_path / "nowhere.csv")
    with pytest.raises(ConnectorError, match=r"nowhere\.csv does not exist"):
        list(conn.pull(None))


def test_undecodable_text_is_a_connector_error(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_bytes(b"Id,Amount,Stage,Created,Closed\nx,1,Won,2026-01-01,\xff\xfe\n")
    columns = {"id": "Id", "amount": "Amount", "stage": "Stage", "created": "Created", "closed": "Closed"}
    with pytest.raises(ConnectorError, match=r"not valid utf-8-sig.*set encoding"):
        list(connector(path, columns=columns).pull(None))
    _, opps = pull_all(connector(path, columns=columns, encoding="latin-1"))
    assert len(opps) == 1


def test_amounts_are_converted_with_the_rates(tmp_path: Path) -> None:
    rows = [
        row(Id="usd", Amount="100", Cur="USD"),
        row(Id="eur", Amount="92", Cur="EUR"),
        row(Id="gbp", Amount="79", Cur="gbp"),
        row(Id="jpy", Amount="5000", Cur="JPY"),
        row(Id="none", Amount="50", Cur=""),
    ]
    path = write_csv(tmp_path / "o.csv", rows)
    _, opps = pull_all(connector(path, rates={"EUR": "0.92", "GBP": "0.79"}, currency="EUR"))
    by_id = {o.id: o for o in opps}
    assert by_id["usd"].amount == Decimal(100)
    assert by_id["eur"].amount == Decimal(100) and by_id["eur"].amount_original == Decimal(92)
    assert by_id["gbp"].amount == Decimal(100) and by_id["gbp"].currency == "GBP"
    # An unknown currency is kept as the file has it, and its amount is not summed unconverted.
    assert by_id["jpy"].amount is None and by_id["jpy"].amount_original == Decimal(5000)
    assert by_id["jpy"].currency == "JPY"
    # An empty currency cell is the configured default currency.
    assert by_id["none"].currency == "EUR" and by_id["none"].amount == Decimal(50) / Decimal("0.92")


def test_a_default_currency_without_a_column(tmp_path: Path) -> None:
    columns = {k: v for k, v in COLUMNS.items() if k != "currency"}
    opp = one(tmp_path, [row(Amount="79")], columns=columns, currency="GBP", rates={"GBP": "0.79"})
    assert (opp.currency, opp.amount) == ("GBP", Decimal(100))


def test_separators_and_percent_probability(tmp_path: Path) -> None:
    opp = one(
        tmp_path,
        [row(Amount="1.234,50", Prob="35")],
        decimal_separator=",",
        thousands_separator=".",
        probability_unit="percent",
    )
    assert opp.amount == Decimal("1234.50")
    assert opp.probability == pytest.approx(0.35)


def test_partners_are_the_ids_seen_once_each_without_a_partner_file(tmp_path: Path) -> None:
    rows = [row(Id="1", Partner="A"), row(Id="2", Partner="B", PartnerName="Bee"), row(Id="3", Partner="A"),
            row(Id="4", Partner=""), row(Id="5", Partner="A", PartnerName="Ay"), row(Id="6", Partner="A")]  # fmt: skip
    batches, opps = pull_all(connector(write_csv(tmp_path / "o.csv", rows), batch_size=2))
    # A first seen without a name, then again once a name shows up; B once.
    assert [[(p.id, p.name) for p in b.partners] for b in batches] == [
        [("A", None), ("B", "Bee")],
        [],
        [("A", "Ay")],
    ]
    whole = pull_all(connector(write_csv(tmp_path / "o.csv", rows)))[0]
    assert [(p.id, p.name) for p in whole[0].partners] == [("A", "Ay"), ("B", "Bee")]
    assert [o.partner_id for o in opps] == ["A", "B", "A", None, "A", "A"]


def test_partners_come_from_the_partner_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "o.csv", [row(Id="1", Partner="A"), row(Id="2", Partner="Z")])
    partners_path = tmp_path / "partners.csv"
    partners_path.write_text("code,title\nA,Alpha\nB,Beta\n,nameless\n")
    conn = connector(path, partners_path=str(partners_path), partner_columns={"id": "code", "name": "title"})
    batches, _ = pull_all(conn)
    partners = [p for b in batches for p in b.partners]
    # Z has no partner record: kpi_core counts it as unknown_partner; B has no deal and still is a partner.
    assert [(p.id, p.name) for p in partners] == [("A", "Alpha"), ("B", "Beta")]
    assert conn.stats.extra["skipped_partner_rows"] == 1


def test_a_partner_file_without_its_column_fails_before_any_batch(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "o.csv", [row()])
    partners_path = tmp_path / "partners.csv"
    partners_path.write_text("code,title\nA,Alpha\n")
    conn = connector(path, partners_path=str(partners_path))
    message = (
        r"columns 'id' \(partner_columns.id\), 'name' \(partner_columns.name\) not in partners.csv header"
    )
    with pytest.raises(ConnectorError, match=message):
        next(iter(conn.pull(None)))


def test_jsonl_records_and_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "o.jsonl"
    lines = [
        json.dumps({"Id": 17, "Amount": 250.5, "Stage": "Won", "Created": "2026-01-02", "Closed": "2026-01-09",
                    "Partner": "P", "Deleted": False}),
        "{not json",
        json.dumps(["a", "list"]),
        "",
        json.dumps({"Amount": 1, "Stage": "Lost"}),
        json.dumps({"Id": "x", "Stage": "Talking", "Created": "2026-01-03T08:00:00+02:00", "Prob": 0.4}),
    ]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    conn = connector(path)
    _, opps = pull_all(conn)
    assert [o.id for o in opps] == ["17", "x"]
    assert opps[0].amount == Decimal("250.5") and opps[0].partner_id == "P" and opps[0].status is Status.WON
    assert opps[1].created_on == date(2026, 1, 3) and opps[1].probability == 0.4
    assert opps[1].amount is None and opps[1].partner_id is None
    examples = conn.stats.extra["skipped_examples"]
    assert [e["row"] for e in examples] == [2, 3, 5]
    assert examples[0]["reason"].startswith("not valid JSON")
    assert examples[1]["reason"] == "not a JSON object"
    assert examples[2]["reason"] == "id is empty"


def test_a_pull_is_repeatable(tmp_path: Path) -> None:
    conn = connector(write_csv(tmp_path / "o.csv", [row(Id="a"), row(Id="b", Stage="Lost")]))
    first = pull_all(conn)
    second = pull_all(conn)
    assert first == second


def test_jsonl_numbers_are_decimals_and_an_unreadable_line_is_a_skipped_row(tmp_path: Path) -> None:
    path = tmp_path / "o.jsonl"
    won = '"Stage": "Won", "Created": "2026-01-02", "Closed": "2026-01-09"'
    lines = [
        f'{{"Id": "exact", "Amount": 98765432109876.54, "Prob": 0.35, {won}}}',  # a float: ...76.55
        f'{{"Id": "nan", "Amount": NaN, {won}}}',  # Python's json reads NaN; it is no amount
        f'{{"Id": "huge", "Amount": {"9" * 5000}, {won}}}',  # too long for int(): not a crash
        "[" * 100_000,  # too deep for the parser: not a RecursionError
        f'{{"Id": "after", "Amount": 1e2, {won}}}',
    ]
    path.write_text("\n".join(lines) + "\n")
    conn = connector(path)
    _, opps = pull_all(conn)
    by_id = {o.id: o for o in opps}
    assert list(by_id) == ["exact", "nan", "after"]
    assert by_id["exact"].amount == Decimal("98765432109876.54")
    assert by_id["exact"].probability == 0.35
    assert by_id["nan"].amount is None and by_id["after"].amount == Decimal(100)
    assert conn.stats.extra["malformed_values"] == {"amount": 1}
    examples = conn.stats.extra["skipped_examples"]
    assert [e["row"] for e in examples] == [3, 4]
    assert examples[0]["reason"].startswith("not valid JSON (Exceeds the limit (4300 digits)")
    assert examples[1]["reason"] == "not valid JSON (nested too deeply)"


def test_a_partner_seen_only_on_deleted_rows_is_not_a_partner(tmp_path: Path) -> None:
    rows = [row(Id="1", Partner="A"), row(Id="2", Partner="Gone", PartnerName="G", Deleted="true"),
            row(Id="3", Partner="Late", Deleted="true"), row(Id="4", Partner="Late", PartnerName="L")]  # fmt: skip
    batches, opps = pull_all(connector(write_csv(tmp_path / "o.csv", rows)))
    # the deleted records still go to the mirror (as deleted); their partners only when seen live
    assert [o.id for o in opps if o.deleted] == ["2", "3"]
    assert [(p.id, p.name) for b in batches for p in b.partners] == [("A", None), ("Late", "L")]
