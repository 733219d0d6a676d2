"""``crmkpi connection check`` on each HubSpot account variant: what the table says."""

from __future__ import annotations

import httpx
import pytest

from api.commands.connection_check import sentence
from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.simulator import ACCESS_TOKEN, create_app
from core.connections import check_account
from tests.connectors.hubspot.conftest import make_simulator

EXPECTED = {
    "minimal": {
        "leads_object": "Leads object: not available on this portal (HTTP 404) — "
        "stream leads skipped",
        "multi_currency": "Multi-currency: the portal has one currency (no exchange rates) — "
        "stream exchange_rates skipped",
        "properties_api": "Properties API: available",
    },
    "standard": {
        "leads_object": "Leads object: the app lacks the scope: crm.objects.leads.read "
        "(HTTP 403 MISSING_SCOPES) — stream leads skipped",
        "multi_currency": "Multi-currency: available",
        "properties_api": "Properties API: available",
    },
    "full": {
        "leads_object": "Leads object: available",
        "multi_currency": "Multi-currency: available",
        "properties_api": "Properties API: available",
    },
}


@pytest.mark.parametrize("account", sorted(EXPECTED))
async def test_connection_check_tells_what_each_account_lacks(account: str) -> None:
    app = create_app(simulator=make_simulator(deals=30, account=account))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        check = await check_account(
            HubSpotConnector, {"access_token": ACCESS_TOKEN}, "http://sim", client=client
        )
    assert check.ok and check.capabilities is not None, check.discovery_error
    assert {c.key: sentence(c) for c in check.capabilities.values()} == EXPECTED[account]
