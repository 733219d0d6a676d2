"""What the management front ends list: connections with their status, and API keys.

``crmkpi connection list`` and ``crmkpi apikey list`` render these, so no command writes a
query of its own. The GraphQL queries ``connections`` and ``apiKeys`` answer the same
things for the caller with resolvers of their own: its tenant-scoped, serialised session
and per-request loaders (last runs) are the API's, not a use case's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.connections import PAUSED
from core.errors import NotFoundError
from core.models import ApiKey, Connection, Organization, SyncRun, Workspace
from core.sync.capabilities import Capabilities


@dataclass(frozen=True, slots=True)
class LastRun:
    """The newest sync run of a connection."""

    mode: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    error: str | None


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    """A connection as an operator checks it: paused or not, when it syncs, how its last
    sync went and which of the account's capabilities are missing."""

    connection: Connection
    last_run: LastRun | None
    #: Keys of the capabilities discovered as unavailable (None: never discovered).
    unavailable: list[str] | None

    @property
    def paused(self) -> bool:
        return self.connection.status == PAUSED


async def _require(session: AsyncSession, model: type[Organization | Workspace], id_: str) -> None:
    if await session.get(model, id_) is None:
        kind = "organization" if model is Organization else "workspace"
        raise NotFoundError(f"{kind} {id_!r} not found")


async def list_connections(
    session: AsyncSession,
    *,
    workspace_id: str | None = None,
    organization_id: str | None = None,
) -> list[ConnectionStatus]:
    """Connections (of one workspace, one organization, or all) by workspace and name."""
    statement = select(Connection).order_by(Connection.workspace_id, Connection.name, Connection.id)
    if workspace_id is not None:
        await _require(session, Workspace, workspace_id)
        statement = statement.where(Connection.workspace_id == workspace_id)
    if organization_id is not None:
        await _require(session, Organization, organization_id)
        in_org = select(Workspace.id).where(Workspace.organization_id == organization_id)
        statement = statement.where(Connection.workspace_id.in_(in_org))
    connections = list((await session.scalars(statement)).all())
    newest = (
        select(SyncRun.connection_id, func.max(SyncRun.id).label("id"))
        .where(SyncRun.connection_id.in_([c.id for c in connections]))
        .group_by(SyncRun.connection_id)
        .subquery()
    )
    runs = {
        run.connection_id: run
        for run in await session.scalars(select(SyncRun).join(newest, SyncRun.id == newest.c.id))
    }
    found = []
    for connection in connections:
        run = runs.get(connection.id)
        last = (
            LastRun(run.mode, run.status, run.started_at, run.finished_at, run.error)
            if run is not None
            else None
        )
        unavailable = None
        if connection.capabilities_checked_at is not None:
            unavailable = [
                c.key for c in Capabilities.from_json(connection.capabilities).unavailable()
            ]
        found.append(ConnectionStatus(connection, last, unavailable))
    return found


async def list_api_keys(session: AsyncSession, organization_id: str) -> list[ApiKey]:
    """An organization's keys, newest first (their hashes stay in the rows: render only
    what ``ApiKey`` in the GraphQL schema shows)."""
    await _require(session, Organization, organization_id)
    return list(
        (
            await session.scalars(
                select(ApiKey)
                .where(ApiKey.organization_id == organization_id)
                .order_by(ApiKey.created_at.desc(), ApiKey.id)
            )
        ).all()
    )
