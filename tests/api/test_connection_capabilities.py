"""GraphQL: addConnection options, verifyCredentials discovering and storing capabilities,
``Connection.capabilities`` and each stream's status and error in ``lastRuns``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import tests.plugins.testcrm as testcrm_plugin
from api.app import AppState
from core.secrets import Vault
from core.sync.runner import SyncOptions, run_sync
from tests.plugins.testcrm.dataset import Dataset
from tests.plugins.testcrm.simulator import REFRESH_TOKEN, Simulator
from tests.support.api import api_client
from tests.support.records import Tenant, create_tenant
from tests.support.server import serve
from tests.support.syncing import FAST_RETRY

ADD = """mutation($input: AddConnectionInput!) { addConnection(input: $input) {
  __typename ... on AddConnectionSuccess { connection { id options } }
  ... on MutationError { code message } } }"""
VERIFY = """mutation($input: VerifyCredentialsInput!) { verifyCredentials(input: $input) {
  __typename ... on VerifyCredentialsSuccess { ok reason capabilitiesError
    capabilities { key available status reason } }
  ... on MutationError { code message } } }"""
CONNECTION = """query($id: ID!) { connection(id: $id) {
  capabilitiesCheckedAt
  capabilities { key title available status reason streams kpis }
  lastRuns(limit: 1) { status streams { stream status error } } } }"""


@pytest.fixture
def simulator() -> Simulator:
    simulator = Simulator(Dataset.sized(30))
    simulator.forecasts = False
    return simulator


@pytest.fixture
def base_url(simulator: Simulator) -> Iterator[str]:
    with serve(simulator.app(None)) as url:
        yield url


@pytest.fixture
async def tenant(sessionmaker: async_sessionmaker[AsyncSession]) -> Tenant:
    async with sessionmaker() as session:
        return await create_tenant(session, "acme", workspaces=1, deals=0)


async def test_options_capabilities_and_stream_errors_through_graphql(
    engine: AsyncEngine, tenant: Tenant, base_url: str, simulator: Simulator
) -> None:
    ws, key = tenant.workspace_ids[0], tenant.keys["editor"]
    good = [{"name": "refresh_token", "value": REFRESH_TOKEN}]
    add = {"workspaceId": ws, "connector": "testcrm", "baseUrl": base_url, "credentials": good}
    settings = {
        "secret_keys": Fernet.generate_key().decode(),
        "connection_allowed_hosts": ["127.0.0.1"],
    }
    async with api_client(engine, plugins=[testcrm_plugin], **settings) as client:
        bad_option = await client.graphql(
            ADD, {"input": {**add, "options": [{"name": "colour", "value": "x"}]}}, key=key
        )
        added = await client.graphql(
            ADD, {"input": {**add, "options": [{"name": "region", "value": "us"}]}}, key=key
        )
        conn = added["data"]["addConnection"]["connection"]
        before = await client.graphql(CONNECTION, {"id": conn["id"]}, key=key)
        try_out = await client.graphql(
            VERIFY, {"input": {"connector": "testcrm", "credentials": good, "baseUrl": base_url}},
            key=key,
        )  # fmt: skip
        verified = await client.graphql(VERIFY, {"input": {"connectionId": conn["id"]}}, key=key)
        state: AppState = client.app.state.crmkpi
        simulator.broken["/v1/pipelines"] = "pipelines are being migrated"
        await run_sync(
            conn["id"], engine=engine, pm=state.plugins,
            vault=Vault.from_settings(state.settings), options=SyncOptions(retry=FAST_RETRY),
        )  # fmt: skip
        after = await client.graphql(CONNECTION, {"id": conn["id"]}, key=tenant.keys["viewer"])

    assert bad_option["data"]["addConnection"]["code"] == "INVALID"
    assert "testcrm has no option colour" in bad_option["data"]["addConnection"]["message"]
    assert conn["options"] == {"region": "us"}
    # addConnection does not ask the CRM; nothing is known until a check or a sync
    assert before["data"]["connection"]["capabilities"] == []
    unavailable = {
        "key": "forecasts",
        "available": False,
        "status": "UNAVAILABLE",
        "reason": "not enabled on this plan (HTTP 403)",
    }
    assert try_out["data"]["verifyCredentials"]["capabilities"] == [unavailable]
    assert verified["data"]["verifyCredentials"] == {
        "__typename": "VerifyCredentialsSuccess", "ok": True, "reason": None,
        "capabilitiesError": None, "capabilities": [unavailable],
    }  # fmt: skip
    connection = after["data"]["connection"]
    assert connection["capabilitiesCheckedAt"]
    assert connection["capabilities"] == [
        {
            **unavailable,
            "title": "Forecasts",
            "streams": ["forecasts"],
            "kpis": ["winRate"],
        }
    ]
    run = connection["lastRuns"][0]
    assert run["status"] == "PARTIAL"
    streams = {s["stream"]: s for s in run["streams"]}
    assert streams["forecasts"] == {
        "stream": "forecasts",
        "status": "SKIPPED",
        "error": "Forecasts: not enabled on this plan (HTTP 403)",
    }
    assert streams["pipelines"]["status"] == "FAILED"
    assert "HTTP 400 on /v1/pipelines" in streams["pipelines"]["error"]
    assert streams["deals"] == {
        "stream": "deals",
        "status": "BLOCKED",
        "error": "depends on failed stream pipelines",
    }
    assert streams["users"]["status"] == "DONE" and streams["users"]["error"] is None
