"""Pipedrive streams read with ``core.sync.read_stream`` (the engine's own reading, no
database), through an HttpClient that classifies "not on this account" answers the way
the engine's does (``Request.capability`` + ``PipedriveConnector.unavailable_reason``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.pipedrive.connector import PipedriveConnector
from core.sync import read_stream
from core.sync.capabilities import CapabilityUnavailable
from core.sync.connector import Cursor, Request, Stream, StreamContext
from core.sync.records import AnyRecord, Record
from tests.support.driver import Http as _Http

__all__ = ["Http", "Result", "run_stream"]


class Http(_Http):
    """JSON in, HTTP errors raised, no retries; capability answers classified."""

    async def send(self, request: Request) -> Any:
        self.sent.append(request)
        response = await self.client.request(
            request.method,
            request.path,
            params=dict(request.params) if request.params is not None else None,
            json=request.json,
            headers=self.headers,
        )
        if request.capability is not None and 400 <= response.status_code < 500:
            reason = PipedriveConnector().unavailable_reason(response)
            if reason is not None and response.status_code != 429:
                raise CapabilityUnavailable(request.capability, reason)
        response.raise_for_status()
        return response.json()


@dataclass
class Result:
    records: list[AnyRecord] = field(default_factory=list)
    #: "<remote id>: <reason>" of each quarantined item.
    errors: list[str] = field(default_factory=list)
    cursor: Cursor | None = None
    deleted: list[tuple[type[Record], str]] = field(default_factory=list)
    pages: int = 0


async def run_stream(stream: Stream, http: Any, ctx: StreamContext) -> Result:
    read = await read_stream(stream, http, ctx)
    return Result(
        records=list(read.records),
        errors=[f"{q.remote_id}: {q.reason}" for q in read.quarantined],
        cursor=read.cursor,
        deleted=list(read.deleted),
        pages=read.pages,
    )
