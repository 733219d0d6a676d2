"""Managing connections: pause and resume, field mappings, and deletion with their data.

Synced tables reference their connection by id without a foreign key (rows are upserted in
bulk, in any order), so deleting a connection deletes its rows from every synced table
here, in the same transaction; its runs, cursors and quarantined records go with it by
``ON DELETE CASCADE``.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import NotFoundError, ValidationError
from core.models import SYNCED_MODELS, Connection, RecordError, SyncRun, SyncState, Workspace

ACTIVE = "ACTIVE"
PAUSED = "PAUSED"
#: Mappings are small documents (stage kinds, lifecycle values, custom fields).
MAX_MAPPINGS_BYTES = 256 * 1024


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


async def update_mappings(
    session: AsyncSession, connection_id: str, mappings: dict[str, Any]
) -> Connection:
    """Replace the field mappings; they apply from the next sync."""
    if not isinstance(mappings, dict):
        raise ValidationError("mappings must be a JSON object")
    if len(json.dumps(mappings)) > MAX_MAPPINGS_BYTES:
        raise ValidationError(f"mappings are larger than {MAX_MAPPINGS_BYTES // 1024} KiB")
    connection = await get_connection(session, connection_id)
    connection.mappings = mappings
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
