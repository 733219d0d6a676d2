"""Every stream of the connector read with ``core.sync.read_stream`` (no database) over an
httpx client: a small HttpClient that refreshes the token once on an auth error and turns
errors into what the engine raises (CapabilityUnavailable, RequestFailed), so streams and
the simulator are tested together beside the real engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from connectors.salesforce.client import DailyLimitReached as QuotaExhausted  # noqa: F401 (re-exported for tests)
from connectors.salesforce.connector import SalesforceConnector
from core.models.enums import SyncMode
from core.sync.capabilities import CapabilityUnavailable
from core.sync.connector import Auth, Cursor, Request, StreamContext, TextBody
from core.sync.errors import RequestFailed
from core.sync.records import AnyRecord, Record
from core.sync.streams import CursorTracker, map_page


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
            if response.is_error:
                reason = self.connector.unavailable_reason(response) if request.capability else None
                if reason is not None:
                    raise CapabilityUnavailable(request.capability or "", reason)
                raise RequestFailed(
                    f"HTTP {response.status_code}: {response.text[:200]}",
                    status=response.status_code,
                )
            if request.decode == "text":
                return TextBody(response.text, {k.lower(): v for k, v in response.headers.items()})
            return response.json()
        raise AssertionError("unreachable")


@dataclass
class Result:
    records: dict[str, list[AnyRecord]] = field(default_factory=dict)
    deleted: dict[str, list[tuple[type[Record], str]]] = field(default_factory=dict)
    cursors: dict[str, Cursor] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


async def run(
    http: Http,
    *,
    mode: SyncMode = SyncMode.FULL,
    cursors: dict[str, Cursor] | None = None,
    result: Result | None = None,
) -> Result:
    """One sync of every stream; ``result`` collects what it got even if it stops early."""
    result = result if result is not None else Result()
    state = http.connector.new_state({})
    for stream in http.connector.streams():
        start = (cursors or {}).get(stream.name) if stream.incremental else None
        ctx = StreamContext("conn", mode, start_cursor=start, state=state)
        got = result.records.setdefault(stream.name, [])
        gone = result.deleted.setdefault(stream.name, [])
        # read_stream's loop, page by page, so what was read before a stop is kept
        tracker = CursorTracker(stream, start)
        if start is not None:
            result.cursors[stream.name] = start
        try:
            async for page in stream.read(http, ctx):
                records, _ = map_page(stream, page.raws, ctx, ctx.mappings)
                got.extend(records)
                gone.extend(page.deleted)
                cursor = tracker.for_page(page)
                if cursor is not None:
                    tracker.committed(cursor)
                    result.cursors[stream.name] = cursor
        except CapabilityUnavailable as exc:
            result.skipped[stream.name] = exc.reason
            continue
        leftover = tracker.leftover()
        if leftover is not None:
            result.cursors[stream.name] = leftover
    return result
