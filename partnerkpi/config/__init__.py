"""The YAML config: load, interpolate ``${VAR}``, read secret files, validate, explain (path and line)."""

from partnerkpi.config.errors import ConfigError, Problem
from partnerkpi.config.loader import load_config, load_config_text
from partnerkpi.config.models import (
    CONFIG_DIR,
    DEFAULT_STATE_URL,
    AppConfig,
    LoggingConfig,
    StateConfig,
    config_dir,
)
from partnerkpi.config.schema import config_json_schema

__all__ = [
    "CONFIG_DIR",
    "DEFAULT_STATE_URL",
    "AppConfig",
    "ConfigError",
    "LoggingConfig",
    "Problem",
    "StateConfig",
    "config_dir",
    "config_json_schema",
    "load_config",
    "load_config_text",
]
