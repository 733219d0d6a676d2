"""The weighted pipeline reads the stage history once per instant, never deal by deal.

As of a past instant the weighted pipeline needs, per open deal, the last stage entered
before that instant. Looked up per deal (a correlated subquery) it needed
``(connection_id, deal_remote_id, entered_at)`` indexed (migration 0007: without it SQLite
scanned the workspace's history once per deal, minutes for 20k deals), and on PostgreSQL
kept the deals statement from aggregating in parallel. It is now ranked once per instant
over the workspace's history and joined (core.metrics.sources.with_stage_probability). The
test fills enough history for the planner's statistics (ANALYZE) to matter, records the
statements the executor runs, and asks each database for the plan of the one reading the
stage history: no correlated subquery in it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from core.metrics import Comparison, KpiRequest, PeriodSpec
from core.models import Deal, DealStageHistory
from tests.core.metrics.factory import SYNCED, Seed, utc
from tests.core.metrics.test_sql_snapshots import _statements

DEALS = 400
STAYS = 5
MONTH = PeriodSpec(start=date(2025, 10, 1), end=date(2025, 11, 1))


async def _fill(session: AsyncSession) -> Seed:
    """Open deals, each with a history of ``STAYS`` stages entered a week apart."""
    seed = await Seed.create(session)
    pipeline = await seed.pipeline("Sales")
    stages = [
        await seed.stage(pipeline, f"Stage {i}", probability=i / STAYS, display_order=i)
        for i in range(STAYS)
    ]
    synced = {
        "workspace_id": seed.workspace.id,
        "connection_id": seed.connection.id,
        "synced_at": SYNCED,
    }
    start = utc(2025, 6, 1)
    await session.execute(
        insert(Deal),
        [
            {
                **synced,
                "remote_id": f"d{d}",
                "status": "OPEN",
                "amount": 1000 + d,
                "currency": "USD",
                "stage_remote_id": stages[-1].remote_id,
                "pipeline_remote_id": pipeline.remote_id,
                "remote_created_at": start,
            }
            for d in range(DEALS)
        ],
    )
    await session.execute(
        insert(DealStageHistory),
        [
            {
                **synced,
                "remote_id": f"d{d}:{s}",
                "deal_remote_id": f"d{d}",
                "stage_remote_id": stages[s].remote_id,
                "pipeline_remote_id": pipeline.remote_id,
                "entered_at": start + timedelta(days=7 * s, minutes=d),
            }
            for d in range(DEALS)
            for s in range(STAYS)
        ],
    )
    await session.commit()
    return seed


async def _plan(engine: AsyncEngine, statement: str, parameters: Any) -> str:
    explain = "EXPLAIN QUERY PLAN" if engine.dialect.name == "sqlite" else "EXPLAIN"
    async with engine.connect() as conn:
        rows = (await conn.exec_driver_sql(f"{explain} {statement}", parameters)).all()
    return "\n".join(" ".join(str(value) for value in row) for row in rows)


async def test_weighted_pipeline_reads_stage_history_once_per_instant(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    seed = await _fill(session)
    async with engine.begin() as conn:
        await conn.execute(text("ANALYZE"))
    request = KpiRequest(
        "weightedPipelineValue", period=MONTH, compare_to=Comparison.PREVIOUS_PERIOD
    )
    with _statements(engine) as seen:
        result = await seed.one(request, now=utc(2025, 11, 15))
    # The statements ran (and answered) before their plans are read.
    assert result.value is not None and result.value > 0
    lookups = [(sql, p) for sql, p in seen if "deal_stage_history" in sql and "entered_at <" in sql]
    assert lookups, "the weighted pipeline no longer reads the stage history as of an instant"
    for statement, parameters in lookups:
        plan = await _plan(engine, statement, parameters)
        assert "CORRELATED" not in plan and "SubPlan" not in plan, plan
        assert "deal_stage_history" in plan or "stage_history" in plan, plan
