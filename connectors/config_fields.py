"""Config field types every HTTPS connector shares (Salesforce, HubSpot): the checks live in the type, so
each config model declares its URLs and its CA bundle without restating the validators."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

from connectors.base import existing_ca_bundle


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
