"""A minimal stand-in for the engine loop of core.sync.connector's docstring.

Used where the real engine is not needed (respx pages, a simulator over ASGI): it drives
one stream exactly as the contract describes (prepare, first request, extract, map,
cursor, next request, deletions) over a real httpx client; no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from core.sync.connector import Cursor, MappingError, Request, Stream, StreamContext
from core.sync.records import AnyRecord, Record


class Http:
    """The engine's HttpClient as streams see it: JSON in, HTTP errors raised, no retries."""

    def __init__(self, client: httpx.AsyncClient, headers: Mapping[str, str] | None = None):
        self.client = client
        self.headers = dict(headers or {})
        self.sent: list[Request] = []

    async def send(self, request: Request) -> Any:
        self.sent.append(request)
        response = await self.client.request(
            request.method,
            request.path,
            params=dict(request.params) if request.params is not None else None,
            json=request.json,
            headers=self.headers,
        )
        response.raise_for_status()
        return response.json()


@dataclass
class Result:
    records: list[AnyRecord] = field(default_factory=list)
    #: ``remote id: reason`` of the items whose mapping failed (with ``quarantine``).
    errors: list[str] = field(default_factory=list)
    cursor: Cursor | None = None
    deleted: list[tuple[type[Record], str]] = field(default_factory=list)
    pages: int = 0


async def drive(
    stream: Stream,
    ctx: StreamContext,
    http: Any,
    *,
    prefetch: bool = False,
    quarantine: bool = False,
) -> Result:
    """Read ``stream`` to its end. ``prefetch``: ask for the next request before extracting
    a page, as the engine does (it fetches page n+1 while page n is written).
    ``quarantine``: a MappingError is noted in ``errors`` and the item skipped, as the
    engine does; otherwise it propagates."""
    result = Result()
    await stream.prepare(http, ctx)
    request: Request | None = stream.first_request(ctx)
    while request is not None:
        page = await http.send(request)
        result.pages += 1
        following = stream.next_request(page, request, ctx) if prefetch else None
        for raw in stream.extract(page):
            try:
                result.records.extend(stream.map(raw, ctx))
            except MappingError as exc:
                if not quarantine:
                    raise
                result.errors.append(f"{stream.remote_id_of(raw)}: {exc}")
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
