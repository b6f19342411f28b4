"""The file connector's config model: defaults, shorthands, path resolution and clear errors."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from connectors import registry
from connectors.file import FileConnector, FileConnectorConfig
from connectors.file.config import StageRule
from kpi_core.schema import Status

ROOT = Path(__file__).resolve().parents[2]
BASE: dict[str, Any] = {
    "name": "f",
    "type": "file",
    "path": "/data/export.csv",
    "columns": {"id": "Id", "amount": "Amount", "stage": "Stage", "created": "Created", "closed": "Closed"},
    "stages": {"Won": "won"},
}


def config(**overrides: Any) -> FileConnectorConfig:
    return FileConnectorConfig.model_validate({**BASE, **overrides})


def error_of(**overrides: Any) -> str:
    with pytest.raises(ValidationError) as err:
        config(**overrides)
    return str(err.value)


def test_registered_as_the_file_type() -> None:
    assert registry.get("file") is FileConnector
    assert FileConnector.config_model is FileConnectorConfig
    assert FileConnector.full_refresh is True


def test_defaults() -> None:
    c = config()
    assert c.file_format == "csv"
    assert c.encoding == "utf-8-sig" and c.delimiter == ","
    assert c.date_formats == ["iso"] and c.timezone == "UTC"
    assert c.reporting_currency == "USD" and c.default_currency == "USD"
    assert c.batch_size == 5_000 and c.output_path is None and c.partners_path is None
    assert c.stages == {"Won": StageRule(status="won")}


def test_format_from_the_extension_or_explicit() -> None:
    assert config(path="/d/x.jsonl").file_format == "jsonl"
    assert config(path="/d/x.NDJSON").file_format == "jsonl"
    assert config(path="/d/x.txt", format="csv").file_format == "csv"
    assert "cannot tell the format of x.txt" in error_of(path="/d/x.txt")


def test_relative_paths_start_at_the_config_directory(tmp_path: Path) -> None:
    data = {**BASE, "path": "data/o.csv", "output_path": "out/s.csv", "partners_path": "/abs/p.csv"}
    c = FileConnectorConfig.model_validate(data, context={"config_dir": tmp_path})
    assert c.path == tmp_path / "data" / "o.csv"
    assert c.output_path == tmp_path / "out" / "s.csv"
    assert c.partners_path == Path("/abs/p.csv")


def test_extra_keys_are_refused() -> None:
    assert "extra" in error_of(colums={}).lower()
    assert "extra" in error_of(columns={**BASE["columns"], "owner": "Owner"}).lower()


def test_required_columns() -> None:
    message = error_of(columns={"id": "Id", "stage": "Stage", "created": "C", "closed": "D"})
    assert "columns.amount" in message and "Field required" in message
    assert "a column name cannot be empty" in error_of(columns={**BASE["columns"], "partner": " "})


def test_stage_rules() -> None:
    c = config(stages={" Won ": "won", "Talk": {"status": "open", "probability": 0.3}})
    assert c.stages["Won"].status == "won"
    assert Status(c.stages["Talk"].status) is Status.OPEN and c.stages["Talk"].probability == 0.3
    assert "stages.Talk.probability" in error_of(stages={"Talk": {"status": "open", "probability": 30}})
    assert "stages.Won.status" in error_of(stages={"Won": "closed"})
    assert "stages" in error_of(stages={})


def test_date_formats_timezone_encoding() -> None:
    assert "neither 'iso' nor a strptime format" in error_of(date_formats=["dd/mm/yyyy"])
    assert "unknown time zone 'Mars/Base'" in error_of(timezone="Mars/Base")
    assert "unknown text encoding 'utf-99'" in error_of(encoding="utf-99")
    assert "delimiter" in error_of(delimiter=";;")


def test_currencies_and_rates() -> None:
    c = config(reporting_currency="eur", rates={"usd": "1.08"}, currency="usd")
    assert c.reporting_currency == "EUR" and c.rates == {"USD": Decimal("1.08")}
    table = c.rate_table()
    assert table.convert(Decimal("108"), "USD", None) == Decimal(100)
    assert "must be a positive number" in error_of(rates={"EUR": "0"})
    assert "three-letter ISO 4217 code" in error_of(rates={"EURO": "1"})
    message = error_of(currency="GBP")
    assert "currency GBP has no rate" in message and "units of GBP per 1 USD" in message
    # With a currency column, unknown currencies are counted by kpi_core instead.
    assert config(currency="GBP", columns={**BASE["columns"], "currency": "Cur"}).default_currency == "GBP"


def test_separators_must_differ() -> None:
    assert "must differ" in error_of(decimal_separator=",", thousands_separator=",")


def test_the_json_schema_is_available() -> None:
    schema = FileConnectorConfig.model_json_schema()
    assert "columns" in schema["properties"] and "stages" in schema["properties"]


def _doc_sections() -> list[dict[str, Any]]:
    """The file connector sections of docs/connectors.md's YAML examples."""
    text = (ROOT / "docs" / "connectors.md").read_text(encoding="utf-8")
    sections = []
    for block in re.findall(r"```yaml\n(.*?)```", text, re.S):
        for section in yaml.safe_load(block)["connectors"]:
            if section["type"] == "file":
                sections.append(section)
    return sections


def test_the_documented_yaml_is_valid() -> None:
    sections = _doc_sections()
    assert [s["name"] for s in sections] == ["export", "maven"]
    for section in sections:
        FileConnectorConfig.model_validate(section, context={"config_dir": ROOT})


def test_the_documented_maven_example_reads_the_data_set() -> None:
    (maven,) = (s for s in _doc_sections() if s["name"] == "maven")
    connector = FileConnector(FileConnectorConfig.model_validate(maven, context={"config_dir": ROOT}))
    batches = list(connector.pull(None))
    assert sum(len(b.opportunities) for b in batches) == 8_800
    assert sum(len(b.partners) for b in batches) == 30
