"""API keys authenticated from memory (api.auth): a known key costs no query, and a revoked
key, a new workspace or a changed key are seen at once in this process, at once in another
process on PostgreSQL (NOTIFY), and after the time to live otherwise."""

from __future__ import annotations

import asyncio

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.auth import KeyCache, ViewerChangesListener
from core.db import create_engine, create_sessionmaker
from core.models import ApiKey
from core.tenancy import hash_key, revoke_api_key
from core.viewer_changes import on_change
from tests.support.api import api_client
from tests.support.records import Tenant, create_tenant

REVOKE = """mutation($id: ID!) { revokeApiKey(input: {id: $id}) {
  ... on RevokeApiKeySuccess { apiKey { revokedAt } } } }"""
CREATE_WORKSPACE = """mutation { createWorkspace(input: {name: "New"}) {
  ... on CreateWorkspaceSuccess { workspace { id } } } }"""
VIEWER = "{ viewer { role workspaceIds } }"


async def _tenant(sessionmaker: async_sessionmaker[AsyncSession]) -> Tenant:
    async with sessionmaker() as session:
        found = await create_tenant(session, "acme", workspaces=1, deals=0)
        await session.commit()
        return found


async def _key_id(sessionmaker: async_sessionmaker[AsyncSession], plain: str) -> str:
    async with sessionmaker() as session:
        found = await session.scalar(select(ApiKey.id).where(ApiKey.key_hash == hash_key(plain)))
    assert found is not None
    return str(found)


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_known_key_costs_no_query_and_its_revocation_is_seen_at_once(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await _tenant(sessionmaker)
    viewer_id = await _key_id(sessionmaker, tenant.keys["viewer"])
    headers = {"Authorization": f"Bearer {tenant.keys['viewer']}"}
    async with api_client(engine, api_key_cache_seconds=3600) as client:
        auth = client.app.state.crmkpi.auth
        keys: KeyCache = auth.keys
        if auth.listener is not None:  # PostgreSQL: (re)connecting clears the cache
            await asyncio.wait_for(auth.listener.listening.wait(), 10)
        seen = [await client.graphql(VIEWER, key=tenant.keys["viewer"]) for _ in range(3)]
        lookups_for_three = keys.lookups
        revoked = await client.graphql(REVOKE, {"id": viewer_id}, key=tenant.keys["admin"])
        refused = await client.http.post("/graphql", json={"query": VIEWER}, headers=headers)
        added = await client.graphql(CREATE_WORKSPACE, key=tenant.keys["admin"])
        admin_sees = await client.graphql(VIEWER, key=tenant.keys["admin"])
    assert all(s["data"]["viewer"]["role"] == "viewer" for s in seen), seen
    assert lookups_for_three == 1  # read once, then from memory
    assert revoked["data"]["revokeApiKey"]["apiKey"]["revokedAt"], revoked
    assert refused.status_code == 401  # within the hour the key would have been kept
    new_id = added["data"]["createWorkspace"]["workspace"]["id"]
    assert new_id in admin_sees["data"]["viewer"]["workspaceIds"]  # readable at once


async def test_changes_the_product_cannot_see_last_until_the_time_to_live(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Raw SQL on api_keys (no ORM session, no NOTIFY): the TTL bounds how long it is
    missed. ORM bulk updates of keys are seen like any other change."""
    tenant = await _tenant(sessionmaker)
    clock = _Clock()
    keys = KeyCache(sessionmaker, ttl=5.0, clock=clock)
    cleared: list[int] = []
    remove = on_change(engine.sync_engine, lambda: cleared.append(keys.epoch))
    try:
        assert await keys.viewer(tenant.keys["viewer"]) is not None
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE api_keys SET revoked_at = CURRENT_TIMESTAMP"))
        clock.now += 4.9
        still = await keys.viewer(tenant.keys["viewer"])
        clock.now += 0.2
        expired = await keys.viewer(tenant.keys["viewer"])
        async with sessionmaker() as session:  # an ORM bulk update is a change: told at once
            await session.execute(update(ApiKey).values(name="renamed"))
            await session.commit()
    finally:
        remove()
    assert still is not None and still.role.value == "viewer"
    assert expired is None
    assert len(cleared) == 1
    assert keys.lookups == 2


async def test_concurrent_requests_of_one_key_share_one_lookup(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await _tenant(sessionmaker)
    keys = KeyCache(sessionmaker, ttl=5.0)
    found = await asyncio.gather(*(keys.viewer(tenant.keys["viewer"]) for _ in range(20)))
    unknown = await asyncio.gather(*(keys.viewer("ck_unknown") for _ in range(3)))
    assert {v.organization_id for v in found if v is not None} == {tenant.org_id}
    assert len([v for v in found if v is not None]) == 20
    assert unknown == [None, None, None]
    assert keys.lookups == 2  # one for the 20, one for the 3 unknown (never kept)


async def test_a_revocation_in_another_process_is_heard(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    """The API process under test has an engine of its own: nothing in memory links it to
    the engine that revokes (as with ``crmkpi apikey revoke`` run elsewhere). On PostgreSQL
    the commit's NOTIFY reaches it at once; on SQLite (one process by design) only the time
    to live does, which this test shows by the key still being served."""
    tenant = await _tenant(sessionmaker)
    viewer_id = await _key_id(sessionmaker, tenant.keys["viewer"])
    api_engine = create_engine(database_url)
    keys = KeyCache(create_sessionmaker(api_engine), ttl=3600)
    listener = ViewerChangesListener(api_engine, keys)
    postgres = engine.dialect.name == "postgresql"
    try:
        if postgres:
            listener.start()
            await asyncio.wait_for(listener.listening.wait(), 10)
        assert await keys.viewer(tenant.keys["viewer"]) is not None
        listener.heard.clear()
        async with sessionmaker() as session:  # another engine, as another process
            await revoke_api_key(session, viewer_id)
            await session.commit()
        if postgres:
            await asyncio.wait_for(listener.heard.wait(), 10)
        after = await keys.viewer(tenant.keys["viewer"])
    finally:
        await listener.stop()
        await api_engine.dispose()
    if postgres:
        assert after is None
        assert keys.lookups == 2
    else:
        assert after is not None  # SQLite: until the TTL (previous test)
        assert keys.lookups == 1


async def test_a_revocation_committed_by_a_request_clears_the_cache_without_notify(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """On PostgreSQL requests write through a pool of their own (api.session): a revocation
    they commit clears this process's cache itself, not only when the notification comes
    back (which, on a loaded machine, can come after the next request)."""
    tenant = await _tenant(sessionmaker)
    viewer_id = await _key_id(sessionmaker, tenant.keys["viewer"])
    headers = {"Authorization": f"Bearer {tenant.keys['viewer']}"}
    async with api_client(engine, api_key_cache_seconds=3600) as client:
        state = client.app.state.crmkpi
        if state.auth.listener is not None:  # hear nothing from PostgreSQL
            await state.auth.listener.stop()
        assert (await client.graphql(VIEWER, key=tenant.keys["viewer"]))["data"]["viewer"]
        revoked = await client.graphql(REVOKE, {"id": viewer_id}, key=tenant.keys["admin"])
        refused = await client.http.post("/graphql", json={"query": VIEWER}, headers=headers)
    assert revoked["data"]["revokeApiKey"]["apiKey"]["revokedAt"], revoked
    assert refused.status_code == 401
