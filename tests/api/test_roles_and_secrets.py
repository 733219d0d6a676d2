"""Roles and secrets (issue #20, finding 7): organization-wide changes need an unrestricted
key; no log line carries a credential; database files are private; keys can be revoked
from the CLI with the same use case as revokeApiKey."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import stat
from pathlib import Path

import pytest
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.db import create_engine
from core.logging import configure_logging, scrub
from core.models import ApiKey, Organization
from core.tenancy import create_api_key
from tests.api.test_cli import crmkpi
from tests.support.api import api_client
from tests.support.records import Tenant, create_tenant

RENAME = """mutation { updateOrganization(input: {name: "Pwned"}) {
  __typename ... on MutationError { code message } } }"""
REVOKE = """mutation($id: ID!) { revokeApiKey(input: {id: $id}) {
  __typename ... on MutationError { code message } } }"""


@pytest.fixture
async def tenant(sessionmaker: async_sessionmaker[AsyncSession]) -> Tenant:
    async with sessionmaker() as session:
        return await create_tenant(session, "acme", workspaces=2, deals=0)


async def test_a_workspace_limited_admin_cannot_change_the_organization(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    async with sessionmaker() as session:
        _, limited = await create_api_key(
            session,
            organization_id=tenant.org_id,
            role="admin",
            workspace_ids=[tenant.workspace_ids[0]],
        )
        await session.commit()
    async with api_client(engine) as client:
        refused = await client.graphql(RENAME, key=limited)
        allowed = await client.graphql(RENAME, key=tenant.keys["admin"])
    answer = refused["data"]["updateOrganization"]
    assert answer["code"] == "FORBIDDEN"
    assert "limited to some workspaces cannot change the organization" in answer["message"]
    assert allowed["data"]["updateOrganization"]["__typename"] == "UpdateOrganizationSuccess"


async def test_no_log_line_carries_inline_credentials(engine: AsyncEngine, tenant: Tenant) -> None:
    secret = "SECRET-TOKEN-4242"
    document = (
        'mutation { addConnection(input: {workspaceId: "x", connector: "pipedrive", '
        f'credentials: [{{name: "api_token", value: "{secret}"}}], bogus: 1}}) {{ __typename }} }}'
    )
    stream = io.StringIO()
    configure_logging("DEBUG", "json")
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=stream))
    try:
        async with api_client(engine) as client:
            body = await client.graphql(document, key=tenant.keys["editor"])
            structlog.get_logger("t").error("x", detail=f"Bearer {tenant.keys['viewer']}")
            logging.getLogger("strawberry.execution").error(
                'found: {credentials: [{ name: "client_secret", value: "%s" }]}', secret
            )
    finally:
        configure_logging("INFO", "console")
    logged = stream.getvalue()
    assert "errors" in body  # refused by validation, which quotes the document back
    assert "graphql.refused" in logged  # the refusal is logged, as one line
    assert secret not in logged and tenant.keys["viewer"] not in logged
    assert '"***"' in logged or "***" in logged


def test_scrub_covers_the_usual_shapes() -> None:
    assert scrub('{"name": "refresh_token", "value": "abc\\"def"}') == (
        '{"name": "refresh_token", "value": "***"}'
    )
    assert scrub("https://x/?api_token=abc&x=1") == "https://x/?api_token=***&x=1"
    assert scrub("Authorization: bearer ck_0123456789abcdef") == "Authorization: bearer ***"
    assert scrub("key ck_0123456789abcdef used") == "key ck_*** used"
    assert scrub("client_secret: 's3cr3t'") != "client_secret: 's3cr3t'"


async def test_sqlite_files_are_created_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "crmkpi.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            await conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    finally:
        await engine.dispose()
    for file in [path, *path.parent.glob("crmkpi.db-*")]:
        assert stat.S_IMODE(os.stat(file).st_mode) == 0o600, file


async def test_apikey_revoke_on_the_cli_is_revoke_api_key(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    database_url: str,
    tmp_path: Path,
) -> None:
    async with sessionmaker() as session:
        key_id = await session.scalar(
            select(ApiKey.id).where(
                ApiKey.organization_id == tenant.org_id, ApiKey.role == "viewer"
            )
        )
        assert await session.get(Organization, tenant.org_id) is not None
    env = {"CRMKPI_DATABASE_URL": database_url, "CRMKPI_LOG_FORMAT": "json"}
    # On PostgreSQL the API keeps the key in memory (for an hour here) before the CLI, a
    # process of its own, revokes it: the commit's NOTIFY must reach the API (api.auth). On
    # SQLite another process is only seen after the time to live: here, none.
    postgres = engine.dialect.name == "postgresql"
    async with api_client(engine, api_key_cache_seconds=3600 if postgres else 0) as client:
        listener = client.app.state.crmkpi.auth.listener
        assert (listener is not None) is postgres
        headers = {"Authorization": f"Bearer {tenant.keys['viewer']}"}
        served = await client.http.post("/graphql", json={"query": "{ viewer { role } }"},
                                        headers=headers)  # fmt: skip
        if listener is not None:
            await asyncio.wait_for(listener.listening.wait(), 10)
            listener.heard.clear()
        revoked = crmkpi("apikey", "revoke", str(key_id), "--json", env=env, cwd=tmp_path)
        missing = crmkpi("apikey", "revoke", "key_nope", env=env, cwd=tmp_path)
        assert revoked.returncode == 0, revoked.stderr
        assert json.loads(revoked.stdout)["id"] == key_id
        assert missing.returncode != 0 and "Traceback" not in missing.stderr
        assert "API key 'key_nope' not found" in missing.stderr
        if listener is not None:
            await asyncio.wait_for(listener.heard.wait(), 10)
        refused = await client.http.post(
            "/graphql", json={"query": "{ viewer { role } }"}, headers=headers
        )
        # a workspace-limited admin cannot revoke an organization-wide key: "not found"
        async with sessionmaker() as session:
            _, limited = await create_api_key(
                session,
                organization_id=tenant.org_id,
                role="admin",
                workspace_ids=[tenant.workspace_ids[0]],
            )
            admins = (
                await session.scalars(
                    select(ApiKey).where(
                        ApiKey.organization_id == tenant.org_id, ApiKey.role == "admin"
                    )
                )
            ).all()
            (admin_id,) = [k.id for k in admins if k.workspace_ids is None]
            await session.commit()
        hidden = await client.graphql(REVOKE, {"id": admin_id}, key=limited)
    assert served.status_code == 200
    assert refused.status_code == 401
    assert hidden["data"]["revokeApiKey"]["code"] == "NOT_FOUND", hidden
