"""The embedded scheduler runs due syncs in-process, with no worker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pluggy
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.models import Connection, Deal, SyncRun, utcnow
from core.models.enums import SyncMode
from core.secrets import Vault
from core.sync.scheduler import EmbeddedScheduler, due_syncs
from tests.support.syncing import ConnectionFactory


async def test_embedded_scheduler_runs_a_due_sync(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    pm: pluggy.PluginManager,
    vault: Vault,
    serve_simulator: Callable[[str | None], str],
    make_connection: ConnectionFactory,
) -> None:
    connection = await make_connection(serve_simulator(None))
    unscheduled = await make_connection(serve_simulator(None))
    async with sessionmaker() as session:
        await session.execute(
            update(Connection).where(Connection.id == connection.id).values(schedule="15m")
        )
        await session.commit()
    now = utcnow()
    scheduler = EmbeddedScheduler(engine, pm, vault, clock=lambda: now)

    assert await scheduler.tick() == [connection.id]
    await scheduler.wait_idle()

    async with sessionmaker() as session:
        runs = (await session.scalars(select(SyncRun))).all()
        deals = await session.scalar(
            select(func.count()).select_from(Deal).where(Deal.connection_id == connection.id)
        )
        others = await session.scalar(
            select(func.count()).select_from(Deal).where(Deal.connection_id == unscheduled.id)
        )
    assert [(r.connection_id, r.mode, r.status) for r in runs] == [
        (connection.id, "FULL", "SUCCEEDED")
    ]
    assert deals and deals > 0 and others == 0

    # Just ran: nothing due; 15 minutes later an incremental run is due (the full one is fresh).
    assert await scheduler.tick() == []
    later = await due_syncs(engine, utcnow() + timedelta(minutes=15, seconds=1))
    assert [(d.connection_id, d.mode) for d in later] == [(connection.id, SyncMode.INCREMENTAL)]
    nightly = await due_syncs(engine, utcnow() + timedelta(hours=25))
    assert [d.mode for d in nightly] == [SyncMode.FULL]


async def test_paused_connections_are_not_scheduled(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    serve_simulator: Callable[[str | None], str],
    make_connection: ConnectionFactory,
) -> None:
    connection = await make_connection(serve_simulator(None))
    async with sessionmaker() as session:
        await session.execute(
            update(Connection)
            .where(Connection.id == connection.id)
            .values(schedule="*/5 * * * *", status="PAUSED")
        )
        await session.commit()
    assert await due_syncs(engine) == []
