"""The file connector: a CSV or JSONL export in, partner fields out to a CSV. The whole pipeline runs
with it and no CRM at all."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import ClassVar

from connectors.base import (
    CheckResult,
    CheckStatus,
    Connector,
    FieldSpec,
    FieldUpdate,
    FieldValue,
    FieldWriter,
    ProvisionAction,
    ProvisionResult,
    PullBatch,
    RecordError,
    WriteResult,
)
from connectors.errors import ConnectorError, ProvisionError
from connectors.file import writer
from connectors.file.config import FileConnectorConfig
from connectors.file.pull import FilePull, opportunity_stream, partner_stream
from connectors.file.reader import RecordStream, connector_error


class FileConnector(Connector[FileConnectorConfig], FieldWriter):
    """Every pull reads the whole file (full refresh): what a pull does not yield, the pipeline deletes.

    After a pull, ``stats.extra`` holds ``rows_read``, ``skipped_rows`` (records without an id or that
    could not be read) with ``skipped_examples`` (``{"row": 17, "reason": "id is empty"}``, at most 20),
    ``duplicate_ids`` with ``duplicate_examples``, ``skipped_partner_rows`` and ``malformed_values``
    (field -> values that became None).
    """

    full_refresh: ClassVar[bool] = True

    def _error(self, message: str) -> ConnectorError:
        return connector_error(self.name, message)

    # -- pull -----------------------------------------------------------------------------------------
    def pull(self, watermark: str | None) -> Iterator[PullBatch]:
        """The whole file in batches of ``batch_size``; ``watermark`` is ignored (the file has no notion
        of "since"), and the one returned (sha256, size, mtime, rows) is for the run history."""
        run = FilePull(self.config)
        self.stats.extra = run.stats.as_extra()
        try:
            for batch in run.batches():
                self.stats.extra = run.stats.as_extra()
                yield batch
        finally:
            self.stats.extra = run.stats.as_extra()

    def instance_id(self) -> str:
        """The export's resolved absolute path: another file is another source."""
        return str(Path(self.config.path).expanduser().resolve())

    # -- check ----------------------------------------------------------------------------------------
    def check(self, specs: Sequence[FieldSpec] = ()) -> list[CheckResult]:
        """The export and partner files readable with the mapped columns; the output directory writable
        (the output CSV gains any column of ``specs`` on the first write, so fields need no check)."""
        results = [self._check_source("file", opportunity_stream(self.config))]
        partners = partner_stream(self.config)
        if partners is not None:
            results.append(self._check_source("partners", partners))
        results.append(self._check_output())
        return results

    def _check_source(self, name: str, stream: RecordStream) -> CheckResult:
        path = stream.path
        if not path.is_file():
            return CheckResult(name, CheckStatus.FAIL, f"{path} does not exist")
        if not os.access(path, os.R_OK):
            return CheckResult(name, CheckStatus.FAIL, f"{path} is not readable by this user")
        try:
            header = stream.header()
        except ConnectorError as exc:
            return CheckResult(name, CheckStatus.FAIL, str(exc))
        missing = stream.missing_columns(header)
        if missing:
            # A JSONL record may leave out a key; only a CSV header is binding.
            status = CheckStatus.FAIL if stream.file_format == "csv" else CheckStatus.WARN
            return CheckResult(name, status, stream.missing_message(missing))
        size = path.stat().st_size
        return CheckResult(
            name,
            CheckStatus.OK,
            f"{path.name}: {size:,} bytes, all {len(stream.columns)} mapped columns present",
        )

    def _check_output(self) -> CheckResult:
        path = self.config.output_path
        if path is None:
            return CheckResult("output", CheckStatus.WARN, "no output_path: writeback has nowhere to write")
        directory = _existing_ancestor(path.parent)
        if not os.access(directory, os.W_OK | os.X_OK):
            return CheckResult("output", CheckStatus.FAIL, f"{directory} is not writable by this user")
        try:
            table = writer.load(path)
        except writer.NoKeyColumn as exc:
            return CheckResult("output", CheckStatus.FAIL, str(exc))
        except (OSError, UnicodeDecodeError) as exc:
            return CheckResult("output", CheckStatus.FAIL, f"cannot read {path}: {exc}")
        if table is None:
            return CheckResult("output", CheckStatus.OK, f"{path} will be created on the first write")
        return CheckResult("output", CheckStatus.OK, f"{path.name}: {len(table.rows)} partner rows, writable")

    # -- writeback ------------------------------------------------------------------------------------
    def _output_path(self) -> Path:
        if self.config.output_path is None:
            raise self._error("no output_path configured: set output_path to the CSV writeback writes")
        return self.config.output_path

    def _load(self, path: Path) -> writer.OutputTable | None:
        try:
            return writer.load(path)
        except writer.NoKeyColumn as exc:
            raise self._error(str(exc)) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise self._error(f"cannot read {path}: {exc}") from None

    def _save(self, path: Path, table: writer.OutputTable) -> None:
        try:
            writer.save(path, table)
        except OSError as exc:
            raise self._error(f"cannot write {path}: {exc.strerror or exc}") from None

    def provision_fields(self, specs: Sequence[FieldSpec]) -> list[ProvisionResult]:
        """Columns for the fields: the file is created with ``partner_id,<fields...>`` when absent,
        missing columns are appended; a second call changes nothing."""
        path = self._output_path()
        try:
            existing = writer.load(path)
        except writer.NoKeyColumn as exc:
            return [ProvisionResult(s.name, ProvisionAction.REFUSED, str(exc)) for s in specs]
        except (OSError, UnicodeDecodeError) as exc:
            raise self._error(f"cannot read {path}: {exc}") from None
        table = existing or writer.OutputTable()
        added = set(table.add_columns(s.name for s in specs if s.name != writer.KEY))
        if added or existing is None:
            self._save(path, table)
        return [
            ProvisionResult(s.name, ProvisionAction.CREATED, f"column added to {path.name}")
            if s.name in added
            else ProvisionResult(s.name, ProvisionAction.UNCHANGED)
            for s in specs
        ]

    def write_fields(
        self, updates: Sequence[FieldUpdate], specs: Mapping[str, FieldSpec]
    ) -> list[WriteResult]:
        """Upsert each update's values into its partner's row; the file is replaced once, atomically. A
        target that is not one of ``specs`` (or is the key column) refuses the whole call, as the protocol
        says, before anything is written; a value its field cannot hold fails that record alone."""
        refuse_unowned((name for u in updates for name in u.values), specs)
        path = self._output_path()
        formatted: list[tuple[FieldUpdate, dict[str, str] | tuple[RecordError, ...]]] = [
            (update, _format(update, specs)) for update in updates
        ]
        accepted = [(u, values) for u, values in formatted if isinstance(values, dict)]
        if accepted:
            table = self._load(path) or writer.OutputTable()
            table.add_columns(name for name in specs if name != writer.KEY)
            for update, values in accepted:
                table.upsert(update.partner_id, values)
            self._save(path, table)
        return [
            WriteResult(u.partner_id, ok=True)
            if isinstance(values, dict)
            else WriteResult(u.partner_id, ok=False, errors=values)
            for u, values in formatted
        ]

    def read_fields(
        self, partner_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, FieldValue]]:
        path = self._output_path()
        return writer.read_values(self._load(path), partner_ids, fields)


def _format(update: FieldUpdate, specs: Mapping[str, FieldSpec]) -> dict[str, str] | tuple[RecordError, ...]:
    """The update's values as cells, or the reasons it cannot be written."""
    values: dict[str, str] = {}
    errors: list[RecordError] = []
    for name, value in update.values.items():
        try:
            values[name] = writer.format_value(value, specs[name])
        except writer.ValueRejected as exc:
            errors.append(RecordError(str(exc), code="INVALID_VALUE", field=name))
    return tuple(errors) if errors else values


def refuse_unowned(targets: Iterable[str], specs: Mapping[str, FieldSpec]) -> None:
    """ProvisionError naming the first target that is not a column of ``specs`` other than the key."""
    for name in targets:
        if name == writer.KEY:
            raise ProvisionError(f"nothing was written: {name} is the file's key column, not a KPI field")
        if name not in specs:
            raise ProvisionError(
                f"nothing was written: {name!r} is not one of the fields mapped for this file "
                "(map it under writeback in the config)"
            )


def _existing_ancestor(directory: Path) -> Path:
    """The directory itself, or the nearest parent that exists (save creates the rest)."""
    while not directory.exists() and directory != directory.parent:
        directory = directory.parent
    return directory
