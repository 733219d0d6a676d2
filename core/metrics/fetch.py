"""Running a batch's independent metric statements: one after another on the request's
session, or at once on separate connections when the session can open them.

A dashboard is a handful of statements (the deal cells, the activity cells, each series and
each breakdown), each a scan of its own table or range. On PostgreSQL they can run at the
same time on separate pool connections, so the batch takes about as long as its slowest
statement instead of their sum. Each statement then reads committed data in a snapshot of
its own; the result cache keys on the data versions read before any of them, so an answer
that mixes a batch committed in between is replaced as soon as that version is read.

Connections: a request holds its own session's connection while its readers take more from
the same pool. So that requests never all hold one and wait for another, readers take
slots of a per-process budget without waiting (``MAX_READERS``, well under the pool's 20);
a batch that gets fewer than two runs on its own session, one statement after another.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeVar, runtime_checkable

from sqlalchemy import Executable, Row

from core.metrics.query import Reader

T = TypeVar("T")

#: Statements of one batch running at once (each holds a pooled connection meanwhile).
MAX_CONCURRENT = 4
#: Reader connections of all batches of this process at once.
MAX_READERS = 8


class _Budget:
    """Reader slots of the process, taken without waiting (a server may run several event
    loops in threads, hence a lock rather than an asyncio primitive)."""

    def __init__(self, size: int) -> None:
        self.free = size
        self._lock = threading.Lock()

    def take(self, wanted: int) -> int:
        with self._lock:
            granted = min(wanted, self.free)
            self.free -= granted
            return granted

    def give_back(self, n: int) -> None:
        with self._lock:
            self.free += n


READERS = _Budget(MAX_READERS)


@runtime_checkable
class ConcurrentReader(Protocol):
    """A session that can open further sessions, scoped like itself, for parallel reads."""

    @property
    def concurrent_reads(self) -> bool: ...

    def reader(self) -> AbstractAsyncContextManager[Reader]: ...


#: A statement, or what builds it when a session takes it (see :func:`fetch_beside`).
Statement = Executable | Callable[[], Executable]


def _built(statement: Statement) -> Executable:
    return statement() if callable(statement) else statement


async def fetch_all(session: Reader, statements: Sequence[Statement]) -> list[list[Row[Any]]]:
    """The rows of every statement, in order."""
    rows, _ = await fetch_beside(session, statements, None)
    return rows


async def fetch_beside(
    session: Reader,
    statements: Sequence[Statement],
    beside: Callable[[], Awaitable[T]] | None,
    order: Sequence[int] | None = None,
) -> tuple[list[list[Row[Any]]], T | None]:
    """The rows of every statement, in order, and the result of ``beside()``: reads of the
    request's own session (freshness, targets) run meanwhile when the statements run on
    readers of their own, after them otherwise. ``order``: the indexes of the statements in
    the order to start them (the longest first, so that none waits for a slot at the end).
    A statement given as a function is built by the session that takes it: the first
    statements start without waiting for the others to be built, which are built while
    the database runs them.

    With readers, each granted slot is one reader session taking the next statement as
    its last one ends, and the request's session takes statements too once ``beside()`` is
    done: as many statements at a time as slots plus one, and no session opened (BEGIN, the
    statement timeout) per statement.
    """
    parallel = session if isinstance(session, ConcurrentReader) else None
    granted = 0
    if parallel is not None and parallel.concurrent_reads and len(statements) > 1:
        granted = READERS.take(min(MAX_CONCURRENT, len(statements)))
    try:
        if parallel is None or granted < 2:
            done: dict[int, list[Row[Any]]] = {}
            for index in order if order is not None else range(len(statements)):
                done[index] = list((await session.execute(_built(statements[index]))).all())
            rows = [done[i] for i in range(len(statements))]
            return rows, (await beside() if beside is not None else None)
        readers = parallel
        queue = deque(order if order is not None else range(len(statements)))
        found: dict[int, list[Row[Any]]] = {}

        async def drain(own: Reader) -> None:
            while queue:
                index = queue.popleft()
                found[index] = list((await own.execute(_built(statements[index]))).all())

        async def reader() -> None:
            # One reader session per slot, taking the next statement as each one ends.
            async with readers.reader() as own:
                await drain(own)

        async def own_session() -> T | None:
            # The request's own reads first, then statements like any reader: a connection
            # already open (a first request opens one fewer), one more statement at a time.
            other = await beside() if beside is not None else None
            await drain(session)
            return other

        workers = [asyncio.ensure_future(reader()) for _ in range(granted)]
        mine = asyncio.ensure_future(own_session())
        try:
            await asyncio.gather(*workers, mine)
        except BaseException:
            # None left running on a reader once the slots are given back.
            for task in (*workers, mine):
                task.cancel()
            await asyncio.gather(*workers, mine, return_exceptions=True)
            raise
        return [found[i] for i in range(len(statements))], mine.result()
    finally:
        READERS.give_back(granted)
