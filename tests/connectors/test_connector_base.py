"""What a connector class gets from connectors.base by declaration: its config model from the type
argument, its type name from the model's ``type`` Literal, and whether it writes fields from the
FieldWriter mixin."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal

import pytest

from connectors.base import CheckResult, Connector, ConnectorConfig, PullBatch, writes_fields
from connectors.fields import FieldSpec
from connectors.file import FileConnector
from partnerkpi.errors import UsageError
from partnerkpi.pipeline import field_writer


class ExportConfig(ConnectorConfig):
    type: Literal["export"]


class ExportConnector(Connector[ExportConfig]):
    def check(self, specs: Sequence[FieldSpec] = ()) -> list[CheckResult]:
        return []

    def pull(self, watermark: str | None) -> Iterator[PullBatch]:
        yield PullBatch()


def test_the_config_model_is_the_type_argument() -> None:
    assert ExportConnector.config_model is ExportConfig


def test_the_type_name_is_the_config_models_type_literal() -> None:
    assert ExportConnector.type_name == "export"


def test_a_class_that_sets_its_type_name_keeps_it() -> None:
    class Renamed(ExportConnector):
        type_name = "renamed"

    assert Renamed.type_name == "renamed" and Renamed.config_model is ExportConfig


def test_a_subclass_inherits_the_declarations() -> None:
    class Tuned(ExportConnector):
        pass

    assert (Tuned.type_name, Tuned.config_model) == ("export", ExportConfig)


def test_with_gives_the_connector_itself() -> None:
    connector = ExportConnector(ExportConfig(name="e", type="export"))
    with connector as entered:
        assert entered is connector


def test_a_connector_without_the_field_writer_mixin_is_read_only() -> None:
    assert not writes_fields(ExportConnector)
    assert writes_fields(FileConnector)


def test_the_pipeline_refuses_to_write_through_a_read_only_connector() -> None:
    connector = ExportConnector(ExportConfig(name="exports", type="export"))
    with pytest.raises(UsageError, match=r"connector 'exports' \(type 'export'\) is read-only"):
        field_writer(connector)
