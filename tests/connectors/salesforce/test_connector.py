from __future__ import annotations

import httpx

from connectors.salesforce import SalesforceConnector, crmkpi_connector_class
from core.plugins import connector_classes, create_plugin_manager
from core.simulation.options import SimulatorOptions


def test_the_entry_point_provides_the_connector() -> None:
    assert crmkpi_connector_class() is SalesforceConnector
    assert connector_classes(create_plugin_manager())["salesforce"] is SalesforceConnector


def test_streams_fulfil_the_contract() -> None:
    streams = SalesforceConnector().streams()
    names = [s.name for s in streams]
    assert len(names) == len(set(names))
    for stream in streams:
        assert all(dep in names[: names.index(stream.name)] for dep in stream.depends_on)
        if stream.incremental:
            assert stream.cursor_ordered  # SOQL ORDER BY SystemModstamp, Id
    secret = {f.name for f in SalesforceConnector.credential_fields if f.secret}
    assert secret == {"client_secret", "refresh_token"}


async def test_simulator_app_and_credentials_for_crmkpi_simulate() -> None:
    credentials = SalesforceConnector.simulator_credentials()
    assert set(credentials) == {"client_id", "client_secret", "refresh_token"}
    app = SalesforceConnector.simulator(SimulatorOptions(seed=2, deals=30))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://s") as c:
        token = await c.post(
            "/services/oauth2/token", data={"grant_type": "refresh_token", **credentials}
        )
        assert token.status_code == 200 and token.json()["instance_url"] == "http://s"
    faulty = SalesforceConnector.simulator(SimulatorOptions(seed=2, deals=30, faults="5xx=1.0"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(faulty), base_url="http://s") as c:
        assert (await c.get("/services/data/")).status_code >= 500
