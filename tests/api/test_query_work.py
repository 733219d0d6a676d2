"""One viewer query must not stall the API (issue #20, finding 2).

The attack: twenty KPI fields with ``granularity: DAY`` over two years, within the field
cost limit. Refused now by the work budget (core.metrics.cost) before any SQL is built;
every statement of a request runs under a statement timeout; a long statement does not
block the event loop; an internal error is logged once, without the SQL text.
"""

from __future__ import annotations

import asyncio
import time

import pytest
import structlog
from graphql import GraphQLError
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.errors import should_mask_error
from api.session import SerialSession
from core import metrics as m
from core.db import StatementTimeout
from tests.support.api import api_client
from tests.support.records import Tenant, create_tenant

TWO_YEARS = '{start: "2024-01-01", end: "2026-01-01"}'


def _fields(names: list[str], extra: str = "granularity: DAY") -> str:
    return " ".join(f"{k}(period: {TWO_YEARS}, {extra}) {{ value }}" for k in names)


@pytest.fixture
async def tenant(sessionmaker: async_sessionmaker[AsyncSession]) -> Tenant:
    async with sessionmaker() as session:
        return await create_tenant(session, "acme", workspaces=1, deals=5)


async def test_the_heavy_series_query_is_refused_before_it_runs(
    engine: AsyncEngine, tenant: Tenant
) -> None:
    names = list(m.build_registry().kpis)[:20]
    heavy = f"{{ metrics {{ {_fields(names)} }} }}"
    aliased = f"{{ a: metrics {{ {_fields(names[:3])} }} b: metrics {{ {_fields(names[3:6])} }} }}"
    breakdown = f"{{ metrics {{ {_fields(names[:1], 'breakdown: {by: OWNER, top: 200}, granularity: WEEK')} }} }}"  # noqa: E501
    monthly = f"{{ metrics {{ {_fields(names, 'granularity: MONTH')} }} }}"
    async with api_client(engine, metrics_max_points=3_000) as client:
        started = time.perf_counter()
        refused = await client.graphql(heavy, key=tenant.keys["viewer"])
        seconds = time.perf_counter() - started
        two_roots = await client.graphql(aliased, key=tenant.keys["viewer"])
        groups = await client.graphql(breakdown, key=tenant.keys["viewer"])
        allowed = await client.graphql(monthly, key=tenant.keys["viewer"])
    message = refused["errors"][0]["message"]
    assert "asks for 14,640 points" in message and "over the limit of 3,000" in message
    assert {e["message"] for e in refused["errors"]} == {message}  # one message, per field
    assert all(v is None for v in refused["data"]["metrics"].values())
    assert seconds < 5  # refused, not run (it took 22-42 s; generous for a loaded machine)
    # 3 DAY fields per root fit (2,196), both roots of one request do not (4,392)
    assert "4,392 points" in two_roots["errors"][0]["message"]
    # a breakdown multiplies its KPI: 106 weeks x (200 groups + other + none)
    assert "21,412 points" in groups["errors"][0]["message"]
    assert "errors" not in allowed, allowed  # 20 KPIs x 25 months
    assert len(allowed["data"]["metrics"]) == 20


async def test_statements_stop_at_the_timeout(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    slow = (
        "SELECT pg_sleep(30)"
        if engine.dialect.name == "postgresql"
        else "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000000)"
        " SELECT count(*) FROM c"
    )
    gaps: list[float] = []
    running = True

    async def ticker() -> None:  # the event loop keeps turning while the statement runs
        last = time.perf_counter()
        while running:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    async with sessionmaker() as raw:
        session = SerialSession(raw, readers=sessionmaker, statement_timeout=0.5)
        tick = asyncio.create_task(ticker())
        started = time.perf_counter()
        with pytest.raises(StatementTimeout, match=r"longer than the 0\.5 s limit"):
            await session.execute(text(slow))
        seconds = time.perf_counter() - started
        running = False
        await tick
        assert await session.scalar(text("SELECT 1")) == 1  # the session still reads
        if engine.dialect.name == "postgresql":
            async with session.reader() as reader:
                with pytest.raises(StatementTimeout):
                    await reader.execute(text(slow))
    assert seconds < 10
    assert max(gaps) < 1.0  # never blocked: the statement runs off the loop
    async with sessionmaker() as raw:  # no timeout: writers and the CLI are not limited
        session = SerialSession(raw)
        assert await session.scalar(text("SELECT 2")) == 2


def test_an_internal_error_is_logged_once_without_its_sql() -> None:
    sql = "SELECT " + ", ".join(f"CASE WHEN x = {i} THEN 1 END" for i in range(5000))
    original = OperationalError(sql, {"secret": "p"}, Exception("Expression tree is too large"))
    errors = [GraphQLError("x", original_error=original, path=[f"f{i}"]) for i in range(50)]
    with structlog.testing.capture_logs() as logs:
        masked = [should_mask_error(e) for e in errors]
    assert all(masked)
    assert len(logs) == 1, logs
    assert "CASE WHEN" not in str(logs) and "Expression tree is too large" in str(logs)
    assert len({e.extensions["errorId"] for e in errors if e.extensions}) == 1
