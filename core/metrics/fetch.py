"""Running a batch's independent metric statements: one after another on the request's
session, or at once on separate connections when the session can open them.

A dashboard is a handful of statements (the deal cells, the activity cells, each series and
each breakdown), each a scan of its own table or range. On PostgreSQL they can run at the
same time on separate pool connections, so the batch takes about as long as its slowest
statement instead of their sum. Each statement then reads committed data in a snapshot of
its own; the result cache keys on the data versions read before any of them, so an answer
that mixes a batch committed in between is replaced as soon as that version is read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import Executable, Row

from core.metrics.query import Reader

#: Statements of one batch running at once (each holds a pooled connection meanwhile).
MAX_CONCURRENT = 4


@runtime_checkable
class ConcurrentReader(Protocol):
    """A session that can open further sessions, scoped like itself, for parallel reads."""

    @property
    def concurrent_reads(self) -> bool: ...

    def reader(self) -> AbstractAsyncContextManager[Reader]: ...


async def fetch_all(session: Reader, statements: Sequence[Executable]) -> list[list[Row[Any]]]:
    """The rows of every statement, in order."""
    if (
        len(statements) < 2
        or not isinstance(session, ConcurrentReader)
        or not session.concurrent_reads
    ):
        return [list((await session.execute(s)).all()) for s in statements]
    limit = asyncio.Semaphore(MAX_CONCURRENT)
    parallel = session

    async def one(statement: Executable) -> list[Row[Any]]:
        async with limit, parallel.reader() as own:
            return list((await own.execute(statement)).all())

    return list(await asyncio.gather(*(one(s) for s in statements)))
