"""The HubSpot emulation: ``HubSpotEmulation(data)`` serves the CRM v3/v4 objects, search, associations,
pipelines, properties and OAuth endpoints hubspot-api-client drives, over the portal the seed describes."""

from partnerkpi.sandbox.hubspot.emulation import MAX_URL_LENGTH, HubSpotEmulation
from partnerkpi.sandbox.hubspot.portal import (
    CHANNEL_SOURCES,
    DEFAULT_TYPE_ID,
    PARTNER_LABEL,
    PARTNER_LABEL_TYPE_ID,
    PIPELINES,
    PRIMARY_TYPE_ID,
    UNKNOWN_STAGE_ID,
)

__all__ = [
    "CHANNEL_SOURCES",
    "DEFAULT_TYPE_ID",
    "MAX_URL_LENGTH",
    "PARTNER_LABEL",
    "PARTNER_LABEL_TYPE_ID",
    "PIPELINES",
    "PRIMARY_TYPE_ID",
    "UNKNOWN_STAGE_ID",
    "HubSpotEmulation",
]
