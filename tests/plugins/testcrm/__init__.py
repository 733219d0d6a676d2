"""The test CRM plugin: a connector and its simulator, registered like any third party's."""

from __future__ import annotations

from core.plugins import hookimpl
from core.sync.connector import Connector
from tests.plugins.testcrm.connector import TestCrmConnector


@hookimpl
def crmkpi_connector_class() -> type[Connector]:
    return TestCrmConnector
