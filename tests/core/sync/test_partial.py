"""A PARTIAL run on the scheduled paths: logged at warning and retried by the policy of
core.sync.partial (embedded scheduler end to end; the worker task's outcome)."""

from __future__ import annotations

import pluggy
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from structlog.testing import capture_logs

from core.models import Connection, SyncRun, utcnow
from core.models.enums import SyncStatus
from core.secrets import Vault
from core.sync.partial import PartialSync, worth_retrying
from core.sync.runner import SyncResult
from core.sync.runs import RunStats, StreamStats, StreamStatus
from core.sync.scheduler import EmbeddedScheduler
from core.sync.worker import job_outcome
from tests.plugins.testcrm.simulator import Simulator
from tests.support.syncing import SyncBench


def _result(status: SyncStatus, *streams: StreamStatus, quarantined: int = 0) -> SyncResult:
    stats = RunStats(
        streams={
            f"s{i}": StreamStats(status=s, error=f"why {i}", quarantined=quarantined)
            for i, s in enumerate(streams)
        }
    )
    return SyncResult(run_id=7, connection_id="conn_x", status=status, stats=stats)


def test_which_partial_runs_are_worth_a_retry() -> None:
    assert worth_retrying(_result(SyncStatus.PARTIAL, StreamStatus.DONE, StreamStatus.FAILED))
    assert worth_retrying(_result(SyncStatus.PARTIAL, StreamStatus.DONE, StreamStatus.BLOCKED))
    # the daily API limit or quarantined records: a retry would end the same way
    assert not worth_retrying(_result(SyncStatus.PARTIAL, StreamStatus.STOPPED))
    assert not worth_retrying(_result(SyncStatus.PARTIAL, StreamStatus.DONE, quarantined=2))
    assert not worth_retrying(_result(SyncStatus.SUCCEEDED, StreamStatus.SKIPPED))


def test_the_worker_task_logs_a_partial_run_and_raises_to_be_retried() -> None:
    with capture_logs() as logs, pytest.raises(PartialSync, match=r"s1 \(FAILED: why 1\)"):
        job_outcome(_result(SyncStatus.PARTIAL, StreamStatus.DONE, StreamStatus.FAILED))
    assert logs[0]["event"] == "worker.sync_partial" and logs[0]["log_level"] == "warning"
    assert logs[0]["streams"] == {"s1": "FAILED: why 1"} and logs[0]["retry"] is True
    with capture_logs() as logs:
        assert job_outcome(_result(SyncStatus.PARTIAL, StreamStatus.STOPPED)) == "PARTIAL"
    assert logs[0]["log_level"] == "warning" and logs[0]["retry"] is False
    assert job_outcome(_result(SyncStatus.SUCCEEDED, StreamStatus.DONE)) == "SUCCEEDED"


async def test_the_embedded_scheduler_retries_a_partial_run_then_gives_up(
    crm: SyncBench,
    sessionmaker: async_sessionmaker[AsyncSession],
    pm: pluggy.PluginManager,
    vault: Vault,
    simulator: Simulator,
) -> None:
    simulator.broken["/v1/activities"] = "activities are being migrated"
    connection = await crm.connect()
    async with sessionmaker() as session:
        await session.execute(
            update(Connection).where(Connection.id == connection.id).values(schedule="15m")
        )
        await session.commit()
    now = utcnow()
    scheduler = EmbeddedScheduler(
        crm.engine, pm, vault, clock=lambda: now, partial_retry_delays=(0.01, 0.01)
    )
    with capture_logs() as logs:
        assert await scheduler.tick() == [connection.id]
        await scheduler.wait_idle()
        simulator.broken.clear()
        assert await scheduler.tick() == []  # just ran: not due, no retry pending

    async with sessionmaker() as session:
        runs = (await session.scalars(select(SyncRun).order_by(SyncRun.id))).all()
    assert [r.status for r in runs] == ["PARTIAL"] * 3  # the run and its two retries
    partial = [e for e in logs if e["event"] == "scheduler.sync_partial"]
    assert len(partial) == 3 and {e["log_level"] for e in partial} == {"warning"}
    assert partial[0]["streams"] == {
        "activities": "FAILED: testcrm: HTTP 400 on /v1/activities: activities are being migrated"
    }
    retries = [e["attempt"] for e in logs if e["event"] == "scheduler.partial_retry"]
    assert retries == [1, 2]
