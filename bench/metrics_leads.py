"""Lead-activity KPIs at scale: newLeads and leadFollowUpRate (the converted lead's moved
activities, joined per contact) timed through GraphQL, before and after migration 0010.

Adds leads to a database that bench.metrics_data generated: one lead per two deals of each
workspace, 40% with a contact, 30% converted into a deal (half of those through the deal's
contact only); half of the activities are linked to a contact and a fifth to a lead. Then
the two KPIs with comparison are timed with the result cache bypassed, with the schema at
0009 (no activities-by-contact index) and at 0010.
"""

from __future__ import annotations

import statistics
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.metrics_bench import run_graphql

QUERY = """
query Leads($ws: ID!) {
  metrics(workspaceId: $ws) {
    newLeads(period: {start: "2025-10-01", end: "2025-11-01"}, compareTo: PREVIOUS_PERIOD) {
      value comparison { value } }
    leadFollowUpRate(period: {start: "2025-10-01", end: "2025-11-01"},
                     compareTo: PREVIOUS_PERIOD) {
      value numerator denominator comparison { value } }
  }
}
"""

EPOCH = "timestamptz '2024-01-01 00:00:00+00'"


async def add_leads(engine: AsyncEngine) -> int:
    """Leads for every workspace's connection (PostgreSQL); returns how many."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO leads (workspace_id, connection_id, remote_id, synced_at, name, "
                "owner_remote_id, contact_remote_id, remote_created_at, converted_at, "
                "converted_deal_remote_id) "
                "SELECT c.workspace_id, c.id, 'l' || i, now(), 'Lead ' || i, "
                "'u' || (i % 50 + 1), "
                "CASE WHEN i % 10 < 4 THEN 'c' || i END, "
                f"{EPOCH} + (i * 7919 % 63072000) * interval '1 second', "
                f"CASE WHEN i % 10 >= 7 THEN {EPOCH} + (i * 7919 % 63072000 + 86400 * 20) "
                "* interval '1 second' END, "
                "CASE WHEN i % 10 >= 7 THEN 'd' || i END "
                "FROM connections AS c CROSS JOIN LATERAL generate_series(1, "
                "(SELECT count(*) / 2 FROM deals AS d WHERE d.connection_id = c.id)) AS s(i)"
            )
        )
        await conn.execute(
            text(
                "UPDATE deals SET contact_remote_id = 'c' || substr(remote_id, 2) "
                "WHERE substr(remote_id, 2)::int % 20 = 7"
            )
        )
        await conn.execute(
            text(
                "UPDATE activities SET "
                "contact_remote_id = CASE WHEN substr(remote_id, 2)::int % 2 = 0 "
                "THEN 'c' || (substr(remote_id, 2)::int * 31 % 200000) END, "
                "lead_remote_id = CASE WHEN substr(remote_id, 2)::int % 5 = 1 "
                "THEN 'l' || (substr(remote_id, 2)::int * 17 % 200000) END"
            )
        )
        n = (await conn.execute(text("SELECT count(*) FROM leads"))).scalar_one()
    async with engine.connect() as conn:
        auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await auto.execute(text("VACUUM ANALYZE"))
    return int(n)


async def time_leads(engine: AsyncEngine, org: str, ws: str, runs: int = 5) -> tuple[float, Any]:
    """Median seconds of the leads query with the result caches bypassed, and its answer
    (the ``metrics`` field), timed as the dashboard (bench.metrics_bench.run_graphql)."""
    timings, data = await run_graphql(engine, org, ws, runs=runs, query=QUERY)
    return statistics.median(timings), data
