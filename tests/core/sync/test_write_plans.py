"""The sync writer's transaction plans its statements for the tables as they are now
(PostgreSQL: no generic plan kept from a first load's empty tables)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_sessionmaker
from core.models import Deal
from core.sync.records import DealRecord
from core.sync.upsert import RecordWriter
from tests.core.metrics.factory import Seed

NOW = datetime(2026, 1, 1, tzinfo=UTC)


async def test_a_page_is_written_with_custom_plans_for_its_transaction(
    engine: AsyncEngine,
) -> None:
    async with create_sessionmaker(engine)() as session:
        seed = await Seed.create(session)
        await session.commit()
    writer = RecordWriter(
        workspace_id=seed.workspace.id, connection_id=seed.connection.id, source="hubspot"
    )
    postgresql = engine.dialect.name == "postgresql"
    async with engine.begin() as conn:
        await writer.write_page(conn, [DealRecord(remote_id="d1")], NOW)
        if postgresql:
            mode = await conn.scalar(text("SHOW plan_cache_mode"))
            assert mode == "force_custom_plan"
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(Deal)) == 1
        if postgresql:  # SET LOCAL: the setting ended with the writer's transaction
            assert await conn.scalar(text("SHOW plan_cache_mode")) == "auto"
