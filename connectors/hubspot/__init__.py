"""The HubSpot connector (a crmkpi.connectors plugin)."""

from __future__ import annotations

from core.plugins import hookimpl
from core.sync.connector import Connector


@hookimpl
def crmkpi_connector_class() -> type[Connector]:
    from connectors.hubspot.connector import HubSpotConnector

    return HubSpotConnector
