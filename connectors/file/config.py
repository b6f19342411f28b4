"""The file connector's config model: which file, how its columns map to ours, what its stages mean.

Relative paths start at the config file's directory (the loader passes it as the validation context
``config_dir``); without that context they start at the working directory.
"""

from __future__ import annotations

import codecs
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from connectors.base import ConnectorConfig, resolve_config_path
from kpi_core.money import RateTable
from kpi_core.settings import TimeZoneName, check_currency_code

ISO = "iso"
"""The date format token for ISO 8601 (``2017-03-01``, ``2017-03-01T10:20:00Z``, with or without offset)."""

_CURRENCY = re.compile(r"[A-Z]{3}")
_EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


class ColumnMap(BaseModel):
    """Our field -> the file's column name (a key of each JSON object for JSONL)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    amount: str
    stage: str
    created: str
    closed: str = Field(description="The close day of won and lost deals (ignored on open ones).")
    partner: str | None = Field(
        default=None, description="The partner's id; no column: every deal is direct."
    )
    partner_name: str | None = None
    influencers: str | None = Field(
        default=None,
        description=(
            "The partners that influenced the deal (any role but sourcing it): ids separated by "
            "influencer_separator, or a JSON list in a JSONL file."
        ),
    )
    currency: str | None = None
    expected_close: str | None = Field(
        default=None, description="The expected close day of open deals (may name the same column as closed)."
    )
    probability: str | None = None
    channel: str | None = None
    modified: str | None = Field(default=None, description="Last modification; no column: the file's mtime.")
    deleted: str | None = Field(default=None, description="true/1/yes marks a deleted record.")

    @field_validator("*")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("a column name cannot be empty")
        return value

    def mapped(self) -> dict[str, str]:
        """Our field -> column, for the fields that are mapped."""
        return {name: column for name, column in self.model_dump().items() if column is not None}


class StageRule(BaseModel):
    """What one stage value of the file means."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: Literal["open", "won", "lost"]
    probability: float | None = Field(
        default=None, ge=0, le=1, description="0..1; used when the file has no probability column."
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        """``Won: won`` means ``Won: {status: won}``."""
        return {"status": data} if isinstance(data, str) else data


class PartnerColumns(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = "id"
    name: str | None = "name"


class FileConnectorConfig(ConnectorConfig):
    """A CSV or JSONL export of opportunities, read whole on every pull; writeback goes to a CSV."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["file"]
    path: Path = Field(description="The opportunities: a .csv, .jsonl or .ndjson file.")
    format: Literal["csv", "jsonl"] | None = Field(
        default=None, description="csv or jsonl; default: from the file's extension."
    )
    encoding: str = Field(
        default="utf-8-sig", description="Text encoding (utf-8-sig also reads plain UTF-8)."
    )
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    quotechar: str = Field(default='"', min_length=1, max_length=1)
    influencer_separator: str = Field(
        default=";", min_length=1, max_length=1, description="Between the ids of columns.influencers."
    )
    decimal_separator: Literal[".", ","] = "."
    thousands_separator: Literal[",", ".", " ", "'", "_"] | None = None
    columns: ColumnMap
    stages: dict[str, StageRule] = Field(
        min_length=1, description="The file's stage value -> status (and probability); others are unknown."
    )
    date_formats: list[str] = Field(
        default_factory=lambda: [ISO],
        min_length=1,
        description="strptime formats tried in order; 'iso' is ISO 8601.",
    )
    timezone: TimeZoneName = Field(
        default="UTC", description="The zone of naive datetimes, and in which a datetime becomes a day."
    )
    reporting_currency: str = Field(default="USD", description="Must equal kpi.reporting_currency.")
    currency: str | None = Field(
        default=None, description="The currency of amounts without a currency value (default: reporting)."
    )
    rates: dict[str, Decimal] = Field(
        default_factory=dict,
        description="Units of each currency per 1 unit of the reporting currency (EUR: 0.92 for USD).",
    )
    probability_unit: Literal["share", "percent"] = Field(
        default="share", description="share: 0.25 means 25 %; percent: 25 means 25 %."
    )
    partners_path: Path | None = Field(
        default=None, description="A CSV of partner records; without it, the partners are the ids seen."
    )
    partner_columns: PartnerColumns = Field(default_factory=PartnerColumns)
    output_path: Path | None = Field(
        default=None, description="The CSV that writeback upserts partner fields into (by partner_id)."
    )
    batch_size: int = Field(default=5_000, ge=1, le=1_000_000)

    @field_validator("path", "partners_path", "output_path")
    @classmethod
    def _resolve_paths(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else resolve_config_path(value, info)

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown text encoding {value!r} (e.g. utf-8, latin-1, cp1252)") from None
        return value

    @field_validator("date_formats")
    @classmethod
    def _formats(cls, value: list[str]) -> list[str]:
        for fmt in value:
            if fmt != ISO and "%" not in fmt:
                raise ValueError(f"{fmt!r} is neither 'iso' nor a strptime format such as %d/%m/%Y")
        return value

    @field_validator("reporting_currency")
    @classmethod
    def _reporting(cls, value: str) -> str:
        return check_currency_code(value)

    @field_validator("currency")
    @classmethod
    def _default_currency(cls, value: str | None) -> str | None:
        return None if value is None else check_currency_code(value)

    @field_validator("rates")
    @classmethod
    def _rates(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for code, rate in value.items():
            if not rate.is_finite() or rate <= 0:
                raise ValueError(f"the rate of {code} must be a positive number, not {rate}")
            out[check_currency_code(code)] = rate
        return out

    @field_validator("stages")
    @classmethod
    def _stage_keys(cls, value: dict[str, StageRule]) -> dict[str, StageRule]:
        return {key.strip(): rule for key, rule in value.items()}

    @model_validator(mode="after")
    def _consistent(self) -> FileConnectorConfig:
        if self.format is None and self.path.suffix.lower() not in _EXTENSIONS:
            raise ValueError(
                f"cannot tell the format of {self.path.name} from its extension: set format: csv or jsonl"
            )
        if self.thousands_separator is not None and self.thousands_separator == self.decimal_separator:
            raise ValueError("thousands_separator and decimal_separator must differ")
        if self.columns.currency is None:
            code = self.default_currency
            if code != self.reporting_currency and code not in self.rates:
                raise ValueError(
                    f"currency {code} has no rate: add rates: {{{code}: <units of {code} per 1 "
                    f"{self.reporting_currency}>}}"
                )
        return self

    @property
    def file_format(self) -> Literal["csv", "jsonl"]:
        if self.format is not None:
            return self.format
        return "jsonl" if _EXTENSIONS[self.path.suffix.lower()] == "jsonl" else "csv"

    @property
    def default_currency(self) -> str:
        return self.currency or self.reporting_currency

    def rate_table(self) -> RateTable:
        return RateTable(reporting_currency=self.reporting_currency, static=dict(self.rates))
