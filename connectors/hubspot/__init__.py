"""The HubSpot connector: incremental pulls of deals with their partner companies past the search cap,
paced to the portal's rate limit, batched writeback onto companies and KPI property provisioning,
through hubspot-api-client."""

from connectors.hubspot.config import HubSpotConfig
from connectors.hubspot.connector import HubSpotConnector

__all__ = ["HubSpotConfig", "HubSpotConnector"]
