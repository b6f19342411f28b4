"""Stream the records of a CSV or JSONL export, one at a time, hashing the bytes as they are read.

Memory stays bounded whatever the file's size: one record is in hand at a time (plus the I/O buffers).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from connectors.errors import ConnectorError

_BUFFER = 1 << 16

_JSON = json.JSONDecoder(parse_float=Decimal, parse_constant=Decimal)
"""JSONL numbers with a fraction or exponent become exact Decimals, never binary floats (a float would
turn 98765432109876.54 into ...76.55 before any code saw it); NaN and Infinity become Decimal's own,
which the parsers read as malformed. Integers stay ints."""


def _decode_line(line: str) -> object:
    """One JSONL line as a value; ValueError (with a short reason) when it is not valid JSON, also for an
    integer too long for Python to convert or nesting too deep to parse."""
    try:
        return _JSON.decode(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except ValueError as exc:  # int(): "Exceeds the limit (4300 digits) for integer string conversion"
        raise ValueError(str(exc).split(";")[0]) from None


def connector_error(name: str, message: str) -> ConnectorError:
    return ConnectorError(f"file connector {name!r}: {message}")


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record of the file: its row (CSV: the header is row 1; JSONL: the line) and the raw value of
    each mapped field (None when the cell or key is absent). ``error`` is set when the record could not
    be read at all."""

    row: int
    values: Mapping[str, object]
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What identifies the content read: the informational watermark of a full-refresh pull."""

    sha256: str
    size: int
    mtime: datetime
    rows: int

    def to_json(self) -> str:
        return json.dumps(
            {"sha256": self.sha256, "size": self.size, "mtime": self.mtime.isoformat(), "rows": self.rows},
            sort_keys=True,
        )


class _HashingRaw(io.RawIOBase):
    def __init__(self, inner: io.BufferedReader) -> None:
        self._inner = inner
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = self._inner.readinto(buffer)
        if count:
            self.digest.update(buffer[:count])
            self.size += count
        return count or 0


def file_mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)


class RecordStream:
    """The records of one file. Iterate once; afterwards ``fingerprint`` describes what was read.

    Whole-file problems (missing file, a mapped column absent from the header, undecodable text) raise
    ConnectorError naming the file; a bad record is yielded with ``error`` set and the stream goes on.
    """

    def __init__(
        self,
        name: str,
        path: Path,
        file_format: str,
        columns: Mapping[str, str],
        *,
        encoding: str = "utf-8",
        delimiter: str = ",",
        quotechar: str = '"',
        column_label: str = "columns",
    ) -> None:
        self.name = name
        self.path = path
        self.file_format = file_format
        self.columns = dict(columns)
        self.encoding = encoding
        self.delimiter = delimiter
        self.quotechar = quotechar
        self.column_label = column_label
        self.fingerprint: Fingerprint | None = None

    def _error(self, message: str) -> ConnectorError:
        return connector_error(self.name, message)

    def mtime(self) -> datetime:
        """The file's modification time (UTC); ConnectorError when it cannot be read."""
        try:
            return file_mtime(self.path)
        except FileNotFoundError:
            raise self._error(f"{self.path} does not exist") from None
        except OSError as exc:
            raise self._error(f"cannot read {self.path}: {exc.strerror or exc}") from None

    def __iter__(self) -> Iterator[RawRecord]:
        try:
            binary = self.path.open("rb")
        except FileNotFoundError:
            raise self._error(f"{self.path} does not exist") from None
        except OSError as exc:
            raise self._error(f"cannot read {self.path}: {exc.strerror or exc}") from None
        with binary:
            mtime = file_mtime(self.path)
            raw = _HashingRaw(binary)
            text = io.TextIOWrapper(io.BufferedReader(raw, _BUFFER), encoding=self.encoding, newline="")
            rows = 0
            try:
                records = self._csv(text) if self.file_format == "csv" else self._jsonl(text)
                for record in records:
                    rows += 1
                    yield record
                while text.read(_BUFFER):  # hash the rest (a trailing blank line) too
                    pass
            except UnicodeDecodeError as exc:
                raise self._error(
                    f"{self.path.name} is not valid {self.encoding} after {rows} records ({exc.reason}); "
                    "set encoding"
                ) from None
            self.fingerprint = Fingerprint(raw.digest.hexdigest(), raw.size, mtime, rows)

    def header(self) -> list[str]:
        """The CSV header (JSONL: the keys of the first record); raises ConnectorError like iteration."""
        try:
            with self.path.open(encoding=self.encoding, newline="") as f:
                if self.file_format == "csv":
                    return [c.strip() for c in next(self._reader(f), [])]
                for line in f:
                    if line.strip():
                        obj = _decode_line(line)
                        return list(obj) if isinstance(obj, dict) else []
                return []
        except FileNotFoundError:
            raise self._error(f"{self.path} does not exist") from None
        except (OSError, UnicodeDecodeError, csv.Error, ValueError) as exc:
            raise self._error(f"cannot read the header of {self.path.name}: {exc}") from None

    def _reader(self, text: io.TextIOBase | Iterator[str]) -> Iterator[list[str]]:
        return csv.reader(text, delimiter=self.delimiter, quotechar=self.quotechar)

    def missing_columns(self, header: Sequence[str]) -> list[tuple[str, str]]:
        """(our field, column) pairs whose column the header lacks."""
        present = set(header)
        return [(field, column) for field, column in self.columns.items() if column not in present]

    def missing_message(self, missing: Sequence[tuple[str, str]]) -> str:
        named = ", ".join(f"{column!r} ({self.column_label}.{field})" for field, column in missing)
        noun = "column" if len(missing) == 1 else "columns"
        if self.file_format == "jsonl":
            return f"{noun} {named} not in the first record of {self.path.name}"
        return f"{noun} {named} not in {self.path.name} header"

    def _csv(self, text: io.TextIOWrapper) -> Iterator[RawRecord]:
        reader = self._reader(text)
        try:
            header = [c.strip() for c in next(reader, [])]
        except csv.Error as exc:
            raise self._error(f"{self.path.name} row 1: {exc}") from None
        if not header:
            raise self._error(f"{self.path.name} is empty (no header row)")
        missing = self.missing_columns(header)
        if missing:
            raise self._error(self.missing_message(missing))
        index = {column: i for i, column in reversed(list(enumerate(header)))}  # the first of a repeat
        positions = [(field, index[column]) for field, column in self.columns.items()]
        row = 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise self._error(f"{self.path.name} row {row + 1}: {exc}") from None
            row += 1
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue  # a blank line
            width = len(cells)
            yield RawRecord(row, {field: cells[i] if i < width else None for field, i in positions})

    def _jsonl(self, text: io.TextIOWrapper) -> Iterator[RawRecord]:
        for line_number, line in enumerate(text, start=1):
            if not line.strip():
                continue
            try:
                obj = _decode_line(line)
            except ValueError as exc:
                yield RawRecord(line_number, {}, f"not valid JSON ({exc})")
                continue
            if not isinstance(obj, dict):
                yield RawRecord(line_number, {}, "not a JSON object")
                continue
            yield RawRecord(line_number, {field: obj.get(column) for field, column in self.columns.items()})
