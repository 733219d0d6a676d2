"""A batch's statements give the same rows one after another as at once on separate sessions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Executable, Result, ScalarResult, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.metrics import fetch
from core.metrics.compiler import Compiled
from core.metrics.fetch import ConcurrentReader, fetch_all
from core.metrics.jobs import SeriesJob, TotalsJob, start_order
from core.metrics.query import Reader
from core.metrics.segments import Segment
from core.metrics.types import Entity


class Readers:
    """A session that opens further sessions and records how many were open at once."""

    def __init__(self, session: AsyncSession, maker: async_sessionmaker[AsyncSession]) -> None:
        self.session = session
        self.maker = maker
        self.open = 0
        self.most_open = 0
        self.opened = 0
        self.concurrent_reads = True

    async def execute(self, statement: Executable, params: object = None) -> Result[object]:
        return await self.session.execute(statement)

    async def scalars(self, statement: Executable, params: object = None) -> ScalarResult[object]:
        return await self.session.scalars(statement)

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Reader]:
        self.open += 1
        self.opened += 1
        self.most_open = max(self.most_open, self.open)
        try:
            async with self.maker() as own:
                await asyncio.sleep(0.01)  # let the others start
                yield own
        finally:
            self.open -= 1


def _statements(n: int) -> list[Executable]:
    return [
        union_all(*(select(literal(i * 10 + j).label("v")) for j in range(i % 3 + 1)))
        for i in range(n)
    ]


async def test_concurrent_rows_equal_sequential_rows_in_order(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    statements = _statements(9)
    readers = Readers(session, sessionmaker)
    assert isinstance(readers, ConcurrentReader)
    at_once = await fetch_all(readers, statements)
    readers.concurrent_reads = False
    in_turn = await fetch_all(readers, statements)
    assert [[tuple(r) for r in rows] for rows in at_once] == [
        [tuple(r) for r in rows] for rows in in_turn
    ]
    assert [[r[0] for r in rows] for rows in in_turn][:3] == [[0], [10, 11], [20, 21, 22]]
    # One reader per slot, each taking statements until none is left (the sequential run
    # opened none).
    assert readers.opened == fetch.MAX_CONCURRENT
    assert 1 < readers.most_open <= fetch.MAX_CONCURRENT


async def test_plain_sessions_and_single_statements_stay_on_the_session(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    readers = Readers(session, sessionmaker)
    (rows,) = await fetch_all(readers, _statements(1))
    assert [r[0] for r in rows] == [0]
    assert readers.opened == 0
    assert not isinstance(session, ConcurrentReader)
    assert len(await fetch_all(session, _statements(3))) == 3


async def test_without_free_reader_slots_the_batch_runs_on_its_session(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    readers = Readers(session, sessionmaker)
    held = fetch.READERS.take(fetch.MAX_READERS - 1)  # other batches hold all but one
    try:
        rows = await fetch_all(readers, _statements(4))
    finally:
        fetch.READERS.give_back(held)
    assert [[r[0] for r in part] for part in rows][:2] == [[0], [10, 11]]
    assert readers.opened == 0
    assert fetch.READERS.free == fetch.MAX_READERS  # every slot given back
    await fetch_all(readers, _statements(4))
    assert readers.opened == 4 and fetch.READERS.free == fetch.MAX_READERS


class Recording(Readers):
    """Readers that record which statement each session ran (``session`` for the request's
    own, ``reader`` for the others), in the order they started."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.started: list[tuple[str, Executable]] = []

    async def execute(self, statement: Executable, params: object = None) -> Result[object]:
        self.started.append(("session", statement))
        return await super().execute(statement)

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Reader]:
        async with super().reader() as own:
            yield _Recorded(own, self.started)


class _Recorded:
    def __init__(self, own: Any, started: list[tuple[str, Executable]]) -> None:
        self.own = own
        self.started = started

    async def execute(self, statement: Executable, params: object = None) -> Result[Any]:
        self.started.append(("reader", statement))
        result: Result[Any] = await self.own.execute(statement)
        return result


async def test_the_sessions_own_reads_run_beside_and_the_longest_start_first(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    readers = Recording(session, sessionmaker)
    statements = _statements(6)
    open_during: list[int] = []

    async def beside() -> str:
        await asyncio.sleep(0.005)  # the readers are open (each sleeps 10 ms first)
        open_during.append(readers.open)
        return "freshness"

    order = [5, 4, 3, 2, 1, 0]
    rows, other = await fetch.fetch_beside(readers, statements, beside, order)
    assert other == "freshness"
    assert open_during == [fetch.MAX_CONCURRENT]  # ran while readers were open
    # Every statement once, started in the order given, whichever session took it; the
    # request's own took the first (its connection free at 5 ms, the readers' at 10 ms).
    assert [statements.index(s) for _, s in readers.started] == order
    assert readers.started[0][0] == "session"
    assert [[r[0] for r in part] for part in rows][:2] == [[0], [10, 11]]  # statement order
    assert fetch.READERS.free == fetch.MAX_READERS


async def test_a_failing_read_beside_leaves_no_statement_running(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    readers = Readers(session, sessionmaker)

    async def beside() -> None:
        raise RuntimeError("freshness failed")

    try:
        await fetch.fetch_beside(readers, _statements(4), beside)
    except RuntimeError as exc:
        assert str(exc) == "freshness failed"
    else:
        raise AssertionError("the failure was lost")
    assert readers.open == 0 and fetch.READERS.free == fetch.MAX_READERS


def test_statements_over_the_large_tables_start_before_the_rollups() -> None:
    """A series answered by the daily rollups reads a few rows per day: the deals open at t,
    read from the deals table, start first (jobs.start_order)."""
    key = (Segment(), "UTC")
    cheap = select(literal(1))
    compiled = [
        (SeriesJob(key, (), Entity.DEALS, "closed_at", []), Compiled(cheap, [], 1, rolled=True)),
        (TotalsJob(key, Entity.ACCOUNTS, []), Compiled(cheap, [], 0)),
        (TotalsJob(key, Entity.DEALS, []), Compiled(cheap, [], 0)),
        (SeriesJob(key, (), Entity.DEALS, "closed_at", []), Compiled(cheap, [], 1)),
    ]
    assert start_order(compiled) == [3, 2, 0, 1]


async def test_a_statement_given_as_a_function_is_built_when_taken(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """A deferred statement (jobs.Deferred: the daily rollups') is built by the session that
    takes it, after the statements started before it, on readers and on the session alike."""
    plain = _statements(3)
    for concurrent in (True, False):
        readers = Recording(session, sessionmaker)
        readers.concurrent_reads = concurrent
        built_after: list[int] = []

        def later(i: int) -> Executable:
            built_after.append(len(readers.started))  # statements started before its build
            return plain[i]

        statements: list[fetch.Statement] = [lambda: later(0), plain[1], plain[2]]
        rows, _ = await fetch.fetch_beside(readers, statements, None, [1, 2, 0])
        assert built_after == [2], concurrent
        assert [[r[0] for r in part] for part in rows] == [[0], [10, 11], [20, 21, 22]]
