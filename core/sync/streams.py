"""Runs one stream: consumes ``Stream.read``'s pages, maps them, commits page by page.

Memory stays constant whatever the stream's size: the default read keeps at most two
pages alive (core.sync.declarative). Each page is written in its own transaction together
with the cursor it covers, so a crash between two pages loses nothing (the next run
re-reads from the committed cursor) and duplicates nothing (writes are upserts on the
remote id). A quarantined record still advances the cursor: it is kept in
``record_errors``, and its next edit in the CRM brings it back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from core.models import utcnow
from core.sync.capabilities import CapabilityUnavailable
from core.sync.connector import Cursor, HttpClient, MappingError, Page, Stream, StreamContext
from core.sync.errors import QuotaExhausted
from core.sync.mappings import FieldMappings, apply_mappings
from core.sync.pagecursor import MAPPING_FAILURES, page_cursor
from core.sync.records import AnyRecord, StageRecord
from core.sync.runs import StreamStats, StreamStatus
from core.sync.state import save_cursor
from core.sync.textcheck import page_storable, storable, unstorable_text
from core.sync.upsert import Quarantined, RecordWriter, WriteCounts


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


def map_page(
    stream: Stream,
    raws: Sequence[Mapping[str, Any]],
    ctx: StreamContext,
    mappings: FieldMappings,
    *,
    text_clean: bool = False,
) -> tuple[list[AnyRecord], list[Quarantined]]:
    """Map every raw record; those that fail are returned as quarantined, with the reason.

    Unstorable text is looked for over the whole page at once (the usual clean page costs a
    few passes in C); only a page that may hold some is mapped again record by record, to
    find which. ``text_clean``: the raws hold no NUL nor lone surrogate
    (``SyncHttp.text_clean``), so only the lengths of bounded columns are checked, unless
    the mappings rename custom fields (a dimension name is text from the connection, not
    from the CRM).
    """
    map_one = stream.map
    needs_mapping = bool(mappings.deal_attributes or mappings.custom_dimensions)
    records: list[AnyRecord] = []
    bad: list[Quarantined] = []
    if needs_mapping:
        for raw in raws:
            try:
                mapped = _mapped(map_one, raw, ctx, mappings, needs_mapping)
            except MAPPING_FAILURES as exc:
                bad.append(_quarantined(stream, raw, exc))
                continue
            records += mapped
    else:
        for raw in raws:  # _mapped inlined: a call per raw saved on the usual page
            try:
                produced = map_one(raw, ctx)
                mapped = produced if type(produced) is list else list(produced)
            except MAPPING_FAILURES as exc:
                bad.append(_quarantined(stream, raw, exc))
                continue
            records += mapped
        _stage_kinds(records, mappings)
    if page_storable(records, text_clean=text_clean and not mappings.custom_dimensions):
        return records, bad
    return _checked_one_by_one(stream, raws, ctx, mappings)


def _mapped(
    map_one: Callable[[Mapping[str, Any], StreamContext], Iterable[AnyRecord]],
    raw: Mapping[str, Any],
    ctx: StreamContext,
    mappings: FieldMappings,
    needs_mapping: bool,
) -> list[AnyRecord]:
    """One raw's records, with the connection's mappings applied when it has some."""
    mapped = map_one(raw, ctx)
    if type(mapped) is not list:
        mapped = list(mapped)
    if needs_mapping:
        for record in mapped:
            apply_mappings(record, mappings)
    return mapped


def _stage_kinds(records: list[AnyRecord], mappings: FieldMappings) -> None:
    """Stages' kinds, the one mapping applied without a connection's own mappings (it
    cannot fail: a guess). Most pages hold no stage: one pass in C over their types."""
    if any(issubclass(kind, StageRecord) for kind in set(map(type, records))):
        for record in records:
            if isinstance(record, StageRecord):
                apply_mappings(record, mappings)


def _checked_one_by_one(
    stream: Stream,
    raws: Sequence[Mapping[str, Any]],
    ctx: StreamContext,
    mappings: FieldMappings,
) -> tuple[list[AnyRecord], list[Quarantined]]:
    """:func:`map_page` for a page that may hold unstorable text: each raw mapped again
    (mappings are pure) and its records checked, so only the raws with such text are
    quarantined."""
    needs_mapping = bool(mappings.deal_attributes or mappings.custom_dimensions)
    records: list[AnyRecord] = []
    bad: list[Quarantined] = []
    for raw in raws:
        try:
            mapped = _mapped(stream.map, raw, ctx, mappings, needs_mapping)
        except MAPPING_FAILURES as exc:
            bad.append(_quarantined(stream, raw, exc))
            continue
        if not needs_mapping:
            _stage_kinds(mapped, mappings)
        outcome = _text_checked(stream, raw, mapped)
        if isinstance(outcome, Quarantined):
            bad.append(outcome)
        else:
            records += outcome
    return records, bad


def _text_checked(
    stream: Stream, raw: Any, records: list[AnyRecord]
) -> list[AnyRecord] | Quarantined:
    """The raw's records, or the raw quarantined if one of them has unstorable text."""
    for record in records:
        problem = unstorable_text(record)
        if problem:
            return _quarantined(stream, raw, MappingError(problem))
    return records


def _quarantined(stream: Stream, raw: Any, exc: Exception) -> Quarantined:
    reason = str(exc) if isinstance(exc, MappingError) else f"{type(exc).__name__}: {exc}"
    remote_id = storable(_remote_id(stream, raw))
    return Quarantined(stream.name, remote_id, storable(reason), storable(raw))


def _remote_id(stream: Stream, raw: Any) -> str | None:
    try:
        return stream.remote_id_of(raw)
    except Exception:
        return None


def _newer(cursor: Cursor, than: Cursor) -> bool:
    """Worth saving over ``than``: further on, or another place inside an unordered read."""
    return cursor > than or cursor.resume != than.resume


class CursorTracker:
    """Which cursor to save with each page of one stream.

    A page's own ``cursor`` is saved with it. Otherwise the page's highest
    ``cursor_of`` is pending, saved with the page when the stream is ``cursor_ordered``
    (a crashed run resumes where it stopped), else with the ``final`` page or, failing
    that, when the read ends. Nothing is saved that is not newer than what is saved.
    """

    def __init__(self, stream: Stream, start: Cursor | None) -> None:
        self.stream = stream
        self.saved = start
        self.pending: Cursor | None = None

    def for_page(self, page: Page) -> Cursor | None:
        """The cursor to commit with ``page`` (None: none now)."""
        if page.cursor is not None:
            self.pending = None
            return page.cursor if self._newer(page.cursor) else None
        if not self.stream.incremental:
            return None
        found = page_cursor(self.stream, page.raws) if page.raws else None
        if found is not None and (self.pending is None or _newer(found, self.pending)):
            self.pending = found
        if (self.stream.cursor_ordered or page.final) and self.pending is not None:
            cursor, self.pending = self.pending, None
            return cursor if self._newer(cursor) else None
        return None

    def leftover(self) -> Cursor | None:
        """A computed cursor no page carried yet (a read that marked no page ``final``)."""
        cursor, self.pending = self.pending, None
        return cursor if cursor is not None and self._newer(cursor) else None

    def committed(self, cursor: Cursor) -> None:
        self.saved = cursor

    def _newer(self, cursor: Cursor) -> bool:
        return self.saved is None or _newer(cursor, self.saved)


#: A write batch is committed once it holds this many raw records (or deletions)...
BATCH_RECORDS = 2_000
#: ... or once its first page has waited this long (a rate-limited read still shows its
#: progress every second or so).
BATCH_SECONDS = 1.0


class _Batch:
    """Consecutive pages of one stream written in one transaction.

    Why: a transaction costs a fixed handful of round trips (begin, the staging COPY, the
    upsert, the data version, the cursor, commit), several times the cost of mapping a
    100-record page; merging pages up to :data:`BATCH_RECORDS` pays it once. The batch's
    cursor is its last page's (the newest the tracker handed out), written with the
    batch's records: a crash loses the uncommitted pages and their cursor together, and
    the next run reads them again.
    """

    __slots__ = ("bad", "count", "cursor", "deleted", "kept", "records", "since")

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.records: list[AnyRecord] = []
        self.bad: list[Quarantined] = []
        self.deleted: list[Any] = []
        self.kept: list[Any] = []
        self.cursor: Cursor | None = None
        self.count = 0
        self.since: float | None = None

    def add(
        self,
        page: Page,
        records: list[AnyRecord],
        bad: list[Quarantined],
        cursor: Cursor | None,
    ) -> None:
        self.records += records
        self.bad += bad
        self.deleted += page.deleted
        self.kept += page.kept
        if cursor is not None:
            self.cursor = cursor
        self.count += len(page.raws) + len(page.deleted) + len(page.kept)
        if self.since is None:
            self.since = time.monotonic()

    def empty(self) -> bool:
        return self.since is None

    def full(self, records: int, seconds: float) -> bool:
        return self.since is not None and (
            self.count >= records or time.monotonic() - self.since >= seconds
        )


@contextlib.asynccontextmanager
async def _closing(pages: AsyncIterator[Page]) -> AsyncIterator[AsyncIterator[Page]]:
    """``contextlib.aclosing`` for a stream's read: closes it on the way out when it can be
    closed (an async generator, what reads are); a plain iterator is left as it is."""
    try:
        yield pages
    finally:
        close = getattr(pages, "aclose", None)
        if close is not None:
            await close()


class StreamRunner:
    """Reads one stream to its end (records, then deletions) and writes it page by page."""

    def __init__(self, stream: Stream, ctx: StreamContext, job: StreamJob) -> None:
        self.stream = stream
        self.ctx = ctx
        self.job = job
        self.stats = job.stats
        self.cursors = CursorTracker(stream, ctx.start_cursor)

    @property
    def cursor(self) -> Cursor | None:
        """The stream's last committed cursor."""
        return self.cursors.saved

    async def run(self) -> None:
        """Read and write every page. A missing capability ends the stream SKIPPED (and
        re-raises for the runner to store it); other errors FAILED (STOPPED at quota)."""
        started = time.monotonic()
        self.stats.status = StreamStatus.RUNNING
        batch = _Batch()
        try:
            # aclosing: a read abandoned by an error here is closed at once (its open
            # response and follow-ups released), not whenever the generator is collected.
            async with _closing(self.stream.read(self.job.http, self.ctx)) as pages:
                async for page in pages:
                    if page.raws and batch.deleted:
                        # Deletions are written after the batch's records: a record read again
                        # after its deletion must not be deleted by it.
                        await self._write(batch)
                    records, bad = (
                        map_page(
                            self.stream,
                            page.raws,
                            self.ctx,
                            self.job.mappings,
                            text_clean=getattr(self.job.http, "text_clean", False),
                        )
                        if page.raws
                        else ([], [])
                    )
                    self.stats.fetched += len(page.raws)
                    batch.add(page, records, bad, self.cursors.for_page(page))
                    if batch.full(BATCH_RECORDS, BATCH_SECONDS):
                        await self._write(batch)
            if not batch.empty():
                await self._write(batch)
            leftover = self.cursors.leftover()
            if leftover is not None:
                await self._commit([], [], leftover, count_page=False)
            self.stats.status = StreamStatus.DONE
        except CapabilityUnavailable as exc:
            self.stats.status = StreamStatus.SKIPPED
            self.stats.error = exc.reason
            raise
        except Exception as exc:
            self.stats.status = (
                StreamStatus.STOPPED if isinstance(exc, QuotaExhausted) else StreamStatus.FAILED
            )
            self.stats.error = str(exc) or type(exc).__name__
            raise
        finally:
            self.stats.seconds = time.monotonic() - started

    async def _write(self, batch: _Batch) -> None:
        await self._commit(
            batch.records, batch.bad, batch.cursor, deleted=batch.deleted, kept=batch.kept
        )
        batch.clear()

    async def _commit(
        self,
        records: list[AnyRecord],
        bad: list[Quarantined],
        cursor: Cursor | None,
        *,
        deleted: Sequence[Any] = (),
        kept: Sequence[Any] = (),
        count_page: bool = True,
    ) -> None:
        job = self.job
        lock = job.write_lock or contextlib.nullcontext()
        now: datetime = utcnow()
        async with lock, job.engine.begin() as conn:
            counts: WriteCounts = await job.writer.write_page(
                conn, records, now, deleted=deleted, quarantined=bad, run_id=job.run_id
            )
            if job.touch_seen and (records or kept):
                await job.writer.touch(conn, records, now, kept=kept)
            if cursor is not None:
                await save_cursor(conn, self.ctx.connection_id, self.stream.name, cursor, now)
        if cursor is not None:
            self.cursors.committed(cursor)
        stats = self.stats
        if count_page:
            stats.pages += 1
        stats.inserted += counts.inserted
        stats.updated += counts.updated
        stats.unchanged += counts.unchanged
        stats.deleted += counts.deleted
        stats.quarantined += counts.quarantined
        if job.after_batch is not None:
            job.after_batch(self.stream.name, stats)
