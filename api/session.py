"""A request's database session, safe for resolvers that graphql-core runs concurrently.

Sibling fields of a query are resolved concurrently, and one ``AsyncSession`` must never be
used by two coroutines at once; every call here takes the request's lock first. Reads that
may run beside each other (a metrics batch's statements, core.metrics.fetch) get sessions of
their own instead, on PostgreSQL only (SQLite gains nothing from more connections).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import Executable, Result, ScalarResult
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

T = TypeVar("T")


class SerialSession:
    """The subset of AsyncSession resolvers use, one call at a time."""

    def __init__(
        self, session: AsyncSession, readers: async_sessionmaker[AsyncSession] | None = None
    ) -> None:
        self.raw = session
        self._lock = asyncio.Lock()
        bind = session.bind
        postgres = bind is not None and bind.dialect.name == "postgresql"
        self._readers = readers if postgres else None

    @property
    def concurrent_reads(self) -> bool:
        return self._readers is not None

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncSession]:
        """A session of its own (its own connection), scoped to the same viewer."""
        if self._readers is None:
            raise RuntimeError("this session has no concurrent readers")
        async with self._readers() as own:
            own.info.update(self.raw.info)
            yield own

    @property
    def info(self) -> dict[Any, Any]:
        return self.raw.info

    async def execute(self, statement: Executable, params: Any = None) -> Result[Any]:
        async with self._lock:
            return await self.raw.execute(statement, params)

    async def scalar(self, statement: Executable, params: Any = None) -> Any:
        async with self._lock:
            return await self.raw.scalar(statement, params)

    async def scalars(self, statement: Executable, params: Any = None) -> ScalarResult[Any]:
        async with self._lock:
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
        """Run ``change`` alone and commit it, or roll it back whole if it raises."""
        async with self._lock:
            try:
                result = await change(self.raw)
                await self.raw.commit()
            except BaseException:
                await self.raw.rollback()
                raise
            return result
