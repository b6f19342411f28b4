"""Spreadsheet formula characters at the start of a CSV cell are neutralised (OWASP's CSV-injection rule):
a partner whose id or name starts with = + - @ tab, CR, LF or NUL comes out of ``report --format csv``
and out of the file connector's writeback with a leading single quote; our own numbers, negative ones
included, stay numbers; and the writeback reads its guarded cells back as the values it wrote, so a
second sync writes nothing."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.fields import FieldKind, FieldSpec, FieldUpdate
from connectors.file import FileConnector, FileConnectorConfig
from connectors.spreadsheet import FORMULA_STARTS, guard_cell, unguard_cell
from partnerkpi.config import load_config
from partnerkpi.pipeline import sync_connector
from partnerkpi.progress import ProgressReporter
from partnerkpi.state import StateStore
from tests.reliability.harness import run_cli_in_process

WHITESPACE_STARTS = "\t\r\n"
"""The file reader strips these from ids and names; the writer tests give them directly."""
HOSTILE = [f"{c}cmd|' /C calc'!A0 {i}" for i, c in enumerate(sorted(FORMULA_STARTS - set(WHITESPACE_STARTS)))]
"""One partner id per formula character that survives the reader (the classic DDE payload after it)."""
NAMES = {pid: f'{pid[0]}HYPERLINK("http://evil.example","x") {i}' for i, pid in enumerate(HOSTILE)}

CONFIG = """
version: 1
state:
  url: sqlite:///{state}
kpi:
  reporting_currency: USD
  periods: [last_365_days]
connectors:
  - name: files
    type: file
    path: {deals}
    partners_path: {partners}
    columns: {{id: id, partner: partner, amount: amount, stage: stage, created: created, closed: closed}}
    partner_columns: {{id: id, name: name}}
    stages: {{Won: won, Lost: lost}}
    output_path: {out}
writeback:
  files:
    fields:
      - {{field: quality_score, kpi: quality_score, period: last_365_days}}
      - {{field: won_revenue, kpi: won_revenue, period: last_365_days}}
      - {{field: score_breakdown, kpi: score_breakdown, period: last_365_days}}
"""


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def _read(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.fixture
def config(tmp_path: Path) -> Path:
    deals = []
    for i, pid in enumerate(HOSTILE):
        deals.append([f"d{i}a", pid, str(1000 + 100 * i), "Won", "2026-01-05", "2026-03-01"])
        deals.append([f"d{i}b", pid, "500", "Lost" if i % 2 else "Won", "2026-02-01", "2026-04-01"])
    _write_csv(tmp_path / "deals.csv", ["id", "partner", "amount", "stage", "created", "closed"], deals)
    _write_csv(tmp_path / "partners.csv", ["id", "name"], [[p, n] for p, n in NAMES.items()])
    path = tmp_path / "partnerkpi.yaml"
    path.write_text(
        CONFIG.format(
            state=tmp_path / "state.sqlite",
            deals=tmp_path / "deals.csv",
            partners=tmp_path / "partners.csv",
            out=tmp_path / "out.csv",
        )
    )
    return path


def test_guard_and_unguard_are_inverse_and_leave_plain_text_alone() -> None:
    for text in ["plain", "", "12.5", "'quoted", "'=already", "''-x", *HOSTILE, *NAMES.values()]:
        guarded = guard_cell(text)
        assert unguard_cell(guarded) == text
        assert guarded[:1] not in FORMULA_STARTS
    assert guard_cell("plain") == "plain" and guard_cell("'quoted") == "'quoted"
    assert guard_cell("-12.5") == "'-12.5"  # as text; numbers we compute are never passed through it


def test_report_csv_guards_partner_ids_and_names_but_keeps_numbers(config: Path, tmp_path: Path) -> None:
    done = run_cli_in_process(config, "pull")
    assert done.returncode == 0, done.stderr
    done = run_cli_in_process(config, "report", "--format", "csv", "--as-of", "2026-10-31")
    assert done.returncode == 0, done.stderr
    rows = _read(done.stdout)
    partner_rows = [r for r in rows if r["group_kind"] == "partner"]
    assert {r["partner_id"] for r in partner_rows} == {"'" + p for p in HOSTILE}
    assert {r["partner_name"] for r in partner_rows} == {"'" + n for n in NAMES.values()}
    numbers = ("value", "prior", "change", "change_pct")
    for row in rows:
        for column, cell in row.items():
            if column in numbers:
                assert cell == "" or Decimal(cell) is not None, (column, cell)  # unquoted numbers
            else:
                assert cell[:1] not in FORMULA_STARTS, (column, cell)
    assert any(r["change"].startswith("-") for r in rows)  # a negative change, still a number


def test_report_csv_writes_a_negative_change_as_a_number() -> None:
    from partnerkpi.reports.csv_export import write_csv

    figure = {"value": "-3.5", "prior": "9", "change": "-12.5", "change_pct": -0.58}
    document = {
        "connectors": [
            {
                "name": "c",
                "as_of": "2026-10-31",
                "currency": "USD",
                "periods": [{"name": "p", "first": "2026-01-01", "last": "2026-10-31"}],
                "groups": [
                    {
                        "period": "p",
                        "group": {"kind": "partner", "partner_id": "-7", "name": "a\r=SUM(A1)"},
                        "figures": {"won_revenue": figure},
                        "channels": {},
                    }
                ],
            }
        ]
    }
    out = io.StringIO()
    write_csv(document, out)
    (row,) = _read(out.getvalue())  # a carriage return inside a cell does not split the row
    assert (row["partner_id"], row["partner_name"]) == ("'-7", "a\r=SUM(A1)")
    assert (row["value"], row["change"], row["change_pct"]) == ("-3.5", "-12.5", "-0.58")


def test_file_writeback_guards_ids_and_text_and_a_second_sync_writes_nothing(config: Path) -> None:
    cfg = load_config(config)
    store = StateStore.open(cfg.state.url)
    try:
        first = sync_connector(cfg, store, "files", ProgressReporter.silent())
        assert first.status == "ok", first.message
        assert first.counts["written_records"] == len(HOSTILE)
        out = Path(str(cfg.connectors[0].output_path))  # type: ignore[attr-defined]
        rows = _read(out.read_text(encoding="utf-8"))
        assert sorted(r["partner_id"] for r in rows) == sorted("'" + p for p in HOSTILE)
        for row in rows:
            for column, cell in row.items():
                assert cell[:1] not in FORMULA_STARTS, (column, cell)
            Decimal(row["quality_score"])  # numbers unquoted
        second = sync_connector(cfg, store, "files", ProgressReporter.silent())
        assert second.status == "ok", second.message
        assert second.counts.get("planned_fields") == 0  # read back as written: nothing to change
    finally:
        store.close()


def test_file_writeback_text_field_starting_with_a_formula_character_round_trips(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("Id,Amount,Stage,Created,Closed\na,1,Won,2026-01-01,2026-01-02\n")
    conn = FileConnector(
        FileConnectorConfig.model_validate(
            {
                "name": "t",
                "type": "file",
                "path": str(tmp_path / "in.csv"),
                "columns": {
                    "id": "Id",
                    "amount": "Amount",
                    "stage": "Stage",
                    "created": "Created",
                    "closed": "Closed",
                },
                "stages": {"Won": "won"},
                "output_path": str(tmp_path / "out.csv"),
            }
        )
    )
    specs = {
        "note": FieldSpec("note", "Note", FieldKind.TEXT),
        "change": FieldSpec("change", "Change", FieldKind.NUMBER, scale=1),
    }
    texts = [f"{c}x" for c in sorted(FORMULA_STARTS)]
    conn.write_fields([FieldUpdate(t, {"note": t, "change": Decimal("-12.5")}) for t in texts], specs)
    conn.write_fields([FieldUpdate("mid\rdle", {"note": "a\r=b"})], specs)
    with (tmp_path / "out.csv").open(newline="") as f:
        assert list(csv.reader(f))[1:] == [
            *(["'" + t, "'" + t, "-12.5"] for t in texts),
            ["mid\rdle", "a\r=b", ""],
        ]
    assert conn.read_fields(texts, ["note", "change"]) == {
        t: {"note": t, "change": Decimal("-12.5")} for t in texts
    }
