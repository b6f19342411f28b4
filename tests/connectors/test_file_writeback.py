"""The file connector's writeback side: provisioning, writes, reads, atomic replacement, and check()."""

from __future__ import annotations

import csv
import os
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connectors.base import CheckStatus
from connectors.errors import ConnectorError, ProvisionError
from connectors.fields import FieldKind, FieldSpec, FieldUpdate, ProvisionAction, WriteResult
from connectors.file import FileConnector, FileConnectorConfig

SPECS = {
    "score": FieldSpec("score", "Quality score", FieldKind.NUMBER, scale=1),
    "win_rate": FieldSpec("win_rate", "Win rate", FieldKind.PERCENT, scale=2),
    "revenue": FieldSpec("revenue", "Won revenue", FieldKind.CURRENCY, scale=2),
    "updated": FieldSpec("updated", "Updated at", FieldKind.DATETIME),
    "note": FieldSpec("note", "Breakdown", FieldKind.TEXT),
}
COLUMNS = {"id": "Id", "amount": "Amount", "stage": "Stage", "created": "Created", "closed": "Closed"}


def make(tmp_path: Path, **overrides: Any) -> FileConnector:
    source = tmp_path / "in.csv"
    if not source.exists():
        source.write_text("Id,Amount,Stage,Created,Closed\na,1,Won,2026-01-01,2026-01-02\n")
    data: dict[str, Any] = {
        "name": "t",
        "type": "file",
        "path": str(source),
        "columns": COLUMNS,
        "stages": {"Won": "won"},
        "output_path": str(tmp_path / "out" / "scores.csv"),
    }
    data.update(overrides)
    return FileConnector(FileConnectorConfig.model_validate(data))


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="") as f:
        return list(csv.reader(f))


def test_provisioning_creates_the_file_then_changes_nothing(tmp_path: Path) -> None:
    conn = make(tmp_path)
    out = tmp_path / "out" / "scores.csv"
    first = conn.provision_fields(list(SPECS.values()))
    assert [r.action for r in first] == [ProvisionAction.CREATED] * len(SPECS)
    assert read_csv(out) == [["partner_id", "score", "win_rate", "revenue", "updated", "note"]]
    stamp = out.stat().st_mtime_ns
    second = conn.provision_fields(list(SPECS.values()))
    assert [r.action for r in second] == [ProvisionAction.UNCHANGED] * len(SPECS)
    assert out.stat().st_mtime_ns == stamp  # not rewritten


def test_provisioning_adds_only_missing_columns_and_keeps_rows(tmp_path: Path) -> None:
    out = tmp_path / "out" / "scores.csv"
    out.parent.mkdir()
    out.write_text("partner_id,score,mine\nP1,5.0,keep me\n")
    results = make(tmp_path).provision_fields([SPECS["score"], SPECS["note"]])
    assert [(r.field, r.action) for r in results] == [
        ("score", ProvisionAction.UNCHANGED),
        ("note", ProvisionAction.CREATED),
    ]
    assert read_csv(out) == [["partner_id", "score", "mine", "note"], ["P1", "5.0", "keep me", ""]]


def test_provisioning_refuses_a_file_that_is_not_ours(tmp_path: Path) -> None:
    out = tmp_path / "out" / "scores.csv"
    out.parent.mkdir()
    out.write_text("name,value\nx,1\n")
    results = make(tmp_path).provision_fields([SPECS["score"]])
    assert results[0].action is ProvisionAction.REFUSED
    assert "no partner_id column" in results[0].message
    assert out.read_text() == "name,value\nx,1\n"


def test_write_then_read_round_trip(tmp_path: Path) -> None:
    conn = make(tmp_path)
    moment = datetime(2026, 10, 31, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    updates = [
        FieldUpdate("P1", {"score": Decimal("87.25"), "win_rate": Decimal("63.1"), "revenue": 1500,
                           "updated": moment, "note": "Revenue p90 · Deals p80"}),
        FieldUpdate("P2", {"score": 12.04, "win_rate": None}),
    ]  # fmt: skip
    results = conn.write_fields(updates, SPECS)
    assert results == [WriteResult("P1", ok=True), WriteResult("P2", ok=True)]
    rows = read_csv(tmp_path / "out" / "scores.csv")
    assert rows[0] == ["partner_id", "score", "win_rate", "revenue", "updated", "note"]
    assert rows[1] == [
        "P1",
        "87.25",  # more decimals than the scale: written as given (writeback rounds, connectors never do)
        "63.10",
        "1500.00",
        "2026-10-31T12:00:00+00:00",
        "Revenue p90 · Deals p80",
    ]
    assert rows[2] == ["P2", "12.04", "", "", "", ""]
    values = conn.read_fields(["P1", "P2", "P9"], ["score", "win_rate", "updated", "note", "absent"])
    assert values == {
        "P1": {
            "score": Decimal("87.25"),
            "win_rate": Decimal("63.10"),
            "updated": datetime(2026, 10, 31, 12, 0, tzinfo=timezone.utc),
            "note": "Revenue p90 · Deals p80",
            "absent": None,
        },
        "P2": {"score": Decimal("12.04"), "win_rate": None, "updated": None, "note": None, "absent": None},
    }


def test_writes_upsert_by_partner_and_keep_other_values(tmp_path: Path) -> None:
    conn = make(tmp_path)
    conn.write_fields([FieldUpdate("P1", {"score": 1, "note": "a"}), FieldUpdate("P2", {"score": 2})], SPECS)
    conn.write_fields([FieldUpdate("P1", {"score": 3}), FieldUpdate("P3", {"note": "c"})], SPECS)
    by_id = {r[0]: r for r in read_csv(tmp_path / "out" / "scores.csv")[1:]}
    assert by_id["P1"][1:] == ["3.0", "", "", "", "a"]
    assert by_id["P2"][1] == "2.0"
    assert by_id["P3"][5] == "c"
    assert list(by_id) == ["P1", "P2", "P3"]


def test_a_field_outside_the_specs_refuses_the_whole_call_before_anything_is_written(tmp_path: Path) -> None:
    conn = make(tmp_path)
    with pytest.raises(ProvisionError, match="'Secret__c' is not one of the fields mapped"):
        conn.write_fields(
            [FieldUpdate("P2", {"score": 2}), FieldUpdate("P1", {"score": 1, "Secret__c": 5})], SPECS
        )
    assert not (tmp_path / "out" / "scores.csv").exists()


def test_a_value_its_field_cannot_hold_fails_that_record_only(tmp_path: Path) -> None:
    conn = make(tmp_path)
    results = conn.write_fields(
        [
            FieldUpdate("P2", {"score": 2}),
            FieldUpdate("P3", {"updated": datetime(2026, 1, 1)}),  # naive
            FieldUpdate("P4", {"revenue": "lots"}),
        ],
        SPECS,
    )
    assert results[0].ok
    assert not results[1].ok and results[1].errors[0].field == "updated"
    assert not results[2].ok and results[2].errors[0].code == "INVALID_VALUE"
    rows = read_csv(tmp_path / "out" / "scores.csv")
    assert [r[0] for r in rows[1:]] == ["P2"]
    assert "Secret__c" not in rows[0]


def test_the_key_column_is_not_a_field_to_write(tmp_path: Path) -> None:
    conn = make(tmp_path)
    key_spec = FieldSpec("partner_id", "Key", FieldKind.TEXT)
    with pytest.raises(ProvisionError, match="partner_id is the file's key column"):
        conn.write_fields([FieldUpdate("P2", {"partner_id": "P3"})], {**SPECS, "partner_id": key_spec})
    assert not (tmp_path / "out" / "scores.csv").exists()


def test_a_failure_mid_write_leaves_the_old_file_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = make(tmp_path)
    conn.write_fields([FieldUpdate(f"P{i}", {"score": i}) for i in range(10)], SPECS)
    out = tmp_path / "out" / "scores.csv"
    before = out.read_bytes()

    real_writer = csv.writer

    class Failing:
        def __init__(self, f: Any, **kwargs: Any) -> None:
            self.inner = real_writer(f, **kwargs)
            self.rows = 0

        def writerow(self, row: list[str]) -> Any:
            self.rows += 1
            if self.rows == 4:
                raise OSError(28, "No space left on device")
            return self.inner.writerow(row)

    monkeypatch.setattr(csv, "writer", Failing)
    with pytest.raises(ConnectorError, match=r"cannot write .*scores\.csv: No space left on device"):
        conn.write_fields([FieldUpdate(f"P{i}", {"score": i * 10}) for i in range(10)], SPECS)
    assert out.read_bytes() == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["scores.csv"]  # no temp file left behind


def test_a_failed_rename_leaves_the_old_file_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = make(tmp_path)
    conn.write_fields([FieldUpdate("P1", {"score": 1})], SPECS)
    out = tmp_path / "out" / "scores.csv"
    before = out.read_bytes()

    def refuse(src: Any, dst: Any) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(ConnectorError):
        conn.write_fields([FieldUpdate("P1", {"score": 2})], SPECS)
    assert out.read_bytes() == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["scores.csv"]


def test_rewrites_keep_the_file_mode(tmp_path: Path) -> None:
    conn = make(tmp_path)
    conn.write_fields([FieldUpdate("P1", {"score": 1})], SPECS)
    out = tmp_path / "out" / "scores.csv"
    assert out.stat().st_mode & 0o777 == 0o644
    os.chmod(out, 0o600)
    conn.write_fields([FieldUpdate("P1", {"score": 2})], SPECS)
    assert out.stat().st_mode & 0o777 == 0o600


def test_writeback_without_output_path_is_a_connector_error(tmp_path: Path) -> None:
    conn = make(tmp_path, output_path=None)
    with pytest.raises(ConnectorError, match="no output_path configured"):
        conn.write_fields([FieldUpdate("P1", {"score": 1})], SPECS)
    with pytest.raises(ConnectorError, match="no output_path configured"):
        conn.provision_fields([SPECS["score"]])


def test_read_fields_before_any_write_is_empty(tmp_path: Path) -> None:
    assert make(tmp_path).read_fields(["P1"], ["score"]) == {}


def test_check_reports_each_part(tmp_path: Path) -> None:
    statuses = {r.name: r.status for r in make(tmp_path).check()}
    assert statuses == {"file": CheckStatus.OK, "output": CheckStatus.OK}

    bad = make(tmp_path, columns={**COLUMNS, "amount": "close_value"}, output_path=None)
    lines = {r.name: r for r in bad.check()}
    assert lines["file"].status is CheckStatus.FAIL
    assert "'close_value' (columns.amount)" in lines["file"].message
    assert lines["output"].status is CheckStatus.WARN

    missing = make(tmp_path, path=str(tmp_path / "gone.csv"))
    assert missing.check()[0].status is CheckStatus.FAIL


def test_check_fails_an_unwritable_output_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access

    def access(path: Any, mode: int) -> bool:  # as for a non-root user on a 0500 directory
        return False if Path(path) == locked and mode & os.W_OK else real_access(path, mode)

    monkeypatch.setattr(os, "access", access)
    lines = {r.name: r for r in make(tmp_path, output_path=str(locked / "sub" / "x.csv")).check()}
    assert lines["output"].status is CheckStatus.FAIL
    assert lines["output"].message == f"{locked} is not writable by this user"


def test_check_of_a_jsonl_file_looks_at_its_first_record(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"Id": "a", "Amount": 1, "Stage": "Won", "Created": "2026-01-01"}\n')
    line = make(tmp_path, path=str(source)).check()[0]
    assert line.status is CheckStatus.WARN  # a JSONL record may leave a key out
    assert line.message == "column 'Closed' (columns.closed) not in the first record of in.jsonl"
    source.write_text("{broken\n")
    assert make(tmp_path, path=str(source)).check()[0].status is CheckStatus.FAIL


def test_check_of_a_partner_file(tmp_path: Path) -> None:
    partners = tmp_path / "partners.csv"
    partners.write_text("id,name\nP1,One\n")
    lines = {r.name: r.status for r in make(tmp_path, partners_path=str(partners)).check()}
    assert lines["partners"] is CheckStatus.OK
