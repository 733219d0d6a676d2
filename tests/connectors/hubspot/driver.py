"""A minimal stand-in for the engine loop of core.sync.connector's docstring.

Used where the real engine is not needed (respx pages, the simulator over ASGI): it sends
each request, extracts, maps, tracks the cursor and follows next/deletion requests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from core.sync.connector import Cursor, Request, Stream, StreamContext
from core.sync.records import AnyRecord, Record


class PlainHttp:
    """Sends requests with an httpx client; raises on HTTP errors (no retries)."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str] | None = None):
        self.client = client
        self.headers = headers or {"Authorization": "Bearer test-token"}
        self.sent: list[Request] = []

    async def send(self, request: Request) -> Any:
        self.sent.append(request)
        response = await self.client.request(
            request.method,
            request.path,
            params=request.params,
            json=request.json,
            headers=self.headers,
        )
        response.raise_for_status()
        return response.json()


@dataclass
class Result:
    records: list[AnyRecord] = field(default_factory=list)
    cursor: Cursor | None = None
    deleted: list[tuple[type[Record], str]] = field(default_factory=list)
    pages: int = 0


async def drive(
    stream: Stream, ctx: StreamContext, http: PlainHttp, *, prefetch: bool = False
) -> Result:
    """Read ``stream`` to its end. ``prefetch``: ask for the next request before extracting
    a page, as the engine does (it fetches page n+1 while page n is written)."""
    result = Result()
    await stream.prepare(http, ctx)
    request: Request | None = stream.first_request(ctx)
    while request is not None:
        page = await http.send(request)
        result.pages += 1
        following = stream.next_request(page, request, ctx) if prefetch else None
        for raw in stream.extract(page):
            result.records.extend(stream.map(raw, ctx))
            cursor = stream.cursor_of(raw)
            if cursor is not None and (result.cursor is None or cursor > result.cursor):
                result.cursor = cursor
        request = following if prefetch else stream.next_request(page, request, ctx)
    request = stream.deletions_request(ctx)
    while request is not None:
        page = await http.send(request)
        result.deleted.extend(stream.extract_deleted(page))
        request = stream.next_deletions_request(page, request, ctx)
    return result
