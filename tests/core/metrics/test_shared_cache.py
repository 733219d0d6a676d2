"""The database result store: results survive a JSON round trip, and expire."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.metrics import KpiRequest, MetricsExecutor, Scope
from core.metrics.cache import CachedExecutor
from core.metrics.periods import PeriodSpec
from core.metrics.shared_cache import DatabaseStore
from core.metrics.types import Granularity
from tests.core.metrics.factory import REGISTRY, Seed, utc

MARCH = PeriodSpec(start=date(2026, 3, 1), end=date(2026, 4, 1))
NOW = datetime(2026, 5, 1, 12, 0, 30, tzinfo=UTC)


async def test_results_round_trip_and_hit(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seed = await Seed.create(session)
    await seed.deals(3, status="WON", closed_at=utc(2026, 3, 10), amount=100)
    await session.commit()
    store = DatabaseStore(sessionmaker)
    cache = CachedExecutor(MetricsExecutor(REGISTRY), store)
    scope = Scope((seed.workspace.id,))
    requests = [
        KpiRequest("dealsWon", period=MARCH, granularity=Granularity.WEEK),
        KpiRequest("salesRevenue", period=MARCH),
    ]

    first = await cache.run(session, scope, requests, NOW)
    again = await cache.run(session, scope, requests, NOW)

    assert again == first  # every field, series and period included
    assert (store.misses, store.hits) == (2, 2)


async def test_expired_entries_miss(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seed = await Seed.create(session)
    await session.commit()
    store = DatabaseStore(sessionmaker, ttl=timedelta(seconds=-1))
    cache = CachedExecutor(MetricsExecutor(REGISTRY), store)
    scope = Scope((seed.workspace.id,))
    request = KpiRequest("dealsWon", period=MARCH)
    await cache.run(session, scope, [request], NOW)
    await cache.run(session, scope, [request], NOW)
    assert (store.misses, store.hits) == (2, 0)
