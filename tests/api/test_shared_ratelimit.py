"""The per-key rate limit across API processes: two apps, each with its own engine, share
one budget on PostgreSQL; on SQLite (one process by design) each keeps its own bucket."""

from __future__ import annotations

from contextlib import AsyncExitStack

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.ratelimit import SharedRateLimiter
from core.db import create_engine
from core.models import RateLimitBucket
from tests.support.api import api_client
from tests.support.records import Tenant, create_tenant

QUERY = "{ viewer { role } }"


@pytest.fixture
async def tenant(sessionmaker: async_sessionmaker[AsyncSession]) -> Tenant:
    async with sessionmaker() as session:
        return await create_tenant(session, "Acme")


async def test_two_apps_share_one_budget_per_key(
    engine: AsyncEngine,
    database_url: str,
    tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    headers = {"Authorization": f"Bearer {tenant.keys['viewer']}"}
    async with AsyncExitStack() as stack:
        apps = []
        for _ in range(2):
            own = create_engine(database_url)
            stack.push_async_callback(own.dispose)
            apps.append(
                await stack.enter_async_context(
                    api_client(own, rate_limit_per_minute=60, rate_limit_burst=4)
                )
            )
        statuses = [
            (
                await apps[i % 2].http.post("/graphql", json={"query": QUERY}, headers=headers)
            ).status_code
            for i in range(6)
        ]
        other = await apps[0].graphql(QUERY, key=tenant.keys["admin"])
    async with sessionmaker() as session:
        buckets = await session.scalar(select(func.count()).select_from(RateLimitBucket))
    assert other["data"]["viewer"]["role"] == "admin"
    if engine.dialect.name == "postgresql":
        assert statuses == [200, 200, 200, 200, 429, 429]
        # one per key, and the address's: a key's first request in each process also
        # draws from its address's bucket (api.ratelimit: until it has authenticated)
        assert buckets == 3
    else:
        assert statuses == [200] * 6  # each process has a burst of 4 of its own
        assert buckets == 0


async def test_a_database_failure_lets_requests_through() -> None:
    broken = create_engine("postgresql+asyncpg://nobody:x@127.0.0.1:1/none")
    limiter = SharedRateLimiter(per_minute=60, burst=1, engine=lambda: broken)
    try:
        assert [await limiter.check("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    finally:
        await broken.dispose()
