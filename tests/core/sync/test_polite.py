"""Politeness and completeness beyond the basic guarantees: the CRM's rate limit is used
fully without 429s, and a full read soft-deletes what the CRM no longer lists."""

from __future__ import annotations

import copy
import math
import time
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

import tests.plugins.testcrm.connector as testcrm_connector
import tests.plugins.testcrm.simulator as testcrm_simulator
from core.models.enums import SyncStatus
from core.sync.connector import RateLimitPolicy
from tests.core.sync.snapshots import table_rows
from tests.plugins.testcrm.connector import TestCrmConnector
from tests.plugins.testcrm.simulator import Simulator
from tests.support.server import serve
from tests.support.syncing import ConnectionFactory, Syncer

RATE = 20
WINDOW = 2.0


async def test_client_limiter_uses_the_allowance_without_429(
    monkeypatch: pytest.MonkeyPatch,
    simulator: Simulator,
    make_connection: ConnectionFactory,
    sync: Syncer,
) -> None:
    monkeypatch.setattr(testcrm_connector, "PAGE_SIZE", 10)  # ~64 requests
    monkeypatch.setattr(TestCrmConnector, "rate_limit", RateLimitPolicy(RATE, WINDOW))
    app = simulator.app(f"rate={RATE}/{WINDOW}s")
    arrivals: list[float] = []

    async def timed(scope: Any, receive: Any, send: Any) -> None:
        arrivals.append(time.monotonic())
        await app(scope, receive, send)

    with serve(timed) as url:
        connection = await make_connection(url)
        result = await sync(connection.id)
    # Pacing is measured where the CRM sees it: from the first request to the last one.
    elapsed = arrivals[-1] - arrivals[0]

    assert result.status is SyncStatus.SUCCEEDED, result.error
    assert app.injected["rate"] == 0 and result.stats.retries == 0
    requests = result.stats.requests + simulator.token_requests
    assert requests > 3 * RATE
    # The allowance of every window is used: the requests take no more windows than they
    # need (the first RATE go at once), each padded by the limiter's 3% + 20 ms, plus 1 s
    # for the processing of the last pages on a loaded machine.
    windows = math.ceil((requests - RATE) / RATE)
    assert elapsed <= windows * (WINDOW * 1.03 + 0.02) + 1.0


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
