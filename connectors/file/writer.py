"""The writeback side of the file connector: partner fields in a CSV keyed by ``partner_id``.

The file is small (one row per partner), so it is read whole, changed in memory and replaced atomically
(a temporary file in the same directory, fsync, ``os.replace``): a reader never sees half a file, and a
crash mid-write leaves the previous file as it was.

The cells this connector writes as text (the partner id, text fields) are guarded against spreadsheet
formulas (connectors.spreadsheet) and read back unguarded; numbers and datetimes are written as they are.
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path

from connectors.fields import FieldKind, FieldSpec, FieldUpdate, FieldValue, RecordError
from connectors.spreadsheet import CsvWriter, guard_cell, unguard_cell
from connectors.values import iso_datetime, to_decimal

KEY = "partner_id"
NEW_FILE_MODE = 0o644

_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_NUMERIC_KINDS = (FieldKind.CURRENCY, FieldKind.PERCENT, FieldKind.NUMBER)


class ValueRejected(ValueError):
    """A value that does not fit its field's kind; the record fails, the others go on."""


@dataclass
class OutputTable:
    """The output CSV in memory: its header and its rows by partner id, in file order."""

    header: list[str] = field(default_factory=lambda: [KEY])
    rows: dict[str, dict[str, str]] = field(default_factory=dict)

    def add_columns(self, names: Iterable[str]) -> list[str]:
        """Append the columns the header lacks; the names added."""
        added = [n for n in dict.fromkeys(names) if n not in self.header]
        self.header.extend(added)
        return added

    def upsert(self, partner_id: str, values: Mapping[str, str]) -> None:
        self.add_columns(values)
        self.rows.setdefault(partner_id, {}).update(values)


class NoKeyColumn(ValueError):
    """The output file exists but has no ``partner_id`` column: it is not ours to rewrite."""


def load(path: Path) -> OutputTable | None:
    """The table in ``path``; None when the file does not exist; NoKeyColumn when it is not ours."""
    try:
        f = path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        return None
    with f:
        reader = csv.reader(f)
        header = [c.strip() for c in next(reader, [])]
        if not header:
            return OutputTable()
        if KEY not in header:
            raise NoKeyColumn(f"{path.name} has no {KEY} column (its header: {', '.join(header)})")
        table = OutputTable(header=header)
        for cells in reader:
            if not cells:
                continue
            row = dict(zip(header, cells, strict=False))
            partner_id = unguard_cell(row.get(KEY, "").strip())
            if partner_id:
                table.rows[partner_id] = row
        return table


def save(path: Path, table: OutputTable) -> None:
    """Write ``table`` to ``path`` atomically, keeping the file's permissions (new files: 0644)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = NEW_FILE_MODE
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            writer = CsvWriter(f)
            writer.writerow(table.header)
            for partner_id, row in table.rows.items():
                writer.writerow(
                    [guard_cell(partner_id) if name == KEY else row.get(name, "") for name in table.header]
                )
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    """Make the rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def format_value(value: FieldValue, spec: FieldSpec) -> str:
    """A value as the CSV holds it: numbers with the field's scale (``63.10``; writeback rounded them,
    and a number with more decimals is written as given: connectors never round), datetimes ISO 8601 in
    UTC, None as an empty cell. ValueRejected when the value does not fit the field's kind."""
    if value is None:
        return ""
    if spec.kind in _NUMERIC_KINDS:
        if isinstance(value, bool) or not isinstance(value, (Decimal, int, float)):
            raise ValueRejected(f"{spec.name} is a {spec.kind.value} field; got {type(value).__name__}")
        try:
            number = to_decimal(value)
            if not number.is_finite():
                raise ValueRejected(f"{spec.name}: {value} is not a finite number")
            exponent = number.as_tuple().exponent
            if isinstance(exponent, int) and exponent < -spec.scale:
                return format(number, "f")
            return format(number.quantize(Decimal(1).scaleb(-spec.scale)), "f")  # padded: exact
        except InvalidOperation:
            raise ValueRejected(f"{spec.name}: {value} does not fit {spec.scale} decimal places") from None
    if spec.kind is FieldKind.DATETIME:
        if not isinstance(value, datetime):
            raise ValueRejected(f"{spec.name} is a datetime field; got {type(value).__name__}")
        if value.tzinfo is None:
            raise ValueRejected(f"{spec.name}: a datetime without a time zone")
        return value.astimezone(timezone.utc).isoformat(timespec="seconds")
    return guard_cell(str(value))


def parse_value(cell: str | None) -> FieldValue:
    """A cell read back: empty -> None, a plain decimal -> Decimal, an ISO datetime with offset ->
    datetime, anything else the text (without the formula guard format_value put on it). (The CSV does not say a column's kind; writeback compares values
    in canonical form, so a number read back as Decimal compares equal to the one written.)"""
    if cell is None or not cell.strip():
        return None
    raw = cell.strip()
    if _NUMBER.fullmatch(raw):
        return Decimal(raw)
    if len(raw) >= 20 and raw[4] == "-" and "T" in raw:
        with contextlib.suppress(ValueError):
            moment = iso_datetime(raw)
            if moment.tzinfo is not None:
                return moment
    return unguard_cell(cell)


def format_update(
    update: FieldUpdate, specs: Mapping[str, FieldSpec]
) -> dict[str, str] | tuple[RecordError, ...]:
    """The update's values as cells, or the reasons its record cannot be written."""
    values: dict[str, str] = {}
    errors: list[RecordError] = []
    for name, value in update.values.items():
        try:
            values[name] = format_value(value, specs[name])
        except ValueRejected as exc:
            errors.append(RecordError(str(exc), code="INVALID_VALUE", field=name))
    return tuple(errors) if errors else values


PartnerValues = dict[str, dict[str, FieldValue]]
"""Field values by partner id, as ``read_fields`` answers them."""


def read_values(
    table: OutputTable | None, partner_ids: Sequence[str], fields: Sequence[str]
) -> PartnerValues:
    """The values of ``fields`` for the partners that have a row; a column the file lacks reads None."""
    if table is None:
        return {}
    return {
        partner_id: {name: parse_value(table.rows[partner_id].get(name)) for name in fields}
        for partner_id in partner_ids
        if partner_id in table.rows
    }
