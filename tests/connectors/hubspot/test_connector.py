"""The plugin: found through its entry point, with its streams, limits and simulator."""

from __future__ import annotations

import httpx

from connectors.hubspot.connector import HubSpotConnector
from core.plugins import connector_classes, create_plugin_manager
from core.simulation.options import SimulatorOptions


def test_the_entry_point_provides_the_hubspot_connector() -> None:
    classes = connector_classes(create_plugin_manager())
    assert classes["hubspot"] is HubSpotConnector


def test_connector_declares_limits_credentials_and_fresh_streams() -> None:
    connector = HubSpotConnector()
    assert connector.default_base_url == "https://api.hubapi.com"
    assert connector.rate_limit.requests == 100 and connector.rate_limit.per_seconds == 10
    assert connector.rate_limit.remaining_header == "X-HubSpot-RateLimit-Remaining"
    assert {f.name for f in connector.credential_fields} >= {"access_token", "refresh_token"}
    first, second = connector.streams(), connector.streams()
    assert [s.name for s in first] == [s.name for s in second]
    assert all(a is not b for a, b in zip(first, second, strict=True))


def test_account_key_is_per_base_url_and_token() -> None:
    connector = HubSpotConnector()
    one = connector.account_key({"access_token": "pat-secret"}, "https://api.hubapi.com")
    assert one == connector.account_key({"access_token": "pat-secret"}, "https://api.hubapi.com")
    assert one != connector.account_key({"access_token": "pat-other"}, "https://api.hubapi.com")
    assert one != connector.account_key({"access_token": "pat-secret"}, "http://sim")
    assert "pat-secret" not in one  # the token itself never lands in logs or limiter keys


async def test_simulator_accepts_its_own_credentials() -> None:
    app = HubSpotConnector.simulator(SimulatorOptions(seed=2, deals=30))
    token = HubSpotConnector.simulator_credentials()["access_token"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        response = await c.get("/crm/v3/owners", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.json()["results"]
