"""The state store as every command opens it: the config's secrets registered for redaction first (so
whatever the command then logs or prints is redacted), the schema verified before it reads or writes."""

from __future__ import annotations

from partnerkpi.config import AppConfig
from partnerkpi.redaction import register_secrets, secrets_of
from partnerkpi.state import StateStore


def open_store(cfg: AppConfig) -> StateStore:
    register_secrets(secrets_of(cfg))
    return StateStore.open(
        cfg.state.url, snapshot_retention_days=cfg.state.snapshot_retention_days, verify=True
    )
