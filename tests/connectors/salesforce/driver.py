"""A minimal stand-in for the engine loop of core.sync.connector's docstring.

It drives streams over an httpx client exactly as documented (prepare, first request,
extract, map, cursor, next request, deletions), refreshing the token once on an auth error,
so streams and the simulator are tested together before and beside the real engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from connectors.salesforce.client import DailyLimitReached as QuotaExhausted  # noqa: F401 (re-exported for tests)
from connectors.salesforce.connector import SalesforceConnector
from core.models.enums import SyncMode
from core.sync.connector import Auth, Cursor, Request, StreamContext
from core.sync.records import AnyRecord, Record


@dataclass
class Http:
    client: httpx.AsyncClient
    connector: SalesforceConnector
    credentials: dict[str, str]
    login_url: str
    auth: Auth | None = None
    calls: int = 0
    refreshes: int = 0
    last_usage: Any = None

    async def login(self, *, refresh: bool = False) -> None:
        self.auth = await self.connector.authenticate(
            self.client, self.credentials, self.login_url, refresh=refresh
        )
        if self.auth.credentials:
            self.credentials = dict(self.auth.credentials)

    async def send(self, request: Request) -> Any:
        if self.auth is None:
            await self.login()
        for attempt in range(2):
            assert self.auth is not None
            url = request.path
            if not url.startswith("http"):
                url = (self.auth.base_url or self.login_url) + url
            self.calls += 1
            response = await self.client.request(
                request.method,
                url,
                params=request.params,
                json=request.json,
                headers=self.auth.headers,
            )
            self.last_usage = self.connector.api_usage(response)
            if self.connector.is_auth_error(response) and attempt == 0:
                self.refreshes += 1
                await self.login(refresh=True)
                continue
            response.raise_for_status()
            return response.json()
        raise AssertionError("unreachable")


@dataclass
class Result:
    records: dict[str, list[AnyRecord]] = field(default_factory=dict)
    deleted: dict[str, list[tuple[type[Record], str]]] = field(default_factory=dict)
    cursors: dict[str, Cursor] = field(default_factory=dict)
    shared: dict[str, Any] = field(default_factory=dict)


async def run(
    http: Http,
    *,
    mode: SyncMode = SyncMode.FULL,
    cursors: dict[str, Cursor] | None = None,
    result: Result | None = None,
) -> Result:
    """One sync of every stream; ``result`` collects what it got even if it stops early."""
    result = result if result is not None else Result()
    shared: dict[str, Any] = result.shared
    for stream in http.connector.streams():
        start = (cursors or {}).get(stream.name) if stream.incremental else None
        ctx = StreamContext("conn", mode, start_cursor=start, shared=shared)
        got = result.records.setdefault(stream.name, [])
        await stream.prepare(http, ctx)
        request: Request | None = stream.first_request(ctx)
        while request is not None:
            page = await http.send(request)
            raws = stream.extract(page)
            for raw in raws:
                got.extend(stream.map(raw, ctx))
                cursor = stream.cursor_of(raw)
                if cursor is not None and (
                    stream.name not in result.cursors or cursor > result.cursors[stream.name]
                ):
                    result.cursors[stream.name] = cursor
            request = stream.next_request(page, request, ctx)
        request = stream.deletions_request(ctx)
        gone = result.deleted.setdefault(stream.name, [])
        while request is not None:
            page = await http.send(request)
            gone.extend(stream.extract_deleted(page))
            request = stream.next_deletions_request(page, request, ctx)
    return result
