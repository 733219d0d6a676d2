"""A request's database session, safe for resolvers that graphql-core runs concurrently.

Sibling fields of a query are resolved concurrently, and one ``AsyncSession`` must never be
used by two coroutines at once; every call here takes the request's lock first. Reads that
may run beside each other (a metrics batch's statements, core.metrics.fetch) get sessions of
their own instead, on PostgreSQL only (SQLite gains nothing from more connections).

Every statement of a request runs under the statement timeout (issue #20): on PostgreSQL
the request's connections start with it (:class:`RequestSessions`: a pool of its own whose
connections set it once, at connect, instead of a ``SET LOCAL`` round trip per transaction,
issue #19), or, for a session from any other pool, ``SET LOCAL statement_timeout`` at the
start of each of its transactions (and of each reader's); on SQLite the connection's
progress handler (core.db.Deadline). Writes lift it for their transaction. A statement
stopped by it becomes :class:`core.db.StatementTimeout`, a message for the caller, and the
transaction is rolled back so the request's other fields can still read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import structlog
from sqlalchemy import Connection, Executable, Result, ScalarResult, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction

from core.db import (
    DEADLINE,
    Deadline,
    StatementTimeout,
    autocommit_reads,
    create_engine,
    create_sessionmaker,
    is_statement_timeout,
    milliseconds,
    statement_limit,
)
from core.metrics.fetch import MAX_CONCURRENT

T = TypeVar("T")
#: A request's session and its metrics readers, at most (core.metrics.fetch).
WARM_CONNECTIONS = MAX_CONCURRENT + 1
_log = structlog.get_logger(__name__)


def _limit_transactions(session: AsyncSession, seconds: float) -> None:
    """PostgreSQL: every transaction of ``session`` runs under the timeout: as it is when
    its engine's connections start with it (RequestSessions), else from SET LOCAL
    statement_timeout at the start of each transaction."""
    limit = milliseconds(seconds)
    bind = session.bind
    if isinstance(bind, AsyncEngine) and statement_limit(bind) == limit:
        return

    def started(_s: Session, _t: SessionTransaction, connection: Connection) -> None:
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {limit}")

    event.listen(session.sync_session, "after_begin", started)


@asynccontextmanager
async def _timed(
    session: AsyncSession, seconds: float | None, postgres: bool
) -> AsyncIterator[None]:
    """Run one statement under the timeout; a cancelled one raises StatementTimeout."""
    deadline: Deadline | None = None
    if seconds is not None and not postgres:
        found = (await session.connection()).info.get(DEADLINE)
        if isinstance(found, Deadline):
            deadline = found
            deadline.at = time.monotonic() + seconds
    try:
        yield
    except DBAPIError as exc:
        if seconds is None or not is_statement_timeout(exc):
            raise
        await session.rollback()
        _log.warning("db.statement_timeout", seconds=seconds)
        raise StatementTimeout(seconds) from None
    finally:
        if deadline is not None:
            deadline.at = None


class _TimedReader:
    """A reader session whose statements map a timeout like the request's own."""

    def __init__(self, session: AsyncSession, seconds: float | None) -> None:
        self.session = session
        self.seconds = seconds

    async def execute(self, statement: Executable, params: Any = None) -> Result[Any]:
        async with _timed(self.session, self.seconds, postgres=True):
            return await self.session.execute(statement, params)

    async def scalars(self, statement: Executable, params: Any = None) -> ScalarResult[Any]:
        async with _timed(self.session, self.seconds, postgres=True):
            return await self.session.scalars(statement, params)


class SerialSession:
    """The subset of AsyncSession resolvers use, one call at a time."""

    def __init__(
        self,
        session: AsyncSession,
        readers: async_sessionmaker[AsyncSession] | None = None,
        *,
        statement_timeout: float | None = None,
    ) -> None:
        self.raw = session
        self._lock = asyncio.Lock()
        bind = session.bind
        self._postgres = bind is not None and bind.dialect.name == "postgresql"
        self._readers = readers if self._postgres else None
        self.statement_timeout = statement_timeout
        if statement_timeout is not None and self._postgres:
            _limit_transactions(session, statement_timeout)

    @property
    def concurrent_reads(self) -> bool:
        return self._readers is not None

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Any]:
        """A session of its own (its own connection), scoped to the same viewer."""
        if self._readers is None:
            raise RuntimeError("this session has no concurrent readers")
        async with self._readers() as own:
            own.info.update(self.raw.info)
            if self.statement_timeout is None:
                yield own
                return
            _limit_transactions(own, self.statement_timeout)
            yield _TimedReader(own, self.statement_timeout)

    def _timed(self) -> Any:
        return _timed(self.raw, self.statement_timeout, self._postgres)

    @property
    def info(self) -> dict[Any, Any]:
        return self.raw.info

    async def execute(self, statement: Executable, params: Any = None) -> Result[Any]:
        async with self._lock, self._timed():
            return await self.raw.execute(statement, params)

    async def scalar(self, statement: Executable, params: Any = None) -> Any:
        async with self._lock, self._timed():
            return await self.raw.scalar(statement, params)

    async def scalars(self, statement: Executable, params: Any = None) -> ScalarResult[Any]:
        async with self._lock, self._timed():
            return await self.raw.scalars(statement, params)

    async def get(self, entity: type[T], ident: Any) -> T | None:
        async with self._lock:
            return await self.raw.get(entity, ident)

    async def add_all(self, instances: Sequence[object]) -> None:
        async with self._lock:
            self.raw.add_all(instances)
            await self.raw.flush()

    async def flush(self) -> None:
        async with self._lock:
            await self.raw.flush()

    async def commit(self) -> None:
        async with self._lock:
            await self.raw.commit()

    async def rollback(self) -> None:
        async with self._lock:
            await self.raw.rollback()

    async def delete(self, instance: object) -> None:
        async with self._lock:
            await self.raw.delete(instance)
            await self.raw.flush()

    async def write(self, change: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run ``change`` alone and commit it, or roll it back whole if it raises.

        Writes are not under the statement timeout (deleting a connection deletes all its
        records): on PostgreSQL the transaction lifts it."""
        async with self._lock:
            try:
                if self._postgres and self.statement_timeout is not None:
                    await self.raw.execute(text("SET LOCAL statement_timeout = 0"))
                result = await change(self.raw)
                await self.raw.commit()
            except BaseException:
                await self.raw.rollback()
                raise
            return result


class RequestSessions:
    """Where API requests get their sessions and readers (api.app, and the benches that
    time the API's path).

    On PostgreSQL with a statement timeout this is an engine of its own, like ``engine``
    but whose connections start with the timeout: a request then sends no ``SET LOCAL``
    per transaction (3 of a lifecycle request's 11 round trips, issue #19). Its pool is
    used by requests only; writers, syncs and the CLI keep ``engine``'s, unlimited. Its
    readers run each statement in autocommit (core.db.autocommit_reads): no BEGIN and no
    ROLLBACK around their reads. On SQLite, or without a timeout, it is ``engine``
    itself."""

    def __init__(self, engine: AsyncEngine, statement_timeout: float | None) -> None:
        self.statement_timeout = statement_timeout
        self._own = engine.dialect.name == "postgresql" and statement_timeout is not None
        self.engine = (
            create_engine(
                engine.url.render_as_string(hide_password=False),
                statement_timeout=statement_timeout,
            )
            if self._own
            else engine
        )
        self.sessionmaker = create_sessionmaker(self.engine)
        self.readers = (
            create_sessionmaker(autocommit_reads(self.engine)) if self._own else self.sessionmaker
        )

    def serial(self, session: AsyncSession) -> SerialSession:
        """A request's session (from :attr:`sessionmaker`), with readers from the same pool."""
        return SerialSession(
            session, readers=self.readers, statement_timeout=self.statement_timeout
        )

    async def warm(self, connections: int = WARM_CONNECTIONS) -> None:
        """Open the connections a first dashboard takes (core.metrics.fetch: the request's
        session and its readers) before serving, so that its first request does not wait
        for them (PostgreSQL only; see :func:`warm_pool`)."""
        await warm_pool(self.engine, connections)

    async def close(self) -> None:
        if self._own:
            await self.engine.dispose()


async def warm_pool(engine: AsyncEngine, connections: int) -> None:
    """Open ``connections`` of ``engine``'s pool at once and give them back to it, open.

    A new PostgreSQL connection costs its request the connection itself, the driver's type
    set-up and, for the engine's first, the dialect's server checks: at 1M deals the first
    dashboard's first statement started ~45 ms later than a warm one's, and each of its
    readers waited for a connection of its own (issue #19). Held together so that the pool
    opens that many (one after another, it would reopen the same). SQLite: nothing to open.
    """
    if engine.dialect.name != "postgresql" or connections < 1:
        return
    opened: list[AsyncConnection] = list(
        await asyncio.gather(*(engine.connect().start() for _ in range(connections)))
    )
    await asyncio.gather(*(conn.close() for conn in opened))
