"""The simulated Salesforce org (test and demo tooling, apart from the connector's code).

``app`` holds the ASGI org; ``soql``, ``tables``, ``render``, ``sales``, ``processes`` and
``bulk`` its pieces. Nothing in ``connectors.salesforce`` outside this package imports it
except ``SalesforceConnector.simulator`` (lazily).
"""

from __future__ import annotations

from connectors.salesforce.simulator.app import SalesforceSimulator, create_simulator
from connectors.salesforce.simulator.oauth import CREDENTIALS

__all__ = ["CREDENTIALS", "SalesforceSimulator", "create_simulator"]
