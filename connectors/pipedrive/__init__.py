"""The Pipedrive connector (a crmkpi.connectors plugin)."""

from __future__ import annotations

from connectors.pipedrive.connector import PipedriveConnector
from core.plugins import hookimpl
from core.sync.connector import Connector


@hookimpl
def crmkpi_connector_class() -> type[Connector]:
    return PipedriveConnector


__all__ = ["PipedriveConnector", "crmkpi_connector_class"]
