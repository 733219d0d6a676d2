"""The stream runner merges consecutive pages into one write batch (core.sync.streams).

A scripted stream yields pages; a recording writer keeps what each transaction wrote; the
cursors are saved in the real database, so a batch's cursor is checked where it is stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

import core.sync.streams as core_streams
from core.models.enums import SyncMode
from core.sync.connector import Cursor, HttpClient, Page, Stream, StreamContext
from core.sync.mappings import FieldMappings
from core.sync.records import AnyRecord, DealRecord, Record
from core.sync.state import load_cursors
from core.sync.streams import StreamJob, StreamRunner
from core.sync.upsert import Quarantined, RecordWriter, WriteCounts
from tests.support.syncing import ConnectionFactory

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _raws(first: int, count: int) -> list[dict[str, Any]]:
    return [
        {"id": str(i), "at": (T0 + timedelta(minutes=i)).isoformat()}
        for i in range(first, first + count)
    ]


class Scripted(Stream):
    """Yields the given pages; records in cursor order (a cursor saved with each batch)."""

    name = "deals"
    incremental = True
    cursor_ordered = True

    def __init__(self, pages: Sequence[Page]) -> None:
        self.pages = pages

    async def read(self, http: HttpClient, ctx: StreamContext) -> AsyncIterator[Page]:
        for page in self.pages:
            yield page

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        return [DealRecord(remote_id=str(raw["id"]))]

    def cursor_of(self, raw: Mapping[str, Any]) -> Cursor | None:
        return Cursor(datetime.fromisoformat(raw["at"]), str(raw["id"]))


class Recording(RecordWriter):
    """Keeps each batch (record ids, deletions) instead of writing it."""

    def __init__(self) -> None:
        super().__init__(workspace_id="w", connection_id="c", source="test")
        self.batches: list[tuple[list[str], list[str]]] = []

    async def write_page(
        self,
        conn: AsyncConnection,
        records: Sequence[AnyRecord],
        now: datetime,
        *,
        deleted: Sequence[tuple[type[Record], str]] = (),
        quarantined: Sequence[Quarantined] = (),
        run_id: int | None = None,
    ) -> WriteCounts:
        ids = [r.remote_id for r in records if isinstance(r, Record)]
        self.batches.append((ids, [remote_id for _, remote_id in deleted]))
        return WriteCounts(inserted=len(ids))


async def _run(
    engine: AsyncEngine, connection_id: str, pages: Sequence[Page]
) -> tuple[Recording, StreamJob]:
    writer = Recording()
    job = StreamJob(
        engine=engine,
        http=None,
        writer=writer,
        mappings=FieldMappings(),
        run_id=0,  # type: ignore[arg-type]
    )
    ctx = StreamContext(connection_id=connection_id, mode=SyncMode.INCREMENTAL)
    await StreamRunner(Scripted(pages), ctx, job).run()
    return writer, job


async def test_pages_are_merged_up_to_the_batch_size_with_the_last_cursor(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    make_connection: ConnectionFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(core_streams, "BATCH_RECORDS", 250)
    connection = await make_connection("http://crm.invalid")
    pages = [Page(raws=_raws(100 * n, 100)) for n in range(6)]

    writer, job = await _run(engine, connection.id, pages)

    assert [len(ids) for ids, _ in writer.batches] == [300, 300]  # 3 pages reach 250
    assert writer.batches[0][0][:2] == ["0", "1"] and writer.batches[1][0][-1] == "599"
    assert job.stats.pages == 2 and job.stats.fetched == 600 and job.stats.inserted == 600
    async with sessionmaker() as session:
        cursor = (await load_cursors(session, connection.id))["deals"]
    assert cursor == Cursor(T0 + timedelta(minutes=599), "599")


async def test_a_record_read_after_a_deletion_is_written_after_it(
    engine: AsyncEngine, make_connection: ConnectionFactory
) -> None:
    connection = await make_connection("http://crm.invalid")
    pages = [
        Page(raws=_raws(1, 2)),
        Page(deleted=[(DealRecord, "2"), (DealRecord, "7")]),
        Page(raws=_raws(2, 1)),  # read again after its deletion: it exists
    ]

    writer, _ = await _run(engine, connection.id, pages)

    # The deletion is written with the records before it, the new read in a later batch
    # (one batch would upsert "2" then delete it).
    assert writer.batches == [(["1", "2"], ["2", "7"]), (["2"], [])]


async def test_a_slow_read_commits_its_pages_after_batch_seconds(
    engine: AsyncEngine, make_connection: ConnectionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(core_streams, "BATCH_SECONDS", 0.0)  # every page has waited enough
    connection = await make_connection("http://crm.invalid")

    writer, job = await _run(
        engine, connection.id, [Page(raws=_raws(0, 3)), Page(raws=_raws(3, 3))]
    )

    assert [ids for ids, _ in writer.batches] == [["0", "1", "2"], ["3", "4", "5"]]
    assert job.stats.pages == 2


class Failing(Recording):
    async def write_page(self, conn: AsyncConnection, *args: Any, **kwargs: Any) -> WriteCounts:
        raise RuntimeError("the database went away")


async def test_a_read_abandoned_by_a_failed_write_is_closed_before_the_error_is_raised(
    engine: AsyncEngine, make_connection: ConnectionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stream's read (an async generator holding a response, follow-ups) is closed as
    the runner gives up on it, not later whenever the event loop finalizes it."""
    monkeypatch.setattr(core_streams, "BATCH_RECORDS", 1)  # the first page is written at once
    connection = await make_connection("http://crm.invalid")
    closed: list[str] = []

    class Held(Scripted):
        async def read(self, http: HttpClient, ctx: StreamContext) -> AsyncIterator[Page]:
            try:
                for page in self.pages:
                    yield page
            finally:
                closed.append("read closed")

    job = StreamJob(engine=engine, http=None, writer=Failing(), mappings=FieldMappings(), run_id=0)  # type: ignore[arg-type]
    ctx = StreamContext(connection_id=connection.id, mode=SyncMode.INCREMENTAL)
    with pytest.raises(RuntimeError, match="went away") as raised:
        await StreamRunner(Held([Page(raws=_raws(0, 2))] * 3), ctx, job).run()
    assert closed == ["read closed"]
    assert raised.value.__traceback__ is not None  # the runner's frame still holds the read
    assert job.stats.error == "the database went away"
