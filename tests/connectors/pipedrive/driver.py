"""Drives one stream exactly as the contract of core.sync.connector describes the engine
doing it, over a real httpx client (mocked by respx or an ASGI transport); no database."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from core.sync.connector import Cursor, MappingError, Request, Stream, StreamContext
from core.sync.records import AnyRecord, Record


class Http:
    """The engine's HttpClient as streams see it: JSON in, errors raised."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str] | None = None):
        self.client = client
        self.headers = headers or {}
        self.sent: list[Request] = []

    async def send(self, request: Request) -> Any:
        self.sent.append(request)
        response = await self.client.request(
            request.method,
            request.path,
            params=dict(request.params or {}),
            json=request.json,
            headers=self.headers,
        )
        response.raise_for_status()
        return response.json()


@dataclass
class Result:
    records: list[AnyRecord] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cursor: Cursor | None = None
    deleted: list[tuple[type[Record], str]] = field(default_factory=list)


async def run_stream(stream: Stream, http: Http, ctx: StreamContext) -> Result:
    result = Result()
    await stream.prepare(http, ctx)
    request: Request | None = stream.first_request(ctx)
    while request is not None:
        page = await http.send(request)
        raws = stream.extract(page)
        for raw in raws:
            try:
                result.records.extend(stream.map(raw, ctx))
            except MappingError as exc:
                result.errors.append(f"{stream.remote_id_of(raw)}: {exc}")
            cursor = stream.cursor_of(raw)
            if cursor is not None and (result.cursor is None or cursor > result.cursor):
                result.cursor = cursor
        request = stream.next_request(page, request, ctx)
    request = stream.deletions_request(ctx)
    while request is not None:
        page = await http.send(request)
        result.deleted.extend(stream.extract_deleted(page))
        request = stream.next_deletions_request(page, request, ctx)
    return result
