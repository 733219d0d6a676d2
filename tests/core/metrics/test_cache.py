"""A cached answer is reused until a sync bumps the workspace's data version."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from core.metrics import KpiRequest, MetricsExecutor, Scope
from core.metrics.cache import CachedExecutor, VersionReads
from core.metrics.periods import PeriodSpec
from core.models import Workspace
from tests.core.metrics.factory import REGISTRY, Seed, utc

MARCH = PeriodSpec(start=date(2026, 3, 1), end=date(2026, 4, 1))
NOW = datetime(2026, 5, 1, 12, 0, 30, tzinfo=UTC)


async def test_cache_hits_until_the_data_version_changes(session: AsyncSession) -> None:
    seed = await Seed.create(session)
    await seed.deals(3, status="WON", closed_at=utc(2026, 3, 10), amount=100)
    await session.commit()
    cache = CachedExecutor(MetricsExecutor(REGISTRY))
    scope = Scope((seed.workspace.id,))
    request = KpiRequest("dealsWon", period=MARCH)

    [first] = await cache.run(session, scope, [request], NOW)
    [again] = await cache.run(session, scope, [request], NOW)
    assert first.value == again.value == 3
    assert cache.store.hits == 1

    # What a committed sync batch does: new rows and a bumped data version.
    await seed.deals(2, status="WON", closed_at=utc(2026, 3, 11), amount=100)
    await session.execute(
        update(Workspace)
        .where(Workspace.id == seed.workspace.id)
        .values(data_version=Workspace.data_version + 1)
    )
    await session.commit()
    [fresh] = await cache.run(session, scope, [request], NOW)
    assert fresh.value == 5
    assert cache.store.hits == 1


async def test_concurrent_version_reads_share_rounds_and_follow_commits(
    session: AsyncSession, engine: AsyncEngine
) -> None:
    """One statement serves the requests that arrived while the previous one ran; a read
    always starts after its request arrived, so it sees every commit before it."""
    first = await Seed.create(session)
    other = await Seed.create(session)
    await session.commit()
    a, b = first.workspace.id, other.workspace.id
    reads = VersionReads(lambda: engine)
    found = await asyncio.gather(*(reads.read([a] if i % 2 else [a, b]) for i in range(10)))
    rounds = reads.rounds
    await session.execute(
        update(Workspace).where(Workspace.id == b).values(data_version=Workspace.data_version + 1)
    )
    await session.commit()
    after = await reads.read([b, "ws_missing"])
    assert found[0] == tuple(sorted([(a, 0), (b, 0)]))
    assert found[1] == ((a, 0),)  # only the workspaces asked for
    assert rounds <= 2  # not one statement per request
    assert after == ((b, 1),)  # the commit before this read is seen; unknown ids left out
