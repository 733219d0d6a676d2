"""The default ``Stream.read``: the declarative request/extract path with one page of
prefetch.

Memory stays constant whatever the stream's size: at most two pages are alive (the one
the engine is writing and the next one being fetched, through a queue of size one).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from core.tasks import stop_task

if TYPE_CHECKING:
    from core.sync.connector import HttpClient, Page, Request, Stream, StreamContext

_END = object()


async def prefetched(
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
        await stop_task(producer)


async def read_declarative(
    stream: Stream, http: HttpClient, ctx: StreamContext
) -> AsyncIterator[Page]:
    """``prepare``, the record pages (the last one ``final``), then the deletion pages."""
    from core.sync.connector import Page

    await stream.prepare(http, ctx)
    pages = prefetched(
        http,
        stream.first_request(ctx),
        lambda page, request: stream.next_request(page, request, ctx),
    )
    async for page, is_last in pages:
        yield Page(raws=stream.extract(page), final=is_last)
    if not stream.finds_deletions:
        return
    deletions = prefetched(
        http,
        stream.deletions_request(ctx),
        lambda page, request: stream.next_deletions_request(page, request, ctx),
    )
    async for page, _ in deletions:
        deleted = stream.extract_deleted(page)
        if deleted:
            yield Page(deleted=deleted)
