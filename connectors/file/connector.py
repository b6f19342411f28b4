"""The file connector: a CSV or JSONL export in, partner fields out to a CSV. The whole pipeline runs
with it and no CRM at all."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import ClassVar

from connectors.base import CheckResult, CheckStatus, Connector, FieldWriter, PullBatch
from connectors.errors import ConnectorError
from connectors.fields import FieldSpec, FieldUpdate, FieldValue, ProvisionResult, WriteResult
from connectors.file import writer
from connectors.file.config import FileConnectorConfig
from connectors.file.output import OutputFile
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
    watermark_model = None  # the fingerprint is never read back

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

    # -- writeback: the output CSV (connectors/file/output.py) ----------------------------------------------
    def _output(self) -> OutputFile:
        return OutputFile(self.config.output_path, self._error)

    def provision_fields(self, specs: Sequence[FieldSpec]) -> list[ProvisionResult]:
        return self._output().provision(specs)

    def write_fields(
        self, updates: Sequence[FieldUpdate], specs: Mapping[str, FieldSpec]
    ) -> list[WriteResult]:
        return self._output().write(updates, specs)

    def read_fields(
        self, partner_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, FieldValue]]:
        return self._output().read(partner_ids, fields)


def _existing_ancestor(directory: Path) -> Path:
    """The directory itself, or the nearest parent that exists (save creates the rest)."""
    while not directory.exists() and directory != directory.parent:
        directory = directory.parent
    return directory
