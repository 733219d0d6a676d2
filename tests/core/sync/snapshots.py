"""Read back what a sync wrote, to compare runs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.models import SYNCED_MODELS, FxRate


async def table_rows(engine: AsyncEngine, record_type: str) -> dict[str, dict[str, Any]]:
    """Every row of a synced table by remote id, as a dict of its columns."""
    table = SYNCED_MODELS[record_type].__table__  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        result = await conn.execute(select(table))
        return {row["remote_id"]: dict(row) for row in result.mappings()}


async def snapshot(engine: AsyncEngine, *, with_sync_times: bool = True) -> dict[str, Any]:
    """All synced rows (without surrogate ids), and the FX rates."""
    data: dict[str, Any] = {}
    for record_type in SYNCED_MODELS:
        rows = await table_rows(engine, record_type)
        for row in rows.values():
            row.pop("id")
            if not with_sync_times:
                row.pop("synced_at")
                row.pop("connection_id")
                row.pop("workspace_id")
        data[record_type] = rows
    async with engine.connect() as conn:
        result = await conn.execute(select(FxRate.currency, FxRate.day, FxRate.rate))
        data["fx"] = sorted(tuple(r) for r in result)
    return data
