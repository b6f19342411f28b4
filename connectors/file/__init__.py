"""The file connector: CSV or JSONL exports of opportunities through a column mapping, writeback to a CSV
(docs/connectors.md, "The file connector")."""

from connectors.file.config import ColumnMap, FileConnectorConfig, PartnerColumns, StageRule
from connectors.file.connector import FileConnector

__all__ = ["ColumnMap", "FileConnector", "FileConnectorConfig", "PartnerColumns", "StageRule"]
