"""HubSpot streams read with the engine's database-free reader (core.sync.read_stream)
through a plain httpx client with a bearer token."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from core.sync import ReadResult, Stream, StreamContext, read_stream
from tests.support.driver import Http

__all__ = ["PlainHttp", "ReadResult", "drive"]


class PlainHttp(Http):
    """Sends requests with an httpx client and a bearer token; raises on HTTP errors."""

    def __init__(self, client: httpx.AsyncClient, headers: Mapping[str, str] | None = None):
        super().__init__(client, headers or {"Authorization": "Bearer test-token"})


async def drive(stream: Stream, ctx: StreamContext, http: Any, **_: Any) -> ReadResult:
    """Read ``stream`` to its end as the engine does (``Stream.read``), without a database."""
    return await read_stream(stream, http, ctx)
