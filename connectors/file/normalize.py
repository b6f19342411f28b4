"""One raw record of an export into the common schema.

A record without an id cannot be stored and is skipped (the caller counts it with its row). Any other bad
value (a malformed date, a non-numeric amount) becomes None for that field, is counted in ``malformed``,
and the record goes on: kpi_core's data-quality rules then count what it breaks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from connectors.file.config import FileConnectorConfig
from connectors.file.parse import (
    DateReader,
    Malformed,
    parse_amount,
    parse_bool,
    parse_probability,
    text,
)
from connectors.file.reader import RawRecord
from kpi_core.schema import Opportunity, Status, influencer_ids

T = TypeVar("T")


class Skip(str):
    """Why a record was skipped (it has no usable id)."""


class Normalizer:
    """Turns raw records into Opportunities by the config's column map, stage map, formats and rates."""

    def __init__(self, config: FileConnectorConfig, fallback_modified: datetime) -> None:
        self.config = config
        self.fallback_modified = fallback_modified
        self.dates = DateReader(config.date_formats, ZoneInfo(config.timezone))
        self.rates = config.rate_table()
        self.stages = {key: (Status(rule.status), rule.probability) for key, rule in config.stages.items()}
        self.malformed: Counter[str] = Counter()
        """Our field -> how many non-empty values could not be read (and became None)."""

    def _ok(self, field: str, value: T | Malformed) -> T | None:
        if isinstance(value, Malformed):
            self.malformed[field] += 1
            return None
        return value

    def _day(self, values: Mapping[str, object], field: str) -> date | None:
        if field not in values:
            return None
        return self._ok(field, self.dates.day(values[field]))

    def _influencers(self, value: object) -> list[str | None]:
        """A JSON list (JSONL) as it is; text split at the separator."""
        if isinstance(value, list):
            return [text(v) for v in value]
        cell = text(value)
        return [] if cell is None else [text(v) for v in cell.split(self.config.influencer_separator)]

    def __call__(self, record: RawRecord) -> Opportunity | Skip:
        if record.error is not None:
            return Skip(record.error)
        values = record.values
        opportunity_id = text(values.get("id"))
        if opportunity_id is None:
            return Skip("id is empty")
        config = self.config

        stage = text(values.get("stage"))
        status, stage_probability = (
            self.stages.get(stage, (None, None)) if stage is not None else (None, None)
        )

        probability: float | None = stage_probability
        if "probability" in values:
            parsed_probability = self._ok(
                "probability",
                parse_probability(values["probability"], config.probability_unit == "percent"),
            )
            if parsed_probability is not None:
                probability = parsed_probability

        close_day = self._day(values, "closed")
        closed_on = None if status is Status.OPEN else close_day
        expected = self._day(values, "expected_close") if status in (Status.OPEN, None) else None

        amount_original = self._ok(
            "amount",
            parse_amount(values.get("amount"), config.decimal_separator, config.thousands_separator),
        )
        currency = (text(values.get("currency")) or config.default_currency).upper()
        amount = (
            self.rates.convert(amount_original, currency, closed_on) if self.rates.knows(currency) else None
        )

        modified: datetime | None = None
        if "modified" in values:
            modified = self._ok("modified", self.dates.instant(values["modified"]))
        deleted: bool | None = False
        if "deleted" in values:
            deleted = self._ok("deleted", parse_bool(values["deleted"]))

        sourced = text(values.get("partner"))
        return Opportunity(
            id=opportunity_id,
            partner_id=sourced,
            amount=amount,
            amount_original=amount_original,
            currency=currency,
            status=status,
            created_on=self._day(values, "created"),
            closed_on=closed_on,
            expected_close_on=expected,
            probability=probability,
            channel=text(values.get("channel")),
            modified_at=modified or self.fallback_modified,
            deleted=bool(deleted),
            stage=stage,
            influencers=influencer_ids(sourced, self._influencers(values.get("influencers"))),
        )
