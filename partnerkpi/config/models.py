"""The config file's shape: the application's own sections, composed with the packages' models
(kpi_core's settings, each connector type's config, writeback's mappings, alerts). Extra keys are
errors everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationInfo,
    field_validator,
    model_validator,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from connectors.base import ConnectorConfig
from kpi_core.settings import KpiSettings
from partnerkpi.alerts import AlertsConfig
from writeback import WritebackConfig

DEFAULT_STATE_URL = "sqlite:///.partnerkpi/state.sqlite"
CONFIG_DIR = "config_dir"
"""Key of the validation context holding the config file's directory (relative paths start there)."""


def config_dir(info: ValidationInfo) -> Path | None:
    """The config file's directory, for models that resolve relative paths (None outside load_config)."""
    context = info.context
    value = context.get(CONFIG_DIR) if isinstance(context, dict) else None
    return value if isinstance(value, Path) else None


class StateConfig(BaseModel):
    """Where the state database lives (one SQLAlchemy URL, SQLite by default) and how long it keeps KPI
    snapshots."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(
        default=DEFAULT_STATE_URL,
        validate_default=True,
        description="SQLAlchemy URL of the state database; a relative SQLite path starts at the config file.",
    )
    snapshot_retention_days: int = Field(
        default=400,
        ge=1,
        le=36_500,
        description=(
            "KPI snapshots computed more than this many days before a sync's day are deleted by that sync, "
            "so the state stays bounded. A trend takes its prior-period pipeline from the snapshot of the "
            "prior period's last day while one is kept, else rebuilds it from the records: 400 days keeps "
            "year-over-year priors (year_to_date, last_365_days) and report --history for 13 months."
        ),
    )
    """Snapshots are what later runs read as a prior period's measured pipeline and what report
    --history draws; without a limit they grow by one set per sync for ever (issue 14)."""

    @field_validator("url")
    @classmethod
    def _resolve_sqlite_path(cls, value: str, info: ValidationInfo) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(f"not a database URL: {value!r} (e.g. {DEFAULT_STATE_URL})") from None
        base = config_dir(info)
        database = url.database or ""
        if (
            base is None
            or url.get_backend_name() != "sqlite"
            or database in ("", ":memory:")
            or database.startswith("file:")
            or Path(database).is_absolute()
        ):
            return value
        return url.set(database=str(base / Path(database).expanduser())).render_as_string(hide_password=False)


class LoggingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["text", "json"] = Field(default="text", description="json for log shippers.")


# The writeback section: writeback's own model (connector name -> field mappings). The one place to change
# if the writeback package's config model changes.
WritebackSection = WritebackConfig


class AppConfig(BaseModel):
    """The whole config file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    state: StateConfig = Field(default_factory=StateConfig)
    kpi: KpiSettings = Field(default_factory=KpiSettings)
    connectors: list[SerializeAsAny[ConnectorConfig]] = Field(
        default_factory=list, description="The CRMs and files to read, each validated by its type's model."
    )
    writeback: WritebackSection = Field(default_factory=WritebackSection)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)

    @model_validator(mode="before")
    @classmethod
    def _state_always_validated(cls, data: Any) -> Any:
        """So that the default state URL, too, is resolved against the config file's directory."""
        if isinstance(data, dict) and "state" not in data:
            return {**data, "state": {}}
        return data

    @model_validator(mode="after")
    def _one_reporting_zone_and_currency(self) -> AppConfig:
        """A connector's ``timezone`` / ``reporting_currency`` default to kpi's; set to another value,
        they would make days or amounts disagree with the KPIs, so that is an error."""
        wanted = {"timezone": self.kpi.timezone, "reporting_currency": self.kpi.reporting_currency}
        connectors = []
        for index, conn in enumerate(self.connectors):
            update = {}
            for key, value in wanted.items():
                if key not in type(conn).model_fields:
                    continue
                if key in conn.model_fields_set and getattr(conn, key) not in (None, value):
                    raise ValueError(
                        f"connectors[{index}].{key}: {getattr(conn, key)!r} differs from kpi.{key} {value!r}; "
                        f"leave it out (it follows kpi.{key})"
                    )
                update[key] = value
            connectors.append(conn.model_copy(update=update) if update else conn)
        object.__setattr__(self, "connectors", connectors)
        return self

    def connector(self, name: str) -> ConnectorConfig | None:
        """The connector of that name, or None (the one lookup by name; the CLI's error is
        ``pipeline.connector_config``)."""
        return next((c for c in self.connectors if c.name == name), None)
