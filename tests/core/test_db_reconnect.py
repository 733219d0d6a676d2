"""Dropped connections without a pool pre-ping (core.db): a pooled connection that the
database closed is replaced at checkout when the driver knows it, and otherwise the first
statement of a session is retried once on a fresh connection; a statement later in a
transaction is not retried (what the transaction did would be lost)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from core import db
from core.db import create_engine, create_sessionmaker, retry_if_dropped


@pytest.fixture
async def own_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine of its own: one pooled connection, the one the test drops."""
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


async def _drop_pooled(engine: AsyncEngine, admin: AsyncEngine) -> None:
    """Leave the pool with one connection that the database has closed: on PostgreSQL
    its server process is terminated (what a restart or an idle timeout does); on SQLite
    the driver connection is closed behind the pool's back."""
    async with engine.connect() as conn:
        pid = (await conn.execute(text("SELECT 1"))).scalar()
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection
        if engine.dialect.name == "postgresql":
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar()
    if engine.dialect.name == "postgresql":
        async with admin.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    else:
        await driver.close()


def _connects(engine: AsyncEngine) -> list[int]:
    made: list[int] = []
    event.listen(engine.sync_engine, "connect", lambda *_: made.append(1))
    return made


async def test_the_first_statement_of_a_session_is_retried_on_a_fresh_connection(
    own_engine: AsyncEngine, engine: AsyncEngine
) -> None:
    # Without the checkout check, as when the driver has not yet seen the socket close.
    if own_engine.dialect.name == "postgresql":
        event.remove(own_engine.sync_engine.pool, "checkout", db._closed_at_checkout)
    await _drop_pooled(own_engine, engine)
    made = _connects(own_engine)
    async with create_sessionmaker(own_engine)() as session:
        answer = await session.scalar(text("SELECT 42"))
    assert answer == 42
    assert made == [1]  # one new connection replaced the dropped one


async def test_a_statement_later_in_a_transaction_is_not_retried(
    own_engine: AsyncEngine, engine: AsyncEngine
) -> None:
    if own_engine.dialect.name == "postgresql":
        event.remove(own_engine.sync_engine.pool, "checkout", db._closed_at_checkout)
    sessionmaker = create_sessionmaker(own_engine)
    async with sessionmaker() as session:
        assert await session.scalar(text("SELECT 1")) == 1  # the transaction has begun
        conn = await session.connection()
        raw = await conn.get_raw_connection()
        if own_engine.dialect.name == "postgresql":
            pid = await session.scalar(text("SELECT pg_backend_pid()"))
            async with engine.connect() as admin:
                await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        else:
            await raw.driver_connection.close()
        with pytest.raises(DBAPIError) as failed:
            await session.scalar(text("SELECT 2"))
    assert failed.value.connection_invalidated
    async with sessionmaker() as session:  # the next session gets a fresh connection
        assert await session.scalar(text("SELECT 3")) == 3


async def test_reads_outside_sessions_are_retried_and_known_closed_ones_replaced(
    own_engine: AsyncEngine, engine: AsyncEngine
) -> None:
    await _drop_pooled(own_engine, engine)
    made = _connects(own_engine)

    async def read() -> Any:
        async with own_engine.connect() as conn:
            return (await conn.execute(text("SELECT 7"))).scalar()

    assert await retry_if_dropped(read) == 7
    assert made == [1]
