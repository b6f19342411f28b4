"""The HubSpot emulation: ``HubSpotEmulation(data)`` serves the CRM v3/v4 objects, search, associations,
pipelines, properties and OAuth endpoints hubspot-api-client drives, over the portal the seed describes.

Ids: deal = ``9000000000 + seed key``, partner company = ``5000000000 + partner key``, customer companies
from ``5000100001``. Credentials: private-app token ``pat-sandbox-1`` (``.access_token``); OAuth client
``sandbox-client-id`` / ``sandbox-client-secret`` with refresh token ``sandbox-refresh-token``. Knobs
beyond ``Faults``: ``retry_after`` (send Retry-After on 429), ``access_token_ttl``, ``.auth.clock`` and
``.limits.monotonic`` (pin them in tests). Admin actions (``POST /__admin__/hubspot/{action}`` or the
methods): update_deal, archive_deal, create_deal, touch_deals, edit_company_property, deal, state.
"""

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
