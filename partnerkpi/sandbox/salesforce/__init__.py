"""The Salesforce emulation: ``SalesforceEmulation(data)`` serves the REST, SOAP login, OAuth, Tooling and
Bulk 2.0 APIs simple-salesforce drives, over the records the seed describes."""

from partnerkpi.sandbox.salesforce.auth import SalesforceCredentials
from partnerkpi.sandbox.salesforce.emulation import API_VERSION, DEFAULT_DAILY_LIMIT, SalesforceEmulation
from partnerkpi.sandbox.salesforce.tables import LEAD_SOURCES, STAGE_NAMES

__all__ = [
    "API_VERSION",
    "DEFAULT_DAILY_LIMIT",
    "LEAD_SOURCES",
    "STAGE_NAMES",
    "SalesforceCredentials",
    "SalesforceEmulation",
]
