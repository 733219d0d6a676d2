"""SSRF through the CRM's own answers, tried over the API and by a sync (issue #20, 1).

An editor key points Pipedrive's ``token_url`` at a loopback canary: ``verifyCredentials``
and ``addConnection`` + sync must refuse before connecting, say ADDRESS_NOT_ALLOWED, and
never echo what an internal server answered. A stored Salesforce connection whose token
answer names a loopback ``instance_url`` fails its sync without the bearer token reaching it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import connectors.pipedrive
from core.egress import EgressPolicy
from core.models import SyncRun
from core.models.enums import SyncStatus
from core.plugins import connector_classes, create_plugin_manager
from core.secrets import Vault
from core.sync.connections import create_connection
from core.sync.runner import SyncOptions, run_sync
from tests.core.test_egress_requests import SECRET_PAGE, Canary, _as_localhost, _first_hop
from tests.support.api import api_client
from tests.support.records import Tenant, create_tenant
from tests.support.server import serve

VERIFY = """mutation($input: VerifyCredentialsInput!) { verifyCredentials(input: $input) {
  __typename ... on VerifyCredentialsSuccess { ok reason } ... on MutationError { code message }
  } }"""


@pytest.fixture
def canary() -> Iterator[tuple[Canary, str]]:
    c = Canary()
    with serve(c.app()) as url:
        yield c, url


@pytest.fixture
async def tenant(sessionmaker: async_sessionmaker[AsyncSession]) -> Tenant:
    async with sessionmaker() as session:
        return await create_tenant(session, "acme", workspaces=1, deals=0)


async def test_verify_credentials_token_url_on_loopback(
    engine: AsyncEngine, tenant: Tenant, canary: tuple[Canary, str]
) -> None:
    hits, url = canary
    credentials = [
        {"name": "refresh_token", "value": "r"},
        {"name": "client_id", "value": "id"},
        {"name": "client_secret", "value": "client-secret-value"},
        {"name": "token_url", "value": url + "/oauth/token"},
    ]
    async with api_client(
        engine,
        plugins=[connectors.pipedrive],
        secret_keys=Fernet.generate_key().decode(),
        connection_allowed_hosts=[],
    ) as client:
        body = await client.graphql(
            VERIFY,
            {"input": {"connector": "pipedrive", "credentials": credentials}},
            key=tenant.keys["editor"],
        )
    answer = body["data"]["verifyCredentials"]
    assert answer["code"] == "ADDRESS_NOT_ALLOWED", body
    assert "127.0.0.1" in answer["message"] and SECRET_PAGE not in str(body)
    assert "client-secret-value" not in str(body)
    assert hits.hits == []


async def test_sync_does_not_follow_instance_url_to_loopback(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    canary: tuple[Canary, str],
) -> None:
    hits, url = canary
    pm = create_plugin_manager()
    vault = Vault([Fernet.generate_key().decode()])
    answers = {"token": {"access_token": "bearer-secret", "instance_url": url}}
    with serve(_first_hop(answers)) as hop:
        async with sessionmaker() as session:
            connection = await create_connection(
                session,
                vault,
                connector_classes(pm),
                workspace_id=tenant.workspace_ids[0],
                connector="salesforce",
                credentials={"client_id": "id", "client_secret": "s", "refresh_token": "r"},
                base_url=_as_localhost(hop),
            )
            await session.commit()
            connection_id = connection.id
        result = await run_sync(
            connection_id,
            engine=engine,
            pm=pm,
            vault=vault,
            options=SyncOptions(egress=EgressPolicy.of(["localhost"])),
        )
    assert result.status in (SyncStatus.FAILED, SyncStatus.PARTIAL)
    assert hits.hits == []
    async with sessionmaker() as session:
        run = await session.scalar(select(SyncRun).where(SyncRun.connection_id == connection_id))
    assert run is not None and SECRET_PAGE not in str(run.error)
