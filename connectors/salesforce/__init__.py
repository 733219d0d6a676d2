"""The Salesforce connector (a crmkpi.connectors plugin)."""

from __future__ import annotations

from connectors.salesforce.connector import SalesforceConnector
from core.plugins import hookimpl

__all__ = ["SalesforceConnector", "crmkpi_connector_class"]


@hookimpl
def crmkpi_connector_class() -> type[SalesforceConnector]:
    return SalesforceConnector
