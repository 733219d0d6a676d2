"""Table checksums: compare what two syncs wrote without comparing row by row by hand.

A checksum hashes the normalized rows of every synced table (keyed by remote id), leaving
out what legitimately differs between two runs of the same data: surrogate ids, sync
times, and the connection/workspace the rows belong to.
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.core.sync.snapshots import snapshot

#: Synced tables, children first, so they can be emptied between two syncs.
SYNCED_TABLES = (
    "deal_stage_history",
    "activities",
    "deals",
    "contacts",
    "accounts",
    "stages",
    "pipelines",
    "users",
    "fx_rates",
)


async def table_checksums(engine: AsyncEngine) -> dict[str, str]:
    """sha256 of each synced table's rows (sorted by remote id) and of the FX rates."""
    data = await snapshot(engine, with_sync_times=False)
    return {
        table: hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()
        for table, rows in data.items()
    }


async def empty_synced_tables(engine: AsyncEngine) -> None:
    """Delete every synced row, so the next sync starts from nothing."""
    async with engine.begin() as conn:
        for table in SYNCED_TABLES:
            await conn.exec_driver_sql(f"DELETE FROM {table}")
