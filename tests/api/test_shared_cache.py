"""CRMKPI_CACHE=database: two API apps, each with its own engine (as two processes would
be), share cached metric results through the database, and a new data version misses.

(The in-process store is one per process, so two apps in one test process would share it
too: the database store bypasses it, which is what makes the hit below come from the table.)"""

from __future__ import annotations

from contextlib import AsyncExitStack

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.db import create_engine
from core.models import Deal, MetricCacheEntry, Workspace
from core.tenancy import create_api_key
from tests.core.metrics.factory import Seed, utc
from tests.support.api import ApiClient, api_client
from tests.support.clock import stop_result_clocks

QUERY = """
query($ws: ID!) {
  metrics(workspaceId: $ws) {
    dealsWon(period: {start: "2025-06-01", end: "2025-07-01"}) { value }
  }
}
"""


@pytest.fixture(autouse=True)
def _one_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    stop_result_clocks(monkeypatch)


async def _won(client: ApiClient, key: str, ws: str) -> float:
    body = await client.graphql(QUERY, {"ws": ws}, key=key)
    assert "errors" not in body, body
    value: float = body["data"]["metrics"]["dealsWon"]["value"]
    return value


async def _two_apps(stack: AsyncExitStack, database_url: str, cache: str) -> list[ApiClient]:
    clients = []
    for _ in range(2):
        engine = create_engine(database_url)
        stack.push_async_callback(engine.dispose)
        clients.append(await stack.enter_async_context(api_client(engine, cache=cache)))
    return clients


async def test_two_apps_share_cached_results_until_a_sync(
    engine: AsyncEngine, database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        seed = await Seed.create(session)
        await seed.deals(3, status="WON", closed_at=utc(2025, 6, 10))
        _, key = await create_api_key(session, organization_id=seed.workspace.organization_id)
        await session.commit()
        ws = seed.workspace.id

    async def change_rows_only() -> None:
        """New rows without a data-version bump: only a cache hit still answers 3."""
        async with sessionmaker() as session:
            await session.execute(update(Deal).values(status="LOST"))
            await session.commit()

    async with AsyncExitStack() as stack:
        first, second = await _two_apps(stack, database_url, "database")
        assert await _won(first, key, ws) == 3
        await change_rows_only()
        assert await _won(second, key, ws) == 3  # computed by the first app
        async with sessionmaker() as session:
            entries = await session.scalar(select(func.count()).select_from(MetricCacheEntry))
            await session.execute(update(Workspace).values(data_version=Workspace.data_version + 1))
            await session.commit()
        assert entries == 1
        assert await _won(second, key, ws) == 0  # the bumped version misses
        assert await _won(first, key, ws) == 0
