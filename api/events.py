"""``GET /events/sync-finished``: a server-sent event each time a sync of a workspace ends.

A dashboard keeps this stream open and refreshes when new data lands, instead of polling
the metrics. Tenant-scoped like GraphQL: the bearer API key decides which workspaces may be
watched (``?workspaceId=`` repeated; default every readable one); a workspace outside them
answers 404 exactly like a missing one, and a key revoked meanwhile ends the stream.

Where the moment comes from: ``sync_runs`` is the truth, read every :data:`POLL_SECONDS`
(the run may have ended in a ``crmkpi worker`` process), and the ``crmkpi_sync_finished``
hook, which fires in the process that ran the sync (the embedded default: this one), wakes
the streams at once. Each event is::

    event: syncFinished
    id: <run id>
    data: {"workspaceId", "connectionId", "runId", "status", "mode", "finishedAt"}

Browsers' EventSource cannot send an Authorization header, and keys never go in URLs:
read the stream with fetch() (the dashboard's events.js does).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.errors import NotFoundError
from core.models import SyncRun
from core.plugins import hookimpl
from core.tenancy import Viewer, authenticate

#: How often the stream reads sync_runs (runs ended in other processes show within this).
POLL_SECONDS = 5.0
#: A comment line this often keeps proxies from closing an idle stream.
KEEPALIVE_SECONDS = 15.0
#: How often an open stream checks that its key is still valid (and still reads them all).
KEY_CHECK_SECONDS = 30.0
PATH = "/events/sync-finished"

router = APIRouter(include_in_schema=False)


class SyncFinishedHub:
    """Wakes every open stream of this process when a sync ends here (a pluggy plugin)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiters: set[asyncio.Event] = set()
        #: Counts the syncs ended here, so a stream busy reading when one ends (not waiting
        #: yet) still sees it at its next wait instead of sleeping a whole poll.
        self.generation = 0

    @hookimpl
    def crmkpi_sync_finished(
        self, connection_id: str, run_id: int, status: str, stats: dict[str, Any]
    ) -> None:
        # The hook may fire from another thread (a sync run in a thread's loop).
        self.loop.call_soon_threadsafe(self.wake)

    def wake(self) -> None:
        self.generation += 1
        for event in self.waiters:
            event.set()

    async def wait(self, seconds: float, seen: int) -> int:
        """Until a sync ends in this process after generation ``seen`` (at once if one
        already has), or ``seconds`` pass; returns the generation now."""
        if self.generation != seen:
            return self.generation
        event = asyncio.Event()
        self.waiters.add(event)
        try:
            await asyncio.wait_for(event.wait(), seconds)
        except TimeoutError:
            pass
        finally:
            self.waiters.discard(event)
        return self.generation


def hub_of(request: Request) -> SyncFinishedHub:
    """The app's hub, registered with its plugin manager on first use."""
    hub: SyncFinishedHub | None = getattr(request.app.state, "sync_finished_hub", None)
    if hub is None:
        hub = SyncFinishedHub(asyncio.get_running_loop())
        request.app.state.crmkpi.plugins.register(hub, name=f"api.events.{id(hub)}")
        request.app.state.sync_finished_hub = hub
    return hub


def _error(status: int, code: str, message: str) -> Response:
    body = {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status)


async def _viewer(
    sessionmaker: async_sessionmaker[AsyncSession], request: Request, *, touch: bool = True
) -> Viewer | None:
    """The key's viewer; ``touch=False`` (the stream's re-checks) leaves last_used_at alone,
    so an open stream does not write to the database."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    async with sessionmaker() as session:
        viewer = await authenticate(session, token.strip())
        if touch:
            await session.commit()
    return viewer


def _event(run: SyncRun) -> str:
    data = {
        "workspaceId": run.workspace_id,
        "connectionId": run.connection_id,
        "runId": run.id,
        "status": run.status,
        "mode": run.mode,
        "finishedAt": run.finished_at.isoformat() if run.finished_at else None,
    }
    return f"event: syncFinished\nid: {run.id}\ndata: {json.dumps(data)}\n\n"


async def _last_finished(
    sessionmaker: async_sessionmaker[AsyncSession], workspace_ids: Sequence[str]
) -> datetime | None:
    async with sessionmaker() as session:
        found: datetime | None = await session.scalar(
            select(func.max(SyncRun.finished_at)).where(SyncRun.workspace_id.in_(workspace_ids))
        )
    return found


async def _finished_since(
    sessionmaker: async_sessionmaker[AsyncSession],
    workspace_ids: Sequence[str],
    since: datetime | None,
) -> list[SyncRun]:
    """Runs of these workspaces that ended after ``since`` (every ended one when None)."""
    stmt = select(SyncRun).where(
        SyncRun.workspace_id.in_(workspace_ids), SyncRun.finished_at.is_not(None)
    )
    if since is not None:
        stmt = stmt.where(SyncRun.finished_at > since)
    async with sessionmaker() as session:
        return list(await session.scalars(stmt.order_by(SyncRun.finished_at, SyncRun.id)))


async def _stream(
    request: Request,
    sessionmaker: async_sessionmaker[AsyncSession],
    hub: SyncFinishedHub,
    workspace_ids: Sequence[str],
    since: datetime | None,
) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    quiet_since = checked = loop.time()
    seen = hub.generation
    yield f": watching {len(workspace_ids)} workspace(s)\nretry: 5000\n\n"
    while not await request.is_disconnected():
        seen = await hub.wait(POLL_SECONDS, seen)
        if loop.time() - checked >= KEY_CHECK_SECONDS:
            checked = loop.time()
            viewer = await _viewer(sessionmaker, request, touch=False)
            if viewer is None or not set(workspace_ids) <= viewer.workspace_ids:
                return  # the key was revoked or narrowed: the stream ends
        runs = await _finished_since(sessionmaker, workspace_ids, since)
        for run in runs:
            yield _event(run)
            since = run.finished_at
        if runs:
            quiet_since = loop.time()
        elif loop.time() - quiet_since >= KEEPALIVE_SECONDS:
            yield ": keep-alive\n\n"
            quiet_since = loop.time()


@router.get(PATH)
async def sync_finished(
    request: Request,
    workspace_id: Annotated[list[str], Query(alias="workspaceId")] = [],  # noqa: B006
) -> Response:
    """syncFinished(workspaceId): an event per sync run that ends from now on."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.crmkpi.sessionmaker
    viewer = await _viewer(sessionmaker, request)
    if viewer is None:
        return _error(
            401,
            "UNAUTHENTICATED",
            "missing or invalid API key: send 'Authorization: Bearer <api key>'",
        )
    try:
        ids = sorted({viewer.require_workspace(w) for w in workspace_id}) or sorted(
            viewer.workspace_ids
        )
    except NotFoundError as exc:
        return _error(404, "NOT_FOUND", str(exc))
    if not ids:
        return _error(404, "NOT_FOUND", "this API key cannot read any workspace")
    since = await _last_finished(sessionmaker, ids)
    return StreamingResponse(
        _stream(request, sessionmaker, hub_of(request), ids, since),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
