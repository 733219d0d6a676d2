"""Crashes: SIGKILL of a syncing process at random points, then a rerun, gives the clean data.

The sync runs in a child process against the simulator served by this process; the child is
killed after a random delay (so kills land in every stream and between or inside batches),
then the same connection is synced again here. After every rerun: the table checksums equal
those of a clean sync, no remote id is stored twice, and the rerun re-fetched at most one
page per stream beyond what the killed run had not yet committed.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from core.models import SYNCED_MODELS, Connection
from core.models.enums import SyncStatus
from tests.plugins.testcrm.dataset import Dataset
from tests.plugins.testcrm.simulator import Simulator
from tests.reliability.checksums import empty_synced_tables, table_checksums
from tests.support.syncing import ConnectionFactory, Syncer

KEY = Fernet.generate_key().decode()
ROOT = Path(__file__).resolve().parents[2]
#: Page size of the test connector: the most a rerun may fetch twice per stream.
PAGE = 1000
#: Streams of the test CRM that are paged, with their record type.
PAGED = {"accounts": "account", "contacts": "contact", "deals": "deal", "activities": "activity"}


@pytest.fixture
def vault_key() -> str:
    return KEY


@pytest.fixture
def simulator() -> Simulator:
    return Simulator(Dataset.sized(2500))


async def _counts(engine: AsyncEngine) -> dict[str, tuple[int, int]]:
    """Per paged stream: rows, and distinct remote ids."""
    counts = {}
    async with engine.connect() as conn:
        for stream, record_type in PAGED.items():
            model: Any = SYNCED_MODELS[record_type]
            rows = await conn.scalar(select(func.count()).select_from(model))
            distinct = await conn.scalar(select(func.count(func.distinct(model.remote_id))))
            counts[stream] = (int(rows or 0), int(distinct or 0))
    return counts


async def _killed_sync(database_url: str, connection_id: str, delay: float) -> bool:
    """Start the child sync, SIGKILL it ``delay`` s into the run; False if it finished first."""
    child = subprocess.Popen(  # noqa: ASYNC220 (started once, waited on in a thread)
        [sys.executable, "-m", "tests.reliability.crash_child", database_url, connection_id, KEY],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "CRMKPI_LOG_LEVEL": "WARNING"},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    line = await asyncio.to_thread(child.stdout.readline)
    assert line.strip() == "started", line
    await asyncio.sleep(delay)
    finished = child.poll() is not None
    child.send_signal(signal.SIGKILL)
    await asyncio.to_thread(child.wait, 10)
    return not finished


async def _expire_lease(engine: AsyncEngine, connection_id: str) -> None:
    """What 60 s would do on SQLite: the killed run's lease lapses (PostgreSQL's advisory lock
    is freed by the server when the process dies; nothing to do there)."""
    async with engine.begin() as conn:
        await conn.execute(
            update(Connection)
            .where(Connection.id == connection_id)
            .values(lock_owner=None, lock_expires_at=None)
        )


async def _kill_and_rerun(
    engine: AsyncEngine,
    serve_simulator: Any,
    make_connection: ConnectionFactory,
    sync: Syncer,
    points: int,
    seed: int,
) -> int:
    """Run ``points`` kill/rerun cycles; returns how many kills landed mid-run."""
    url = serve_simulator("latency=60ms")
    clean = await make_connection(url)
    assert (await sync(clean.id)).status is SyncStatus.SUCCEEDED
    expected = await table_checksums(engine)
    database_url = engine.url.render_as_string(hide_password=False)
    rng = random.Random(seed)
    landed = 0
    for _ in range(points):
        await empty_synced_tables(engine)
        connection = await make_connection(url)
        landed += await _killed_sync(database_url, connection.id, rng.uniform(0.0, 2.0))
        await _expire_lease(engine, connection.id)
        before = await _counts(engine)

        result = await sync(connection.id)

        assert result.status is SyncStatus.SUCCEEDED, result.error
        assert await table_checksums(engine) == expected
        after = await _counts(engine)
        for stream, (rows, distinct) in after.items():
            assert rows == distinct, f"{stream}: duplicated remote ids"
            missing = rows - before[stream][1]
            assert result.stats.streams[stream].fetched <= missing + PAGE, stream
    return landed


async def test_sigkill_then_rerun_equals_clean_sync(
    engine: AsyncEngine, serve_simulator: Any, make_connection: ConnectionFactory, sync: Syncer
) -> None:
    landed = await _kill_and_rerun(engine, serve_simulator, make_connection, sync, 2, seed=1)
    assert landed >= 1, "no kill landed while the sync ran"


@pytest.mark.slow
async def test_twenty_sigkills_across_streams(
    engine: AsyncEngine, serve_simulator: Any, make_connection: ConnectionFactory, sync: Syncer
) -> None:
    landed = await _kill_and_rerun(engine, serve_simulator, make_connection, sync, 22, seed=2)
    assert landed >= 20
