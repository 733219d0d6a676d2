"""One sync per connection at a time, across processes and machines.

PostgreSQL: a session-level advisory lock held on a dedicated connection for the whole run;
the server frees it if the worker dies (its connection closes). SQLite: a lease in
``connections.lock_owner / lock_expires_at`` taken by a conditional UPDATE and renewed while
the run lasts, so a crashed worker's lease simply expires. A lease whose holder is a process
of this host that no longer exists (its owner is ``host:pid:nonce``) is taken over at once,
by a compare-and-set on that owner: after a crash the next sync need not wait the lease out.
(A pid reused by another process only makes us wait for the expiry, as before.)
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
from collections.abc import AsyncIterator
from datetime import timedelta

import structlog
from sqlalchemy import or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from core.models import Connection, utcnow
from core.sync.errors import SyncAlreadyRunning
from core.tasks import stop_task

_log = structlog.get_logger(__name__)

LEASE = timedelta(seconds=60)


def advisory_key(connection_id: str) -> int:
    """A stable signed 64-bit key for ``pg_try_advisory_lock``."""
    digest = hashlib.blake2b(f"crmkpi-sync:{connection_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_owner() -> str:
    """Who holds a lease: host, process and a per-call nonce (one process, many runs)."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"


def holder_is_dead(owner: str) -> bool:
    """True when ``owner`` (``host:pid:nonce``) names a process of this host that is gone.

    ``os.kill(pid, 0)`` sends no signal: it only checks that the process exists
    (PermissionError: it exists, under another user). Another host's process, our own
    process, or an owner in another format is never presumed dead.
    """
    parts = owner.rsplit(":", 2)
    if len(parts) != 3:
        return False
    host, pid_text, _nonce = parts
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError and the like: the process exists
        return False
    return False


async def _take_over(engine: AsyncEngine, connection_id: str, dead: str, owner: str) -> bool:
    """Replace the lease of ``dead`` by ours, unless someone else changed it meanwhile."""
    async with engine.begin() as conn:
        result = await conn.execute(
            update(Connection)
            .where(Connection.id == connection_id, Connection.lock_owner == dead)
            .values(lock_owner=owner, lock_expires_at=utcnow() + LEASE)
        )
        return bool(result.rowcount)


def _refused(connection_id: str, detail: str = "") -> SyncAlreadyRunning:
    return SyncAlreadyRunning(
        f"connection {connection_id} is already being synced{detail}; "
        "wait for that sync to finish and try again"
    )


@contextlib.asynccontextmanager
async def sync_lock(engine: AsyncEngine, connection_id: str) -> AsyncIterator[None]:
    """Hold the connection's sync lock for the block, or raise SyncAlreadyRunning."""
    if engine.dialect.name == "postgresql":
        async with _advisory_lock(engine, connection_id):
            yield
    else:
        async with _lease(engine, connection_id):
            yield


@contextlib.asynccontextmanager
async def _advisory_lock(engine: AsyncEngine, connection_id: str) -> AsyncIterator[None]:
    key = advisory_key(connection_id)
    async with engine.connect() as conn:
        got = await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
        await conn.commit()
        if not got:
            raise _refused(connection_id)
        try:
            yield
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            await conn.commit()


async def _take_lease(engine: AsyncEngine, connection_id: str, owner: str) -> bool:
    now = utcnow()
    async with engine.begin() as conn:
        result = await conn.execute(
            update(Connection)
            .where(
                Connection.id == connection_id,
                or_(
                    Connection.lock_owner.is_(None),
                    Connection.lock_owner == owner,
                    Connection.lock_expires_at < now,
                ),
            )
            .values(lock_owner=owner, lock_expires_at=now + LEASE)
        )
        return bool(result.rowcount)


@contextlib.asynccontextmanager
async def _lease(engine: AsyncEngine, connection_id: str) -> AsyncIterator[None]:
    owner = lock_owner()
    if not await _take_lease(engine, connection_id, owner):
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    select(Connection.lock_owner, Connection.lock_expires_at).where(
                        Connection.id == connection_id
                    )
                )
            ).first()
        holder = row[0] if row else None
        if not (
            holder
            and holder_is_dead(holder)
            and await _take_over(engine, connection_id, holder, owner)
        ):
            detail = f" by {holder} (lease until {row[1]:%H:%M:%S} UTC)" if row and holder else ""
            raise _refused(connection_id, detail)
        _log.warning("sync.lease_taken_over", connection=connection_id, dead_holder=holder)

    async def renew() -> None:
        while True:
            await asyncio.sleep(LEASE.total_seconds() / 3)
            await _take_lease(engine, connection_id, owner)

    renewer = asyncio.create_task(renew())
    try:
        yield
    finally:
        try:
            await stop_task(renewer)
        finally:  # released even when the wait is cancelled or the renewer failed
            async with engine.begin() as conn:
                await conn.execute(
                    update(Connection)
                    .where(Connection.id == connection_id, Connection.lock_owner == owner)
                    .values(lock_owner=None, lock_expires_at=None)
                )
