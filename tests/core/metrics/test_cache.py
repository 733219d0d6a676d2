"""A cached answer is reused until a sync bumps the workspace's data version."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from core.metrics import KpiRequest, MetricsExecutor, Scope
from core.metrics.cache import CachedExecutor
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
