"""The file connector's field writer: KPI values into the output CSV, one row per partner (``partner_id``
then the mapped columns), the whole file replaced atomically on each write (connectors/file/writer.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from connectors.errors import ConnectorError, ProvisionError
from connectors.fields import FieldSpec, FieldUpdate, ProvisionAction, ProvisionResult, WriteResult
from connectors.file import writer


class OutputFile:
    """The output CSV at ``path`` (None: not configured, an error on first use); ``error`` makes the
    connector's error naming it."""

    def __init__(self, path: Path | None, error: Callable[[str], ConnectorError]) -> None:
        self._path = path
        self._error = error

    @property
    def path(self) -> Path:
        if self._path is None:
            raise self._error("no output_path configured: set output_path to the CSV writeback writes")
        return self._path

    def provision(self, specs: Sequence[FieldSpec]) -> list[ProvisionResult]:
        """Columns for the fields: the file is created with ``partner_id,<fields...>`` when absent,
        missing columns are appended; a second call changes nothing."""
        path = self.path
        try:
            existing = writer.load(path)
        except writer.NoKeyColumn as exc:
            return [ProvisionResult(s.name, ProvisionAction.REFUSED, str(exc)) for s in specs]
        except (OSError, UnicodeDecodeError) as exc:
            raise self._error(f"cannot read {path}: {exc}") from None
        table = existing or writer.OutputTable()
        added = set(table.add_columns(s.name for s in specs if s.name != writer.KEY))
        if added or existing is None:
            self._save(table)
        return [
            ProvisionResult(s.name, ProvisionAction.CREATED, f"column added to {path.name}")
            if s.name in added
            else ProvisionResult(s.name, ProvisionAction.UNCHANGED)
            for s in specs
        ]

    def write(self, updates: Sequence[FieldUpdate], specs: Mapping[str, FieldSpec]) -> list[WriteResult]:
        """Upsert each update's values into its partner's row; the file is replaced once, atomically. A
        target that is not one of ``specs`` (or is the key column) refuses the whole call, as the protocol
        says, before anything is written; a value its field cannot hold fails that record alone."""
        refuse_unowned((name for u in updates for name in u.values), specs)
        formatted = [(update, writer.format_update(update, specs)) for update in updates]
        accepted = [(u, values) for u, values in formatted if isinstance(values, dict)]
        if accepted:
            table = self._load() or writer.OutputTable()
            table.add_columns(name for name in specs if name != writer.KEY)
            for update, values in accepted:
                table.upsert(update.partner_id, values)
            self._save(table)
        return [
            WriteResult(u.partner_id, ok=True)
            if isinstance(values, dict)
            else WriteResult(u.partner_id, ok=False, errors=values)
            for u, values in formatted
        ]

    def read(self, partner_ids: Sequence[str], fields: Sequence[str]) -> writer.PartnerValues:
        return writer.read_values(self._load(), partner_ids, fields)

    def _load(self) -> writer.OutputTable | None:
        path = self.path
        try:
            return writer.load(path)
        except writer.NoKeyColumn as exc:
            raise self._error(str(exc)) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise self._error(f"cannot read {path}: {exc}") from None

    def _save(self, table: writer.OutputTable) -> None:
        try:
            writer.save(self.path, table)
        except OSError as exc:
            raise self._error(f"cannot write {self.path}: {exc.strerror or exc}") from None


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
