"""What the config of every HTTPS connector (Salesforce, HubSpot) shares: field types whose checks live in
the type (URLs, the CA bundle), and the settings every API connector has (``ApiConnectorConfig``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, ConfigDict, Field

from connectors.base import ConnectorConfig, existing_ca_bundle
from kpi_core.settings import TimeZoneName


def https_origin(value: str) -> str:
    """``value`` as ``https://host[:port]`` (path and query dropped); ValueError for any other scheme or
    a URL without a host: credentials and data never go over plain HTTP."""
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"must be an https:// URL, not {value!r}")
    return f"https://{parts.netloc}"


HttpsOrigin = Annotated[str, AfterValidator(https_origin)]
"""A URL setting that must be HTTPS, kept as its origin (https_origin)."""

CaBundle = Annotated[
    Path | None,
    AfterValidator(existing_ca_bundle),
    Field(description="PEM file of the CAs to trust (e.g. the sandbox's); default: certifi's."),
]
"""The ``ca_bundle`` setting: resolved from the config's directory, and a file that exists."""


class ApiConnectorConfig(ConnectorConfig):
    """The settings every API connector has, declared once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ca_bundle: CaBundle = None
    timeout_seconds: float = Field(default=60.0, gt=0, description="Seconds one API call may take.")
    timezone: TimeZoneName = Field(
        default="UTC", description="Reporting time zone: the CRM's creation time becomes a day in it."
    )
    lookback_minutes: int = Field(
        default=10, ge=0, description="Each pull re-reads changes this much older than its watermark."
    )
