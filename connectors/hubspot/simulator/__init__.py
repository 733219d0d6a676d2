"""The HubSpot simulator, apart from the connector: an ASGI app serving the shared seeded
business in HubSpot's response shapes (see :mod:`.app`)."""

from __future__ import annotations

from connectors.hubspot.simulator.app import HubSpotSimulator, create_app, create_simulator
from connectors.hubspot.simulator.auth import (
    ACCESS_TOKEN,
    CLIENT_ID,
    CLIENT_SECRET,
    REFRESH_TOKEN,
)

__all__ = [
    "ACCESS_TOKEN",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "REFRESH_TOKEN",
    "HubSpotSimulator",
    "create_app",
    "create_simulator",
]
