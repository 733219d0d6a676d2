"""Freshness reads each connection with its latest finished run in one query: an older
run's failure, or a run still going, does not decide what is out of date."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from core.metrics.freshness import load_connections
from core.models import SyncRun
from core.sync.runs import RunStats, StreamStats, StreamStatus
from tests.core.metrics.factory import Seed, utc

NOW = utc(2026, 4, 2)


def _run(seed: Seed, connection_id: str, hours: int, status: str, leads: StreamStatus) -> SyncRun:
    stats = RunStats(streams={"leads": StreamStats(status=leads, tables=["leads"])})
    started = NOW - timedelta(hours=hours)
    return SyncRun(
        connection_id=connection_id,
        workspace_id=seed.workspace.id,
        mode="INCREMENTAL",
        status=status,
        started_at=started,
        finished_at=None if status == "RUNNING" else started,
        stream_stats=stats.to_json(),
    )


async def test_the_latest_finished_run_of_each_connection_decides(session: AsyncSession) -> None:
    seed = await Seed.create(session)
    recovered = seed.connection
    failing = await seed.add_connection("failing")
    never = await seed.add_connection("never")  # no run at all
    other = await Seed.create(session)  # another workspace: not read
    session.add_all(
        [
            _run(seed, recovered.id, 3, "PARTIAL", StreamStatus.FAILED),
            _run(seed, recovered.id, 2, "SUCCEEDED", StreamStatus.DONE),  # latest finished
            _run(seed, recovered.id, 1, "RUNNING", StreamStatus.FAILED),  # not finished
            _run(seed, failing.id, 3, "SUCCEEDED", StreamStatus.DONE),
            _run(seed, failing.id, 2, "PARTIAL", StreamStatus.FAILED),  # latest finished
        ]
    )
    await session.flush()
    rows = {c.id: c for c in await load_connections(session, [seed.workspace.id])}
    assert set(rows) == {recovered.id, failing.id, never.id}
    assert other.connection.id not in rows
    assert rows[recovered.id].out_of_date == frozenset()
    assert rows[failing.id].out_of_date == frozenset({"leads"})
    assert rows[never.id].out_of_date == frozenset()
    assert rows[failing.id].connector == failing.connector
