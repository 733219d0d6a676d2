"""One sync per connection: the PostgreSQL advisory lock and the SQLite lease."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.models import Connection, Organization, Workspace, utcnow
from core.sync.errors import SyncAlreadyRunning
from core.sync.locks import _lease as lease
from core.sync.locks import advisory_key, holder_is_dead, sync_lock


async def _connection(sessionmaker: async_sessionmaker[AsyncSession]) -> str:
    async with sessionmaker() as session:
        org = Organization(name="o")
        session.add(org)
        await session.flush()
        ws = Workspace(organization_id=org.id, name="w")
        session.add(ws)
        await session.flush()
        conn = Connection(workspace_id=ws.id, connector="x")
        session.add(conn)
        await session.commit()
        return conn.id


async def test_second_holder_is_refused_until_release(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    first, second = await _connection(sessionmaker), await _connection(sessionmaker)
    async with sync_lock(engine, first):
        with pytest.raises(SyncAlreadyRunning, match=f"{first} is already being synced"):
            async with sync_lock(engine, first):
                pass
        async with sync_lock(engine, second):  # other connections are independent
            pass
    async with sync_lock(engine, first):
        pass


async def test_expired_lease_of_a_dead_worker_is_taken_over(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    connection_id = await _connection(sessionmaker)
    if engine.dialect.name == "postgresql":
        # The server frees a session's advisory locks when its connection dies.
        dead_worker = await engine.connect()
        await dead_worker.execute(
            text("SELECT pg_advisory_lock(:k)"), {"k": advisory_key(connection_id)}
        )
        with pytest.raises(SyncAlreadyRunning):
            async with sync_lock(engine, connection_id):
                pass
        await dead_worker.invalidate()  # the connection is dropped, not returned to the pool
        await dead_worker.close()
        async with sync_lock(engine, connection_id):
            return
    async with sessionmaker() as session:
        await session.execute(
            update(Connection)
            .where(Connection.id == connection_id)
            .values(lock_owner="dead-host:1:x", lock_expires_at=utcnow() + timedelta(seconds=30))
        )
        await session.commit()
    with pytest.raises(SyncAlreadyRunning, match="dead-host"):
        async with sync_lock(engine, connection_id):
            pass
    async with sessionmaker() as session:
        await session.execute(
            update(Connection)
            .where(Connection.id == connection_id)
            .values(lock_expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    async with sync_lock(engine, connection_id):
        pass


def _dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])


async def _hold(
    sessionmaker: async_sessionmaker[AsyncSession], connection_id: str, owner: str
) -> None:
    async with sessionmaker() as session:
        await session.execute(
            update(Connection)
            .where(Connection.id == connection_id)
            .values(lock_owner=owner, lock_expires_at=utcnow() + timedelta(seconds=60))
        )
        await session.commit()


async def test_a_lease_held_by_a_dead_process_of_this_host_is_taken_over_at_once(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # The lease is SQLite's lock; PostgreSQL's advisory lock needs no takeover (above), but
    # the lease's statements are checked on both databases.
    connection_id = await _connection(sessionmaker)
    host = socket.gethostname()
    dead = f"{host}:{_dead_pid()}:c0ffee"
    assert holder_is_dead(dead)
    await _hold(sessionmaker, connection_id, dead)
    async with lease(engine, connection_id), sessionmaker() as session:
        row = await session.get(Connection, connection_id)
        assert row is not None and row.lock_owner != dead
        assert row.lock_owner and row.lock_owner.startswith(f"{host}:{os.getpid()}:")

    # A live process of this host (a sleeping child), or any process of another host,
    # keeps its lease until it expires.
    sleeper = _sleeper()
    try:
        for owner in (f"{host}:{sleeper.pid}:beef", f"other-host:{_dead_pid()}:beef"):
            assert not holder_is_dead(owner)
            await _hold(sessionmaker, connection_id, owner)
            with pytest.raises(SyncAlreadyRunning, match=owner):
                async with lease(engine, connection_id):
                    pass
    finally:
        sleeper.kill()
        sleeper.wait()
    assert not holder_is_dead(f"{host}:{os.getpid()}:x")  # ourselves: another run of ours
    assert not holder_is_dead("garbage")
