"""HubSpot rate budgets end to end: the search limit is never hit, and a tiny daily limit
stops the run cleanly before HubSpot refuses, then the next run finishes the job."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.hubspot.connector import HubSpotConnector
from core.models import Deal
from core.models.enums import SyncStatus
from core.sync.connector import Budget, DailyBudget, RateLimitPolicy
from core.sync.ratelimit import RateLimiters
from tests.connectors.hubspot.conftest import make_simulator
from tests.support.syncing import ConnectionFactory, Syncer

SEARCHES_PER_SECOND = 2


def policy(*, search: bool = True) -> RateLimitPolicy:
    """HubSpot's policy with a fast 10-second window (the tests would wait for minutes)."""
    budgets = (Budget("search", SEARCHES_PER_SECOND, 1.0),) if search else ()
    return RateLimitPolicy(10_000, 1.0, budgets=budgets, daily=DailyBudget(reserve=0.1))


async def _deals(engine: AsyncEngine, connection_id: str) -> int:
    async with engine.connect() as conn:
        query = select(func.count()).where(Deal.connection_id == connection_id)
        return int((await conn.scalar(query)) or 0)


async def test_incremental_searches_stay_under_the_search_limit(
    monkeypatch: pytest.MonkeyPatch,
    serve_simulator,
    make_connection: ConnectionFactory,
    sync: Syncer,
) -> None:
    sim = make_simulator(deals=150, search_rate=SEARCHES_PER_SECOND)
    monkeypatch.setattr(HubSpotConnector, "rate_limit", policy())
    connection = await make_connection(serve_simulator(sim=sim))
    assert (await sync(connection.id)).status is SyncStatus.SUCCEEDED  # list reads
    budgeted = await sync(connection.id)  # incremental: search reads
    assert budgeted.status is SyncStatus.SUCCEEDED, budgeted.error
    assert sim.searches > SEARCHES_PER_SECOND * 2  # enough to need spacing
    assert sim.throttled.get("SECONDLY", 0) == 0
    assert budgeted.stats.retries == 0

    # the control: the same reads without the search budget get HubSpot's 429s
    monkeypatch.setattr(HubSpotConnector, "rate_limit", policy(search=False))
    await sync(connection.id, limiters=RateLimiters())
    assert sim.throttled.get("SECONDLY", 0) > 0


async def test_daily_limit_stops_cleanly_and_the_next_run_resumes(
    monkeypatch: pytest.MonkeyPatch,
    engine: AsyncEngine,
    serve_simulator,
    make_connection: ConnectionFactory,
    sync: Syncer,
) -> None:
    monkeypatch.setattr(HubSpotConnector, "rate_limit", policy())
    probe = make_simulator(deals=150)
    probe_connection = await make_connection(serve_simulator(sim=probe))
    assert (await sync(probe_connection.id)).status is SyncStatus.SUCCEEDED
    needed = probe.daily_used

    sim = make_simulator(deals=150, daily_limit=needed // 2)
    connection = await make_connection(serve_simulator(sim=sim))
    stopped = await sync(connection.id, limiters=RateLimiters())
    assert stopped.status is SyncStatus.PARTIAL
    assert stopped.error is not None and "daily API budget exhausted" in stopped.error
    assert "STOPPED" in {s.status for s in stopped.stats.streams.values()}
    assert sim.throttled.get("DAILY", 0) == 0  # we stopped before HubSpot refused
    assert sim.daily_used <= sim.daily_limit

    sim.daily_used, sim.daily_limit = 0, 1_000_000  # the next day
    resumed = await sync(connection.id, limiters=RateLimiters())
    assert resumed.status is SyncStatus.SUCCEEDED, resumed.error
    assert await _deals(engine, connection.id) == len(sim.data.deals)
