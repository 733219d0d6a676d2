"""The writer reads nothing stored for the rows it knows are new (a first load), reads the
rows a run wrote again, and refuses a page whose rows taken for new turn out stored
(core.sync.unstored)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_sessionmaker
from core.metrics import rollup_deltas, stretch_refresh
from core.sync.records import ActivityRecord, DealRecord
from core.sync.unstored import StoredRowTakenForNew
from core.sync.upsert import RecordWriter
from tests.core.metrics.factory import Seed
from tests.core.metrics.rollup_checks import assert_maintained

ORIGIN = datetime(2026, 3, 1, tzinfo=UTC)


def _call(remote_id: str, days: int = 0) -> ActivityRecord:
    return ActivityRecord(
        remote_id=remote_id, type="CALL", remote_created_at=ORIGIN + timedelta(days=days)
    )


def _won(remote_id: str, account: str) -> DealRecord:
    return DealRecord(
        remote_id=remote_id, status="WON", account_remote_id=account, currency="USD",
        remote_created_at=ORIGIN, closed_at=ORIGIN + timedelta(days=3),
    )  # fmt: skip


def _spy_reads(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The ids each read of stored deals or activities (before a write) is given."""
    reads: list[list[str]] = []

    def spy(module: Any) -> None:
        real = module.stored_states

        def stored_states(conn: Any, *args: Any) -> Any:
            reads.append(sorted(args[-1]))
            return real(conn, *args)

        monkeypatch.setattr(module, "stored_states", stored_states)

    spy(rollup_deltas)
    spy(stretch_refresh)
    return reads


async def _seed(engine: AsyncEngine) -> tuple[Seed, RecordWriter]:
    async with create_sessionmaker(engine)() as session:
        seed = await Seed.create(session)
        await session.commit()
    writer = RecordWriter(
        workspace_id=seed.workspace.id, connection_id=seed.connection.id, source="hubspot"
    )
    return seed, writer


async def test_a_first_load_reads_only_the_rows_it_wrote_before(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed, writer = await _seed(engine)
    ws = seed.workspace.id
    reads = _spy_reads(monkeypatch)
    # The second page's stored rows are read (a deal twice: by the stretches and the
    # rollups), its new ones not.
    pages = [
        ([_call("a0"), _call("a1"), _won("d0", "acc0")], []),
        (
            [_call("a1", 2), _call("a2"), _won("d0", "acc1"), _won("d1", "acc0")],
            [["a1"], ["d0"], ["d0"]],
        ),
    ]
    for n, (page, expected) in enumerate(pages):
        async with engine.begin() as conn:
            counts = await writer.write_page(conn, page, ORIGIN + timedelta(minutes=n))
            assert sorted(reads) == sorted(expected), n
            await assert_maintained(conn, ws)
        reads.clear()
    assert (counts.inserted, counts.updated) == (2, 2)


async def test_a_row_stored_behind_the_writers_back_fails_its_page(engine: AsyncEngine) -> None:
    """The run took the table for empty, then a row it never wrote appeared (here an ORM
    insert): the page that takes it for new is refused, nothing of it is kept, and the
    next page reads it and keeps the rollups."""
    seed, writer = await _seed(engine)
    ws = seed.workspace.id
    async with engine.begin() as conn:
        await writer.write_page(conn, [_call("a0")], ORIGIN)
    async with create_sessionmaker(engine)() as session:
        other = Seed(session, seed.workspace, seed.connection)
        await other.activity(remote_id="a1", remote_created_at=ORIGIN)
        await session.commit()
    async with engine.connect() as conn:
        await conn.begin()
        with pytest.raises(StoredRowTakenForNew):
            await writer.write_page(conn, [_call("a1", 1)], ORIGIN)
        await conn.rollback()
    async with engine.begin() as conn:
        counts = await writer.write_page(conn, [_call("a1", 1), _call("a2")], ORIGIN)
        assert (counts.inserted, counts.updated) == (1, 1)
        await assert_maintained(conn, ws)


async def test_a_full_read_stamps_only_the_rows_its_page_did_not_write(
    engine: AsyncEngine,
) -> None:
    """Rows a page wrote already carry the page's time: touching them again would write
    every row of a first load twice. Unchanged rows, and kept ones, are stamped."""
    _, writer = await _seed(engine)
    page = [_call("a0"), _call("a1"), _won("d0", "acc0")]
    async with engine.begin() as conn:
        await writer.write_page(conn, page, ORIGIN)
        assert await writer.touch(conn, page, ORIGIN) == 0
    later = ORIGIN + timedelta(minutes=1)
    async with engine.begin() as conn:
        await writer.write_page(conn, [_call("a0", 3), *page[1:]], later)
        assert await writer.touch(conn, page, later, kept=[(ActivityRecord, "a9")]) == 2
