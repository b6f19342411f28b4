"""The Salesforce connector: incremental, currency-correct pulls of partner opportunities, batched
writeback onto partner Accounts and KPI field provisioning, through simple-salesforce."""

from connectors.salesforce.config import SalesforceConfig
from connectors.salesforce.connector import SalesforceConnector

__all__ = ["SalesforceConfig", "SalesforceConnector"]
