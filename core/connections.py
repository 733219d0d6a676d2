"""Managing connections: pause and resume, checking credentials, deletion with their data.

(Creating connections and editing mappings is core.sync.connections, shared with the CLI.)

Synced tables reference their connection by id without a foreign key (rows are upserted in
bulk, in any order), so deleting a connection deletes its rows from every synced table
here, in the same transaction; its runs, cursors and quarantined records go with it by
``ON DELETE CASCADE``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import EllipsisType

import httpx
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.egress import EgressPolicy, OutboundRefused
from core.errors import NotFoundError
from core.models import SYNCED_MODELS, Connection, RecordError, SyncRun, SyncState, Workspace
from core.models.enums import SyncMode
from core.sync.connections import check_credentials
from core.sync.connector import Connector, StreamContext
from core.sync.errors import SyncError
from core.sync.http import RetryPolicy, SyncHttp, create_http_client
from core.sync.ratelimit import RateLimiter

ACTIVE = "ACTIVE"
PAUSED = "PAUSED"
#: A credential check is one request: fail fast rather than wait out a long retry budget.
_CHECK_RETRY = RetryPolicy(attempts=2, base=0.2, cap=1.0)


async def get_connection(session: AsyncSession, connection_id: str) -> Connection:
    connection = await session.get(Connection, connection_id)
    if connection is None:
        raise NotFoundError(f"connection {connection_id!r} not found")
    return connection


async def set_paused(session: AsyncSession, connection_id: str, paused: bool) -> Connection:
    """A paused connection keeps its data and is skipped by the scheduler."""
    connection = await get_connection(session, connection_id)
    connection.status = PAUSED if paused else ACTIVE
    await session.flush()
    return connection


async def delete_connection(session: AsyncSession, connection_id: str) -> int:
    """Delete the connection and every record it synced; returns the records deleted."""
    connection = await get_connection(session, connection_id)
    deleted = 0
    for model in SYNCED_MODELS.values():
        result = await session.execute(
            delete(model)
            .where(model.connection_id == connection_id)
            .execution_options(synchronize_session=False)
        )
        deleted += int(getattr(result, "rowcount", 0) or 0)
    for bookkeeping in (SyncRun, SyncState, RecordError):
        await session.execute(
            delete(bookkeeping)
            .where(bookkeeping.connection_id == connection_id)
            .execution_options(synchronize_session=False)
        )
    await session.execute(
        update(Workspace)
        .where(Workspace.id == connection.workspace_id)
        .values(data_version=Workspace.data_version + 1)
        .execution_options(synchronize_session=False)
    )
    await session.delete(connection)
    await session.flush()
    return deleted


async def verify_credentials(
    connector_cls: type[Connector],
    credentials: Mapping[str, str],
    base_url: str | None = None,
    *,
    client: httpx.AsyncClient | None = None,
    egress: EgressPolicy | None = None,
) -> str | None:
    """None when the CRM accepts the credentials, otherwise why it did not.

    Authenticates, then reads the first page of the connector's first stream through the
    engine's HTTP policy: an API-token CRM only refuses a bad token on a real request.
    Nothing is stored, and the message never contains a credential value nor the CRM's
    answer. An address the egress policy refuses raises OutboundRefused (not a reason).
    """
    check_credentials(connector_cls, credentials)
    connector = connector_cls()
    streams = connector.streams()
    own_client = client is None
    http_client = client or create_http_client(timeout=15.0, egress=egress)
    http = SyncHttp(
        client=http_client,
        connector=connector,
        credentials=credentials,
        base_url=base_url or connector.default_base_url,
        limiter=RateLimiter(connector.rate_limit),
        retry=_CHECK_RETRY,
    )
    try:
        if streams:
            ctx = StreamContext(connection_id="credential-check", mode=SyncMode.FULL)
            await http.send(streams[0].first_request(ctx))
        else:
            await http.auth()
    except OutboundRefused:
        raise
    except SyncError as exc:
        return str(exc)
    except httpx.HTTPError as exc:
        return f"{connector_cls.name}: {type(exc).__name__} reaching the CRM"
    finally:
        if own_client:
            await http_client.aclose()
    return None


async def delete_workspace(session: AsyncSession, workspace_id: str) -> int:
    """Delete a workspace with its connections and every record; returns records deleted."""
    workspace = await session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFoundError(f"workspace {workspace_id!r} not found")
    connection_ids = (
        await session.scalars(select(Connection.id).where(Connection.workspace_id == workspace_id))
    ).all()
    deleted = 0
    for connection_id in connection_ids:
        deleted += await delete_connection(session, connection_id)
    # Rows left without a connection (imports, targets, FX) go by ON DELETE CASCADE; synced
    # rows are keyed by workspace too, in case a connection row was removed by hand.
    for model in SYNCED_MODELS.values():
        await session.execute(
            delete(model)
            .where(model.workspace_id == workspace_id)
            .execution_options(synchronize_session=False)
        )
    await session.delete(workspace)
    await session.flush()
    return deleted


async def set_schedule(
    session: AsyncSession,
    connection_id: str,
    schedule: str | EllipsisType | None = ...,
    full_sync: str | EllipsisType | None = ...,
) -> Connection:
    """Store an already validated schedule and/or reconciliation schedule (``...``: keep).

    Validation is core.sync.schedules (``schedule_from_options``, ``parse_full_sync``),
    shared by the CLI and GraphQL so both accept and refuse the same values.
    """
    connection = await get_connection(session, connection_id)
    if not isinstance(schedule, EllipsisType):
        connection.schedule = schedule
    if not isinstance(full_sync, EllipsisType):
        connection.full_sync_schedule = full_sync
    await session.flush()
    return connection
