"""The simulator behaves as HubSpot documents (issue #23): each test here fails on the
simulator as it was before (narrowing ignored, no archived records, text/plain 404s,
trailing-slash 307s, neutral fault bodies, one account shape, no switchable limits)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.simulator import ACCESS_TOKEN, create_app
from core.simulation.dataset import generate
from core.sync import Account, SimulatorOptions
from tests.contracts.hubspot.contract import problems

AUTH = {"Authorization": f"Bearer {ACCESS_TOKEN}"}
ALWAYS = {"hs_object_id", "createdate", "hs_lastmodifieddate"}


async def _client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim", headers=AUTH) as c:
        yield c


def _app(account: Account = Account.FULL, **options: Any) -> Any:
    return HubSpotConnector.simulator(
        SimulatorOptions(seed=5, deals=40, account=account, **options)
    )


@pytest.fixture
async def full() -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(_app()):
        yield c


async def test_lists_return_the_asked_properties_and_hubspots_three(full) -> None:
    page = (
        await full.get(
            "/crm/v3/objects/deals",
            params={"limit": 5, "properties": "dealname,no_such_property,closed_lost_reason"},
        )
    ).json()
    for deal in page["results"]:
        # unknown names are left out; known ones without a value come back as null
        assert set(deal["properties"]) == {"dealname", "closed_lost_reason", *ALWAYS}
    assert any(d["properties"]["closed_lost_reason"] is None for d in page["results"])
    repeated = await full.get(
        "/crm/v3/objects/deals", params=[("limit", "1"), ("properties", "amount")]
    )
    assert set(repeated.json()["results"][0]["properties"]) == {"amount", *ALWAYS}


async def test_search_returns_the_asked_properties(full) -> None:
    found = (
        await full.post(
            "/crm/v3/objects/contacts/search", json={"limit": 3, "properties": ["email"]}
        )
    ).json()
    assert found["results"]
    assert all(
        set(c["properties"]) == {"email", "hs_object_id", "createdate", "lastmodifieddate"}
        for c in found["results"]
    )


async def test_every_portal_holds_archived_records_listed_only_when_asked(full) -> None:
    for object_type in ("companies", "contacts", "deals", "calls", "leads"):
        archived = (
            await full.get(f"/crm/v3/objects/{object_type}", params={"archived": "True"})
        ).json()["results"]
        assert archived and all(r["archived"] and r["archivedAt"] for r in archived)
        live = (await full.get(f"/crm/v3/objects/{object_type}", params={"limit": 100})).json()[
            "results"
        ]
        assert {r["id"] for r in live}.isdisjoint(r["id"] for r in archived)


async def test_unknown_routes_answer_hubspot_json_not_text_or_redirects(full) -> None:
    for path in ("/crm/v3/nothing", "/crm/v3/objects/deals/batch/nothing", "/nothing/"):
        response = await full.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/json")
        assert problems("Error", response.json()) == []
    slashed = await full.get("/crm/v3/objects/deals/", params={"limit": 1})
    assert slashed.status_code == 200  # served as the slash-less path, never a 307


async def test_a_bad_token_is_hubspots_401(full) -> None:
    response = await full.get("/crm/v3/objects/deals", headers={"Authorization": "Bearer x"})
    assert response.status_code == 401
    assert problems("Error", response.json()) == []
    assert response.json()["category"] == "INVALID_AUTHENTICATION"


async def test_minimal_account_has_no_leads_and_one_currency() -> None:
    async for sim in _client(_app(Account.MINIMAL)):
        leads = await sim.get("/crm/v3/objects/leads")
        assert leads.status_code == 404 and problems("Error", leads.json()) == []
        assert leads.json()["category"] == "OBJECT_NOT_FOUND"
        association = await sim.post(
            "/crm/v4/associations/deals/leads/batch/read", json={"inputs": [{"id": "1"}]}
        )
        assert association.status_code == 400
        assert "infer object type" in association.json()["message"]
        rates = await sim.get("/settings/v3/currencies/exchange-rates")
        assert rates.json()["results"] == []
        assert (await sim.get("/settings/v3/currencies/company-currency")).json()["id"] == "USD"
        deals = (
            await sim.get("/crm/v3/objects/deals", params={"properties": "deal_currency_code"})
        ).json()["results"]
        assert all(d["properties"]["deal_currency_code"] is None for d in deals)


async def test_standard_account_lacks_the_leads_scope() -> None:
    async for sim in _client(_app(Account.STANDARD)):
        leads = await sim.get("/crm/v3/objects/leads")
        assert leads.status_code == 403 and problems("Error", leads.json()) == []
        body = leads.json()
        assert body["category"] == "MISSING_SCOPES"
        assert body["errors"][0]["context"]["requiredGranularScopes"] == ["crm.objects.leads.read"]
        assert (await sim.get("/settings/v3/currencies/exchange-rates")).json()["results"]


async def test_full_account_has_leads() -> None:
    async for sim in _client(_app()):
        assert (await sim.get("/crm/v3/objects/leads")).json()["results"]


async def test_rate_limits_switch_on_with_hubspots_429() -> None:
    async for sim in _client(_app(rate_limit=True)):
        answers = [await sim.get("/crm/v3/owners") for _ in range(105)]
    limited = [a for a in answers if a.status_code == 429]
    assert limited and all(a.status_code == 200 for a in answers[:100])
    assert problems("RateLimitError", limited[0].json()) == []
    assert limited[0].json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert limited[0].headers["X-HubSpot-RateLimit-Remaining"] == "0"


async def test_rate_limits_are_off_by_default(full) -> None:
    answers = [await full.get("/crm/v3/owners") for _ in range(105)]
    assert all(a.status_code == 200 for a in answers)


@pytest.mark.parametrize("status", [429, 500, 502, 503])
async def test_injected_faults_answer_in_hubspots_shape(status: int) -> None:
    faults = {429: "429every=1", 500: "5xx=1,seed=1"}.get(status, f"5xx=1,seed={status}")
    app = create_app(faults=faults, simulator=None, seed=5, deals=20)
    async for sim in _client(app):
        response = await sim.get("/crm/v3/objects/deals")
    assert response.status_code >= 429
    assert response.headers["x-hubspot-correlation-id"]
    if response.status_code == 429:
        assert problems("RateLimitError", response.json()) == []
        assert response.headers["x-hubspot-ratelimit-remaining"] == "0"
    else:
        assert problems("Error", response.json()) == []


def test_every_default_dataset_yields_archived_records() -> None:
    from connectors.hubspot.simulator import create_simulator

    sim = create_simulator(data=generate(seed=9, deals=10))
    assert all(store.archived for store in sim.stores.values())
