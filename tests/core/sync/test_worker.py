"""Distributed workers on PostgreSQL: two real worker processes share the syncs, never run
one connection twice at once, and a worker killed mid-sync is recovered by another."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_engine, create_sessionmaker
from core.migrate import upgrade
from core.models import Activity, Connection, Deal, Organization, SyncRun, Workspace
from core.models.enums import SyncMode
from core.secrets import Vault
from core.settings import Settings
from core.sync.notify import set_sync_webhook
from core.sync.worker import create_queue, defer_sync
from tests.plugins.testcrm.dataset import Dataset
from tests.plugins.testcrm.simulator import REFRESH_TOKEN, Simulator
from tests.support.postgres import PostgresCluster
from tests.support.receiver import Receiver
from tests.support.server import serve

ROOT = Path(__file__).parents[3]
#: Connections synced by two workers (issue 11 asks for 50); CRMKPI_TEST_WORKER_CONNECTIONS
#: changes it. 24 took 14 s on the quiet 2-core machine, so 50 stays well inside the suite.
CONNECTIONS = int(os.environ.get("CRMKPI_TEST_WORKER_CONNECTIONS", "50"))
KEY = Fernet.generate_key().decode()


@pytest.fixture
async def pg_engine(pg_cluster: PostgresCluster) -> AsyncIterator[AsyncEngine]:
    """A database of its own: worker tests leave procrastinate jobs behind."""
    url = pg_cluster.create_database(f"workers_{os.getpid()}_{time.monotonic_ns()}")
    engine = create_engine(url)
    await upgrade(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


@contextmanager
def workers(url: str, count: int, *, delay_ms: int = 0) -> Iterator[list[subprocess.Popen[bytes]]]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CRMKPI_DATABASE_URL": url,
        "CRMKPI_SECRET_KEYS": KEY,
        "CRMKPI_PLUGINS": "tests.plugins.testcrm",
        "CRMKPI_WORKER_STALLED_SECONDS": "3",
        "CRMKPI_LOG_FORMAT": "json",
        "CRMKPI_LOG_LEVEL": "WARNING",
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "api.cli", "worker", "--concurrency", "2"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


async def _connections(
    engine: AsyncEngine, base_url: str, count: int, *, webhook: str | None = None
) -> list[str]:
    vault = Vault([KEY])
    async with create_sessionmaker(engine)() as session:
        org = Organization(name="Agency")
        session.add(org)
        await session.flush()
        ws = Workspace(organization_id=org.id, name="Client")
        session.add(ws)
        await session.flush()
        if webhook is not None:
            await set_sync_webhook(session, vault, ws.id, webhook)
        rows = [
            Connection(
                workspace_id=ws.id,
                connector="testcrm",
                base_url=base_url,
                credentials_encrypted=vault.encrypt({"refresh_token": REFRESH_TOKEN}),
            )
            for _ in range(count)
        ]
        session.add_all(rows)
        await session.commit()
        return [r.id for r in rows]


async def _wait_all_succeeded(engine: AsyncEngine, ids: list[str], within: float) -> None:
    deadline = time.monotonic() + within
    async with create_sessionmaker(engine)() as session:
        while True:
            done = await session.scalar(
                select(func.count(func.distinct(SyncRun.connection_id))).where(
                    SyncRun.status == "SUCCEEDED", SyncRun.connection_id.in_(ids)
                )
            )
            if done == len(ids):
                return
            assert time.monotonic() < deadline, f"only {done} of {len(ids)} synced in time"
            await asyncio.sleep(0.5)
            await session.rollback()


async def test_two_workers_share_syncs_and_never_overlap(pg_engine: AsyncEngine) -> None:
    url = pg_engine.url.render_as_string(hide_password=False)
    with ExitStack() as stack:
        base_url = stack.enter_context(serve(Simulator(Dataset.sized(60)).app(None)))
        receiver = Receiver()
        hook = stack.enter_context(serve(receiver))
        ids = await _connections(pg_engine, base_url, CONNECTIONS, webhook=hook)
        queue = create_queue(Settings(database_url=url))
        async with queue.open_async():
            for cid in ids:
                assert await defer_sync(queue, cid, SyncMode.FULL) == 1
            assert await defer_sync(queue, ids[0], SyncMode.FULL) == 0  # debounced
            # Never twice at once: a second job of a connection waits for the first.
            with workers(url, 2):
                await _wait_all_succeeded(pg_engine, ids, within=240)
                async with pg_engine.connect() as conn:
                    worker_ids = await conn.scalar(
                        text(
                            "SELECT count(DISTINCT worker_id) FROM procrastinate_jobs "
                            "WHERE task_name = 'crmkpi.sync_connection' AND status = 'succeeded'"
                        )
                    )
    async with create_sessionmaker(pg_engine)() as session:
        runs = (await session.scalars(select(SyncRun).order_by(SyncRun.started_at))).all()
        deals = await session.scalar(select(func.count()).select_from(Deal))
    by_connection: dict[str, list[SyncRun]] = {}
    for run in runs:
        by_connection.setdefault(run.connection_id, []).append(run)
    assert set(by_connection) == set(ids)
    for conn_runs in by_connection.values():
        for earlier, later in itertools.pairwise(conn_runs):
            assert earlier.finished_at is not None and earlier.finished_at <= later.started_at
    assert worker_ids == 2, "both workers should have taken jobs"
    assert deals == CONNECTIONS * Dataset.sized(60).counts["deals"]
    # Every run was reported by the worker that ran it, once, with its own id and status.
    reported = sorted((d.payload["run_id"], d.payload["status"]) for d in receiver.deliveries)
    assert reported == sorted((r.id, r.status) for r in runs)


async def test_a_killed_worker_is_recovered_by_another(pg_engine: AsyncEngine) -> None:
    url = pg_engine.url.render_as_string(hide_password=False)
    with ExitStack() as stack:
        # Slow pages so the sync is surely in flight when the first worker dies.
        simulator = Simulator(Dataset.sized(400))
        base_url = stack.enter_context(serve(simulator.app("latency=150ms")))
        [cid] = await _connections(pg_engine, base_url, 1)
        queue = create_queue(Settings(database_url=url))
        async with queue.open_async():
            await defer_sync(queue, cid, SyncMode.FULL)
        with workers(url, 1) as [victim]:
            async with create_sessionmaker(pg_engine)() as session:
                deadline = time.monotonic() + 60
                while not await session.scalar(select(func.count()).select_from(Deal)):
                    assert time.monotonic() < deadline, "the first worker never started"
                    await asyncio.sleep(0.2)
                    await session.rollback()
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=10)
        with workers(url, 1):
            await _wait_all_succeeded(pg_engine, [cid], within=180)
    async with create_sessionmaker(pg_engine)() as session:
        deals = await session.scalar(select(func.count()).select_from(Deal))
        distinct = await session.scalar(select(func.count(func.distinct(Deal.remote_id))))
        activities = await session.scalar(select(func.count()).select_from(Activity))
    assert deals == distinct == simulator.data.counts["deals"]
    assert activities == simulator.data.counts["activities"]
