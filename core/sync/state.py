"""Stream cursors in ``sync_state``, read at the start of a run and written in the same
transaction as the page batch they cover (so a crash never moves a cursor past unwritten
data)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from core.db import upsert
from core.models import SyncState
from core.sync.connector import Cursor


async def load_cursors(session: AsyncSession, connection_id: str) -> dict[str, Cursor]:
    """Every stream's committed cursor for ``connection_id``."""
    rows = await session.execute(
        select(SyncState.stream, SyncState.cursor).where(SyncState.connection_id == connection_id)
    )
    return {stream: Cursor.from_json(data) for stream, data in rows if data}


async def save_cursor(
    conn: AsyncConnection | AsyncSession,
    connection_id: str,
    stream: str,
    cursor: Cursor,
    now: datetime,
) -> None:
    """Upsert the stream's cursor; call inside the batch's transaction."""
    await upsert(
        conn,
        SyncState.__table__,  # type: ignore[arg-type]
        [
            {
                "connection_id": connection_id,
                "stream": stream,
                "cursor": cursor.to_json(),
                "updated_at": now,
            }
        ],
        conflict_columns=["connection_id", "stream"],
    )


async def reset_cursors(session: AsyncSession, connection_id: str) -> None:
    """Forget every cursor of ``connection_id`` (the next incremental sync reads all)."""
    await session.execute(delete(SyncState).where(SyncState.connection_id == connection_id))
