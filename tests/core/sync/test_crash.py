"""A worker process killed (SIGKILL) between two batches: the rerun loses and duplicates
nothing, and the dead run is recorded as interrupted."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.models import Connection, SyncRun, utcnow
from core.models.enums import SyncStatus
from tests.core.sync.snapshots import snapshot, table_rows
from tests.support.syncing import ConnectionFactory, Syncer

WORKER = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    import tests.plugins.testcrm as plugin
    import tests.plugins.testcrm.connector as connector
    import core.sync.streams as streams
    from core.db import create_engine
    from core.plugins import create_plugin_manager
    from core.secrets import Vault
    from core.sync.runner import SyncOptions, run_sync

    connector.PAGE_SIZE = 40
    streams.BATCH_RECORDS = 40  # every page its own batch: the kill falls between two
    url, connection_id, key = sys.argv[1:4]
    batches = 0

    def die_on_third_deals_batch(stream, stats, run):
        global batches
        if stream == "deals":
            batches += 1
            if batches == 3:
                os.kill(os.getpid(), signal.SIGKILL)

    async def main():
        engine = create_engine(url)
        pm = create_plugin_manager(load_entrypoints=False, plugins=[plugin])
        options = SyncOptions(concurrency=1, progress=die_on_third_deals_batch)
        await run_sync(connection_id, engine=engine, pm=pm, vault=Vault([key]), options=options)

    asyncio.run(main())
    """
)


async def test_killed_worker_resumes_with_nothing_lost_or_duplicated(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    database_url: str,
    vault_key: str,
    serve_simulator: Any,
    make_connection: ConnectionFactory,
    sync: Syncer,
    monkeypatch: Any,
) -> None:
    import tests.plugins.testcrm.connector as testcrm_connector

    monkeypatch.setattr(testcrm_connector, "PAGE_SIZE", 40)
    url = serve_simulator()
    reference = await make_connection(url)
    await sync(reference.id)
    expected = await snapshot(engine, with_sync_times=False)
    async with engine.begin() as conn:
        for table in ("deals", "deal_stage_history", "accounts", "contacts", "activities"):
            await conn.exec_driver_sql(f"DELETE FROM {table}")
        for table in ("users", "pipelines", "stages", "fx_rates"):
            await conn.exec_driver_sql(f"DELETE FROM {table}")
    connection = await make_connection(url)

    killed = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", WORKER, database_url, connection.id, vault_key],
        cwd=Path(__file__).parents[3],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -9, killed.stderr
    partial = await table_rows(engine, "deal")
    assert 0 < len(partial) < 200

    if engine.dialect.name == "sqlite":  # the dead worker's lease runs out
        async with sessionmaker() as session:
            await session.execute(
                update(Connection)
                .where(Connection.id == connection.id)
                .values(lock_expires_at=utcnow() - timedelta(seconds=1))
            )
            await session.commit()
    result = await sync(connection.id)

    assert result.status is SyncStatus.SUCCEEDED, result.error
    assert await snapshot(engine, with_sync_times=False) == expected
    async with sessionmaker() as session:
        runs = (
            await session.execute(
                select(SyncRun.status, SyncRun.error)
                .where(SyncRun.connection_id == connection.id)
                .order_by(SyncRun.id)
            )
        ).all()
    assert [tuple(r) for r in runs] == [("FAILED", "interrupted"), ("SUCCEEDED", None)]
