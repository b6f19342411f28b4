"""A full-refresh pull of an export: normalized batches of ``batch_size`` records, partners alongside,
the file's fingerprint as the (informational) watermark on the last batch.

Memory is bounded by the batch size, the distinct partners, and one 64-bit hash per id (to count
duplicate ids: about 60 MB for a million rows; the rows themselves stream).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from connectors.base import PullBatch
from connectors.file.config import FileConnectorConfig
from connectors.file.normalize import Normalizer, Skip
from connectors.file.parse import text
from connectors.file.reader import RawRecord, RecordStream
from kpi_core.schema import Opportunity, Partner

MAX_EXAMPLES = 20
"""How many skipped rows and duplicate ids the stats keep as examples for the report."""


@dataclass
class PullStats:
    """What one pull met; published into ``ConnectorStats.extra``."""

    rows_read: int = 0
    skipped_rows: int = 0
    skipped_examples: list[dict[str, Any]] = field(default_factory=list)
    duplicate_ids: int = 0
    duplicate_examples: list[dict[str, Any]] = field(default_factory=list)
    skipped_partner_rows: int = 0
    malformed_values: Counter[str] = field(default_factory=Counter)

    def skip(self, row: int, reason: str) -> None:
        self.skipped_rows += 1
        if len(self.skipped_examples) < MAX_EXAMPLES:
            self.skipped_examples.append({"row": row, "reason": reason})

    def duplicate(self, row: int, opportunity_id: str) -> None:
        self.duplicate_ids += 1
        if len(self.duplicate_examples) < MAX_EXAMPLES:
            self.duplicate_examples.append(
                {"row": row, "id": opportunity_id, "reason": "duplicate id: this later row wins"}
            )

    def as_extra(self) -> dict[str, Any]:
        return {
            "rows_read": self.rows_read,
            "skipped_rows": self.skipped_rows,
            "skipped_examples": list(self.skipped_examples),
            "duplicate_ids": self.duplicate_ids,
            "duplicate_examples": list(self.duplicate_examples),
            "skipped_partner_rows": self.skipped_partner_rows,
            "malformed_values": dict(sorted(self.malformed_values.items())),
        }


def opportunity_stream(config: FileConnectorConfig) -> RecordStream:
    return RecordStream(
        config.name,
        config.path,
        config.file_format,
        config.columns.mapped(),
        encoding=config.encoding,
        delimiter=config.delimiter,
        quotechar=config.quotechar,
    )


def partner_stream(config: FileConnectorConfig) -> RecordStream | None:
    if config.partners_path is None:
        return None
    columns = {"id": config.partner_columns.id}
    if config.partner_columns.name is not None:
        columns["name"] = config.partner_columns.name
    return RecordStream(
        config.name,
        config.partners_path,
        "jsonl" if config.partners_path.suffix.lower() in (".jsonl", ".ndjson") else "csv",
        columns,
        encoding=config.encoding,
        delimiter=config.delimiter,
        quotechar=config.quotechar,
        column_label="partner_columns",
    )


class FilePull:
    """One pass over the file. Iterate it once; ``stats`` fills as it goes."""

    def __init__(self, config: FileConnectorConfig) -> None:
        self.config = config
        self.stats = PullStats()
        self._opportunities = opportunity_stream(config)
        self._partners = partner_stream(config)
        self._seen_hashes: set[int] = set()
        self._partner_names: dict[str, str | None] = {}

    def _chunks_of_opportunities(self) -> Iterator[tuple[list[Opportunity], list[Partner]]]:
        """Lists of at most ``batch_size`` normalized records (a repeated id: the later one), with the
        partners first seen on a live (not deleted) record in them when there is no partner file."""
        config = self.config
        normalize = Normalizer(config, self._opportunities.mtime())
        self.stats.malformed_values = normalize.malformed
        collect_partners = self._partners is None
        chunk: dict[str, Opportunity] = {}
        new_partners: dict[str, Partner] = {}
        for record in self._opportunities:
            self.stats.rows_read += 1
            result = normalize(record)
            if isinstance(result, Skip):
                self.stats.skip(record.row, str(result))
                continue
            self._note_duplicate(record, result.id)
            chunk[result.id] = result
            if collect_partners and not result.deleted:
                # a partner seen only on deleted records is not one the source "has seen" (kpis.md)
                if result.partner_id is not None:
                    self._note_partner(
                        result.partner_id, text(record.values.get("partner_name")), new_partners
                    )
                for influencer in result.influencers:  # a partner too; partner_name names the sourced one
                    self._note_partner(influencer, None, new_partners)
            if len(chunk) >= config.batch_size:
                yield list(chunk.values()), list(new_partners.values())
                chunk, new_partners = {}, {}
        if chunk or new_partners:
            yield list(chunk.values()), list(new_partners.values())

    def _note_duplicate(self, record: RawRecord, opportunity_id: str) -> None:
        key = hash(opportunity_id)
        if key in self._seen_hashes:
            self.stats.duplicate(record.row, opportunity_id)
        else:
            self._seen_hashes.add(key)

    def _note_partner(self, partner_id: str, name: str | None, out: dict[str, Partner]) -> None:
        """A partner goes out when first seen, and again if it had no name and now has one (the first
        name seen stands)."""
        if partner_id in self._partner_names and (
            name is None or self._partner_names[partner_id] is not None
        ):
            return
        self._partner_names[partner_id] = name
        out[partner_id] = Partner(id=partner_id, name=name)

    def _chunks_of_partners(self) -> Iterator[list[Partner]]:
        if self._partners is None:
            return
        chunk: dict[str, Partner] = {}
        for record in self._partners:
            partner_id = text(record.values.get("id"))
            if record.error is not None or partner_id is None:
                self.stats.skipped_partner_rows += 1
                continue
            chunk[partner_id] = Partner(id=partner_id, name=text(record.values.get("name")))
            if len(chunk) >= self.config.batch_size:
                yield list(chunk.values())
                chunk = {}
        if chunk:
            yield list(chunk.values())

    def batches(self) -> Iterator[PullBatch]:
        """The batches; the last carries the watermark. An empty file still yields one (empty) batch."""
        opportunity_chunks = self._chunks_of_opportunities()
        partner_chunks = self._chunks_of_partners()
        pending: PullBatch | None = None
        while True:
            from_file = next(partner_chunks, [])  # first: a broken partner file fails before any work
            opportunities, seen = next(opportunity_chunks, ([], []))
            partners = from_file + seen
            if not opportunities and not partners:
                break
            if pending is not None:
                yield pending
            pending = PullBatch(opportunities=opportunities, partners=partners)
        fingerprint = self._opportunities.fingerprint
        watermark = fingerprint.to_json() if fingerprint is not None else None
        yield PullBatch(
            opportunities=pending.opportunities if pending else (),
            partners=pending.partners if pending else (),
            watermark=watermark,
        )
