"""Connecting a CRM and syncing it, all through GraphQL, against the test CRM's simulator."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import tests.plugins.testcrm as testcrm_plugin
from api.app import AppState
from core.models import Connection
from core.secrets import Vault
from core.sync.runner import run_sync
from tests.plugins.testcrm.dataset import Dataset
from tests.plugins.testcrm.simulator import REFRESH_TOKEN, Simulator
from tests.support.api import api_client
from tests.support.records import Tenant, create_tenant
from tests.support.server import serve

ADD = """mutation($input: AddConnectionInput!) { addConnection(input: $input) {
  __typename ... on AddConnectionSuccess { connection { id connector baseUrl schedule } }
  ... on MutationError { code message } } }"""
VERIFY = """mutation($input: VerifyCredentialsInput!) { verifyCredentials(input: $input) {
  __typename ... on VerifyCredentialsSuccess { ok reason } ... on MutationError { code message }
  } }"""
SYNC = """mutation($id: ID!) { triggerSync(input: {connectionId: $id, full: true}) {
  __typename ... on TriggerSyncSuccess { queued } ... on MutationError { code message } } }"""
STATUS = """query($id: ID!) { connection(id: $id) { lastSyncedAt lastRuns(limit: 1) { status }
  streamCounts { stream records } } deals(first: 1) { totalCount } }"""


@pytest.fixture
def base_url() -> Iterator[str]:
    with serve(Simulator(Dataset.sized(40)).app(None)) as url:
        yield url


@pytest.fixture
async def tenant(sessionmaker: async_sessionmaker[AsyncSession]) -> Tenant:
    async with sessionmaker() as session:
        return await create_tenant(session, "acme", workspaces=1, deals=0)


async def test_add_verify_and_sync_a_connection(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    base_url: str,
) -> None:
    ws = tenant.workspace_ids[0]
    good = [{"name": "refresh_token", "value": REFRESH_TOKEN}]
    bad = [{"name": "refresh_token", "value": "wrong"}]
    key = tenant.keys["editor"]
    queued = engine.dialect.name == "postgresql"  # api_client turns the scheduler off
    settings = {
        "secret_keys": Fernet.generate_key().decode(),
        "connection_allowed_hosts": ["127.0.0.1"],  # the simulator (core.egress)
    }
    async with api_client(engine, plugins=[testcrm_plugin], **settings) as client:
        refused = await client.graphql(
            VERIFY, {"input": {"connector": "testcrm", "credentials": bad, "baseUrl": base_url}},
            key=key,
        )  # fmt: skip
        typo = await client.graphql(
            ADD, {"input": {"workspaceId": ws, "connector": "testcrm", "baseUrl": base_url,
                            "credentials": [{"name": "refresh_tokn", "value": "x"}]}}, key=key,
        )  # fmt: skip
        unknown = await client.graphql(
            ADD, {"input": {"workspaceId": ws, "connector": "nocrm", "credentials": good}}, key=key
        )
        added = await client.graphql(
            ADD, {"input": {"workspaceId": ws, "connector": "testcrm", "baseUrl": base_url,
                            "credentials": good, "schedule": "15m"}}, key=key,
        )  # fmt: skip
        conn = added["data"]["addConnection"]["connection"]
        verified = await client.graphql(VERIFY, {"input": {"connectionId": conn["id"]}}, key=key)
        viewer = await client.graphql(SYNC, {"id": conn["id"]}, key=tenant.keys["viewer"])
        started = await client.graphql(SYNC, {"id": conn["id"]}, key=key)
        again = await client.graphql(SYNC, {"id": conn["id"]}, key=key)
        state: AppState = client.app.state.crmkpi
        if queued:  # PostgreSQL without the embedded scheduler: the workers' queue
            async with engine.connect() as db:
                jobs = await db.scalar(
                    text(
                        "SELECT count(*) FROM procrastinate_jobs WHERE args->>'connection_id' = :c"
                    ),
                    {"c": conn["id"]},
                )
            assert jobs == 1  # queued once: the second trigger was debounced
            await run_sync(  # what a worker would do with the job
conn["id"], engine=engine, pm=state.plugins,
                               vault=Vault.from_settings(state.settings))  # fmt: skip
        else:
            await asyncio.wait_for(state.syncs.wait(), timeout=60)
        status = await client.graphql(STATUS, {"id": conn["id"]}, key=tenant.keys["viewer"])
    assert refused.get("data") and refused["data"]["verifyCredentials"]["ok"] is False, refused
    assert "wrong" not in str(refused)  # the credential is never echoed
    assert "has no credential field refresh_tokn" in typo["data"]["addConnection"]["message"]
    assert "unknown connector 'nocrm'" in unknown["data"]["addConnection"]["message"]
    assert conn["connector"] == "testcrm" and conn["schedule"] == "15m"
    assert verified["data"]["verifyCredentials"] == {
        "__typename": "VerifyCredentialsSuccess", "ok": True, "reason": None,
    }  # fmt: skip
    assert "editor or admin needed" in viewer["errors"][0]["message"]
    assert started["data"]["triggerSync"] == {"__typename": "TriggerSyncSuccess", "queued": queued}
    if queued:
        assert "already running or queued" in again["data"]["triggerSync"]["message"]
    result = status["data"]
    assert result["connection"]["lastRuns"][0]["status"] == "SUCCEEDED"
    assert result["connection"]["lastSyncedAt"]
    assert result["deals"]["totalCount"] == 40
    counts = {c["stream"]: c["records"] for c in result["connection"]["streamCounts"]}
    assert counts["deal"] == 40
    async with sessionmaker() as session:
        stored = await session.scalar(
            select(Connection.credentials_encrypted).where(Connection.connector == "testcrm")
        )
    assert stored is not None and REFRESH_TOKEN.encode() not in stored


async def test_private_base_urls_are_refused_unless_allowed(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    base_url: str,
) -> None:
    ws, key = tenant.workspace_ids[0], tenant.keys["editor"]
    good = [{"name": "refresh_token", "value": REFRESH_TOKEN}]
    add = {"workspaceId": ws, "connector": "testcrm", "baseUrl": base_url, "credentials": good}
    verify = {"connector": "testcrm", "baseUrl": base_url, "credentials": good}
    secret = Fernet.generate_key().decode()
    async with api_client(
        engine, plugins=[testcrm_plugin], secret_keys=secret, connection_allowed_hosts=[]
    ) as client:
        refused = await client.graphql(ADD, {"input": add}, key=key)
        link_local = await client.graphql(
            ADD, {"input": {**add, "baseUrl": "http://169.254.169.254/latest"}}, key=key
        )
        not_verified = await client.graphql(VERIFY, {"input": verify}, key=key)
    async with api_client(
        engine,
        plugins=[testcrm_plugin],
        secret_keys=secret,
        connection_allowed_hosts=["10.0.0.0/8", "127.0.0.0/8"],
    ) as client:
        allowed = await client.graphql(ADD, {"input": add}, key=key)
    for body, field in ((refused, "addConnection"), (link_local, "addConnection")):
        assert body["data"][field]["code"] == "ADDRESS_NOT_ALLOWED", body
    assert "169.254.169.254" in link_local["data"]["addConnection"]["message"]
    assert not_verified["data"]["verifyCredentials"]["code"] == "ADDRESS_NOT_ALLOWED"
    assert allowed["data"]["addConnection"]["__typename"] == "AddConnectionSuccess", allowed
    async with sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(Connection).where(Connection.workspace_id == ws)
        )
    assert count == 2  # create_tenant's connection and the allowed one
