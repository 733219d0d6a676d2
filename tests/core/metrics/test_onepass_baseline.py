"""The bench's one-pass SQL baseline (bench/metrics_onepass.py) gives the product's numbers.

The benchmark checks this at every size before it reports a timing; here it is checked on
a small generated dataset with stage history and meetings done at their start, so a change
to the KPIs' semantics that the baseline does not follow fails in the suite, not only in
``make bench``. PostgreSQL only: the baseline is PostgreSQL SQL (LATERAL, arrays).
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.metrics_bench import SERIES, compare, run_graphql
from bench.metrics_data import generate
from bench.metrics_onepass import run_one_pass
from core.metrics import rollup_refresh


async def test_one_pass_sql_equals_the_product(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the one-pass baseline is PostgreSQL SQL")
    org, ws = await generate(engine, deals=3000, activities=9000, workspaces=2, main_share=0.6)
    async with engine.begin() as conn:
        # Stage history for one deal in seven (three stays), and held meetings whose start is
        # 40 days before their stored done time (they move to another month).
        await conn.execute(
            text(
                "INSERT INTO deal_stage_history (workspace_id, connection_id, remote_id, "
                "synced_at, deal_remote_id, stage_remote_id, entered_at) "
                "SELECT workspace_id, connection_id, 'h' || remote_id || '-' || k, now(), "
                "remote_id, 's' || ((k + length(remote_id)) % 5 + 1), "
                "remote_created_at + (k * 25) * interval '1 day' "
                "FROM deals CROSS JOIN generate_series(0, 2) AS k "
                "WHERE workspace_id = :ws AND substr(remote_id, 2)::int % 7 = 0"
            ),
            {"ws": ws},
        )
        moved = await conn.execute(
            text(
                "UPDATE activities SET due_at = done_at - interval '40 days' "
                "WHERE type = 'MEETING' AND done_at IS NOT NULL "
                "AND substr(remote_id, 2)::int % 3 = 0"
            )
        )
    assert moved.rowcount > 0
    async with engine.begin() as conn:  # updated by hand: the rollups are rebuilt
        await conn.run_sync(rollup_refresh.rebuild, [ws])
    _, product = await run_graphql(engine, org, ws, runs=1)
    _, one = await run_one_pass(engine, ws, SERIES)
    assert compare(product, one) == []
    # The comparison is not vacuous: the figures it checks are not all zero.
    assert one["dealsWon.value"] > 0 and one["weightedPipelineValue.value"] > 0
    assert sum(one[f"activitySeries.{i}"] for i in range(12)) > 0
