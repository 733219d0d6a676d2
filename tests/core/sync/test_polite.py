"""Politeness and completeness beyond the basic guarantees: the CRM's rate limit is used
fully without 429s, and a full read soft-deletes what the CRM no longer lists."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

import tests.plugins.testcrm.connector as testcrm_connector
import tests.plugins.testcrm.simulator as testcrm_simulator
from core.models.enums import SyncStatus
from core.sync.connector import RateLimitPolicy
from tests.core.sync.snapshots import table_rows
from tests.plugins.testcrm.connector import TestCrmConnector
from tests.support.limits import FakeClock, FakeClockLimiters
from tests.support.syncing import ConnectionFactory, Syncer

RATE = 20
WINDOW = 2.0


async def test_client_limiter_uses_the_allowance_without_429(
    monkeypatch: pytest.MonkeyPatch,
    serve_simulator: Any,
    make_connection: ConnectionFactory,
    sync: Syncer,
) -> None:
    """The limiter's decisions on a fake clock (time moves only when it waits), not wall
    time: a loaded machine slows the run down but changes none of them."""
    monkeypatch.setattr(testcrm_connector, "PAGE_SIZE", 10)  # ~64 requests
    monkeypatch.setattr(TestCrmConnector, "rate_limit", RateLimitPolicy(RATE, WINDOW))
    limiters = FakeClockLimiters(FakeClock())
    connection = await make_connection(serve_simulator())

    result = await sync(connection.id, limiters=limiters)

    assert result.status is SyncStatus.SUCCEEDED, result.error
    assert result.stats.retries == 0
    (limiter,) = limiters.by_account.values()
    starts = limiter.granted
    assert len(starts) >= result.stats.requests > 3 * RATE
    assert starts == sorted(starts)
    # Never more than RATE starts within one of the CRM's windows: no 429 possible.
    assert all(later - first >= WINDOW for first, later in zip(starts, starts[RATE:]))
    # The allowance of every window is used: the first RATE go at once, and the rest take
    # no more windows than they need, each padded by the limiter's 3% + 20 ms.
    windows = math.ceil((len(starts) - RATE) / RATE)
    assert starts[RATE - 1] == starts[0]
    assert starts[-1] - starts[0] <= windows * (WINDOW * 1.03 + 0.02) + 1e-9


async def test_full_sync_soft_deletes_what_a_listing_without_deletions_lost(
    monkeypatch: pytest.MonkeyPatch,
    engine: AsyncEngine,
    serve_simulator: Any,
    make_connection: ConnectionFactory,
    sync: Syncer,
) -> None:
    pipelines = copy.deepcopy(testcrm_simulator.PIPELINES)
    monkeypatch.setattr(testcrm_simulator, "PIPELINES", pipelines)
    connection = await make_connection(serve_simulator())
    await sync(connection.id, full=True)
    del pipelines[1]["stages"][0]  # stage s6 removed in the CRM: no deletions listing says so

    incremental = await sync(connection.id)
    assert incremental.status is SyncStatus.SUCCEEDED
    assert (await table_rows(engine, "stage"))["s6"]["deleted_at"] is None

    await sync(connection.id, full=True)
    stages = await table_rows(engine, "stage")
    assert stages["s6"]["deleted_at"] is not None
    assert all(row["deleted_at"] is None for rid, row in stages.items() if rid != "s6")
    assert all(row["deleted_at"] is None for row in (await table_rows(engine, "deal")).values())
