"""``read_stream``: one stream read to its end with no database, for tests and tools.

It drives ``Stream.read`` exactly as the engine does (the same mapping, quarantine and
cursor rules of core.sync.streams) and collects what the engine would write.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.sync.connector import Cursor, HttpClient, Stream, StreamContext
from core.sync.records import AnyRecord, Record
from core.sync.streams import CursorTracker, map_page
from core.sync.upsert import Quarantined


@dataclass(slots=True)
class ReadResult:
    """What one read of one stream produced."""

    records: list[AnyRecord] = field(default_factory=list)
    deleted: list[tuple[type[Record], str]] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    #: The cursor the engine would have saved last (None: none newer than the start).
    cursor: Cursor | None = None
    pages: int = 0


async def read_stream(stream: Stream, http: HttpClient, ctx: StreamContext) -> ReadResult:
    """Read ``stream`` through ``http`` (any HttpClient: SyncHttp, a test double)."""
    result = ReadResult()
    cursors = CursorTracker(stream, ctx.start_cursor)
    async for page in stream.read(http, ctx):
        result.pages += 1
        if page.raws:
            records, bad = map_page(stream, page.raws, ctx, ctx.mappings)
            result.records.extend(records)
            result.quarantined.extend(bad)
        result.deleted.extend(page.deleted)
        cursor = cursors.for_page(page)
        if cursor is not None:
            cursors.committed(cursor)
            result.cursor = cursor
    leftover = cursors.leftover()
    if leftover is not None:
        cursors.committed(leftover)
        result.cursor = leftover
    return result
