"""Runs one stream: the paging loop with one page of prefetch, mapping, batch commits.

Memory stays constant whatever the stream's size: at most two pages are alive (the one
being written and the next one being fetched, through a queue of size one). Each page is
written in its own transaction together with the cursor it covers, so a crash between
two pages loses nothing (the next run re-reads from the committed cursor) and duplicates
nothing (writes are upserts on the remote id). A quarantined record still advances the
cursor: it is kept in ``record_errors``, and its next edit in the CRM brings it back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import InvalidOperation
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from core.models import utcnow
from core.sync.connector import Cursor, HttpClient, MappingError, Request, Stream, StreamContext
from core.sync.errors import QuotaExhausted
from core.sync.mappings import FieldMappings, apply_mappings
from core.sync.records import AnyRecord, StageRecord
from core.sync.runs import StreamStats
from core.sync.state import save_cursor
from core.sync.textcheck import page_storable, storable, unstorable_text
from core.sync.upsert import Quarantined, RecordWriter, WriteCounts

#: What a broken raw record may raise while mapped: quarantined, never fatal to the run.
MAPPING_FAILURES = (MappingError, KeyError, TypeError, ValueError, InvalidOperation, IndexError)

_END = object()


@dataclass(slots=True)
class StreamJob:
    """Everything the stream runner needs besides the stream itself."""

    engine: AsyncEngine
    http: HttpClient
    writer: RecordWriter
    mappings: FieldMappings
    run_id: int
    #: Serialises write transactions (SQLite has one writer; asyncio tasks share it).
    write_lock: asyncio.Lock | None = None
    #: Called after every committed batch (progress display, tests injecting a crash).
    after_batch: Callable[[str, StreamStats], None] | None = None
    #: Full read that will be followed by a reconciliation sweep: mark every row seen.
    touch_seen: bool = False
    stats: StreamStats = field(default_factory=StreamStats)


async def _prefetched(
    http: HttpClient,
    first: Request | None,
    next_request: Callable[[Any, Request], Request | None],
) -> AsyncIterator[tuple[Any, bool]]:
    """Yield (page, is_last) while the next page is already being fetched.

    The producer fetches page n+1 while page n is consumed, then waits until the consumer
    takes it (``queue.join``): at most two pages are alive at any time.
    """
    if first is None:
        return
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=1)

    async def produce() -> None:
        request: Request | None = first
        try:
            while request is not None:
                page = await http.send(request)
                request = next_request(page, request)
                await queue.put((page, request is None))
                await queue.join()
            await queue.put(_END)
        except Exception as exc:
            await queue.put(exc)

    producer = asyncio.create_task(produce())
    try:
        while True:
            item = await queue.get()
            queue.task_done()
            if item is _END:
                return
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        producer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await producer


def map_page(
    stream: Stream, raws: Sequence[Mapping[str, Any]], ctx: StreamContext, mappings: FieldMappings
) -> tuple[list[AnyRecord], list[Quarantined]]:
    """Map every raw record; those that fail are returned as quarantined, with the reason.

    Unstorable text is looked for over the whole page at once (the usual clean page costs a
    few passes in C); only a page that may hold some is checked record by record.
    """
    outcomes: list[list[AnyRecord] | Quarantined] = []
    map_one = stream.map
    needs_mapping = bool(mappings.deal_attributes or mappings.custom_dimensions)
    for raw in raws:
        try:
            mapped = list(map_one(raw, ctx))
            for record in mapped:
                if needs_mapping or isinstance(record, StageRecord):
                    apply_mappings(record, mappings)
        except MAPPING_FAILURES as exc:
            outcomes.append(_quarantined(stream, raw, exc))
            continue
        outcomes.append(mapped)
    records = [r for o in outcomes if not isinstance(o, Quarantined) for r in o]
    if not page_storable(records):
        outcomes = [_text_checked(stream, raw, o) for raw, o in zip(raws, outcomes, strict=True)]
        records = [r for o in outcomes if not isinstance(o, Quarantined) for r in o]
    return records, [o for o in outcomes if isinstance(o, Quarantined)]


def _text_checked(
    stream: Stream, raw: Any, outcome: list[AnyRecord] | Quarantined
) -> list[AnyRecord] | Quarantined:
    """The raw's records, or the raw quarantined if one of them has unstorable text."""
    if isinstance(outcome, Quarantined):
        return outcome
    for record in outcome:
        problem = unstorable_text(record)
        if problem:
            return _quarantined(stream, raw, MappingError(problem))
    return outcome


def _quarantined(stream: Stream, raw: Any, exc: Exception) -> Quarantined:
    reason = str(exc) if isinstance(exc, MappingError) else f"{type(exc).__name__}: {exc}"
    remote_id = storable(_remote_id(stream, raw))
    return Quarantined(stream.name, remote_id, storable(reason), storable(raw))


def _remote_id(stream: Stream, raw: Any) -> str | None:
    try:
        return stream.remote_id_of(raw)
    except Exception:
        return None


def _page_cursor(stream: Stream, raws: Sequence[Mapping[str, Any]]) -> Cursor | None:
    """The page's highest cursor. A ``cursor_ordered`` stream's is its last record's (the
    first readable from the end): reading every record's cost a twentieth of a sync's CPU.
    Were a CRM to break the order, that cursor would be lower than the highest: the next
    run would read some records again, never skip one."""
    best: Cursor | None = None
    for raw in reversed(raws) if stream.cursor_ordered else raws:
        try:
            cursor = stream.cursor_of(raw)
        except MAPPING_FAILURES:
            continue
        if cursor is not None and (best is None or cursor > best):
            best = cursor
            if stream.cursor_ordered:
                break
    return best


def _newer(cursor: Cursor, than: Cursor) -> bool:
    """Worth saving over ``than``: further on, or another place inside an unordered read."""
    return cursor > than or cursor.resume != than.resume


class StreamRunner:
    """Reads one stream to its end (records, then deletions) and writes it page by page."""

    def __init__(self, stream: Stream, ctx: StreamContext, job: StreamJob) -> None:
        self.stream = stream
        self.ctx = ctx
        self.job = job
        self.stats = job.stats
        self.cursor = ctx.start_cursor

    async def run(self) -> None:
        started = time.monotonic()
        self.stats.status = "RUNNING"
        try:
            await self.stream.prepare(self.job.http, self.ctx)
            await self._read_records()
            if self.stream.finds_deletions:
                await self._read_deletions()
            self.stats.status = "DONE"
        except Exception as exc:
            self.stats.status = "STOPPED" if isinstance(exc, QuotaExhausted) else "FAILED"
            self.stats.error = str(exc) or type(exc).__name__
            raise
        finally:
            self.stats.seconds = time.monotonic() - started

    async def _read_records(self) -> None:
        stream, ctx = self.stream, self.ctx
        pending: Cursor | None = None
        pages = _prefetched(
            self.job.http,
            stream.first_request(ctx),
            lambda page, request: stream.next_request(page, request, ctx),
        )
        async for page, is_last in pages:
            raws = stream.extract(page)
            records, bad = map_page(stream, raws, ctx, self.job.mappings)
            cursor = None
            if stream.incremental:
                page_cursor = _page_cursor(stream, raws)
                if page_cursor is not None and (pending is None or _newer(page_cursor, pending)):
                    pending = page_cursor
                if (
                    (stream.cursor_ordered or is_last)
                    and pending is not None
                    and (self.cursor is None or _newer(pending, self.cursor))
                ):
                    cursor = pending
            self.stats.fetched += len(raws)
            await self._commit(records, bad, cursor)

    async def _read_deletions(self) -> None:
        stream, ctx = self.stream, self.ctx
        pages = _prefetched(
            self.job.http,
            stream.deletions_request(ctx),
            lambda page, request: stream.next_deletions_request(page, request, ctx),
        )
        async for page, _ in pages:
            deleted = stream.extract_deleted(page)
            if deleted:
                await self._commit([], [], None, deleted=deleted)

    async def _commit(
        self,
        records: list[AnyRecord],
        bad: list[Quarantined],
        cursor: Cursor | None,
        *,
        deleted: Sequence[Any] = (),
    ) -> None:
        job = self.job
        lock = job.write_lock or contextlib.nullcontext()
        now: datetime = utcnow()
        async with lock, job.engine.begin() as conn:
            counts: WriteCounts = await job.writer.write_page(
                conn, records, now, deleted=deleted, quarantined=bad, run_id=job.run_id
            )
            if job.touch_seen and records:
                await job.writer.touch(conn, records, now)
            if cursor is not None:
                await save_cursor(conn, self.ctx.connection_id, self.stream.name, cursor, now)
        if cursor is not None:
            self.cursor = cursor
        stats = self.stats
        stats.pages += 1
        stats.inserted += counts.inserted
        stats.updated += counts.updated
        stats.unchanged += counts.unchanged
        stats.deleted += counts.deleted
        stats.quarantined += counts.quarantined
        if job.after_batch is not None:
            job.after_batch(self.stream.name, stats)
