"""TinyCRM for crmkpi: the plugin module named by the ``crmkpi.connectors`` entry point."""

from __future__ import annotations

from core.plugins import hookimpl
from core.sync.connector import Connector


@hookimpl
def crmkpi_connector_class() -> type[Connector]:
    # Imported lazily so that listing plugins stays cheap.
    from crmkpi_tinycrm.connector import TinyCrmConnector

    return TinyCrmConnector
